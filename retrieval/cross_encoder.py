"""Load cross-encoders: ordinary folders and Hugging Face ids, and minigiant's compact folders.

A compact folder (what `minigiant train` ships) holds only the tensors fine-tuning changed,
in fp16, plus `minigiant.json` naming the packaged base model; the untouched layers come from
that base package. Shipping a model then costs a fraction of the whole network in git.
"""

from __future__ import annotations

import json
from pathlib import Path

from indexing.errors import ModelNotFoundError
from indexing.models import resolve_model

COMPACT_MANIFEST = "minigiant.json"
COMPACT_WEIGHTS = "tuned.safetensors"


def load_cross_encoder(path: str, device: str, max_length: int, setting: str, int8: bool = False):
    """`int8` (CPU only) swaps the Linear layers for dynamic int8 ones: 1.8x faster on 2 cores,
    but it cost our trained reranker 0.05 nDCG@10 (bench/reranker_formats.py), so it is opt-in."""
    from sentence_transformers import CrossEncoder

    manifest = Path(path) / COMPACT_MANIFEST
    if not manifest.exists():
        model = CrossEncoder(path, device=device, max_length=max_length)
    else:
        model = _load_compact(manifest, device, max_length, setting)
    if device.startswith("cuda"):
        model.model.half()
    elif int8 and device == "cpu":
        import torch

        torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    return model


def _load_compact(manifest: Path, device: str, max_length: int, setting: str):
    import torch
    from safetensors.torch import load_file
    from sentence_transformers import CrossEncoder

    spec = json.loads(manifest.read_text())
    base = resolve_model(spec["base"], setting)
    # longer inputs than it was trained on made our 128-token reranker worse (README)
    max_length = min(max_length, spec.get("max_length", max_length))
    model = CrossEncoder(base, num_labels=1, max_length=max_length, device=device)
    tuned = load_file(str(manifest.parent / COMPACT_WEIGHTS))
    state = {name: tensor.to(torch.float32) for name, tensor in tuned.items()}
    result = model.model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise ModelNotFoundError(
            f"{setting}: {manifest.parent} does not fit its base {spec['base']!r} "
            f"(unexpected tensors {result.unexpected_keys[:3]})"
        )
    model.model.eval()
    return model
