"""Retrieval quality and speed on a BEIR data set: lexical, dense, hybrid, hybrid + rerank."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from app.eval.datasets import BeirDataset, doc_id_of, sample
from app.eval.indexes import ensure_index
from app.eval.metrics import IR_MEASURES, ir_scores, ranked_to_run
from app.settings import Settings
from indexing.embedding import Embedder
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, load_reranker

log = logging.getLogger(__name__)

SYSTEMS = ("lexical", "dense", "hybrid", "hybrid+rerank")
CHUNKS_PER_DOC_DEPTH = 3  # chunk candidates per wanted document: docs split into chunks
# Published nDCG@10 on SciFact test (see ../shared/data/README.md), for comparison only.
SCIFACT_ANCHORS = {
    "BM25 (BEIR paper)": 0.665,
    "BM25 (Anserini flat)": 0.679,
    "all-MiniLM-L6-v2 dense": 0.645,
    "hybrid BM25+MiniLM (txtai)": 0.713,
    "BM25 top-100 + ms-marco-MiniLM-L-6-v2": 0.682,
    "bge-small-en-v1.5 dense": 0.713,
}

Search = Callable[[str], list[int]]


@dataclass
class RetrievalEval:
    """One data set, one index, the systems to compare and the depth they search to."""

    dataset: BeirDataset
    settings: Settings
    depth: int = 100
    limit: int | None = None

    def run(self) -> dict[str, object]:
        root = ensure_index(self.dataset.name, [self.dataset.corpus], self.settings)
        reader = IndexReader.open(root)
        reader.check_embedder(self.settings.embedder.model)
        retriever = self._retriever(reader)
        doc_of = chunk_documents(reader)
        qids = sample(sorted(self.dataset.queries), self.limit)
        qrels = {q: self.dataset.qrels[q] for q in qids}
        systems: dict[str, dict[str, object]] = {}
        for name, search in self._searches(retriever).items():
            if search is None:
                systems[name] = {"status": "not configured (--reranker PATH_OR_ID)"}
                continue
            run, seconds = self._run(name, search, qids, doc_of)
            systems[name] = {
                "status": "ok",
                **ir_scores(qrels, run),
                "queries_per_s": len(qids) / sum(seconds),
                "p50_ms": float(np.percentile(seconds, 50) * 1000),
                "p95_ms": float(np.percentile(seconds, 95) * 1000),
            }
        reader.close()
        opts = retriever.options
        return {
            "dataset": str(self.dataset.corpus.parent),
            "index": str(root),
            "queries": len(qids),
            "documents": len(set(doc_of.values())),
            "chunks": len(doc_of),
            "embedder": self.settings.embedder.model,
            "chunk_tokens": self.settings.indexing.chunk_tokens,
            "chunk_candidates": self._chunk_depth,
            "rrf_k": opts.rrf_k,
            "reranker": opts.reranker,
            "rerank_k": opts.rerank_k,
            "rerank_mode": opts.rerank_mode,
            "rerank_weight": opts.rerank_weight,
            "rerank_tokens": opts.rerank_tokens,
            "rerank_window_words": opts.rerank_window_words,
            "rerank_windows_read": opts.rerank_windows_read,
            "rerank_int8": opts.rerank_int8,
            "rerank_dtype": opts.rerank_dtype,
            "measures": list(IR_MEASURES),
            "systems": systems,
            "anchors_ndcg@10": SCIFACT_ANCHORS if self.dataset.name == "scifact" else {},
        }

    @property
    def _chunk_depth(self) -> int:
        return min(1000, self.depth * CHUNKS_PER_DOC_DEPTH)

    def _retriever(self, reader: IndexReader) -> HybridRetriever:
        k = self._chunk_depth
        options = self.settings.retrieval.model_copy(update={"dense_k": k, "lexical_k": k})
        reranker = load_reranker(options, self.settings.embedder.device)
        embedder = Embedder.from_settings(self.settings.embedder)
        return HybridRetriever(reader, embedder, options, reranker)

    def _searches(self, retriever: HybridRetriever) -> dict[str, Search | None]:
        k = self._chunk_depth
        return {
            "lexical": lambda q: [i for i, _ in retriever.lexical.search(q, k)],
            "dense": lambda q: [i for i, _ in retriever.dense.search(q, k)],
            "hybrid": lambda q: [p.chunk_id for p in retriever.retrieve(q, k, rerank=False)],
            "hybrid+rerank": (
                (lambda q: [p.chunk_id for p in retriever.retrieve(q, k, rerank=True)])
                if retriever.reranker is not None
                else None
            ),
        }

    def _run(
        self, name: str, search: Search, qids: list[str], doc_of: dict[int, str]
    ) -> tuple[dict[str, dict[str, float]], list[float]]:
        run, seconds = {}, []
        for qid in tqdm(qids, desc=name, unit="query"):
            started = time.perf_counter()
            chunk_ids = search(self.dataset.queries[qid])
            seconds.append(time.perf_counter() - started)
            run[qid] = ranked_to_run(doc_of[c] for c in chunk_ids)
        return run, seconds


def chunk_documents(reader: IndexReader) -> dict[int, str]:
    """chunk id -> corpus document id, to score documents rather than chunks."""
    rows = reader.store.db.execute(
        "SELECT chunks.id, documents.uri FROM chunks JOIN documents ON chunks.doc_id = documents.id"
    )
    return {int(chunk_id): doc_id_of(uri) for chunk_id, uri in rows}


def retrieval_table(report: dict[str, object]) -> list[dict[str, object]]:
    """Rows for the printed table: one per system, then the published anchors."""
    rows = []
    for name, result in report["systems"].items():
        row: dict[str, object] = {"system": name}
        if result["status"] == "ok":
            row |= {m: result[m] for m in IR_MEASURES}
            row["queries/s"] = result["queries_per_s"]
        else:
            row["nDCG@10"] = result["status"]
        rows.append(row)
    rows += [{"system": f"anchor: {k}", "nDCG@10": v} for k, v in report["anchors_ndcg@10"].items()]
    return rows
