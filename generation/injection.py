"""A small learned detector for sentences that address the model instead of stating facts.

The regex in sentences.py knows a few English phrasings of "ignore previous instructions";
an attacker has endless others, in any language. This detector is a logistic regression over
hashed character n-grams (language-agnostic, microseconds per sentence, no model to load),
trained by `minigiant train injection-detector` on prompt-injection instructions and on
ordinary prose and documentation (whose imperatives, "run the command", are not attacks),
each also translated by the offline Qwen generator. Its model card lists data and scores.

Character n-grams cannot tell a line that tells its human reader what to do ("Respond to the
client before you leave", "Do not share your PIN") from one that tells the model; a sentence
embedding reads who is addressed. So what the n-grams flag gets a second opinion: the same
n-grams beside the sentence's MiniLM embedding, in one logistic regression, and a sentence
is flagged only where both agree. Only flagged sentences are embedded (a few in a thousand
of prose), by the retriever's embedder, so pruning costs about what it did.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.sentences import table_cells
from indexing.embedding import Embedder
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
    thresholds, chosen on a dev split to drop almost no ordinary sentence."""

    def __init__(self, folder: Path):
        spec = json.loads((folder / MANIFEST).read_text())
        weights = np.load(folder / WEIGHTS)
        self.coef = weights["coef"].astype(np.float32)
        self.bias = float(weights["bias"])
        self.sizes = tuple(spec["ngram_sizes"])
        self.threshold = float(spec["threshold"])
        # a detector trained before the second opinion flags on the n-grams alone
        self.second_opinion: dict | None = spec.get("second_opinion")
        if self.second_opinion is not None:
            self.second_coef = weights["second_coef"].astype(np.float32)
            self.second_bias = float(weights["second_bias"])

    def probabilities(self, sentences: Sequence[str]) -> list[float]:
        """The n-gram model's probability. A table row scores as its most suspicious cell:
        the row's separators and column names say nothing of intent, and whole rows looked
        like the "name: demand;" form of attacks (0.64 of held-out sheet rows flagged)."""
        return [max(map(self._probability, _pieces(sentence))) for sentence in sentences]

    def _probability(self, text: str) -> float:
        return _sigmoid(self._logit(text, self.coef, self.bias))

    def _logit(self, text: str, coef: np.ndarray, bias: float) -> float:
        features = ngram_indices(text, self.sizes, len(self.coef))
        return bias + sum(coef[k] * v for k, v in features.items())

    def flags(self, sentences: Sequence[str]) -> list[bool]:
        flagged = [p >= self.threshold for p in self.probabilities(sentences)]
        if self.second_opinion is None or not any(flagged):
            return flagged
        asked = [i for i, f in enumerate(flagged) if f]
        agreed = self.second_probabilities([sentences[i] for i in asked])
        for i, p in zip(asked, agreed, strict=True):
            flagged[i] = p >= float(self.second_opinion["threshold"])
        return flagged

    def second_probabilities(self, sentences: Sequence[str]) -> list[float]:
        """The second opinion: n-grams and the MiniLM embedding together, each piece of a
        table row read on its own as in `probabilities`."""
        assert self.second_opinion is not None
        pieces = [_pieces(sentence) for sentence in sentences]
        flat = [piece for group in pieces for piece in group]
        vectors = _embedder(self.second_opinion["embedder"]).embed_passages(flat)
        dense = self.second_coef[len(self.coef) :] * float(self.second_opinion["embedding_weight"])
        scores = iter(
            _sigmoid(self._logit(piece, self.second_coef, self.second_bias) + float(v @ dense))
            for piece, v in zip(flat, vectors, strict=True)
        )
        return [max(next(scores) for _ in group) for group in pieces]


def _pieces(sentence: str) -> list[str]:
    return table_cells(sentence) or [sentence]


def _sigmoid(logit: float) -> float:
    return float(1.0 / (1.0 + np.exp(-logit)))


@functools.cache
def _embedder(model: str) -> Embedder:
    return Embedder(model, setting="context.injection_detector")


@functools.cache
def load_detector(model: str | None) -> InjectionDetector | None:
    """The detector `model` names ("minigiant-injection" is the shipped one); None: off."""
    if not model:
        return None
    return InjectionDetector(Path(resolve_model(model, "context.injection_detector")))
