"""A conversation's follow-ups in order: what each answer reads anew, and its first token.

The generator keeps the prompts it read last, so an answer reads only what its prompt does
not share with a kept one. The conversation window (`conversation.turns` messages) sits after
the cached instructions; once it is full its start moves with every turn, and each answer
reads the whole window again. This plays MTRAG conversations with the most turns through
`QA.ask`, turn by turn (their own earlier messages as history, so every window sees the same
conversation), and reports per turn number the prompt tokens, those read anew and the first
token, for each window against none (`--windows ... 0`, the baseline: the question and its
sources alone).

    python bench/conversation_latency.py --conversations 6 --turns 6 --windows 4 0
"""

from __future__ import annotations

import argparse
import collections

import numpy as np
from common import print_result, setup_logging
from tqdm import tqdm

from app.eval.datasets import ConversationTask, data_root, load_mtrag, sample
from app.eval.indexes import mtrag_index
from app.qa import QA
from app.settings import Settings


def conversations(
    tasks: list[ConversationTask], count: int, turns: int, seed: int
) -> list[list[dict[str, str]]]:
    """Distinct MTRAG conversations of at least `turns` user turns, alternating user and
    agent, cut to their first `turns` exchanges (the last without its reply)."""
    found: dict[str, list[dict[str, str]]] = {}
    for task in tasks:
        messages = [*task.history, {"role": "user", "content": task.question}]
        roles = [m["role"] for m in messages]
        if len(messages) < 2 * turns - 1 or roles[::2] != ["user"] * len(roles[::2]):
            continue
        opening = messages[0]["content"]
        if len(messages) > len(found.get(opening, [])):
            found[opening] = messages[: 2 * turns - 1]
    return sample([found[k] for k in sorted(found)], count, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=6)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--windows", type=int, nargs="+", default=[4, 0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    tasks, passages = load_mtrag(data_root() / "mtrag")
    chats = conversations(tasks, args.conversations, args.turns, args.seed)
    settings = Settings()
    settings = settings.model_copy(update={"index": mtrag_index(passages, settings)})
    rows, later = [], {}
    for window in args.windows:
        conversation = settings.conversation.model_copy(update={"turns": window})
        qa = QA(settings.model_copy(update={"conversation": conversation}))
        qa.warm_up()
        seconds, prompt, unread, rewrite = (collections.defaultdict(list) for _ in range(4))
        for chat in tqdm(chats, desc=f"window {window}", unit="conversation"):
            for turn in range(args.turns):
                answer = qa.ask(chat[2 * turn]["content"], history=chat[: 2 * turn])
                seconds[turn].append(answer.timings["first_token"])
                rewrite[turn].append(answer.timings.get("condense", 0.0))
                prompt[turn].append(answer.usage.get("prompt_tokens", 0))
                unread[turn].append(prompt[turn][-1] - answer.usage.get("cached_tokens", 0))
        for turn in range(args.turns):
            rows.append(
                {
                    "window": window,
                    "turn": turn + 1,
                    "prompt tokens": round(float(np.mean(prompt[turn]))),
                    "read anew": round(float(np.mean(unread[turn]))),
                    "rewrite mean s": round(float(np.mean(rewrite[turn])), 2),
                    "first token p50 s": round(float(np.median(seconds[turn])), 2),
                }
            )
        later[window] = [
            float(np.mean([unread[t] for t in range(2, args.turns)])),
            float(np.median([seconds[t] for t in range(2, args.turns)])),
        ]
    base = args.windows[-1]
    ratios = {
        f"turns 3+ {what}, window {w} / {base}": later[w][k] / later[base][k]
        for w in args.windows[:-1]
        for k, what in enumerate(("read anew", "first token p50"))
    }
    print_result("Conversation latency (MTRAG, in order)", rows, ratios)


if __name__ == "__main__":
    main()
