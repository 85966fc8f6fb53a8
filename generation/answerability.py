"""Whether the pruned passages answer the question, before the generator is asked.

A question the sources do not answer should get "I don't know", but a related passage tempts
a generator into answering anyway. Four signals each separate the cases only partly: the
pruner's best sentence score (how well any sentence matches the question), the question's
coverage (the share of its content words found in the text the generator reads: what a
question asks about is often what an unanswering passage never names), the generator's
doubt (its probability of opening with the abstention, read from the prompt it is about to
answer) and its refusal (the log-odds of "No" over "Yes" when the same prompt asks outright
whether the sources state the answer: a few tokens more to read, since the answer's prompt
reuses the rest). A fifth costs nothing: the best cosine between the question and a retrieved
passage in the embedder's space (a question the index does not answer matches no chunk as
closely: on the 500 CLAPNQ dev questions the gate is fitted on it alone separates the cases at
ROC AUC 0.85, better than any other signal, and it lifts the gate's from 0.86 to 0.89). A
logistic model over them, fitted by `minigiant train answerability` for one generator,
separates them better than any alone. The doubt and the refusal are that generator's own and
the cosine is that embedder's, so the gate applies only to the models it was fitted with.

The refusal is the one signal read for the gate alone (the doubt comes with the answer's own
prompt), so it is read last and only where it can change the decision: the gate keeps the
range of refusals its training questions gave, and where the other four signals decide the
same way at both ends of that range the answer starts without the yes/no question's tokens.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from generation.prompt import prompt_fingerprint, verification_messages
from indexing.models import resolve_model
from retrieval.windows import content_terms, named_share, prefix_terms

if TYPE_CHECKING:
    from generation.condense import Turn
    from generation.engines.base import Generator
    from retrieval.passages import Passage

logger = logging.getLogger(__name__)

MANIFEST = "minigiant.json"
REFUSAL_OPENINGS = ("No", "Yes")  # the replies to prompt.VERIFY the refusal compares
# pronouns, prepositions and auxiliaries beyond the stopwords: the coverage counts them (the
# gate was fitted so), but told to the user as words the sources never name ("never name:
# its, from") they only hide the ones worth rephrasing
_FUNCTION_WORDS = prefix_terms(
    "about above after against also any been before being below between both can could does "
    "doing down during each few from further had has have having her here hers herself him "
    "himself his its itself just might more most must myself nor now off once only other our "
    "ours out over own same she should some than them themselves those through too under "
    "until very were while would you your yours yourself"
)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def refusal_of(no_yes: Sequence[float]) -> float:
    """The log-odds of "No" over "Yes", from their probabilities in REFUSAL_OPENINGS order."""
    no, yes = (max(p, 1e-9) for p in no_yes)
    return math.log(no) - math.log(yes)


def read_refusal(
    generator: Generator,
    question: str,
    passages: Sequence[Passage],
    history: Sequence[Turn] = (),
) -> float | None:
    """The generator's refusal over these sources; None where the engine gives no
    probabilities. After the answer's prompt it reads only the yes/no question's tokens, and
    the answer then rereads only the few after the sources."""
    verify = verification_messages(question, passages, history)
    no_yes = generator.opening_probabilities(verify, REFUSAL_OPENINGS)
    return None if no_yes is None else refusal_of(no_yes)


def question_coverage(question: str, texts: Sequence[str]) -> float:
    """The share of the question's content words (prefix-stemmed) found in `texts`; 1.0 for
    a question made of asking words only."""
    return named_share(question, _named(texts))


def missing_words(question: str, passages: Sequence[Passage]) -> list[str]:
    """The question's content words, as the user wrote them, that the passages never name,
    titles included (the user sees them in the sources list: "never name: venus, flytrap"
    over a passage titled "Venus flytrap" misled). Told with an abstention, they show what to
    rephrase or which document to add."""
    named = _named([f"{p.title}\n{p.text}" for p in passages])
    missing = content_terms(question) - named - _FUNCTION_WORDS
    words = (w.strip(string.punctuation) for w in question.split())
    return list(dict.fromkeys(w for w in words if prefix_terms(w) & missing))


def best_dense(passages: Sequence[Passage]) -> float:
    """The best question-passage cosine of dense search among the retrieved passages (0.0
    where none came from it: no close match)."""
    return max((p.scores["dense"] for p in passages if "dense" in p.scores), default=0.0)


def _named(texts: Sequence[str]) -> set[str]:
    return set().union(*(prefix_terms(t) for t in texts)) if texts else set()


class GateSignals(NamedTuple):
    """What the gate weighs, in the order `minigiant train answerability` fits them."""

    doubt: float  # the generator's probability of opening with the abstention
    best: float  # the pruner's best sentence score
    refusal: float | None  # refusal_of() the yes/no probe; None: not read
    coverage: float  # question_coverage() of the text the generator reads
    dense: float  # best_dense() of the retrieved passages


@dataclass(frozen=True)
class AnswerabilityGate:
    """P(answerable) = sigmoid(bias + w_doubt * logit(doubt) + w_best * best + w_refusal *
    refusal + w_coverage * coverage + w_dense * dense); abstain below `threshold`, chosen so
    that a set share of answerable training questions is answered. A gate with w_refusal 0
    needs no refusal probe; gates fitted before a signal existed weigh it 0."""

    generator: str  # the generator model whose doubt it was fitted on
    reranker: str  # the reranker whose sentence scores it was fitted on
    bias: float
    w_doubt: float
    w_best: float
    threshold: float
    w_refusal: float = 0.0
    w_coverage: float = 0.0
    prompt: str = ""  # prompt.prompt_fingerprint() when it was fitted ("": not recorded)
    w_dense: float = 0.0
    embedder: str = ""  # the embedder whose cosines it was fitted on ("": weighs none)
    # the refusals of its training questions, 10th to 90th percentile (None: always read it)
    refusal_range: tuple[float, float] | None = None
    # the engine that read its signals ("": not recorded). Fits on torch int8's and on
    # llama.cpp's readings of the same GGUF decided 846 of 850 training questions alike, so
    # one fit serves both
    engine: str = ""

    def probability(self, signals: GateSignals) -> float:
        """Where the refusal was not read, at the middle of its range: where needs_refusal()
        said no, anywhere in the range decides alike, but a refusal outside it may not."""
        refusal = signals.refusal
        if refusal is None:
            refusal = sum(self.refusal_range) / 2 if self.refusal_range else 0.0
        z = self.bias + self.w_doubt * logit(signals.doubt) + self.w_best * signals.best
        z += self.w_refusal * refusal + self.w_coverage * signals.coverage
        z += self.w_dense * signals.dense
        return sigmoid(z)

    def answers(self, signals: GateSignals) -> bool:
        return self.probability(signals) >= self.threshold

    def needs_refusal(self, signals: GateSignals) -> bool:
        """Whether the refusal can change the decision the other signals make: the
        probability is monotonic in it, so the ends of its range decide alike or not."""
        if not self.w_refusal:
            return False
        if self.refusal_range is None:
            return True
        low, high = (self.answers(signals._replace(refusal=r)) for r in self.refusal_range)
        return low != high

    def fits(self, generator_model: str, embedder_model: str, reranker: str | None) -> bool:
        """Whether the doubt it reads comes from the generator it was fitted for, the cosine it
        weighs from the embedder and the best sentence score from the reranker (None: off)."""
        same_embedder = not self.w_dense or self.embedder == embedder_model
        same_generator = Path(generator_model).name == Path(self.generator).name
        return same_generator and same_embedder and reranker == self.reranker

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
    if spec.get("refusal_range") is not None:
        spec["refusal_range"] = tuple(spec["refusal_range"])
    gate = AnswerabilityGate(**{k: spec[k] for k in fields if k in spec})
    if gate.prompt and gate.prompt != prompt_fingerprint():
        logger.warning(
            "the answerability gate %s was fitted under another prompt, so it misreads the "
            "generator's doubt: refit it with `minigiant train answerability`",
            model,
        )
    return gate
