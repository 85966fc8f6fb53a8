"""Citations re-pointed to the passage the checker found backing each sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from generation.check import SentenceVerdict
from generation.citations import cite_only, cited_numbers, without_markers

# a yes/no answer's words: written in many passages, so where they stand backs nothing
_VERDICT_WORDS = frozenset({"yes", "no", "true", "false", "maybe", "none"})
# fewer words than this make a phrase ("1892."), not a claim a passage can be read to back
MIN_CLAIM_WORDS = 4


def recite(
    answer: str,
    verdicts: Sequence[SentenceVerdict],
    above: float,
    passages: Sequence[str] = (),
) -> tuple[str, list[SentenceVerdict]]:
    """The answer with each sentence citing the passage that supports it best (scoring at
    least `above`), where the passages it cites support it less than that (or it cites none),
    and its verdicts moved to the new offsets.

    A generator citing [2] for a fact that only [1] states sends the reader to the wrong
    source; the checker has already read every sentence against every passage, so it knows
    which passage backs it. A bare phrase ("1892.") states nothing to check, so it cites the
    first of `passages` that writes it, where the ones it cites do not (on 200 SQuAD answers,
    3 of the 6 right answers citing a passage without the answer were such phrases): the
    passages as stored, which the user opens, since the generator may write a phrase from a
    sentence the pruner left out of what it read.
    """
    text, moved, shift = "", [], 0
    last = 0
    for v in sorted(verdicts, key=lambda v: v.start):
        sentence = answer[v.start : v.end]
        claim = len(without_markers(sentence).split()) >= MIN_CLAIM_WORDS
        weakly = v.cited_score is None or v.cited_score < above
        recited = claim and v.score >= above and v.passage is not None and weakly
        writer = None if claim else _first_writer(sentence, passages)
        if recited:
            sentence = cite_only(sentence, v.passage)
        elif writer is not None:
            sentence = cite_only(sentence, writer)
            recited = True
        text += answer[last : v.start] + sentence
        start = v.start + shift
        shift += len(sentence) - (v.end - v.start)
        moved.append(
            replace(
                v,
                text=sentence,
                start=start,
                end=start + len(sentence),
                cited_supported=True if recited else v.cited_supported,
                cited_score=v.score if recited else v.cited_score,
            )
        )
        last = v.end
    return text + answer[last:], moved


def _first_writer(phrase: str, passages: Sequence[str]) -> int | None:
    """The number of the first passage that writes the phrase, where none it cites does."""
    words = _words(without_markers(phrase))
    if not words or words in _VERDICT_WORDS:
        return None
    writes = [f" {words} " in f" {_words(p)} " for p in passages]
    cited = [n for n in cited_numbers(phrase) if 1 <= n <= len(passages)]
    if any(writes[n - 1] for n in cited) or not any(writes):
        return None
    return writes.index(True) + 1


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))
