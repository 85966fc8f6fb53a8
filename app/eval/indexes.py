"""Indexes built for evaluation live in a cache outside the source tree and are reused."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from app.eval.datasets import REPO_ROOT, QASet
from app.settings import Settings
from indexing.builder import IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir

CACHE_ENV = "MINIGIANT_EVAL_CACHE"


def cache_root() -> Path:
    """`$MINIGIANT_EVAL_CACHE`, else the gitignored `<repo>/indexes/eval`."""
    return Path(os.environ.get(CACHE_ENV) or REPO_ROOT / "indexes" / "eval").resolve()


def index_path(name: str, settings: Settings) -> Path:
    """One folder per (data set, embedder): another embedder never overwrites an index."""
    embedder = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(settings.embedder.model).name)
    return cache_root() / f"{name}-{embedder}"


def ensure_index(name: str, files: Sequence[Path], settings: Settings) -> Path:
    """Build the index for `files`, or reuse it: an unchanged published index is a no-op.
    It holds those files only: a cache copied from another checkout names its corpus by the
    other path, which would otherwise stay beside this one and count every passage twice."""
    root = index_path(name, settings)
    IndexBuilder(IndexDir(root), Embedder.from_settings(settings.embedder), settings.indexing).run(
        list(files), exact=True
    )
    return root


def write_corpus(name: str, passages: Sequence[dict[str, str]]) -> Path:
    """Write passages a data set carries inline as a BEIR corpus.jsonl in the cache.

    The bytes are deterministic, so a rewrite keeps the file hash and the index stays reused.
    """
    path = cache_root() / f"{name}-corpus" / "corpus.jsonl"
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in passages)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def qa_set_index(qa_set: QASet, settings: Settings) -> Path:
    """The index of a QA set's passages (its own corpus file, or one written from them), the
    one `eval qa` and `train answerability` both read."""
    corpus = qa_set.corpus or write_corpus(qa_set.name, qa_set.passages)
    return ensure_index(corpus.parent.name.removesuffix("-corpus"), [corpus], settings)


def mtrag_index(passages: Sequence[dict[str, str]], settings: Settings) -> Path:
    """The index of every MTRAG reference passage, the one `eval conversation` and `train
    answerability` both read."""
    return ensure_index("mtrag", [write_corpus("mtrag", passages)], settings)
