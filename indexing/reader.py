"""A read-only view of one published index version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexing.errors import IndexStateError
from indexing.index_dir import IndexDir, Version
from indexing.store import ChunkStore
from indexing.vectors import VectorIndex


@dataclass
class IndexReader:
    """Everything a query needs from one version; later versions never change what it sees."""

    root: Path
    version: Version
    store: ChunkStore
    vectors: VectorIndex
    meta: dict[str, object]

    @classmethod
    def open(cls, root: Path, nprobe: int = 16, mmap: bool = False) -> IndexReader:
        index_dir = IndexDir(root)
        for _ in range(3):
            version = index_dir.current()
            try:
                store = ChunkStore(version.sqlite_path, readonly=True)
                vectors = VectorIndex.load(version.faiss_path, nprobe=nprobe, mmap=mmap)
                return cls(index_dir.root, version, store, vectors, store.meta())
            except (RuntimeError, OSError) as exc:  # pruned between manifest read and open
                error = exc
        raise IndexStateError(f"cannot open index {index_dir.root}: {error}")

    def check_embedder(self, embedder_name: str) -> None:
        built_with = self.meta.get("embedder")
        if built_with != embedder_name:
            raise IndexStateError(
                f"{self.root} was built with embedder {built_with!r}, but embedder.model is "
                f"{embedder_name!r}: set embedder.model={built_with!r}, or rebuild the index"
            )

    def integrity_problems(self) -> list[str]:
        """Disagreements between FAISS, the chunks table and FTS5; empty when all is in step."""
        chunk_ids = set(self.store.chunk_ids())
        vector_ids = set(self.vectors.ids().tolist())
        problems = []
        if vector_ids - chunk_ids:
            problems.append(f"{len(vector_ids - chunk_ids)} FAISS ids have no chunk row")
        if chunk_ids - vector_ids:
            problems.append(f"{len(chunk_ids - vector_ids)} chunks have no FAISS vector")
        fts_rows = self.store.db.execute("SELECT count(*) FROM chunks_fts_docsize").fetchone()[0]
        if fts_rows != len(chunk_ids):
            problems.append(f"FTS5 holds {fts_rows} rows for {len(chunk_ids)} chunks")
        return problems

    def close(self) -> None:
        self.store.close()
