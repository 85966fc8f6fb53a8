"""What the pruner keeps of real documents: MTRAG's reference passages, per collection.

SQuAD's and CLAPNQ's passages are single paragraphs of prose; MTRAG's four collections are
what users index: Wikipedia (CLAPNQ), government pages, IBM Cloud documentation (headings,
tables, commands) and finance forum posts. Each answerable turn's question (its last user
message, as written) is pruned over that turn's own reference passages, so retrieval plays
no part: the share of the reference answer's content words the kept text holds says whether
the answer survives, the kept tokens what the generator must read (the pruner keeps its lead
and best-ranked sentences whatever they cost, so long unsplit pieces push prompts over the
budget).

    python bench/pruning_mtrag.py --budgets 150 200
"""

from __future__ import annotations

import argparse
import collections

import numpy as np
from common import memoised, print_result, setup_logging
from tqdm import tqdm

from app.eval.datasets import data_root, load_mtrag
from app.settings import Settings
from generation.prune import CHARS_PER_TOKEN, prune_passages
from retrieval.hybrid import load_reranker
from retrieval.passages import Passage
from retrieval.windows import prefix_terms

ANSWERED = ("ANSWERABLE", "PARTIAL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[150])
    args = parser.parse_args()
    setup_logging()
    settings = Settings()
    tasks, rows = load_mtrag(data_root() / "mtrag")
    texts = {row["_id"]: row for row in rows}
    tasks = [t for t in tasks if t.answerability in ANSWERED and t.answers and t.gold_docs]
    reranker = load_reranker(settings.retrieval, "cpu")
    if reranker is None:
        raise SystemExit("the pruner scores sentences with the reranker: set retrieval.reranker")
    score, seconds = memoised(reranker.score)
    table = []
    for budget in args.budgets:
        context = settings.context.model_copy(update={"budget_tokens": budget})
        kept, tokens = collections.defaultdict(list), collections.defaultdict(list)
        for task in tqdm(tasks, desc=f"budget {budget}", unit="turn"):
            passages = [
                Passage(
                    i, doc, doc, texts[doc]["title"], texts[doc]["text"], 0, len(texts[doc]["text"])
                )
                for i, doc in enumerate(task.gold_docs)
            ]
            pruned = prune_passages(task.question, passages, score, context)
            read = " ".join(p.read_text for p in pruned.passages)
            wanted = prefix_terms(task.answers[0])
            collection = task.gold_docs[0].split("/")[0]
            for group in (collection, "all"):
                kept[group].append(len(wanted & prefix_terms(read)) / max(1, len(wanted)))
                tokens[group].append(len(read) / CHARS_PER_TOKEN)
        for group in sorted(kept, key=lambda g: (g == "all", g)):
            spent = np.array(tokens[group])
            table.append(
                {
                    "collection": group,
                    "budget": budget,
                    "turns": len(spent),
                    "answer words kept": float(np.mean(kept[group])),
                    "tokens p50": float(np.median(spent)),
                    "p90": float(np.percentile(spent, 90)),
                    "p99": float(np.percentile(spent, 99)),
                    "over budget + 50": float(np.mean(spent > budget + 50)),
                }
            )
    print_result(
        f"Pruning MTRAG's reference passages ({len(tasks)} answerable turns), "
        f"sentence scoring p50 {1000 * np.median(seconds):.0f} ms",
        table,
        {},
    )


if __name__ == "__main__":
    main()
