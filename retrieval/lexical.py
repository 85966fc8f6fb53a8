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
_MAX_COUNTS = 100_000  # terms whose row counts a retriever remembers


def query_terms(text: str) -> list[str]:
    """The query's distinct lower-cased words, stopwords left out unless the question is made
    of nothing else ("to be or not to be")."""
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(text)))
    return [t for t in terms if t not in STOPWORDS] or terms


def fts_query(text: str) -> str:
    """OR of quoted terms: user punctuation (quotes, AND, NEAR, *) can never become syntax."""
    return _match(query_terms(text))


def _match(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)


class LexicalRetriever:
    """`common_share` and `common_rows`: a query term found in more than that share of the
    chunks, and in more than that many, is left out of the query (the rarest term always
    stays). FTS5 scores every row that holds any query term, so a word in half of a 100k-chunk
    index costs most of the query's time while its BM25 weight is near nothing; the usual
    remedy of search engines (dynamic pruning, Lucene's MaxScore) done at the query's level.
    The row floor keeps small indexes, where every term is cheap, reading all of them."""

    def __init__(self, store: ChunkStore, common_share: float = 1.0, common_rows: int = 0):
        self.store = store
        self.common_share = common_share
        self.common_rows = common_rows
        self._rows: int | None = None
        self._counts: dict[str, int] = {}  # the index version never changes under a reader

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first; higher is better."""
        terms = self.uncommon(query_terms(query))
        if not terms or k <= 0:
            return []
        rows = self.store.db.execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts) LIMIT ?",
            [_match(terms), k],
        ).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def uncommon(self, terms: list[str]) -> list[str]:
        """`terms` without the common ones, in their order; the rarest stays in any case."""
        if self.common_share >= 1.0 or len(terms) < 2:
            return terms
        if self._rows is None:
            self._rows = self.store.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        limit = max(self.common_share * self._rows, self.common_rows)
        counts = {t: self.rows_with(t) for t in terms}
        rarest = min(terms, key=counts.__getitem__)
        return [t for t in terms if counts[t] <= limit or t == rarest]

    def rows_with(self, term: str) -> int:
        """How many chunks hold the term (FTS5 stems it as it stems the text)."""
        if term not in self._counts:
            if len(self._counts) >= _MAX_COUNTS:
                self._counts.clear()
            self._counts[term] = self.store.db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [_match([term])]
            ).fetchone()[0]
        return self._counts[term]
