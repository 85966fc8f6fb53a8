"""Score long evidence the way the checker does at answer time: best window wins."""

from __future__ import annotations

from collections.abc import Sequence

from app.train.checker_data import Pair
from app.train.trainer import predict_probs
from generation.check import evidence_windows


def windowed_probs(model, pairs: Sequence[Pair], window_words: int) -> list[float]:
    flat: list[Pair] = []
    owners: list[int] = []
    for i, pair in enumerate(pairs):
        for window in evidence_windows(pair.text1, window_words):
            flat.append(Pair(window, pair.text2, pair.label, pair.group, pair.kind))
            owners.append(i)
    best = [0.0] * len(pairs)
    for owner, p in zip(owners, predict_probs(model, flat), strict=True):
        best[owner] = max(best[owner], p)
    return best
