"""The checker on labeled (evidence, claim, label) pairs: ROC AUC and balanced accuracy at a
threshold tuned on one half of the claims and scored on the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tqdm import tqdm

from app.eval.datasets import LabeledPair, is_tuning_half
from app.eval.metrics import best_threshold, binary_classification
from generation.check import CheckerSettings, FactChecker

log = logging.getLogger(__name__)

BATCH = 64


@dataclass
class FactualityEval:
    pairs: list[LabeledPair]
    checker: CheckerSettings

    def run(self) -> dict[str, object]:
        checker = FactChecker(self.checker)
        scores: list[float] = []
        with tqdm(total=len(self.pairs), desc="checker", unit="pair") as bar:
            for start in range(0, len(self.pairs), BATCH):
                batch = self.pairs[start : start + BATCH]
                scores += checker.score([(p.evidence, p.claim) for p in batch])
                bar.update(len(batch))
        tune = [is_tuning_half(p.group) for p in self.pairs]
        part = {
            name: (
                [p.label for p, t in zip(self.pairs, tune, strict=True) if t == keep],
                [s for s, t in zip(scores, tune, strict=True) if t == keep],
            )
            for name, keep in (("dev", True), ("test", False))
        }
        threshold = best_threshold(*part["dev"])
        return {
            "checker": self.checker.model,
            "pairs": len(self.pairs),
            "threshold": threshold,
            "test": binary_classification(*part["test"], threshold),
            "test_at_setting_threshold": {
                "threshold": checker.settings.threshold,
                **binary_classification(*part["test"], checker.settings.threshold),
            },
            "dev": binary_classification(*part["dev"], threshold),
            "labels": [p.label for p in self.pairs],
            "scores": scores,
            "split": ["dev" if t else "test" for t in tune],
        }
