"""The answerability gate: the shipped one, its fit rules, and what it does to an answer."""

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from app import QA, Settings
from app.render import sources_text
from generation.answerability import (
    AnswerabilityGate,
    GateSignals,
    load_gate,
    missing_words,
    question_coverage,
)
from generation.engines import GeneratorSettings
from generation.prompt import ABSTAIN, prompt_fingerprint
from retrieval.passages import Passage
from tests.conftest import FACTS


def test_the_shipped_gate_trusts_a_sure_generator_over_a_doubtful_one() -> None:
    gate = load_gate("minigiant-answerability")
    assert gate is not None
    embedder = Settings().embedder.model
    assert gate.fits(GeneratorSettings().model, embedder, "minigiant-reranker")
    # its best sentence score is that reranker's: with another one, or none, it does not decide
    assert not gate.fits(GeneratorSettings().model, embedder, "cross-encoder/ms-marco-MiniLM-L6-v2")
    assert not gate.fits(GeneratorSettings().model, embedder, None)
    # the doubt and refusal it weighs are read under the prompt: changing the instructions or
    # the worked examples needs the gate refitted (`minigiant train answerability`)
    assert gate.prompt == prompt_fingerprint()
    sure = GateSignals(doubt=0.01, best=0.95, refusal=-3.0, coverage=1.0, dense=0.7)
    assert gate.answers(sure)
    assert not gate.answers(GateSignals(doubt=0.9, best=0.75, refusal=3.0, coverage=0.5, dense=0.3))

    def p(**change: float) -> float:
        return gate.probability(sure._replace(**change))

    # more doubt or refusal never makes an answer likelier, a better sentence, more of the
    # question's words or a passage closer to it in the embedder's space never less likely
    assert p(doubt=0.1) > p(doubt=0.5) > p(doubt=0.9)
    assert p(best=0.95) > p(best=0.8)
    assert gate.w_refusal < 0 and p(refusal=-2.0) > p(refusal=2.0)
    assert gate.w_coverage > 0 and p(coverage=1.0) > p(coverage=0.5)
    assert gate.w_dense > 0 and p(dense=0.7) > p(dense=0.4)
    # the cosine is that embedder's, so the gate fits no other
    assert not gate.fits(GeneratorSettings().model, "intfloat/e5-small-v2", "minigiant-reranker")
    # the refusal is read only where it can change the decision: not for a sure question
    assert gate.refusal_range is not None and not gate.needs_refusal(sure)


def test_the_refusal_is_read_only_where_its_range_can_change_the_decision() -> None:
    gate = AnswerabilityGate(
        "qwen.gguf", "minigiant-reranker", 0.0, -1.0, 0.0, 0.5, -1.0, refusal_range=(-2.0, 1.0)
    )
    # P = sigmoid(-logit(doubt) - refusal): doubt 0.5 answers for a refusal under 0 only
    assert gate.needs_refusal(GateSignals(0.5, 0.9, 0.0, 1.0, 0.5))
    # doubt 0.01 (logit -4.6) answers and doubt 0.99 abstains whatever the refusal in range
    assert not gate.needs_refusal(GateSignals(0.01, 0.9, 0.0, 1.0, 0.5))
    assert not gate.needs_refusal(GateSignals(0.99, 0.9, 0.0, 1.0, 0.5))
    # a refusal not read is taken inside the range, where the ends agree: here both answer,
    # though a refusal of 0, outside the range, would not
    narrow = AnswerabilityGate("q", "r", 0.0, -1.0, 0.0, 0.5, -1.0, refusal_range=(-2.0, -0.5))
    unread = GateSignals(1 / (1 + math.exp(-0.25)), 0.9, None, 1.0, 0.5)
    assert not narrow.needs_refusal(unread) and narrow.answers(unread)
    assert not narrow.answers(unread._replace(refusal=0.0))
    # a gate fitted before the range was kept always reads it; one weighing no refusal never
    assert AnswerabilityGate("q", "r", 0.0, -1.0, 0.0, 0.5, -1.0).needs_refusal(
        GateSignals(0.01, 0.9, 0.0, 1.0, 0.5)
    )
    assert not AnswerabilityGate("q", "r", 0.0, -1.0, 0.0, 0.5).needs_refusal(
        GateSignals(0.5, 0.9, 0.0, 1.0, 0.5)
    )


