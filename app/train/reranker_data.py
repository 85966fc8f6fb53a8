"""Training lists for the reranker: a query, its passage, and the passages that fool us.

Negatives are the passages our own hybrid retriever ranks highest that are not the answer,
so the reranker learns exactly the mistakes the first stage makes. Sources are permissive
(MIT): PubMedQA-L train part, HaluEval QA and HaluEval summarization.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from app.train.checker_data import sentences, word_overlap
from app.train.datasets import HaluQA, HaluSummary, PubMedQA
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, RetrievalOptions
from retrieval.windows import half_windows

NEWS_WINDOW_WORDS = 150


@dataclass(frozen=True)
class Query:
    text: str
    positive: str  # passage id
    group: str  # source item: negatives never come from it, the dev split holds it out whole
    kind: str
    positive_text: str | None = None  # what the model sees, when it is not the indexed passage


@dataclass(frozen=True)
class Ranked:
    """One training row: the positive first, then hard negatives (listwise loss)."""

    query: str
    positive: str
    negatives: tuple[str, ...]
    group: str
    kind: str


@dataclass
class RerankerSources:
    passages: dict[str, str]
    groups: dict[str, str]  # passage id -> source item
    queries: list[Query]

    def add(self, pid: str, text: str, group: str) -> None:
        self.passages[pid] = text
        self.groups[pid] = group


def reranker_sources(
    pubmed: list[PubMedQA], halu: list[HaluQA], news: list[HaluSummary], rng: random.Random
) -> RerankerSources:
    """Questions, claim-like conclusions and sentences, each paired with the passage it is about.

    PubMedQA gives questions and conclusions over biomedical abstracts, plus inverse-cloze
    claims (a sentence taken out of its abstract). HaluEval summaries give claim-like
    sentences over the news window that shares most words with them.
    """
    out = RerankerSources({}, {}, [])
    for item in pubmed:
        pid = f"pubmed-{item.pmid}"
        out.add(pid, item.context, pid)
        out.queries.append(Query(item.question, pid, pid, "pubmed-question"))
        out.queries.append(Query(item.long_answer, pid, pid, "pubmed-conclusion"))
        claims = sentences(item.context)
        if len(claims) >= 3:
            claim = rng.choice(claims)
            rest = item.context.replace(claim, " ").strip()
            out.queries.append(Query(claim, pid, pid, "pubmed-cloze", rest))
    for i, item in enumerate(halu):
        pid = f"halu-{i}"
        out.add(pid, item.knowledge, pid)
        out.queries.append(Query(item.question, pid, pid, "halueval-question"))
    for i, item in enumerate(news):
        group = f"news-{i}"
        windows = half_windows(item.document, NEWS_WINDOW_WORDS)
        for j, sentence in enumerate(sentences(item.right_summary)[:2]):
            pid = f"{group}-{j}"
            out.add(pid, max(windows, key=lambda w: word_overlap(w, sentence)), group)
            out.queries.append(Query(sentence, pid, group, "news-summary-sentence"))
    return out


def mine_hard_negatives(
    sources: RerankerSources, negatives: int, embedder: Embedder
) -> list[Ranked]:
    """Index the passages, retrieve for each query, keep the top non-answers as negatives.

    Queries whose retriever finds fewer than `negatives` other passages are dropped, so every
    row has the same width.
    """
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "passages.jsonl"
        corpus.write_text(
            "\n".join(
                json.dumps({"_id": pid, "title": "", "text": text})
                for pid, text in sources.passages.items()
            )
        )
        root = Path(tmp) / "index"
        IndexBuilder(
            IndexDir(root), embedder, BuildOptions(chunk_tokens=240, overlap_tokens=0)
        ).run([corpus])
        reader = IndexReader.open(root)
        options = RetrievalOptions(top_n=3 * negatives + 10)
        retriever = HybridRetriever(reader, embedder, options)
        rows = []
        for query in tqdm(sources.queries, desc="mining negatives", unit="query"):
            found: list[str] = []
            for hit in retriever.retrieve(query.text):
                pid = hit.doc_uri.rsplit("#", 1)[1]
                if sources.groups[pid] != query.group and pid not in found:
                    found.append(pid)
                if len(found) == negatives:
                    break
            if len(found) == negatives:
                positive = query.positive_text or sources.passages[query.positive]
                rows.append(
                    Ranked(
                        query.text,
                        positive,
                        tuple(sources.passages[pid] for pid in found),
                        query.group,
                        query.kind,
                    )
                )
        reader.close()
    return rows
