"""The prompt's fixed part, read once per machine instead of once per process.

Every answer prompt opens with the same instructions and worked examples (hundreds of
tokens), which a CPU reads in seconds. A server reads them once and keeps the key/value cache
(prompt_cache.py), but each `minigiant ask` is a new process that would read them again. So the
engine keeps that cache on disk too, beside the converted model: loading it takes milliseconds.

The file is named by everything the cache depends on (the model's files, number format,
device, torch and transformers versions); a changed prompt simply shares fewer tokens with it
and is written anew. Each upgrade or other model leaves a file of its own (6-13 MB), so a
write also removes all but the KEEP most recently used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

KEEP = 4  # prefix files kept in one folder: a cascade's two models with room for an upgrade


def store_key(model_path: str, precision: str, device: str) -> str:
    """A name that changes whenever the cached tensors would."""
    import torch
    import transformers

    parts = [model_path, precision, device, torch.__version__, transformers.__version__]
    where = Path(model_path)
    files = sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else [where]
    parts += [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files if p.exists()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


class PrefixStore:
    """One prompt prefix's key/value cache in a safetensors file."""

    def __init__(self, folder: Path, key: str):
        self.path = folder / f"prefix-{key}.safetensors"

    def load(self, config, device: str) -> tuple[list[int], object] | None:
        """(token ids, DynamicCache) or None when there is no readable file."""
        from safetensors import safe_open
        from transformers import DynamicCache

        if not self.path.exists():
            return None
        try:
            with safe_open(str(self.path), framework="pt", device=device) as handle:
                ids = json.loads(handle.metadata()["ids"])
                names = list(handle.keys())
                layers = range(sum(1 for name in names if name.startswith("k.")))
                data = [(handle.get_tensor(f"k.{i}"), handle.get_tensor(f"v.{i}")) for i in layers]
        except (OSError, KeyError, ValueError) as exc:
            log.warning("ignoring unreadable prompt cache %s: %s", self.path, exc)
            return None
        with contextlib.suppress(OSError):  # its modification time says when it was last used
            os.utime(self.path)
        return ids, DynamicCache(ddp_cache_data=data, config=config)

    def save(self, ids: list[int], cache) -> None:
        """The first `len(ids)` positions of `cache`; written to a temporary file, then renamed,
        so a reader never sees half a file."""
        from safetensors.torch import save_file

        tensors = {}
        for i, layer in enumerate(cache.layers):
            tensors[f"k.{i}"] = layer.keys[..., : len(ids), :].contiguous()
            tensors[f"v.{i}"] = layer.values[..., : len(ids), :].contiguous()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            os.close(handle)
            try:
                save_file(tensors, temporary, metadata={"ids": json.dumps(ids)})
                os.replace(temporary, self.path)
            finally:
                Path(temporary).unlink(missing_ok=True)
            self._forget_old()
        except OSError as exc:  # a read-only cache folder costs speed, never the answer
            log.warning("could not keep the prompt cache in %s: %s", self.path, exc)

    def _forget_old(self) -> None:
        """Remove the files of models and versions no longer used, newest KEEP left."""
        files = []
        for path in self.path.parent.glob("prefix-*.safetensors"):
            try:
                files.append((path.stat().st_mtime_ns, path))
            except OSError:  # removed by another process meanwhile
                continue
        for _, path in sorted(files, reverse=True)[KEEP:]:
            if path != self.path:
                path.unlink(missing_ok=True)
