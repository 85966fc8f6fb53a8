"""Training pairs for the reranker: (query, passage, relevant?) with hard negatives.

Negatives are the passages our own hybrid retriever ranks highest that are not the answer,
so the reranker learns exactly the mistakes the first stage makes. Sources are permissive:
PubMedQA train part (questions and their conclusions as claim-like queries) and HaluEval QA.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.train.checker_data import Pair
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, RetrievalOptions


@dataclass(frozen=True)
class Query:
    text: str
    positive: str  # passage id
    group: str


def mine_hard_negatives(
    passages: dict[str, str], queries: list[Query], negatives: int, embedder: Embedder
) -> list[Pair]:
    """Index the passages, retrieve for each query, keep the top non-answers as negatives."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "passages.jsonl"
        corpus.write_text(
            "\n".join(
                json.dumps({"_id": pid, "title": "", "text": text})
                for pid, text in passages.items()
            )
        )
        root = Path(tmp) / "index"
        IndexBuilder(
            IndexDir(root), embedder, BuildOptions(chunk_tokens=240, overlap_tokens=0)
        ).run([corpus])
        reader = IndexReader.open(root)
        retriever = HybridRetriever(reader, embedder, RetrievalOptions(top_n=negatives + 10))
        pairs = []
        for query in queries:
            pairs.append(Pair(query.text, passages[query.positive], 1.0, query.group, "positive"))
            seen = {query.positive}
            for hit in retriever.retrieve(query.text):
                pid = hit.doc_uri.rsplit("#", 1)[1]
                if pid in seen:
                    continue
                seen.add(pid)
                pairs.append(Pair(query.text, passages[pid], 0.0, query.group, "hard-negative"))
                if len(seen) > negatives:
                    break
        reader.close()
    return pairs
