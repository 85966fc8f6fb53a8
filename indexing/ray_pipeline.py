"""Load, chunk and embed on a Ray cluster; the builder on the driver still writes the index.

The file list becomes a Ray dataset. One actor pool loads and chunks files (each actor holds
the embedder's tokenizer, so chunks match the local pipeline exactly) and emits one row per
document, so a single large BEIR file still spreads over the cluster. A second pool embeds:
one model per actor, one GPU each when the cluster has GPUs. Rows come back to the driver,
are regrouped per file and handed to `IndexBuilder` as prepared batches: one writer, the same
staging version and atomic publish as a local run.

Workers open the paths themselves, so on a multi-node cluster the files must be on a shared
filesystem and minigiant installed on every node.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing.chunking import Chunker
from indexing.documents import Chunk, Document
from indexing.embedding import Embedder, EmbedderSettings
from indexing.errors import MinigiantError, SkipFile
from indexing.ocr import OcrOptions
from indexing.pipeline import PreparedBatch, PreparedFile, embed_chunks, prepare_file
from indexing.store import FileRecord

log = logging.getLogger(__name__)

LOCAL = "local"
_FILES_PER_TASK = 4
_DOCS_PER_EMBED_BATCH = 32


def import_ray() -> Any:
    """Ray is optional: import it only when asked for, with the install line if missing."""
    try:
        import ray
    except ImportError:
        raise MinigiantError(
            "indexing with --ray needs Ray: pip install 'minigiant[ray]'"
        ) from None
    return ray


class _LoadAndChunk:
    """Ray actor: files -> one row per document with its chunks (JSON), or a skip reason."""

    def __init__(
        self,
        embedder: dict[str, Any],
        chunk_tokens: int,
        overlap_tokens: int,
        ocr: dict[str, Any] | None = None,
    ):
        tokenizer = Embedder(**{**embedder, "device": "cpu"}).tokenizer
        self.chunker = Chunker(tokenizer, chunk_tokens, overlap_tokens)
        self.ocr = OcrOptions(**(ocr or {}))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        columns = ("path", "sha", "size", "docs", "position", "document", "skip")
        out: dict[str, list[Any]] = {k: [] for k in columns}
        for path, sha in zip(batch["path"], batch["sha"], strict=True):
            try:
                prepared = prepare_file(Path(path), str(sha), self.chunker, self.ocr)
            except SkipFile as exc:
                rows = [(0, "", str(exc))]
            else:
                rows = [
                    (prepared.record.size, _document_json(d, c), "")
                    for d, c in zip(prepared.documents, prepared.chunks, strict=True)
                ] or [(prepared.record.size, "", "")]
            for position, (size, document, skip) in enumerate(rows):
                out["path"].append(str(path))
                out["sha"].append(str(sha))
                out["size"].append(size)
                out["docs"].append(len(rows) if document else 0)
                out["position"].append(position)
                out["document"].append(document)
                out["skip"].append(skip)
        return out


class _Embed:
    """Ray actor: one embedder (on the actor's GPU if it has one) adds each row's vectors."""

    def __init__(self, embedder: dict[str, Any]):
        self.embedder = Embedder(**embedder)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        per_row = [_chunks_of(document) for document in batch["document"]]
        vectors = embed_chunks(self.embedder, [c for cs in per_row for c in cs], progress=False)
        bounds = np.cumsum([0] + [len(cs) for cs in per_row])
        batch["vectors"] = np.array(
            [vectors[a:b].tobytes() for a, b in itertools.pairwise(bounds)],
            dtype=object,
        )
        return batch


def _document(fields: dict[str, Any]) -> Document:
    """A Document from its JSON fields (JSON gives lists where the record holds tuples)."""
    pages = {k: tuple(fields.get(k) or ()) for k in ("page_starts", "ocr_pages")}
    return Document(**{**fields, **pages})


def _document_json(document: Document, chunks: list[Chunk]) -> str:
    return json.dumps({"document": asdict(document), "chunks": [asdict(c) for c in chunks]})


def _chunks_of(document: str) -> list[Chunk]:
    return [Chunk(**c) for c in json.loads(document)["chunks"]] if document else []


@dataclass
class _Partial:
    """Rows of one file seen so far; complete once all its documents have arrived."""

    record: FileRecord
    expected: int
    rows: list[tuple[int, Document, list[Chunk], np.ndarray]] = field(default_factory=list)

    def prepared(self) -> tuple[PreparedFile, np.ndarray]:
        """The file with its documents in loader order (rows arrive in any order)."""
        rows = sorted(self.rows, key=lambda r: r[0])
        file = PreparedFile(self.record, [r[1] for r in rows], [r[2] for r in rows])
        return file, np.concatenate([r[3] for r in rows]) if rows else np.zeros((0, 0))


class RayPipeline:
    """Prepares files on Ray actor pools; `address` is 'local', 'auto' or a cluster address."""

    def __init__(
        self,
        embedder: EmbedderSettings,
        dimension: int,
        chunk_tokens: int,
        overlap_tokens: int,
        flush_chunks: int = 1024,
        address: str = LOCAL,
        progress: bool = True,
        ocr: OcrOptions | None = None,
    ):
        self.ray = import_ray()
        self.ocr = ocr or OcrOptions()
        self.embedder = embedder
        self.dimension = dimension
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.flush_chunks = flush_chunks
        self.address = address
        self.progress = progress

    def prepare(self, files: Sequence[tuple[Path, str]]) -> Iterator[PreparedBatch]:
        if not files:
            return
        started_here = not self.ray.is_initialized()
        if started_here:
            if self.address == LOCAL:
                self.ray.init(include_dashboard=False)
            else:
                self.ray.init(address=self.address)
        try:
            yield from self._batches(self._rows(files))
        finally:
            if started_here:
                self.ray.shutdown()

    def _rows(self, files: Sequence[tuple[Path, str]]) -> Iterator[dict[str, Any]]:
        data = self.ray.data
        data.DataContext.get_current().enable_progress_bars = self.progress
        chunkers, embedders, gpus = self._pool_sizes()
        log.info(
            "Ray: %d loading/chunking actor(s), %d embedding actor(s)%s",
            chunkers,
            embedders,
            " on GPUs" if gpus else "",
        )
        settings = self.embedder.model_dump()
        dataset = (
            data.from_items([{"path": str(p), "sha": sha} for p, sha in files])
            .map_batches(
                _LoadAndChunk,
                batch_size=_FILES_PER_TASK,
                compute=data.ActorPoolStrategy(size=chunkers),
                fn_constructor_kwargs={
                    "embedder": settings,
                    "chunk_tokens": self.chunk_tokens,
                    "overlap_tokens": self.overlap_tokens,
                    "ocr": self.ocr.model_dump(),
                },
                num_cpus=1,
            )
            .map_batches(
                _Embed,
                batch_size=_DOCS_PER_EMBED_BATCH,
                compute=data.ActorPoolStrategy(size=embedders),
                fn_constructor_kwargs={"embedder": settings},
                num_cpus=0 if gpus else 1,
                num_gpus=1 if gpus else 0,
            )
        )
        yield from dataset.iter_rows()

    def _pool_sizes(self) -> tuple[int, int, int]:
        """(chunking actors, embedding actors, GPUs): a GPU per embedder when there are GPUs."""
        resources = self.ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        if gpus:
            return max(1, cpus - 1), gpus, gpus
        embedders = max(1, cpus // 2)
        return max(1, cpus - embedders), embedders, 0

    def _batches(self, rows: Iterator[dict[str, Any]]) -> Iterator[PreparedBatch]:
        """Regroup document rows per file; yield batches of about `flush_chunks` chunks.

        A batch's `embed_seconds` is the wall time the cluster took to deliver it.
        """
        partial: dict[str, _Partial] = {}
        batch, vectors, started = PreparedBatch(), [], time.perf_counter()
        for row in rows:
            path = row["path"]
            if row["skip"]:
                batch.skipped.append((path, row["skip"]))
                continue
            entry = partial.setdefault(
                path, _Partial(FileRecord(path, row["sha"], int(row["size"])), int(row["docs"]))
            )
            if row["document"]:
                entry.rows.append(self._document_row(row))
            if len(entry.rows) < entry.expected:
                continue
            del partial[path]
            file, file_vectors = entry.prepared()
            batch.files.append(file)
            vectors.append(file_vectors.reshape(-1, self.dimension))
            if sum(len(v) for v in vectors) >= self.flush_chunks:
                yield _finished(batch, vectors, started)
                batch, vectors, started = PreparedBatch(), [], time.perf_counter()
        if partial:
            raise MinigiantError(f"Ray returned incomplete files: {', '.join(partial)}")
        if batch.files or batch.skipped:
            yield _finished(batch, vectors, started)

    def _document_row(self, row: dict[str, Any]) -> tuple[int, Document, list[Chunk], np.ndarray]:
        data = json.loads(row["document"])
        vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, self.dimension)
        chunks = [Chunk(**c) for c in data["chunks"]]
        return int(row["position"]), _document(data["document"]), chunks, vectors


def _finished(batch: PreparedBatch, vectors: list[np.ndarray], started: float) -> PreparedBatch:
    batch.vectors = np.concatenate(vectors) if vectors else None
    batch.embed_seconds = time.perf_counter() - started
    return batch
