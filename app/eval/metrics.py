"""Metrics: IR measures through ir-measures (pytrec_eval), classification through scikit-learn,
and the official SQuAD v1.1 answer normalisation for exact match and token F1.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from generation.numbers import SPELLED_NUMBERS

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]

IR_MEASURES = ("nDCG@10", "R@10", "R@100", "RR@10")


def ir_scores(qrels: Qrels, run: Run, measures: Sequence[str] = IR_MEASURES) -> dict[str, float]:
    """Mean of each measure over every judged query; a query missing from the run scores 0."""
    import ir_measures

    parsed = [ir_measures.parse_measure(m) for m in measures]
    values = ir_measures.calc_aggregate(parsed, qrels, run)
    return {name: float(values[m]) for name, m in zip(measures, parsed, strict=True)}


def ranked_to_run(doc_ids: Iterable[str]) -> dict[str, float]:
    """Ranked ids (repeats allowed) -> {doc: score}, keeping each id's first, best rank.

    Scores encode the rank, not the retriever's score, so ties can never reorder documents
    inside the metrics library.
    """
    unique = list(dict.fromkeys(doc_ids))
    return {doc: float(len(unique) - rank) for rank, doc in enumerate(unique)}


def binary_classification(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict:
    """Balanced accuracy at `threshold` and threshold-free ROC AUC for P(positive) scores."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    both = len(set(y.tolist())) == 2
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, s >= threshold)),
        "roc_auc": float(roc_auc_score(y, s)) if both else float("nan"),
        "n": len(y),
        "positives": int(y.sum()),
    }


def best_threshold(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The cut (predict positive when score >= cut) with the highest balanced accuracy."""
    from sklearn.metrics import roc_curve

    fpr, tpr, cuts = roc_curve(
        np.asarray(labels, dtype=int), np.asarray(scores, dtype=float), drop_intermediate=False
    )
    best = int(np.argmax(tpr - fpr))  # balanced accuracy = (tpr + 1 - fpr) / 2
    return float(min(cuts[best], 1.0))


# --- SQuAD v1.1 official evaluation, normalisation and scoring ---------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, articles and extra whitespace (SQuAD v1.1 script)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    target = normalize_answer(prediction)
    return float(any(target == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best bag-of-tokens F1 against any gold answer."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


_JOINERS = re.compile(r"[-\u2010-\u2015/]")
# two to twelve ("one" is mostly a pronoun: "one of the ...")
_NUMBER_WORDS = {word: str(n) for word, n in SPELLED_NUMBERS.items() if n > 1}


def _as_stated(text: str) -> str:
    """SQuAD normalisation that also reads "Foster-designed" as two words and "six" as 6: an
    answer writing "6 touchdowns" or "the Norman Foster-designed centre" states the gold."""
    words = normalize_answer(_JOINERS.sub(" ", text)).split()
    return " ".join(_NUMBER_WORDS.get(w, w) for w in words)


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Whether a text states a gold answer as words of its own, after normalisation."""
    haystack = f" {_as_stated(text)} "
    return any(f" {gold} " in haystack for gold in map(_as_stated, golds) if gold)
