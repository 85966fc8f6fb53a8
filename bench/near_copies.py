"""Places in the top passages that copies of better-ranked ones take, with and without the
near-copy rule (`retrieval.copy_share`, retrieval/near_copies.py), over an index built the way
people build one: a folder of documentation as installed, here a Sphinx HTML build holding each
page twice (the page, and its reST source under `_sources/`). Each query is a page title of
the index, taken in a seeded order; a place counts as a copy where half its runs of three words
are in the passages ranked above it (a looser reading than the rule's 70%, so that copies the
rule lets through are counted too).

    apt-get install python3.11-doc
    minigiant index /usr/share/doc/python3.11/html --index pydoc     # ~10 min on 2 cores
    python bench/near_copies.py --index pydoc --queries 200
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import numpy as np
from common import percentiles_ms, print_result, setup_logging
from tqdm import tqdm

from app.settings import Settings
from indexing.embedding import Embedder
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, load_reranker
from retrieval.near_copies import Said, wording
from retrieval.passages import Passage

COUNTED_SHARE = 0.5
_TITLE = re.compile(r"[A-Za-z]{3,}(\W+[A-Za-z]{3,}){2,}")


def copies(passages: list[Passage]) -> int:
    """How many of the passages repeat the ones ranked above them."""
    said, count = Said(), 0
    for passage in passages:
        words = wording(passage.text)
        count += said.repeats(words, COUNTED_SHARE)
        said.add(words)
    return count


def titles(reader: IndexReader, count: int, seed: int) -> list[str]:
    """Page titles of three words or more (file names and directives left out), seeded."""
    ids = reader.store.chunk_ids()
    found = sorted({c.title for c in reader.store.chunks(ids).values() if c.title})
    found = [t for t in found if _TITLE.search(t) and not t.startswith("..")]
    random.Random(seed).shuffle(found)
    return found[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--top-n", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    settings = Settings()
    reader = IndexReader.open(args.index)
    embedder = Embedder.from_settings(settings.embedder)
    reranker = load_reranker(settings.retrieval, settings.embedder.device)
    readings = {
        "copies equal word for word": settings.retrieval.model_copy(update={"copy_share": None}),
        "near copies (shipped)": settings.retrieval,
    }
    searchers = {
        name: HybridRetriever(reader, embedder, options, reranker)
        for name, options in readings.items()
    }
    queries = titles(reader, args.queries, args.seed)
    counts = {name: [] for name in readings}
    docs = {name: [] for name in readings}
    seconds = {name: [] for name in readings}
    for query in tqdm(queries, desc="queries", unit="query"):
        for name, searcher in searchers.items():  # taking turns: the same load on both
            timings: dict[str, float] = {}
            passages = searcher.retrieve(query, top_n=args.top_n, timings=timings)
            counts[name].append(copies(passages))
            docs[name].append(len({p.doc_uri for p in passages}))
            seconds[name].append(timings["retrieve"])
    rows = []
    for name in readings:
        p50, p95 = percentiles_ms(seconds[name])
        places = np.sum(counts[name]) / (len(queries) * args.top_n)
        rows.append(
            {
                "reading": name,
                "queries": len(queries),
                "places taken by copies": f"{places:.3f}",
                "queries with a copy": f"{np.mean([c > 0 for c in counts[name]]):.3f}",
                "documents in top": f"{np.mean(docs[name]):.2f}",
                "first stage p50 / p95 ms": f"{p50:.1f} / {p95:.1f}",
            }
        )
    base, shipped = (np.median(seconds[name]) for name in readings)
    print_result(
        f"Near copies in the top {args.top_n} ({args.index})",
        rows,
        {"first stage time, near copies / word for word": shipped / base},
    )


if __name__ == "__main__":
    main()
