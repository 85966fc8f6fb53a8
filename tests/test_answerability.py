"""The answerability gate: the shipped one, its fit rules, and what it does to an answer."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from app import QA, Settings
from app.render import sources_text
from generation.answerability import (
    AnswerabilityGate,
    load_gate,
    missing_words,
    question_coverage,
)
from generation.engines import GeneratorSettings
from generation.prompt import ABSTAIN, prompt_fingerprint
from tests.conftest import FACTS


def test_the_shipped_gate_trusts_a_sure_generator_over_a_doubtful_one() -> None:
    gate = load_gate("minigiant-answerability")
    assert gate is not None
    embedder = Settings().embedder.model
    assert gate.fits(GeneratorSettings().model, embedder) and gate.reranker == "minigiant-reranker"
    # the doubt and refusal it weighs are read under the prompt: changing the instructions or
    # the worked examples needs the gate refitted (`minigiant train answerability`)
    assert gate.prompt == prompt_fingerprint()
    assert gate.answers(0.95, 0.01, -3.0)  # best sentence, doubt, refusal
    assert not gate.answers(0.75, 0.9, 3.0)
    # more doubt or refusal never makes an answer likelier, a better sentence never less likely
    assert gate.probability(0.9, 0.1) > gate.probability(0.9, 0.5) > gate.probability(0.9, 0.9)
    assert gate.probability(0.95, 0.3) > gate.probability(0.8, 0.3)
    assert gate.w_refusal < 0 and gate.probability(0.9, 0.3, -2.0) > gate.probability(0.9, 0.3, 2.0)
    assert gate.w_coverage > 0 and gate.probability(0.9, 0.3, 0.0, 1.0) > gate.probability(
        0.9, 0.3, 0.0, 0.5
    )
    # a passage closer to the question in the embedder's space makes an answer likelier; the
    # cosine is that embedder's, so the gate fits no other
    assert gate.w_dense > 0 and gate.probability(0.9, 0.3, 0.0, 1.0, 0.7) > gate.probability(
        0.9, 0.3, 0.0, 1.0, 0.4
    )
    assert not gate.fits(GeneratorSettings().model, "intfloat/e5-small-v2")


def test_coverage_counts_the_question_words_the_sources_name() -> None:
    source = ["The Velmora harbour lighthouse, built in 1871, stands 38 metres tall."]
    assert question_coverage("How tall is the Velmora harbour lighthouse?", source) == 1.0
    # "closed" and "keepers" are what this question asks about, and the source names neither
    assert question_coverage("When was the Velmora lighthouse closed to keepers?", source) == 0.5
    assert question_coverage("What is it?", source) == 1.0  # nothing but asking words
    assert question_coverage("How tall is the lighthouse?", []) == 0.0
    question = "When was the Velmora lighthouse closed to keepers? Closed, really?"
    assert missing_words(question, source) == ["closed", "keepers", "Closed", "really"]
    assert missing_words("How tall is the Velmora harbour lighthouse?", source) == []


def test_a_gate_is_saved_and_loaded_whole_and_fits_only_its_generator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = AnswerabilityGate(
        "models/qwen.gguf", "minigiant-reranker", -1.0, -0.5, 3.0, 0.4, -0.7, 1.2, "0123abcd"
    )
    gate.save(tmp_path / "gate")
    with caplog.at_level(logging.WARNING, logger="generation.answerability"):
        loaded = load_gate(str(tmp_path / "gate"))
    assert loaded == gate
    # fitted under another prompt than today's: said when it loads
    assert "fitted under another prompt" in caplog.text and str(tmp_path / "gate") in caplog.text
    embedder = "all-MiniLM-L6-v2"
    assert loaded.fits("/elsewhere/qwen.gguf", embedder)
    assert not loaded.fits("SmolLM2.gguf", embedder)
    assert load_gate(None) is None and load_gate("") is None
    # a gate fitted before the refusal probe, coverage and the cosine existed still loads,
    # weighing them 0, and fits any embedder
    spec = json.loads((tmp_path / "gate" / "minigiant.json").read_text())
    del spec["w_refusal"], spec["w_coverage"], spec["prompt"], spec["w_dense"], spec["embedder"]
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / "minigiant.json").write_text(json.dumps(spec))
    older = load_gate(str(tmp_path / "older"))
    assert older.w_refusal == 0.0 and older.w_coverage == 0.0 and older.prompt == ""
    assert older.w_dense == 0.0 and older.fits("qwen.gguf", "any-embedder")


@pytest.mark.slow
def test_the_default_generator_abstains_when_only_a_related_passage_exists(
    built_index: Path, default_generator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    qa = QA.open(built_index)
    qa.warm_up()
    unanswered = qa.ask("In which year did the Kestrel Ridge observatory close for good?")
    assert unanswered.abstained and unanswered.text == ABSTAIN, unanswered.text
    assert unanswered.doubt is not None and unanswered.refusal is not None
    # the gate's other two signals come back too, so a refitted gate can be judged offline
    assert unanswered.best is not None and 0.0 <= unanswered.coverage < 1.0
    assert 0.0 < unanswered.dense < 1.0
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
    """Fitted on signals where answerable questions sit closer to their passages, with SQuAD's
    all-answerable rows beside CLAPNQ's: the threshold answers 90% of the answerable CLAPNQ
    ones, and the gate records the models and prompt the signals came from."""
    from app.train.answerability import ANSWERED_SHARE, FEATURES, fit_gate

    rng = np.random.default_rng(0)
    y = np.repeat([1, 0], 200)
    x = rng.normal(size=(400, len(FEATURES)))
    x[:, list(FEATURES).index("dense")] += 1.5 * y
    squad = rng.normal(size=(100, len(FEATURES))) + 0.5
    settings = Settings()
    gate, scores = fit_gate(x, y, squad, settings)
    answered = [gate.answers(r[1], 1 / (1 + np.exp(-r[0])), r[2], r[3], r[4]) for r in x[y == 1]]
    assert abs(np.mean(answered) - ANSWERED_SHARE) <= 0.01
    assert gate.w_dense > 0 and scores["cv_roc_auc_dense_alone"] > 0.8
    assert 0.0 <= scores["cv_unanswerable_stopped"] <= 1.0 and scores["cv_squad_answered"] > 0.0
    assert gate.embedder == settings.embedder.model and gate.prompt == prompt_fingerprint()
