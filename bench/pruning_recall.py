"""How often the pruned context still holds the answer, for each sentence scorer, by budget.

The generator can only state an answer it reads, so the share of questions whose kept
sentences contain a gold answer bounds the answer quality a pruning setting allows, and the
kept tokens set its time to first token. No generator runs: retrieval, sentence scores and
the pruner only, on seeded SQuAD dev questions (seed 1 by default, so the eval's seed-0
sample is not the one tuned on). Scorers: the reranker (what the app prunes with), and any
cross-encoders named by `--pruner` (a folder or a Hugging Face id) to compare; each at every
budget and every weight of the question's own words (`context.lexical_weight`).

    python bench/pruning_recall.py --limit 300 --budgets 120 150 200 --pruner runs/pruner
    python bench/pruning_recall.py --seed 2 --lexical-weights 0 0.3 0.5 1
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from common import memoised, setup_logging, squad_qa
from tqdm import tqdm

from app.eval.datasets import sample
from app.eval.metrics import contains_answer
from app.settings import Settings
from generation.prune import CHARS_PER_TOKEN, prune_passages
from retrieval.rerank import Reranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budgets", type=int, nargs="+", default=[150])
    parser.add_argument("--pruner", action="append", default=[], help="a pruner to compare")
    parser.add_argument("--lexical-weights", type=float, nargs="+", default=[None])
    args = parser.parse_args()
    setup_logging()
    settings = Settings()
    qa_set, qa = squad_qa(settings)
    items = sample(qa_set.items, args.limit, args.seed)
    retrieved = [
        (item, qa.retrieve(item.question)) for item in tqdm(items, desc="retrieve", unit="question")
    ]
    scorers = {"reranker": qa.retriever.reranker}
    scorers |= {path: Reranker(path, setting="--pruner") for path in args.pruner}

    unpruned = np.mean([any(contains_answer(p.text, i.answers) for p in ps) for i, ps in retrieved])
    print(f"unpruned: gold in context {unpruned:.3f} ({len(retrieved)} questions)")
    print(
        "| sentence scorer | budget | lexical weight | gold kept | kept tokens | scoring ms p50 |"
    )
    print("|---|---|---|---|---|---|")
    default_weight = settings.context.lexical_weight
    for name, scorer in scorers.items():
        cached, seconds = memoised(scorer.score)
        for budget, weight in itertools.product(args.budgets, args.lexical_weights):
            weight = default_weight if weight is None else weight
            update = {"budget_tokens": budget, "lexical_weight": weight}
            context = settings.context.model_copy(update=update)
            kept, tokens = [], []
            for item, passages in tqdm(retrieved, desc=name, unit="question", leave=False):
                pruned = prune_passages(item.question, passages, cached, context)
                read = [p.read_text for p in pruned.passages]
                kept.append(any(contains_answer(text, item.answers) for text in read))
                tokens.append(sum(map(len, read)) / CHARS_PER_TOKEN)
            print(
                f"| {name} | {budget} | {weight} | {np.mean(kept):.3f} | {np.mean(tokens):.0f} "
                f"| {1000 * np.median(seconds):.0f} |"
            )
    qa.close()


if __name__ == "__main__":
    main()
