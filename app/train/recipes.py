"""`minigiant train checker|reranker`: data, training, dev scores and the model card."""

from __future__ import annotations

import logging
import random
import time
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
from app.train.reranker_data import Query, mine_hard_negatives
from app.train.trainer import (
    TrainConfig,
    TrainLog,
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


def count_kinds(pairs: list[Pair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    counts["positive"] = sum(1 for p in pairs if p.label >= 0.5)
    counts["total"] = len(pairs)
    return counts


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
    model = train_cross_encoder(train, config, out)
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


def reranker_queries(seed: int, halu_items: int) -> tuple[dict[str, str], list[Query]]:
    rng = random.Random(seed)
    passages: dict[str, str] = {}
    queries: list[Query] = []
    for item in pubmedqa_train():
        pid = f"pubmed-{item.pmid}"
        passages[pid] = item.context
        queries.append(Query(item.question, pid, pid))
        queries.append(Query(item.long_answer, pid, pid))  # conclusions read like claims
    halu = list(halueval_qa())
    rng.shuffle(halu)
    for i, item in enumerate(halu[:halu_items]):
        pid = f"halu-{i}"
        passages[pid] = item.knowledge
        queries.append(Query(item.question, pid, pid))
    return passages, queries


def train_reranker(
    out: Path, config: TrainConfig, halu_items: int = 3000, negatives: int = 3
) -> TrainLog:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    passages, queries = reranker_queries(config.seed, halu_items)
    pairs = mine_hard_negatives(passages, queries, negatives, Embedder())
    train, dev = split_by_group(pairs, 0.05, random.Random(config.seed))
    model = train_cross_encoder(train, config, out)
    run = TrainLog("reranker", config, {"train": count_kinds(train), "dev": count_kinds(dev)})
    dev_probs = predict_probs(model, dev)
    run.dev = {
        f"own_dev_{k}": v for k, v in binary_classification(labels_of(dev), dev_probs, 0.5).items()
    }
    run.wall_seconds = time.perf_counter() - started
    write_card(
        out,
        run,
        "Reranker: scores how well a passage answers a query (question or claim). Use with "
        "`retrieval.reranker=<this folder>`. Hard negatives were mined with minigiant's own "
        "hybrid retriever (all-MiniLM-L6-v2 + SQLite FTS5, RRF).",
        {k: v for k, v in LICENCES.items() if "synthetic" not in k},
    )
    return run
