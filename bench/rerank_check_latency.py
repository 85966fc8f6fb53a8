"""Per-call latency of the two checking models: reranking 50 passages, and checking a
5-sentence answer against 5 passages (the goal: well under a second each on 2 CPU cores).

Rows compare how the reranker reads a passage (its first `max_tokens` tokens; every 70-word
window; or, as shipped, only the window richest in the query's terms), torch's dynamic int8
Linear layers and the kernel rule's pick (bf16 on CPUs with AMX or AVX-512-BF16, else fp32 on
OpenVINO) against fp32, on whole SciFact abstracts (~250 words), 50 of them and the app's
default call, the top 10.
Any CrossEncoder ids or folders can be timed side by side with --reranker A B (a student
from `minigiant train reranker-student`, say); ours caps inputs at the 128 tokens it was
trained on. Accuracy per setting: `minigiant eval retrieval`.
The checker and the reranker's shipped reading run with their batches side by side, one per
core (the default), and once more with one batch at a time over all cores, taking turns.
The pruner's call (the shipped reranker scoring every sentence of the top 5 passages) is
timed at each of --batch-sizes, the sizes taking turns call by call.

    python bench/rerank_check_latency.py --calls 10
"""

from __future__ import annotations

import argparse
import random
import time

from common import corpus_rows, percentiles_ms, print_result, scifact, setup_logging

from generation.answer_sentences import split_sentences
from generation.check import CheckerSettings, FactChecker
from generation.sentences import sentence_spans
from indexing.documents import titled
from indexing.kernels import encoder_precision
from retrieval.hybrid import RetrievalOptions
from retrieval.rerank import Reranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--passages", type=int, default=50)
    parser.add_argument(
        "--reranker", nargs="+", default=["minigiant-reranker"], help="one or more, compared"
    )
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 16, 8])
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

    table: list[dict[str, object]] = []
    p50: dict[str, float] = {}

    def record(name: str, seconds: list[float]) -> None:
        p50[name], p95 = percentiles_ms(seconds)
        table.append({"call": name, "p50 ms": p50[name], "p95 ms": p95})

    shipped = RetrievalOptions()
    depths = sorted({args.passages, shipped.rerank_k}, reverse=True)
    # (window words, windows read): the first tokens only; every 70-word window (the previous
    # default); the shipped reading, the window(s) richest in the query's terms
    focused = (shipped.rerank_window_words, shipped.rerank_windows_read)
    readings = [(None, None), (70, None), focused]
    rule = encoder_precision("cpu")
    kernels = list(dict.fromkeys(["float32", rule, "int8"]))
    for model in args.reranker:
        for window_words, windows_read in readings:
            for precision in kernels:
                reranker = Reranker(
                    model,
                    "cpu",
                    max_tokens=args.max_tokens,
                    dtype=precision,
                    window_words=window_words,
                    windows_read=windows_read,
                    setting="--reranker",
                )
                reranker.score(calls[0][0], calls[0][1][:1])  # warm-up
                tokens = reranker.model.max_seq_length
                if window_words is None:
                    reading = f"first {tokens} tokens"
                elif windows_read is None:
                    reading = f"every {window_words}-word window"
                else:
                    reading = f"{windows_read} focused {window_words}-word window(s)"
                for depth in depths:
                    seconds = []
                    for query, passages in calls:
                        started = time.perf_counter()
                        reranker.score(query, passages[:depth])
                        seconds.append(time.perf_counter() - started)
                    record(f"{model}: {depth}, {reading}, {precision}", seconds)

    # the shipped reading in the rule's kernel: a call's batches side by side, one per core
    # (the default), against one batch at a time over all cores, taking turns call by call
    shipped_reranker = {
        suffix: Reranker(
            args.reranker[0], "cpu", window_words=focused[0], windows_read=focused[1], workers=w
        )
        for suffix, w in (("side by side", None), ("one batch at a time", 1))
    }
    for reranker in shipped_reranker.values():
        reranker.score(*calls[0])  # warm-up, the workers' threads started
    for depth in depths:
        taken: dict[str, list[float]] = {suffix: [] for suffix in shipped_reranker}
        for n, (query, passages) in enumerate(calls):
            for suffix in list(taken) if n % 2 == 0 else list(taken)[::-1]:
                started = time.perf_counter()
                shipped_reranker[suffix].score(query, passages[:depth])
                taken[suffix].append(time.perf_counter() - started)
        for suffix, seconds in taken.items():
            record(f"{args.reranker[0]}: {depth}, shipped reading, {rule}, {suffix}", seconds)
    pruner = Reranker("minigiant-reranker", "cpu", window_words=focused[0], windows_read=focused[1])
    sentences = [
        (query, [p[a:b] for p in passages[:5] for a, b in sentence_spans(p)])
        for query, passages in calls
    ]
    pruner.score(*sentences[0])  # warm-up
    by_size: dict[int, list[float]] = {size: [] for size in args.batch_sizes}
    for query, texts in sentences:
        for size in args.batch_sizes:
            pruner.batch_size = size
            started = time.perf_counter()
            pruner.score(query, texts)
            by_size[size].append(time.perf_counter() - started)
    mean = sum(len(texts) for _, texts in sentences) / len(sentences)
    for size, seconds in by_size.items():
        record(f"prune: {mean:.0f} sentences of 5 passages, batches of {size}", seconds)

    answers = []
    for _, passages in calls:
        evidence = passages[:5]
        sentences = [p.split(". ")[0].rstrip(".") + "." for p in evidence]
        answers.append((" ".join(f"{s} [{i + 1}]" for i, s in enumerate(sentences)), evidence))
        assert len(split_sentences(answers[-1][0])) >= 5
    # each kernel with batches side by side, one per core (the default), and the rule's pick
    # once more with one batch at a time over all cores; the two take turns call by call
    checkers = {
        f"check 5 sentences x 5 passages (shipped checker), {precision}{suffix}": FactChecker(
            CheckerSettings(dtype=precision, workers=workers)
        )
        for precision in kernels
        for workers, suffix in (
            ((None, ""), (1, ", one batch at a time")) if precision == rule else ((None, ""),)
        )
    }
    seconds: dict[str, list[float]] = {name: [] for name in checkers}
    for checker in checkers.values():
        checker.check("Warm-up sentence.", ["Warm-up passage."])
    for n, (answer, evidence) in enumerate(answers):
        for name in list(checkers) if n % 2 == 0 else list(checkers)[::-1]:
            started = time.perf_counter()
            checkers[name].check(answer, evidence)
            seconds[name].append(time.perf_counter() - started)
    for name, taken in seconds.items():
        record(name, taken)
    base = str(table[0]["call"])
    print_result(
        f"Reranking and checking latency, {args.calls} calls each",
        table,
        {f"speed-up of '{k}' vs '{base}'": p50[base] / v for k, v in p50.items() if k != base},
    )


if __name__ == "__main__":
    main()
