"""Query latency p50/p95 at 10k and 100k chunks: dense, lexical, and the hybrid pipeline.

FTS5 rows are real SciFact abstracts repeated to the wanted count; FAISS holds random unit
vectors of the embedder's size (what matters for search cost is their number, not meaning).
Past `ivf_threshold` (100k) the index switches to IVF, as a real index would. Queries are real
SciFact claims, embedded by the real embedder inside each timed call; the last stage is the
app's: hybrid retrieval, then the shipped reranker reading the top 10.

    python bench/retrieval_latency.py --sizes 10000 100000 --queries 100
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import corpus_rows, percentiles_ms, print_result, scifact, setup_logging
from tqdm import tqdm

from indexing.builder import BuildOptions
from indexing.documents import Chunk, Document
from indexing.embedding import Embedder
from indexing.index_dir import SQLITE_NAME, IndexDir
from indexing.reader import IndexReader
from indexing.store import ChunkStore, FileRecord
from indexing.vectors import VectorIndex
from retrieval.hybrid import HybridRetriever, RetrievalOptions, load_reranker
from retrieval.lexical import LexicalRetriever
from retrieval.rerank import Reranker


def build_synthetic(root: Path, size: int, embedder: Embedder) -> None:
    """An index of `size` one-chunk documents: repeated real text, random vectors."""
    rows = corpus_rows(scifact())
    rng = np.random.default_rng(0)
    with IndexDir(root).writer() as staging:
        store = ChunkStore(staging / SQLITE_NAME)
        documents, chunks = [], []
        for i in range(size):
            row = rows[i % len(rows)]
            uri = f"synthetic.jsonl#{i}"
            documents.append(Document(uri, "synthetic.jsonl", row["title"], row["text"]))
            chunks.append([Chunk(uri, 0, row["title"], row["text"], 0, len(row["text"]))])
        with store.db.conn:
            ids = store.add_file(FileRecord("synthetic.jsonl", "-", 0), documents, chunks)
            store.set_meta({"embedder": embedder.name, "dimension": embedder.dimension})
        store.close()
        vectors = VectorIndex.create(embedder.dimension)
        for start in range(0, size, 50_000):
            block = rng.standard_normal((min(50_000, size - start), embedder.dimension))
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            vectors.add(np.asarray(ids[start : start + len(block)]), block.astype(np.float32))
        vectors.maybe_switch_to_ivf(BuildOptions().ivf_threshold)
        vectors.save(staging / "faiss.index")


def measure(
    root: Path, embedder: Embedder, reranker: Reranker, queries: list[str]
) -> dict[str, list[float]]:
    reader = IndexReader.open(root)
    retriever = HybridRetriever(reader, embedder, RetrievalOptions(), reranker)
    every_term = LexicalRetriever(reader.store)  # the baseline: common terms read too
    stages = {
        "dense top-50": lambda q: retriever.dense.search(q, 50),
        "lexical top-50": lambda q: retriever.lexical.search(q, 50),
        "lexical top-50, every term": lambda q: every_term.search(q, 50),
        "hybrid top-5": lambda q: retriever.retrieve(q, rerank=False),
        "hybrid + rerank 10, top-5": lambda q: retriever.retrieve(q),
    }
    seconds: dict[str, list[float]] = {name: [] for name in stages}
    for q in queries[:5]:  # warm caches and the tokenizer
        for fn in stages.values():
            fn(q)
    for q in tqdm(queries, desc=f"{reader.vectors.size} chunks", unit="query"):
        for name, fn in stages.items():
            started = time.perf_counter()
            fn(q)
            seconds[name].append(time.perf_counter() - started)
    kind = reader.vectors.kind
    reader.close()
    return {f"{name} ({kind})" if "dense" in name else name: s for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    setup_logging()
    embedder = Embedder("all-MiniLM-L6-v2", device="cpu")
    reranker = load_reranker(RetrievalOptions(), "cpu")
    assert reranker is not None
    data = scifact()
    queries = [data.queries[q] for q in sorted(data.queries, key=int)][: args.queries]
    rows, p50 = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            root = Path(tmp) / f"idx-{size}"
            build_synthetic(root, size, embedder)
            for stage, seconds in measure(root, embedder, reranker, queries).items():
                median, p95 = percentiles_ms(seconds)
                rows.append({"chunks": size, "stage": stage, "p50 ms": median, "p95 ms": p95})
                p50[(size, stage.split(" (")[0])] = median
    small, large = min(args.sizes), max(args.sizes)
    ratios = {
        f"p50 {stage} at {large} / at {small} chunks": p50[(large, stage)] / p50[(small, stage)]
        for stage in dict.fromkeys(stage for _, stage in p50)
    }
    for size in args.sizes:
        ratios[f"p50 lexical top-50 at {size}: common terms left out / every term"] = (
            p50[(size, "lexical top-50")] / p50[(size, "lexical top-50, every term")]
        )
    print_result(f"Retrieval latency, {len(queries)} SciFact queries", rows, ratios)


if __name__ == "__main__":
    main()