def test_coverage_counts_the_question_words_the_sources_name() -> None:
    source = ["The Velmora harbour lighthouse, built in 1871, stands 38 metres tall."]
    assert question_coverage("How tall is the Velmora harbour lighthouse?", source) == 1.0
    # "closed" and "keepers" are what this question asks about, and the source names neither
    assert question_coverage("When was the Velmora lighthouse closed to keepers?", source) == 0.5
    assert question_coverage("What is it?", source) == 1.0  # nothing but asking words
    assert question_coverage("How tall is the lighthouse?", []) == 0.0
    passages = [_passage("Harbour report", source[0])]
    question = "When was the Velmora lighthouse closed to keepers? Closed, really?"
    assert missing_words(question, passages) == ["closed", "keepers", "Closed", "really"]
    assert missing_words("How tall is the Velmora harbour lighthouse?", passages) == []
    # how the question asks is no word a passage should name
    assert missing_words("Explain why the lighthouse keepers left.", passages) == [
        "keepers",
        "left",
    ]
    # the title is in the sources list the user reads, so its words are named; words of
    # grammar are no word to rephrase
    assert missing_words("Who wrote the harbour report?", passages) == ["wrote"]
    assert missing_words("Where did the idea of its keepers come from?", passages) == [
        "idea",
        "keepers",
        "come",
    ]


def _passage(title: str, text: str) -> Passage:
    return Passage(0, "report.md", "report.md", title, text, 0, len(text))


def test_a_gate_is_saved_and_loaded_whole_and_fits_only_its_generator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = AnswerabilityGate(
        "models/qwen.gguf",
        "minigiant-reranker",
        -1.0,
        -0.5,
        3.0,
        0.4,
        -0.7,
        1.2,
        "0123abcd",
        refusal_range=(-2.5, 0.75),
    )
    gate.save(tmp_path / "gate")
    with caplog.at_level(logging.WARNING, logger="generation.answerability"):
        loaded = load_gate(str(tmp_path / "gate"))
    assert loaded == gate
    # fitted under another prompt than today's: said when it loads
    assert "fitted under another prompt" in caplog.text and str(tmp_path / "gate") in caplog.text
    embedder = "all-MiniLM-L6-v2"
    assert loaded.fits("/elsewhere/qwen.gguf", embedder, "minigiant-reranker")
    assert not loaded.fits("SmolLM2.gguf", embedder, "minigiant-reranker")
    assert load_gate(None) is None and load_gate("") is None
    # a gate fitted before the refusal probe, coverage and the cosine existed still loads,
    # weighing them 0, and fits any embedder
    spec = json.loads((tmp_path / "gate" / "minigiant.json").read_text())
    del spec["w_refusal"], spec["w_coverage"], spec["prompt"], spec["w_dense"], spec["embedder"]
    del spec["refusal_range"]
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / "minigiant.json").write_text(json.dumps(spec))
    older = load_gate(str(tmp_path / "older"))
    assert older.w_refusal == 0.0 and older.w_coverage == 0.0 and older.prompt == ""
    assert older.w_dense == 0.0 and older.fits("qwen.gguf", "any-embedder", "minigiant-reranker")
    assert older.refusal_range is None and older.engine == ""


