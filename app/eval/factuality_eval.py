"""The checker on labelled answers: ROC AUC and balanced accuracy at a threshold tuned on one
half of the groups and scored on the other, and at the configured threshold; Spearman's
correlation with graded human ratings where the set has them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from tqdm import tqdm

from app.eval.datasets import is_tuning_half
from app.eval.factuality_sets import LabeledAnswer
from app.eval.metrics import best_threshold, binary_classification
from generation.check import CheckerSettings, FactChecker, answer_score
from generation.prompt import is_abstention

log = logging.getLogger(__name__)


@dataclass
class FactualityEval:
    items: list[LabeledAnswer]
    checker: CheckerSettings

    def run(self) -> dict[str, object]:
        checker = FactChecker(self.checker)
        scores = [
            # abstentions are not checked in the answer path either
            1.0
            if is_abstention(item.answer)
            else answer_score(checker.check(item.answer, item.passages))
            for item in tqdm(self.items, desc="checker", unit="answer")
        ]
        labels = [item.label for item in self.items]
        tune = [is_tuning_half(item.group) for item in self.items]
        part = {
            name: (
                [y for y, t in zip(labels, tune, strict=True) if t == keep],
                [s for s, t in zip(scores, tune, strict=True) if t == keep],
            )
            for name, keep in (("dev", True), ("test", False))
        }
        threshold = best_threshold(*part["dev"])
        configured = checker.settings.threshold
        report: dict[str, object] = {
            "checker": self.checker.model,
            "items": len(self.items),
            "threshold": threshold,
            "test": binary_classification(*part["test"], threshold),
            "test_at_setting_threshold": {
                "threshold": configured,
                **binary_classification(*part["test"], configured),
            },
            "dev": binary_classification(*part["dev"], threshold),
            "all_at_setting_threshold": {
                "threshold": configured,
                **binary_classification(labels, scores, configured),
            },
            "by_kind": _by_kind(self.items, scores, configured),
            "labels": labels,
            "scores": scores,
            "split": ["dev" if t else "test" for t in tune],
        }
        ratings = [item.rating for item in self.items]
        if all(r is not None for r in ratings):
            from scipy.stats import spearmanr

            report["spearman_with_rating"] = float(spearmanr(ratings, scores).statistic)
        return report


def _by_kind(items: list[LabeledAnswer], scores: list[float], threshold: float) -> dict:
    """Scores per kind of item at the configured threshold: no kind may sit at chance."""
    kinds: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for item, score in zip(items, scores, strict=True):
        kinds[item.kind][0].append(item.label)
        kinds[item.kind][1].append(score)
    return {
        kind: binary_classification(labels, kind_scores, threshold)
        for kind, (labels, kind_scores) in sorted(kinds.items())
    }
