"""Bring an index up to date with a set of files, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, model_validator
from tqdm import tqdm

from indexing.chunking import Chunker
from indexing.embedding import Embedder
from indexing.errors import IndexStateError, MinigiantError
from indexing.index_dir import SQLITE_NAME, IndexDir
from indexing.loaders import discover, folders_among
from indexing.ocr import OcrOptions
from indexing.pipeline import FilePipeline, LocalPipeline, PreparedBatch
from indexing.store import ChunkStore, FileRecord
from indexing.vectors import VectorIndex

log = logging.getLogger(__name__)


class BuildOptions(BaseModel):
    """How files become vectors; chunk sizes are fixed for the life of an index."""

    chunk_tokens: int = Field(200, ge=16)
    overlap_tokens: int = Field(32, ge=0)
    ivf_threshold: int = Field(100_000, ge=1)
    # bytes per vector in IVF lists once past ivf_threshold (product quantisation); 0 = off
    pq_bytes: int = Field(0, ge=0)
    flush_chunks: int = Field(1024, ge=1)
    progress: bool = True
    ocr: OcrOptions = OcrOptions()  # scanned PDF pages (not part of the index's identity)
    # files and folders under an indexed folder left out, .gitignore's way (loaders.excluded),
    # e.g. "*.log"; files indexed earlier that a pattern now matches are dropped (not part of
    # the index's identity)
    exclude: list[str] = []

    @model_validator(mode="after")
    def _overlap_fits(self) -> BuildOptions:
        if self.overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("overlap_tokens must be less than half of chunk_tokens")
        return self


@dataclass
class BuildReport:
    """What one run did, for the CLI summary and for tests."""

    indexed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    version: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.removed)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class IndexBuilder:
    """Updates an index folder from files: new and changed files in, vanished files out.

    `pipeline` turns files into chunks and vectors (default: in this process); whatever it
    is, this builder stays the single writer of the staging version.
    """

    def __init__(
        self,
        index_dir: IndexDir,
        embedder: Embedder,
        options: BuildOptions,
        pipeline: FilePipeline | None = None,
    ):
        self.index_dir = index_dir
        self.embedder = embedder
        self.options = options
        self.chunker = Chunker(embedder.tokenizer, options.chunk_tokens, options.overlap_tokens)
        self.pipeline = pipeline or LocalPipeline(
            embedder, self.chunker, options.flush_chunks, options.progress, options.ocr
        )

    def build_meta(self) -> dict[str, object]:
        return {
            "embedder": self.embedder.name,
            "dimension": self.embedder.dimension,
            "chunk_tokens": self.options.chunk_tokens,
            "overlap_tokens": self.options.overlap_tokens,
        }

    def run(self, paths: Sequence[Path], exact: bool = False) -> BuildReport:
        """Index what changed under `paths`; with `exact`, files indexed earlier that are not
        among them are dropped in the same version (an eval index that must hold one corpus)."""
        started = time.perf_counter()
        report = BuildReport()
        try:
            files = list(dict.fromkeys(discover(paths, self.options.exclude)))
        except FileNotFoundError as exc:
            raise MinigiantError(str(exc)) from None
        with self.index_dir.writer() as staging:
            known = self._known_files()
            hashes = self._hash(files, report)
            # a file under a folder indexed now that the walk no longer yields: a pattern in
            # `exclude` or a Sphinx build's `_sources` leaves it out
            found, folders = {str(f) for f in files}, folders_among(paths)
            gone = [
                p
                for p in known
                if not Path(p).exists()
                or (exact and p not in hashes)
                or (p not in found and any(Path(p).is_relative_to(f) for f in folders))
            ]
            changed = [p for p, sha in hashes.items() if p in known and known[p].sha256 != sha]
            new = [p for p in hashes if p not in known]
            report.unchanged = len(hashes) - len(changed) - len(new)
            if gone or changed or new:
                self._write_version(staging, gone + changed, changed + new, hashes, report)
        if report.changed:
            report.version = self.index_dir.current().number
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, paths: Sequence[str | Path]) -> BuildReport:
        """Drop files from the index (the files themselves are left alone)."""
        started = time.perf_counter()
        report = BuildReport()
        with self.index_dir.writer() as staging:
            known = self._known_files()
            wanted = [str(Path(p).resolve()) for p in paths]
            missing = [p for p in wanted if p not in known]
            if missing:
                raise MinigiantError(f"not in the index: {', '.join(missing)}")
            self._write_version(staging, wanted, [], {}, report)
        report.version = self.index_dir.current().number
        report.seconds = time.perf_counter() - started
        return report

    def _known_files(self) -> dict[str, FileRecord]:
        if not self.index_dir.exists():
            return {}
        store = ChunkStore(self.index_dir.current().sqlite_path, readonly=True)
        try:
            self._check_compatible(store.meta())
            return store.files()
        finally:
            store.close()

    def _check_compatible(self, meta: dict[str, object]) -> None:
        for key, wanted in self.build_meta().items():
            if key in meta and meta[key] != wanted:
                raise IndexStateError(
                    f"{self.index_dir.root} was built with {key}={meta[key]!r}, but the settings "
                    f"say {wanted!r}: use the same settings, or index into a new --index folder"
                )

    def _hash(self, files: list[Path], report: BuildReport) -> dict[str, str]:
        hashes: dict[str, str] = {}
        for path in tqdm(files, desc="hashing", unit="file", disable=not self.options.progress):
            try:
                hashes[str(path)] = file_sha256(path)
            except OSError as exc:
                self._skip(report, str(path), f"unreadable ({exc.strerror or exc})")
        return hashes

    @staticmethod
    def _skip(report: BuildReport, path: str, reason: str) -> None:
        log.warning("skipped %s: %s", path, reason)
        report.skipped.append((path, reason))

    def _write_version(
        self,
        staging: Path,
        to_remove: list[str],
        to_add: list[str],
        hashes: dict[str, str],
        report: BuildReport,
    ) -> None:
        previous = self.index_dir.copy_current_into(staging)
        store = ChunkStore(staging / SQLITE_NAME)
        vectors = (
            VectorIndex.load(previous.faiss_path)
            if previous
            else VectorIndex.create(self.embedder.dimension)
        )
        with store.db.conn:
            for path in to_remove:
                ids = store.remove_file(path)
                vectors.remove(np.asarray(ids, dtype=np.int64))
                report.chunks_removed += len(ids)
                if path not in hashes:
                    report.removed.append(path)
        for batch in self.pipeline.prepare([(Path(p), hashes[p]) for p in to_add]):
            self._write_batch(batch, store, vectors, report)
        if vectors.maybe_switch_to_ivf(self.options.ivf_threshold, self.options.pq_bytes):
            log.info("index passed %d vectors: switched to IVF", self.options.ivf_threshold)
        vectors.save(staging / "faiss.index")
        with store.db.conn:
            store.set_meta(self.build_meta())
        store.close()

    def _write_batch(
        self, batch: PreparedBatch, store: ChunkStore, vectors: VectorIndex, report: BuildReport
    ) -> None:
        for path, reason in batch.skipped:
            self._skip(report, path, reason)
        with store.db.conn:
            ids = store.add_files([(f.record, f.documents, f.chunks) for f in batch.files])
        if ids:
            vectors.add(np.asarray(ids, dtype=np.int64), batch.vectors)
        report.indexed.extend(f.record.path for f in batch.files)
        report.chunks_added += len(ids)
        report.embed_seconds += batch.embed_seconds
