"""BM25 over the FTS5 table that lives beside the chunks."""

from __future__ import annotations

import re

from indexing.store import ChunkStore

_TERM = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """OR of quoted terms: user punctuation (quotes, AND, NEAR, *) can never become syntax."""
    terms = dict.fromkeys(t.lower() for t in _TERM.findall(text))
    return " OR ".join(f'"{t}"' for t in terms)


class LexicalRetriever:
    def __init__(self, store: ChunkStore):
        self.store = store

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first; higher is better."""
        match = fts_query(query)
        if not match or k <= 0:
            return []
        rows = self.store.db.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts) LIMIT ?",
            [match, k],
        ).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]
