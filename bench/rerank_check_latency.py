"""Per-call latency of the two checking models: reranking 50 passages, and checking a
5-sentence answer against 5 passages (the goal: well under a second each on 2 CPU cores).

A reranker's cost depends on its shape, not its weights: every MiniLM-L6 cross-encoder
(ours, or cross-encoder/ms-marco-MiniLM-L-6-v2) costs the same per pair. Without --reranker
the packaged all-MiniLM-L6-v2 is timed with a fresh one-logit head. Rows compare input
lengths and torch's dynamic int8 quantisation of the Linear layers against fp32. Whether
int8 keeps a reranker's accuracy needs a trained one: pass it with --reranker and compare
`minigiant eval retrieval` runs.

    python bench/rerank_check_latency.py --calls 10
"""

from __future__ import annotations

import argparse
import random
import time

from common import corpus_rows, percentiles_ms, print_result, scifact, setup_logging

from generation.check import CheckerSettings, FactChecker, split_sentences
from indexing.documents import titled
from indexing.models import resolve_model
from retrieval.cross_encoder import load_cross_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--passages", type=int, default=50)
    parser.add_argument("--reranker", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    setup_logging()
    import torch

    torch.manual_seed(0)
    rng = random.Random(0)
    data = scifact()
    rows = corpus_rows(data)
    claims = [data.queries[q] for q in sorted(data.queries, key=int)]
    texts = [titled(r["title"], r["text"]) for r in rows]
    calls = [(rng.choice(claims), rng.sample(texts, args.passages)) for _ in range(args.calls)]

    reranker = resolve_model(args.reranker, "--reranker")
    table: list[dict[str, object]] = []
    p50: dict[str, float] = {}
    for max_length in (256, 128):
        for precision in ("fp32", "int8"):
            model = load_cross_encoder(
                reranker, "cpu", max_length, "--reranker", int8=precision == "int8"
            )
            model.predict([calls[0][0], calls[0][1][0]])  # warm-up
            seconds = []
            for query, passages in calls:
                started = time.perf_counter()
                model.predict([(query, p) for p in passages], batch_size=32)
                seconds.append(time.perf_counter() - started)
            name = f"rerank {args.passages}, max {max_length}, {precision}"
            p50[name], p95 = percentiles_ms(seconds)
            table.append({"call": name, "p50 ms": p50[name], "p95 ms": p95})

    checker = FactChecker(CheckerSettings())
    checker.check("Warm-up sentence.", ["Warm-up passage."])
    seconds = []
    for _, passages in calls:
        evidence = passages[:5]
        sentences = [p.split(". ")[0].rstrip(".") + "." for p in evidence]
        answer = " ".join(f"{s} [{i + 1}]" for i, s in enumerate(sentences))
        assert len(split_sentences(answer)) >= 5
        started = time.perf_counter()
        checker.check(answer, evidence)
        seconds.append(time.perf_counter() - started)
    name = "check 5 sentences x 5 passages (shipped checker)"
    p50[name], p95 = percentiles_ms(seconds)
    table.append({"call": name, "p50 ms": p50[name], "p95 ms": p95})
    base = f"rerank {args.passages}, max 256, fp32"
    print_result(
        f"Reranking and checking latency, {args.calls} calls each",
        table,
        {f"speed-up of '{k}' vs '{base}'": p50[base] / v for k, v in p50.items() if k != base},
    )


if __name__ == "__main__":
    main()
