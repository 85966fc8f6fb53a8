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
