"""A fast factuality scorer: logistic regression over evidence-overlap features.

Each (evidence, claim) pair becomes a handful of interpretable signals: how many of the
claim's content words, numbers and names the evidence contains, whether a negation or the
direction of a change (rises / falls) differs, and how close the claim's embedding is to the
evidence's best sentence (the packaged embedder). On two CPU cores it checks a 5-sentence
answer against 5 whole SciFact abstracts in about 0.6 s, nearly all of it embedding their
sentences, and it catches the errors small generators make most: swapped numbers, names and
polarity, and claims no passage backs.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.attribution import content_words
from indexing.embedding import Embedder

FEATURES = (
    "word_recall",
    "bigram_recall",
    "number_recall",
    "name_recall",
    "negation_mismatch",
    "best_sentence_cosine",
    "evidence_mean_cosine",
    "claim_words_log",
    "sentence_word_recall",
    "missing_words_log",
    "max_sentence_recall",
    "direction_mismatch",
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"(?<!^)\b[A-Z][\w-]+")
_NEGATION = re.compile(r"\b(?:not|no|never|none|cannot|without|n't)\b|n't\b", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
# which way a claim says something moves: "X increases Y" against a passage where Y falls is
# the contradiction scientific claims make most, and shares nearly every word with support
_UP = re.compile(
    r"\b(?:increas\w*|higher|more|greater|elevat\w*|rais\w*|enhanc\w*|promot\w*|improv\w*|"
    r"positive\w*|up-?regulat\w*|activat\w*|induc\w*|accelerat\w*)\b",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(?:decreas\w*|lower|less|fewer|reduc\w*|inhibit\w*|suppress\w*|impair\w*|negative\w*|"
    r"down-?regulat\w*|block\w*|prevent\w*|attenuat\w*|diminish\w*)\b",
    re.IGNORECASE,
)


def evidence_sentences(evidence: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(evidence) if s.strip()] or [evidence]


def _recall(wanted: set[str], have: set[str]) -> float:
    return len(wanted & have) / len(wanted) if wanted else 1.0


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [w.lower() for w in re.findall(r"[^\W_]+", text)]
    return set(itertools.pairwise(words))


def lexical_features(evidence: str, claim: str, best_sentence: str) -> list[float]:
    """The first five FEATURES (the embedding ones are added by the caller)."""
    evidence_lower = evidence.lower()
    names = {n.lower() for n in _NAME.findall(claim)}
    return [
        _recall(content_words(claim), content_words(evidence)),
        _recall(_bigrams(claim), _bigrams(evidence)),
        _recall(set(_NUMBER.findall(claim)), set(_NUMBER.findall(evidence))),
        _recall(names, {n for n in names if n in evidence_lower}),
        float(bool(_NEGATION.search(claim)) != bool(_NEGATION.search(best_sentence))),
    ]


def direction_mismatch(claim: str, sentence: str) -> float:
    """1 when the claim moves one way only and the sentence only the other."""
    claim_up, claim_down = bool(_UP.search(claim)), bool(_DOWN.search(claim))
    up, down = bool(_UP.search(sentence)), bool(_DOWN.search(sentence))
    return float(
        (claim_up and not claim_down and down and not up)
        or (claim_down and not claim_up and up and not down)
    )


def local_features(evidence: str, claim: str, sentences: list[str], best: int) -> list[float]:
    """The last three FEATURES: support has to sit in one sentence, and words the evidence
    never uses are new claims. A claim made of a passage's names plus an invented predicate
    ("the harbour is closed forever") shares topic words with the passage, not a sentence.
    `sentences` are the evidence's, `best` the one closest to the claim in embedding space."""
    words = content_words(claim)
    recalls = [_recall(words, content_words(s)) for s in sentences]
    return [recalls[best], math.log1p(len(words - content_words(evidence))), max(recalls)]


def pair_features(pairs: Sequence[tuple[str, str]], embedder: Embedder) -> np.ndarray:
    """One row of FEATURES per (evidence, claim) pair.

    Only sentences are embedded: the evidence as a whole is the mean of its sentences'
    vectors. Embedding each passage again cost a third of a check, for a feature the mean
    stands in for."""
    texts = sorted(
        {s for evidence, _ in pairs for s in evidence_sentences(evidence)} | {c for _, c in pairs}
    )
    vectors = dict(zip(texts, embedder.embed_passages(texts), strict=True))
    rows = []
    for evidence, claim in pairs:
        claim_vec = vectors[claim]
        candidates = evidence_sentences(evidence)
        sentence_vecs = np.stack([vectors[s] for s in candidates])
        cosines = sentence_vecs @ claim_vec
        best = int(np.argmax(cosines))
        mean = sentence_vecs.mean(axis=0)
        lexical = lexical_features(evidence, claim, candidates[best])
        similarity = [float(cosines[best]), float(mean @ claim_vec / np.linalg.norm(mean))]
        local = local_features(evidence, claim, candidates, best)
        claim_words = math.log1p(len(claim.split()))
        direction = direction_mismatch(claim, candidates[best])
        rows.append([*lexical, *similarity, claim_words, *local, direction])
    return np.asarray(rows, dtype=np.float64).reshape(len(pairs), len(FEATURES))


class FeatureScorer:
    """P(supported) from a saved logistic regression; see `minigiant train checker`."""

    def __init__(self, folder: Path, embedder: Embedder):
        spec = json.loads((folder / "minigiant.json").read_text())
        if tuple(spec["features"]) != FEATURES:
            raise ValueError(f"{folder} was trained on other features: retrain it")
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        self.embedder = embedder

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        z = (
            (pair_features(pairs, self.embedder) - self.mean) / self.scale
        ) @ self.coef + self.intercept
        return [float(p) for p in 1.0 / (1.0 + np.exp(-z))]
