"""Nearest neighbours of the question's embedding in the FAISS index."""

from __future__ import annotations

from indexing.embedding import Embedder
from indexing.vectors import VectorIndex


class DenseRetriever:
    def __init__(self, vectors: VectorIndex, embedder: Embedder):
        self.vectors = vectors
        self.embedder = embedder

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) best first."""
        if k <= 0 or self.vectors.size == 0:
            return []
        scores, ids = self.vectors.search(self.embedder.embed_queries([query]), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
