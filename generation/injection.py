"""A small learned detector for sentences that address the model instead of stating facts.

The regex in sentences.py knows a few English phrasings of "ignore previous instructions";
an attacker has endless others, in any language. This detector is a logistic regression over
hashed character n-grams (language-agnostic, microseconds per sentence, no model to load),
trained by `minigiant train injection-detector` on prompt-injection instructions and on
ordinary prose and documentation (whose imperatives, "run the command", are not attacks),
each also translated by the offline Qwen generator. Its model card lists data and scores.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.sentences import table_cells
from indexing.models import resolve_model

MANIFEST = "minigiant.json"
WEIGHTS = "weights.npz"


def ngram_indices(text: str, sizes: Sequence[int], buckets: int) -> dict[int, float]:
    """Hashed, L2-normalised counts of the text's character n-grams (lower case, spaces
    collapsed, padded so word starts and ends count)."""
    padded = f" {' '.join(text.lower().split())} "
    counts: dict[int, float] = {}
    for n in sizes:
        for i in range(len(padded) - n + 1):
            index = zlib.crc32(padded[i : i + n].encode()) % buckets
            counts[index] = counts.get(index, 0.0) + 1.0
    norm = sum(v * v for v in counts.values()) ** 0.5 or 1.0
    return {k: v / norm for k, v in counts.items()}


class InjectionDetector:
    """Probability that a sentence is an injected instruction; `flags` applies the shipped
    threshold, chosen on a dev split to drop almost no ordinary sentence."""

    def __init__(self, folder: Path):
        spec = json.loads((folder / MANIFEST).read_text())
        weights = np.load(folder / WEIGHTS)
        self.coef = weights["coef"].astype(np.float32)
        self.bias = float(weights["bias"])
        self.sizes = tuple(spec["ngram_sizes"])
        self.threshold = float(spec["threshold"])

    def probabilities(self, sentences: Sequence[str]) -> list[float]:
        """A table row scores as its most suspicious cell: the row's separators and column
        names say nothing of intent, and whole rows looked like the "name: demand;" form of
        attacks (0.64 of held-out sheet rows flagged)."""
        return [
            max(map(self._probability, table_cells(sentence) or [sentence]))
            for sentence in sentences
        ]

    def _probability(self, text: str) -> float:
        features = ngram_indices(text, self.sizes, len(self.coef))
        logit = self.bias + sum(self.coef[k] * v for k, v in features.items())
        return float(1.0 / (1.0 + np.exp(-logit)))

    def flags(self, sentences: Sequence[str]) -> list[bool]:
        return [p >= self.threshold for p in self.probabilities(sentences)]


@functools.cache
def load_detector(model: str | None) -> InjectionDetector | None:
    """The detector `model` names ("minigiant-injection" is the shipped one); None: off."""
    if not model:
        return None
    return InjectionDetector(Path(resolve_model(model, "context.injection_detector")))
