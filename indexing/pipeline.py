"""Files -> (records, documents, chunks, vectors): the step the builder hands to a pipeline.

The builder owns everything stateful (hashing, change detection, the staging version, the
single SQLite/FAISS writer); a pipeline only turns files into prepared batches. The local
pipeline does it in this process; `indexing.ray_pipeline` does it on a Ray cluster. Both cut
chunks with `prepare_file`, so they produce the same chunks for the same files.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from indexing.chunking import Chunker
from indexing.documents import Chunk, Document, titled
from indexing.embedding import Embedder
from indexing.errors import SkipFile
from indexing.loaders import load_file
from indexing.ocr import OcrOptions
from indexing.store import FileRecord


@dataclass
class PreparedFile:
    """One loaded file: its record, its documents and each document's chunks."""

    record: FileRecord
    documents: list[Document]
    chunks: list[list[Chunk]]

    def flat_chunks(self) -> list[Chunk]:
        return [c for per_doc in self.chunks for c in per_doc]


@dataclass
class PreparedBatch:
    """Files ready to write; `vectors` rows follow the files' chunks in order."""

    files: list[PreparedFile] = field(default_factory=list)
    vectors: np.ndarray | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    embed_seconds: float = 0.0


class FilePipeline(Protocol):
    """Turns (path, sha256) pairs into prepared batches, in any batch size it likes."""

    def prepare(self, files: Sequence[tuple[Path, str]]) -> Iterator[PreparedBatch]: ...


def prepare_file(
    path: Path, sha: str, chunker: Chunker, ocr: OcrOptions | None = None
) -> PreparedFile:
    """Load and chunk one file; raises SkipFile with the reason when it cannot be indexed."""
    documents = load_file(path, ocr)
    return PreparedFile(
        FileRecord(str(path), sha, path.stat().st_size),
        documents,
        [chunker.split(d) for d in documents],
    )


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk], progress: bool) -> np.ndarray:
    """Chunk vectors as the index stores them: title and text together, normalised."""
    return embedder.embed_passages([titled(c.title, c.text) for c in chunks], progress=progress)


class LocalPipeline:
    """Load, chunk and embed in this process, `flush_chunks` chunks per batch."""

    def __init__(
        self,
        embedder: Embedder,
        chunker: Chunker,
        flush_chunks: int,
        progress: bool,
        ocr: OcrOptions | None = None,
    ):
        self.embedder = embedder
        self.chunker = chunker
        self.flush_chunks = flush_chunks
        self.progress = progress
        self.ocr = ocr

    def prepare(self, files: Sequence[tuple[Path, str]]) -> Iterator[PreparedBatch]:
        batch, pending = PreparedBatch(), 0
        with tqdm(total=len(files), desc="loading", unit="file", disable=not self.progress) as bar:
            for path, sha in files:
                try:
                    prepared = prepare_file(path, sha, self.chunker, self.ocr)
                    batch.files.append(prepared)
                    pending += len(prepared.flat_chunks())
                except SkipFile as exc:
                    batch.skipped.append((str(path), str(exc)))
                bar.update()
                if pending >= self.flush_chunks:
                    yield self._embedded(batch)
                    batch, pending = PreparedBatch(), 0
        if batch.files or batch.skipped:
            yield self._embedded(batch)

    def _embedded(self, batch: PreparedBatch) -> PreparedBatch:
        chunks = [c for f in batch.files for c in f.flat_chunks()]
        started = time.perf_counter()
        batch.vectors = embed_chunks(
            self.embedder, chunks, progress=self.progress and len(chunks) > 256
        )
        batch.embed_seconds = time.perf_counter() - started
        return batch
