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
from indexing.documents import Chunk, Document, titled
from indexing.embedding import Embedder
from indexing.errors import IndexStateError, MinigiantError, SkipFile
from indexing.index_dir import SQLITE_NAME, IndexDir
from indexing.loaders import discover, load_file
from indexing.store import ChunkStore, FileRecord
from indexing.vectors import VectorIndex

log = logging.getLogger(__name__)


class BuildOptions(BaseModel):
    """How files become vectors; chunk sizes are fixed for the life of an index."""

    chunk_tokens: int = Field(200, ge=16)
    overlap_tokens: int = Field(32, ge=0)
    ivf_threshold: int = Field(100_000, ge=1)
    flush_chunks: int = Field(1024, ge=1)
    progress: bool = True

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


@dataclass
class _Pending:
    records: list[FileRecord] = field(default_factory=list)
    documents: list[list[Document]] = field(default_factory=list)
    chunks: list[list[list[Chunk]]] = field(default_factory=list)

    def size(self) -> int:
        return sum(len(c) for per_file in self.chunks for c in per_file)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class IndexBuilder:
    """Updates an index folder from files: new and changed files in, vanished files out."""

    def __init__(self, index_dir: IndexDir, embedder: Embedder, options: BuildOptions):
        self.index_dir = index_dir
        self.embedder = embedder
        self.options = options
        self.chunker = Chunker(embedder.tokenizer, options.chunk_tokens, options.overlap_tokens)

    def build_meta(self) -> dict[str, object]:
        return {
            "embedder": self.embedder.name,
            "dimension": self.embedder.dimension,
            "chunk_tokens": self.options.chunk_tokens,
            "overlap_tokens": self.options.overlap_tokens,
        }

    def run(self, paths: Sequence[Path]) -> BuildReport:
        started = time.perf_counter()
        report = BuildReport()
        try:
            files = list(dict.fromkeys(discover(paths)))
        except FileNotFoundError as exc:
            raise MinigiantError(str(exc)) from None
        with self.index_dir.writer() as staging:
            known = self._known_files()
            hashes = self._hash(files, report)
            gone = [p for p in known if not Path(p).exists()]
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
        pending = _Pending()
        with tqdm(
            total=len(to_add), desc="loading", unit="file", disable=not self.options.progress
        ) as bar:
            for path in to_add:
                self._load_into(Path(path), hashes[path], pending, report)
                bar.update()
                if pending.size() >= self.options.flush_chunks:
                    self._flush(pending, store, vectors, report)
                    pending = _Pending()
        self._flush(pending, store, vectors, report)
        if vectors.maybe_switch_to_ivf(self.options.ivf_threshold):
            log.info("index passed %d vectors: switched to IVF", self.options.ivf_threshold)
        vectors.save(staging / "faiss.index")
        with store.db.conn:
            store.set_meta(self.build_meta())
        store.close()

    def _load_into(self, path: Path, sha: str, pending: _Pending, report: BuildReport) -> None:
        try:
            documents = load_file(path)
        except SkipFile as exc:
            self._skip(report, str(path), str(exc))
            return
        pending.records.append(FileRecord(str(path), sha, path.stat().st_size))
        pending.documents.append(documents)
        pending.chunks.append([self.chunker.split(d) for d in documents])
        report.indexed.append(str(path))

    def _flush(
        self, pending: _Pending, store: ChunkStore, vectors: VectorIndex, report: BuildReport
    ) -> None:
        flat = [c for per_file in pending.chunks for per_doc in per_file for c in per_doc]
        if not flat and not pending.records:
            return
        started = time.perf_counter()
        embeddings = self.embedder.embed_passages(
            [titled(c.title, c.text) for c in flat],
            progress=self.options.progress and len(flat) > 256,
        )
        report.embed_seconds += time.perf_counter() - started
        ids: list[int] = []
        with store.db.conn:
            for record, documents, chunks in zip(
                pending.records, pending.documents, pending.chunks, strict=True
            ):
                ids.extend(store.add_file(record, documents, chunks))
        vectors.add(np.asarray(ids, dtype=np.int64), embeddings)
        report.chunks_added += len(ids)
