"""Overlapping word windows: a small cross-encoder reads a fixed number of tokens, so a long
passage is read in pieces and its best piece stands for it (MaxP, Dai & Callan 2019)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

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
    wanted = prefix_terms(query)
    bags = [[prefix_terms(w) & wanted for w in windows] for windows in passages]
    count = sum(len(b) for b in bags)
    df = {t: sum(t in bag for passage in bags for bag in passage) for t in wanted}
    idf = {t: math.log((count + 1) / (n + 0.5)) for t, n in df.items()}
    kept = []
    for windows, passage in zip(passages, bags, strict=True):
        weight = [sum(idf[t] for t in bag) for bag in passage]
        best = sorted(range(len(windows)), key=lambda i: -weight[i])[:keep]
        kept.append([windows[i] for i in sorted(best)])
    return kept


def prefix_terms(text: str) -> set[str]:
    """Words of three letters or more, cut to six: a crude stem ("regulates" meets "regulated"
    and "regulation") that needs no language model."""
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) > 2}


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
