"""Reciprocal rank fusion: combine rankings whose scores are on different scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], k: int = 60
) -> list[tuple[int, float]]:
    """Fuse id rankings (best first) into one; an id in several rankings is merged, not repeated.

    RRF score = sum over rankings of 1 / (k + rank), rank from 1 (Cormack et al., 2009).
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    fused: dict[int, float] = {}
    for ranking in rankings.values():
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def _min_max(scores: Sequence[float]) -> list[float]:
    low, high = min(scores), max(scores)
    if high == low:
        return [0.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def blend_scores(first: Sequence[float], second: Sequence[float], weight: float) -> list[float]:
    """(1 - weight) * first + weight * second, each min-max scaled over the same candidates.

    Unlike RRF this keeps score margins: a reranker sure of one passage moves it far, and an
    unsure one barely reorders a confident first stage.
    """
    if len(first) != len(second):
        raise ValueError(f"blend needs equal lengths, got {len(first)} and {len(second)}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend weight must be in [0, 1], got {weight}")
    if not first:
        return []
    return [
        (1.0 - weight) * a + weight * b
        for a, b in zip(_min_max(first), _min_max(second), strict=True)
    ]
