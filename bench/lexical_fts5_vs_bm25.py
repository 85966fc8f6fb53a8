"""Lexical search: our SQLite FTS5 (porter, BM25) vs rank-bm25's BM25Okapi on SciFact.

Both index the same 5,183 abstracts as one unit each (title + text) and answer the same 300
test queries; quality is document nDCG@10 through ir-measures.

    python bench/lexical_fts5_vs_bm25.py
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from common import corpus_rows, percentiles_ms, print_result, scifact, setup_logging, timed
from tqdm import tqdm

from app.eval.metrics import ir_scores, ranked_to_run
from indexing.documents import Chunk, Document
from indexing.store import ChunkStore, FileRecord
from retrieval.lexical import LexicalRetriever

_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def main() -> None:
    setup_logging()
    from rank_bm25 import BM25Okapi

    data = scifact()
    rows = corpus_rows(data)
    qids = sorted(data.queries, key=int)
    with tempfile.TemporaryDirectory() as tmp:

        def build_fts() -> tuple[ChunkStore, dict[int, str]]:
            store = ChunkStore(Path(tmp) / "fts.sqlite")
            docs = [Document(r["_id"], "scifact", r["title"], r["text"]) for r in rows]
            chunks = [[Chunk(d.uri, 0, d.title, d.text, 0, len(d.text))] for d in docs]
            with store.db.conn:
                ids = store.add_file(FileRecord("scifact", "-", 0), docs, chunks)
            return store, dict(zip(ids, (r["_id"] for r in rows), strict=True))

        (store, doc_of), fts_build = timed(build_fts)
        bm25, bm25_build = timed(
            lambda: BM25Okapi([tokens(f"{r['title']} {r['text']}") for r in rows])
        )
        fts = LexicalRetriever(store)
        doc_ids = [r["_id"] for r in rows]
        systems = {
            "SQLite FTS5 (minigiant)": lambda q: [doc_of[i] for i, _ in fts.search(q, 100)],
            "rank-bm25 BM25Okapi": lambda q: [
                doc_ids[i] for i in bm25.get_scores(tokens(q)).argsort()[::-1][:100]
            ],
        }
        table, p50 = [], {}
        for name, search in systems.items():
            run, seconds = {}, []
            for qid in tqdm(qids, desc=name, unit="query"):
                started = time.perf_counter()
                run[qid] = ranked_to_run(search(data.queries[qid]))
                seconds.append(time.perf_counter() - started)
            median, p95 = percentiles_ms(seconds)
            p50[name] = median
            table.append(
                {
                    "system": name,
                    "build s": fts_build if "FTS5" in name else bm25_build,
                    "p50 ms": median,
                    "p95 ms": p95,
                    "queries/s": len(qids) / sum(seconds),
                    **ir_scores(data.qrels, run, ("nDCG@10", "R@100")),
                }
            )
        store.close()
    fts_name, bm25_name = list(systems)
    print_result(
        f"Lexical search over {len(rows)} SciFact abstracts, {len(qids)} test queries",
        table,
        {"FTS5 speed-up in p50 query latency (rank-bm25 / FTS5)": p50[bm25_name] / p50[fts_name]},
    )


if __name__ == "__main__":
    main()
