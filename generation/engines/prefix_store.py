"""The prompt's fixed part, read once per machine instead of once per process.

Every answer prompt opens with the same instructions and worked examples (hundreds of
tokens), which a CPU reads in seconds. A server reads them once and keeps the key/value cache
(prompt_cache.py), but each `minigiant ask` is a new process that would read them again. So the
engine keeps that cache on disk too, beside the converted model: loading it takes milliseconds.

The file is named by everything the cache depends on (the model's files, the engine and its
versions, number format, device) and by the fixed part's tokens, so two prompts (an answer's
and a follow-up rewrite's, or two runs comparing prompt variants) keep a file each instead of
overwriting each other's: a new process splits its first prompt where the file ends, and that
split must not depend on what else ran, or the same question gets a reworded answer. Each
upgrade, other model or prompt leaves a file of its own (6-13 MB), so a write also removes all
but the KEEP most recently used. The transformers engine keeps its tensors in safetensors
(below); llama.cpp writes its own state files through `write`. Either engine follows one
protocol: `fixed_part` of each prompt while unsettled (the first one found reads its file),
`settle` once that part is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from indexing.cache_files import keep_newest, write_whole

log = logging.getLogger(__name__)

KEEP = 4  # prefix files kept in one folder: a cascade's two models with room for an upgrade


def store_key(model_path: str, *settings: str) -> str:
    """A name that changes whenever the cached tensors would: with the model's files and the
    `settings` (engine, library versions, number format, device) they were computed under."""
    parts = [model_path, *settings]
    where = Path(model_path)
    files = sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else [where]
    parts += [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files if p.exists()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


class PrefixStore:
    """One prompt prefix's key/value cache in a file (safetensors, or what `write` is given)."""

    def __init__(self, folder: Path, key: str, suffix: str = ".safetensors"):
        self.folder, self.key, self.suffix = folder, key, suffix
        self.path: Path | None = None  # the file of the first fixed part met
        self.held: list[int] | None = None  # the ids of the prefix the file holds
        # written (or found on disk) at the first prompt with a fixed part: a chat's earlier
        # turns change that part every turn, and only the instructions' part is worth a file
        self.settled = False

    def file_for(self, fixed: list[int]) -> Path:
        digest = hashlib.sha256(json.dumps(fixed).encode()).hexdigest()[:12]
        return self.folder / f"prefix-{self.key}-{digest}{self.suffix}"

    def fixed_part(
        self,
        messages: Sequence[object],
        ids: list[int],
        fixed_ids: Callable[[list], list[int]],
        load: Callable[[PrefixStore], list[int] | None],
    ) -> list[int] | None:
        """The prompt up to its last message (instructions, examples, earlier turns), as
        `fixed_ids` tokenises it, while it is unsettled and `ids` begins with it; else None.
        The first one found picks the file, which `load` reads into the engine, returning the
        ids it holds (None: no usable file)."""
        if self.settled or len(messages) < 2:
            return None
        fixed = fixed_ids(list(messages[:-1]))
        if len(fixed) >= len(ids) or ids[: len(fixed)] != fixed:
            return None
        if self.path is None:
            self.path = self.file_for(fixed)
            self.held = load(self)
        return fixed

    def settle(self, fixed: list[int], save: Callable[[list[int]], None]) -> None:
        """Once per engine: `save` the fixed part unless the file holds it already."""
        self.settled = True
        if fixed != self.held:
            save(fixed)
            self.held = fixed

    def used(self) -> Path | None:
        """The file, marked as just used (its modification time), or None when there is none."""
        if self.path is None or not self.path.exists():
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path)
        return self.path

    def write(self, ids: list[int], writer: Callable[[Path], None]) -> None:
        """`writer` fills a file with the prefix `ids` (written whole: cache_files.py)."""
        self.path = self.file_for(ids)
        if write_whole(self.path, writer):
            keep_newest(self.folder, "prefix-*", KEEP, self.path)

    def load(self, config, device: str) -> tuple[list[int], object] | None:
        """(token ids, DynamicCache) or None when there is no readable file."""
        from safetensors import safe_open
        from transformers import DynamicCache

        if self.used() is None:
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
        return ids, DynamicCache(ddp_cache_data=data, config=config)

    def save(self, ids: list[int], cache) -> None:
        """The first `len(ids)` positions of `cache`."""
        from safetensors.torch import save_file

        tensors = {}
        for i, layer in enumerate(cache.layers):
            tensors[f"k.{i}"] = layer.keys[..., : len(ids), :].contiguous()
            tensors[f"v.{i}"] = layer.values[..., : len(ids), :].contiguous()
        self.write(
            ids, lambda path: save_file(tensors, str(path), metadata={"ids": json.dumps(ids)})
        )
