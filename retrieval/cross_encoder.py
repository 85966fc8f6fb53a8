"""Load cross-encoders: ordinary folders and Hugging Face ids, and minigiant's compact folders.

A compact folder (what `minigiant train` ships) holds only the tensors fine-tuning changed,
in fp16, plus `minigiant.json` naming the packaged base model; the untouched layers come from
that base package. Shipping a model then costs a fraction of the whole network in git. A
distilled student also names the base `layers` it keeps, in order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from indexing.errors import ModelNotFoundError
from indexing.kernels import EncoderPrecision, encoder_precision, quantize_int8, torch_dtype
from indexing.models import resolve_model
from indexing.openvino_kernels import run_on_openvino

COMPACT_MANIFEST = "minigiant.json"
COMPACT_WEIGHTS = "tuned.safetensors"


def load_cross_encoder(
    path: str, device: str, max_length: int, setting: str, precision: EncoderPrecision = "auto"
):
    """In the number format the kernel rule picks (indexing/kernels.py) unless `precision` says
    otherwise: int8 (CPU only) swaps the Linear layers for dynamic int8 ones, openvino runs the
    forward pass on OpenVINO."""
    from sentence_transformers import CrossEncoder

    precision = encoder_precision(device, precision)

    manifest = Path(path) / COMPACT_MANIFEST
    if not manifest.exists():
        model = CrossEncoder(path, device=device, max_length=max_length)
    else:
        model = _load_compact(manifest, device, max_length, setting)
    if precision == "int8":
        quantize_int8(model.model)
    elif precision == "openvino":
        run_on_openvino(model.model, model.tokenizer, "logits")
    else:
        model.model.to(torch_dtype(precision))
    return model


def _load_compact(manifest: Path, device: str, max_length: int, setting: str):
    import torch
    from safetensors.torch import load_file
    from sentence_transformers import CrossEncoder

    spec = json.loads(manifest.read_text())
    base = resolve_model(spec["base"], setting)
    # longer inputs than it was trained on made our 128-token reranker worse (README)
    max_length = min(max_length, spec.get("max_length", max_length))
    with _quiet_base_load():
        model = CrossEncoder(
            base, num_labels=len(spec.get("labels", [None])), max_length=max_length, device=device
        )
    if "labels" in spec:
        model.model.config.id2label = dict(enumerate(spec["labels"]))
        model.model.config.label2id = {label: i for i, label in enumerate(spec["labels"])}
    if "layers" in spec:
        keep_layers(model, spec["layers"])
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


def keep_layers(model, layers: Sequence[int]) -> None:
    """Cut a BERT-style CrossEncoder down to these encoder layers: a student costs what its
    depth costs, linearly."""
    import torch

    encoder = model.model.base_model.encoder
    encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in layers])
    model.model.config.num_hidden_layers = len(layers)


@contextmanager
def _quiet_base_load() -> Iterator[None]:
    """Silence the warnings of loading a sentence-transformers base as a CrossEncoder: its
    scoring head is "missing" only until our tuned tensors fill it, and the report would
    land in the middle of a streamed answer."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    progress = hf_logging.is_progress_bar_enabled()
    st_logger = logging.getLogger("sentence_transformers")
    st_level = st_logger.level
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    st_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress:
            hf_logging.enable_progress_bar()
        st_logger.setLevel(st_level)
