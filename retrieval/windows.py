"""Overlapping word windows: a small cross-encoder reads a fixed number of tokens, so a long
passage is read in pieces and its best piece stands for it (MaxP, Dai & Callan 2019)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Pair = tuple[str, str]


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


def best_window_scores(
    pairs: Sequence[Pair],
    expand: Callable[[Pair], list[Pair]],
    predict: Callable[[list[Pair]], Sequence[float]],
) -> list[float]:
    """Each pair's best score over the window pairs `expand` makes of it, predicted in one
    batched call."""
    flat: list[Pair] = []
    owners: list[int] = []
    for i, pair in enumerate(pairs):
        for windowed in expand(pair):
            flat.append(windowed)
            owners.append(i)
    if not flat:
        return []
    best = [float("-inf")] * len(pairs)
    for owner, value in zip(owners, predict(flat), strict=True):
        best[owner] = max(best[owner], float(value))
    return best
