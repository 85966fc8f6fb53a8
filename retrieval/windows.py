"""Overlapping word windows: a small cross-encoder reads a fixed number of tokens, so a long
passage is read in pieces and its best piece stands for it (MaxP, Dai & Callan 2019)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from retrieval.lexical import STOPWORDS

Pair = tuple[str, str]

_WORD = re.compile(r"\w+")


def word_windows(text: str, words: int, overlap: int) -> list[str]:
    """Windows of `words` words sharing `overlap` words with the next, covering the whole text:
    a fact cut at one window's edge is whole in its neighbour."""
    if not 0 <= overlap < words:
        raise ValueError(f"overlap must be in [0, {words}), got {overlap}")
    tokens = text.split()
    if len(tokens) <= words:
        return [text]
    step = words - overlap
    return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens) - overlap, step)]


def half_windows(text: str, words: int) -> list[str]:
    """Windows sharing half their words with the next: a fact cut at one window's edge is whole
    in its neighbour, whatever the window's size."""
    return word_windows(text, words, words // 2)


def focused_windows(query: str, passages: Sequence[Sequence[str]], keep: int) -> list[list[str]]:
    """Each passage's `keep` windows that share the most of the query's rarer terms (IDF over
    all the windows given), in passage order; ties keep the earlier window.

    Term overlap is nearly free, so the cross-encoder reads a few dozen words of each passage
    instead of all of it (intra-document cascading, Hofstätter et al. 2021).
    """
    weights = idf_overlap(prefix_terms(query), [w for windows in passages for w in windows])
    kept, offset = [], 0
    for windows in passages:
        weight = weights[offset : offset + len(windows)]
        offset += len(windows)
        best = sorted(range(len(windows)), key=lambda i: -weight[i])[:keep]
        kept.append([windows[i] for i in sorted(best)])
    return kept


def idf_overlap(wanted: set[str], texts: Sequence[str]) -> list[float]:
    """For each text, the share of the `wanted` terms' weight it holds, each term weighing its
    IDF over `texts`: a rare term of the query matched counts for more than a common one."""
    bags = [prefix_terms(t) & wanted for t in texts]
    df = {t: sum(t in bag for bag in bags) for t in wanted}
    idf = {t: math.log((len(bags) + 1) / (n + 0.5)) for t, n in df.items()}
    total = sum(idf.values()) or 1.0
    return [sum(idf[t] for t in bag) / total for bag in bags]


def prefix_terms(text: str) -> set[str]:
    """Words of three letters or more, cut to six: a crude stem ("regulates" meets "regulated"
    and "regulation") that needs no language model."""
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) > 2}


# words that shape a question without naming what it is about
_ASKING = frozenset(
    prefix_terms(
        " ".join(STOPWORDS) + " what which who whom whose when where why how does did many much"
    )
)
# a request opening the question ("Explain ...", "Can you tell me about ..."): its verb asks,
# and no passage names it ("list" later in a question is what it is about). Modal verbs stay
# content words: the answerability gate was fitted with them counted, and leaving them out
# moved two of its decisions the wrong way (README)
_REQUEST = re.compile(
    r"^\W*(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:explain|describe|tell\s+me"
    r"(?:\s+about)?|show\s+me|give\s+me|list|name|define|summari[sz]e|compare)\b",
    re.IGNORECASE,
)


def content_terms(text: str) -> set[str]:
    """The prefix terms of what a question asks about: stopwords, asking words and an opening
    request left out."""
    return prefix_terms(_REQUEST.sub("", text, count=1)) - _ASKING


def named_share(text: str, named: set[str]) -> float:
    """The share of the text's content terms among `named` (prefix terms of what it is
    checked against); 1.0 for a text without content terms, which claims nothing to miss."""
    terms = content_terms(text)
    return len(terms & named) / len(terms) if terms else 1.0


def pair_length(pair: Pair) -> int:
    """What a cross-encoder's batches are sorted by: padding follows the longer texts."""
    return len(pair[0]) + len(pair[1])


def best_window_scores(
    windows: Sequence[Sequence[Pair]], predict: Callable[[list[Pair]], Sequence[float]]
) -> list[float]:
    """Each item's best score over its window pairs, predicted in one batched call."""
    flat = [pair for item in windows for pair in item]
    owners = [i for i, item in enumerate(windows) for _ in item]
    best = [float("-inf")] * len(windows)
    if not flat:
        return best
    for owner, value in zip(owners, predict(flat), strict=True):
        best[owner] = max(best[owner], float(value))
    return best
