"""`minigiant train checker|reranker`: data, training, dev scores and the model card."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from app.eval.metrics import best_threshold, binary_classification
from app.train.checker_data import (
    Pair,
    halueval_pairs,
    labels_of,
    pubmed_answer_pairs,
    split_by_group,
    summary_pairs,
    synthetic_pairs,
)
from app.train.datasets import halueval_qa, halueval_summaries, pubmedqa_train, scifact_claims
from app.train.reranker_data import Ranked, mine_hard_negatives, reranker_sources
from app.train.trainer import (
    TrainConfig,
    TrainLog,
    pair_columns,
    predict_probs,
    train_cross_encoder,
    write_card,
)
from generation.check import CheckerSettings, FactChecker
from indexing.embedding import Embedder

log = logging.getLogger(__name__)

LICENCES = {
    "HaluEval QA (knowledge, right vs hallucinated answers)": "MIT",
    "PubMedQA-L, official test split excluded": "MIT",
    "HaluEval summarization (faithful summary sentences vs article windows)": "MIT",
    "synthetic FactCC-style pairs from the above": "MIT (derived)",
}
RERANKER_LICENCES = {
    "HaluEval QA (questions over their knowledge passages)": "MIT",
    "PubMedQA-L, official test split excluded (questions, conclusions, cloze sentences)": "MIT",
    "HaluEval summarization (summary sentences over article windows)": "MIT",
}


def _by_kind(rows: list[Ranked] | list[Pair]) -> dict[str, int]:
    return dict(Counter(r.kind for r in rows))


def count_rows(rows: list[Ranked]) -> dict[str, int]:
    """Rows per kind and in all, for the model card."""
    return _by_kind(rows) | {"total": len(rows)}


def count_kinds(pairs: list[Pair]) -> dict[str, int]:
    positive = sum(1 for p in pairs if p.label >= 0.5)
    return _by_kind(pairs) | {"positive": positive, "total": len(pairs)}


def checker_pairs(seed: int, halu_items: int, window_words: int) -> tuple[list[Pair], list[Pair]]:
    rng = random.Random(seed)
    halu = list(halueval_qa())
    rng.shuffle(halu)
    pubmed = pubmedqa_train()
    passages = [(f"pubmed-{p.pmid}", p.context) for p in pubmed] + [
        (f"halu-k{i}", h.knowledge) for i, h in enumerate(halu[halu_items : halu_items + 1500])
    ]
    pairs = (
        halueval_pairs(halu[:halu_items], rng)
        + synthetic_pairs(passages, 2, window_words, rng)
        + pubmed_answer_pairs(pubmed, window_words, rng)
        + summary_pairs(halueval_summaries(2500), window_words, rng)
    )
    return split_by_group(pairs, 0.1, rng)


def scifact_dev_pairs() -> list[Pair]:
    """SciFact claims dev split: SUPPORT is supported; CONTRADICT and NOT_ENOUGH_INFO are not."""
    return [
        Pair(c.evidence, c.claim, 1.0 if c.label == "SUPPORT" else 0.0, c.claim_id, c.label)
        for c in scifact_claims("dev")
    ]


def train_checker(out: Path, config: TrainConfig, halu_items: int = 4000) -> TrainLog:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    window = CheckerSettings().window_words
    train, dev = checker_pairs(config.seed, halu_items, window)
    log.info("checker data: %d train, %d dev pairs", len(train), len(dev))
    model = train_cross_encoder(pair_columns(train), config, out)
    run = TrainLog("checker", config, {"train": count_kinds(train), "dev": count_kinds(dev)})
    dev_probs = predict_probs(model, dev)
    threshold = best_threshold(labels_of(dev), dev_probs)
    run.dev = {
        f"own_dev_{k}": v for k, v in binary_classification(labels_of(dev), dev_probs, 0.5).items()
    }
    run.dev["threshold"] = threshold
    # long abstracts scored as at answer time: windowed, best window wins
    scifact = scifact_dev_pairs()
    checker = FactChecker(CheckerSettings(model=str(out), device=model.device.type))
    sf_probs = checker.score([(p.text1, p.text2) for p in scifact])
    for name, t in (("t0.5", 0.5), ("tdev", threshold)):
        scores = binary_classification(labels_of(scifact), sf_probs, t)
        run.dev.update({f"scifact_dev_{name}_{k}": v for k, v in scores.items()})
    run.wall_seconds = time.perf_counter() - started
    write_card(
        out,
        run,
        "Factuality checker: scores P(the claim is supported by the evidence) for an "
        "(evidence window, claim) pair. minigiant splits long evidence into windows of "
        f"{window} words and takes the best. Use with `checker.model=<this folder>` and "
        f"`checker.threshold={threshold:.3f}`.",
        LICENCES,
    )
    return run


def reranker_rows(
    seed: int, pubmed_items: int | None, halu_items: int, news_items: int, negatives: int
) -> list[Ranked]:
    rng = random.Random(seed)
    halu = list(halueval_qa())
    rng.shuffle(halu)
    pubmed = pubmedqa_train()[:pubmed_items]
    sources = reranker_sources(pubmed, halu[:halu_items], halueval_summaries(news_items), rng)
    log.info("reranker: %d queries, %d passages", len(sources.queries), len(sources.passages))
    return mine_hard_negatives(sources, negatives, Embedder())


def ranking_scores(model, rows: list[Ranked]) -> dict[str, float]:
    """MRR and accuracy@1 of the positive among its hard negatives."""
    reciprocal, first = [], []
    for row in rows:
        scores = model.predict(
            [(row.query, text) for text in (row.positive, *row.negatives)],
            show_progress_bar=False,
        )
        rank = 1 + sum(1 for s in scores[1:] if s >= scores[0])
        reciprocal.append(1.0 / rank)
        first.append(float(rank == 1))
    return {"mrr": sum(reciprocal) / len(rows), "accuracy@1": sum(first) / len(rows)}


def train_reranker(
    out: Path,
    config: TrainConfig,
    halu_items: int = 3000,
    news_items: int = 2500,
    negatives: int = 3,
    pubmed_items: int | None = None,
) -> TrainLog:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    # 128 tokens: reranking 50 passages has to fit in well under a second on two cores
    config = replace(config, loss="listwise", max_length=128)
    rows = reranker_rows(config.seed, pubmed_items, halu_items, news_items, negatives)
    train, dev = split_by_group(rows, 0.02, random.Random(config.seed))
    columns = {"query": [r.query for r in train], "positive": [r.positive for r in train]}
    for n in range(negatives):
        columns[f"negative_{n + 1}"] = [r.negatives[n] for r in train]
    model = train_cross_encoder(columns, config, out)
    run = TrainLog("reranker", config, {"train": count_rows(train), "dev": count_rows(dev)})
    run.dev = {f"own_dev_{k}": v for k, v in ranking_scores(model, dev).items()}
    run.wall_seconds = time.perf_counter() - started
    write_card(
        out,
        run,
        "Reranker: scores how well a passage answers a query (question or claim). Use with "
        "`retrieval.reranker=<this folder>`. Hard negatives were mined with minigiant's own "
        "hybrid retriever (all-MiniLM-L6-v2 + SQLite FTS5, RRF).",
        RERANKER_LICENCES,
    )
    return run