@pytest.mark.slow
def test_the_default_generator_abstains_when_only_a_related_passage_exists(
    built_index: Path, default_generator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    qa = QA.open(built_index)
    qa.warm_up()
    question = "In which year did the Kestrel Ridge observatory close for good?"
    unanswered = qa.ask(question)
    assert unanswered.abstained and unanswered.text == ABSTAIN, unanswered.text
    # the gate's signals come back, so a refitted gate can be judged offline; the refusal
    # only where it could change the decision, which the training path reads always
    assert unanswered.doubt is not None
    assert unanswered.best is not None and 0.0 <= unanswered.coverage < 1.0
    assert 0.0 < unanswered.dense < 1.0
    signals = qa.gate_signals(question)
    gate = load_gate("minigiant-answerability")
    assert signals is not None and gate is not None and not gate.answers(signals)
    assert signals.best == unanswered.best and signals.dense == unanswered.dense
    assert (unanswered.refusal is not None) == gate.needs_refusal(signals)
    assert "close" in unanswered.missing and "Kestrel" not in unanswered.missing
    assert "the passages found never name: " in sources_text(unanswered)
    answered = qa.ask(FACTS["report.pdf"][2])
    assert "212 metres" in answered.text and not answered.abstained, answered.text
    # with a gate fitted for the generator the pruner's floor stops nothing: the gate decides
    monkeypatch.setenv("MINIGIANT_CONTEXT__ABSTAIN_BELOW", "1.0")
    floored = QA.open(built_index).ask(FACTS["report.pdf"][2])
    assert "212 metres" in floored.text and floored.doubt is not None, floored.text
    # without one the floor stands in for it, before the generator is asked anything
    monkeypatch.setenv("MINIGIANT_GENERATOR__ANSWERABILITY", "")
    ungated = QA.open(built_index).ask(FACTS["report.pdf"][2])
    assert ungated.abstained and ungated.doubt is None and ungated.best is not None


def test_the_fitted_gate_answers_the_set_share_of_answerable_questions() -> None:
    """Fitted on signals where answerable questions sit closer to their passages, with
    conversation turns and SQuAD's all-answerable rows beside CLAPNQ's: the threshold answers
    90% of the answerable CLAPNQ ones, the refusal's range spans the set share of the training
    refusals, and the gate records the models and prompt the signals came from."""
    from app.train.answerability import (
        ANSWERED_SHARE,
        FEATURES,
        REFUSAL_RANGE,
        fit_gate,
        signals_of,
    )

    rng = np.random.default_rng(0)
    dense, refusal = list(FEATURES).index("dense"), list(FEATURES).index("refusal")

    def rows(answerable: int, unanswerable: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat([1, 0], [answerable, unanswerable])
        x = rng.normal(size=(len(y), len(FEATURES)))
        x[:, dense] += 1.5 * y
        return x, y

    sets = {"clapnq": rows(200, 200), "mtrag": rows(80, 40), "squad": rows(100, 0)}
    settings = Settings()
    gate, scores = fit_gate(sets, settings)
    x, y = sets["clapnq"]
    answered = [gate.answers(signals_of(r)) for r in x[y == 1]]
    assert abs(np.mean(answered) - ANSWERED_SHARE) <= 0.01
    assert gate.w_dense > 0 and scores["cv_roc_auc_dense_alone"] > 0.8
    assert scores["cv_roc_auc_clapnq"] > 0.8 and scores["cv_roc_auc_mtrag"] > 0.8
    assert 0.5 < scores["cv_mtrag_stopped"] <= 1.0 and scores["cv_squad_answered"] > 0.5
    assert "cv_squad_stopped" not in scores and "cv_roc_auc_squad" not in scores
    low, high = gate.refusal_range
    every = np.concatenate([x[:, refusal] for x, _ in sets.values()])
    inside = np.mean((every >= low) & (every <= high))
    assert every.min() < low < high < every.max()
    assert abs(inside - (REFUSAL_RANGE[1] - REFUSAL_RANGE[0])) <= 0.01
    # the card tells how often the refusal went unread and what that changed
    assert 0.0 < scores["refusal_skipped"] < 1.0 and scores["refusal_skip_changed"] >= 0
    assert gate.embedder == settings.embedder.model and gate.prompt == prompt_fingerprint()
