"""Whether the pruned passages answer the question, before the generator is asked.

A question the sources do not answer should get "I don't know", but a related passage tempts
a generator into answering anyway. Two signals the pipeline already has each separate the
cases only partly: the pruner's best sentence score (how well any sentence matches the
question) and the generator's doubt (its probability of opening with the abstention, read
from the prompt it is about to answer). A logistic model over both, fitted by `minigiant
train answerability` for one generator, separates them better than either alone. The doubt
is that generator's own, so the gate applies only to the generator it was fitted for.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from indexing.models import resolve_model

MANIFEST = "minigiant.json"


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class AnswerabilityGate:
    """P(answerable) = sigmoid(bias + w_doubt * logit(doubt) + w_best * best); abstain below
    `threshold`, chosen so that a set share of answerable training questions is answered."""

    generator: str  # the generator model whose doubt it was fitted on
    reranker: str  # the reranker whose sentence scores it was fitted on
    bias: float
    w_doubt: float
    w_best: float
    threshold: float

    def probability(self, best: float, doubt: float) -> float:
        z = self.bias + self.w_doubt * logit(doubt) + self.w_best * best
        return 1.0 / (1.0 + math.exp(-z))

    def answers(self, best: float, doubt: float) -> bool:
        return self.probability(best, doubt) >= self.threshold

    def fits(self, generator_model: str) -> bool:
        """Whether the doubt it reads comes from the generator it was fitted for."""
        return Path(generator_model).name == Path(self.generator).name

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")


@functools.cache
def load_gate(model: str | None) -> AnswerabilityGate | None:
    """The gate `model` names ("minigiant-answerability" is the shipped one); None: off."""
    if not model:
        return None
    spec = json.loads(
        (Path(resolve_model(model, "generator.answerability")) / MANIFEST).read_text()
    )
    fields = AnswerabilityGate.__dataclass_fields__
    return AnswerabilityGate(**{k: spec[k] for k in fields})
