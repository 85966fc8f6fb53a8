"""BM25 over the FTS5 table that lives beside the chunks."""

from __future__ import annotations

import re

from indexing.store import ChunkStore

_TERM = re.compile(r"\w+", re.UNICODE)

# Lucene's English stop set. BM25 gives these terms almost no weight, but every row holding
# one must still be scored, which is what made FTS5 slow at a million chunks.
_STOPWORD_TEXT = """
a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def fts_query(text: str) -> str:
    """OR of quoted terms: user punctuation (quotes, AND, NEAR, *) can never become syntax.

    Stopwords are left out unless the question is made of nothing else ("to be or not to be").
    """
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(text)))
    content = [t for t in terms if t not in STOPWORDS] or terms
    return " OR ".join(f'"{t}"' for t in content)


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
