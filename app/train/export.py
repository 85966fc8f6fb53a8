"""Write a trained cross-encoder as a compact folder: changed tensors only, fp16."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from indexing.models import resolve_model
from retrieval.cross_encoder import COMPACT_MANIFEST, COMPACT_WEIGHTS

_KEEP_FILES = ("README.md", "train_log.json")
_LAYER = re.compile(r"encoder\.layer\.(\d+)\.(.+)")


def export_compact(
    src: Path,
    out: Path,
    base: str = "all-MiniLM-L6-v2",
    max_length: int | None = None,
    layers: Sequence[int] | None = None,
    labels: Sequence[str] | None = None,
) -> dict[str, int]:
    """Keep every tensor of `src` that differs from `base` (frozen layers drop out).

    `max_length` is the input length it was trained on: loading caps inputs there. `layers`
    are the base layers a student kept: its layer i is compared with base layer layers[i].
    `labels` name a classifier's outputs, when it has more than one.

    Returns tensor counts, for the log.
    """
    import torch
    from safetensors.torch import load_file, save_file

    tuned = load_file(str(src / "model.safetensors"))
    reference = load_file(str(Path(resolve_model(base, "export --base")) / "model.safetensors"))
    kept = {}
    for name, tensor in tuned.items():
        base_name = _base_tensor_name(name.removeprefix("bert."), layers)
        same = base_name in reference and torch.equal(reference[base_name], tensor)
        if not same:
            kept[name] = tensor.to(torch.float16).contiguous()
    out.mkdir(parents=True, exist_ok=True)
    save_file(kept, str(out / COMPACT_WEIGHTS))
    manifest: dict[str, object] = {"format": 1, "base": base}
    if max_length is not None:
        manifest["max_length"] = max_length
    if layers is not None:
        manifest["layers"] = list(layers)
    if labels is not None:
        manifest["labels"] = list(labels)
    (out / COMPACT_MANIFEST).write_text(json.dumps(manifest, indent=2))
    for name in _KEEP_FILES:
        if (src / name).exists() and src != out:
            shutil.copy2(src / name, out / name)
    return {"kept": len(kept), "total": len(tuned)}


def _base_tensor_name(name: str, layers: Sequence[int] | None) -> str:
    match = _LAYER.match(name)
    if layers is None or match is None:
        return name
    return f"encoder.layer.{layers[int(match.group(1))]}.{match.group(2)}"
