"""The three-way checker recipe: its loss, its data reader, and a few real training steps
exported and loaded the way minigiant loads the shipped checker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.eval.factuality_sets import load_factuality_set
from app.train.export import export_compact
from app.train.nli_checker import (
    LABELS,
    NOT_SUPPORTED,
    Example,
    _initial_model,
    _loss,
    fit,
    read_nli,
)
from app.train.trainer import TrainConfig
from generation.check import CheckerSettings, FactChecker, supported_label
from retrieval.cross_encoder import load_cross_encoder


def test_unlabelled_negatives_only_push_down_supported() -> None:
    import torch

    neutral = torch.tensor([[0.0, 4.0, 0.0]])
    contradiction = torch.tensor([[0.0, 0.0, 4.0]])
    supported = torch.tensor([[4.0, 0.0, 0.0]])
    unknown = torch.tensor([NOT_SUPPORTED])
    # "not supported" is satisfied by either negative class alike, and violated by support
    assert float(_loss(neutral, unknown)) == pytest.approx(
        float(_loss(contradiction, unknown)), rel=1e-5
    )
    assert _loss(supported, unknown) > 10 * _loss(neutral, unknown)
    # a three-way label still tells the negatives apart
    assert _loss(contradiction, torch.tensor([1])) > 10 * _loss(neutral, torch.tensor([1]))


def test_nli_rows_map_fact_verification_labels(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    rows = [
        {"premise": "A cat sleeps.", "hypothesis": "An animal sleeps.", "label": "SUPPORTS"},
        {"premise": "Oslo is in Norway.", "hypothesis": "Oslo is in Chile.", "label": "REFUTES"},
        {"premise": "Tea is hot.", "hypothesis": "Tea is green.", "label": "NOT ENOUGH INFO"},
        {"premise": "Tea is hot.", "hypothesis": "Tea is hot.", "label": "-"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [e.label for e in read_nli(path)] == [0, 2, 1]
    # `eval factuality` reads the same file: supported or not
    items = load_factuality_set(path)
    assert [(i.passages[0], i.answer, i.label) for i in items[:2]] == [
        ("A cat sleeps.", "An animal sleeps.", 1),
        ("Oslo is in Norway.", "Oslo is in Chile.", 0),
    ]
    assert [i.label for i in items[2:]] == [0, 0]
    path.write_text('{"premise": "no hypothesis", "label": "entailment"}\n')
    with pytest.raises(ValueError, match="pairs.jsonl:1"):
        read_nli(path)


def test_supported_class_is_found_by_name() -> None:
    assert supported_label({0: "LABEL_0"}, "checker.model") is None
    assert supported_label({0: "contradiction", 1: "entailment", 2: "neutral"}, "x") == 1
    with pytest.raises(ValueError, match="checker.model"):
        supported_label({0: "yes", 1: "no"}, "checker.model")


@pytest.mark.slow
def test_a_few_steps_export_a_checker_minigiant_loads(tmp_path: Path) -> None:
    examples = [
        Example("The bridge opened in 1932.", "The bridge opened in 1932.", 0, "t"),
        Example("The bridge opened in 1932.", "The bridge opened in 1950.", 2, "t"),
        Example("The bridge opened in 1932.", "The bridge is painted red.", 1, "t"),
        Example("The bridge opened in 1932.", "The bridge was built by Ada.", NOT_SUPPORTED, "t"),
    ]
    config = TrainConfig(steps=3, batch_size=4, max_length=64, warmup_ratio=0.0)
    full = fit(examples, config, tmp_path)
    counts = export_compact(full, tmp_path, "all-MiniLM-L6-v2", 64, labels=LABELS)
    assert 0 < counts["kept"] < counts["total"]  # frozen embeddings come from the base
    manifest = json.loads((tmp_path / "minigiant.json").read_text())
    assert manifest["labels"] == list(LABELS)
    checker = FactChecker(CheckerSettings(model=str(tmp_path), device="cpu"))
    scores = checker.score([("The bridge opened in 1932.", "The bridge opened in 1932.")])
    assert 0.0 <= scores[0] <= 1.0
    # `--init` with a three-way checker trains on from its head instead of a fresh one
    exported = load_cross_encoder(str(tmp_path), "cpu", 64, "x", precision="float32")
    exported = exported.model.classifier.weight
    again, _ = _initial_model(str(tmp_path), 64)
    assert again.classifier.weight.shape == exported.shape
    assert (again.classifier.weight - exported).abs().max() < 1e-2


def test_pubmedqa_statements_take_the_experts_labels_from_the_right_sections(
    tmp_path: Path,
) -> None:
    from app.train.datasets import pubmedqa_train
    from app.train.pubmed_statements import parse_statements, statement_rows

    reply = "YES: Mammography use rises with tailored calls.\nNO: It does not rise at all.\nYES: x"
    said = parse_statements(reply)
    assert said is not None and said.yes.startswith("Mammography") and said.no.startswith("It")
    assert parse_statements("YES: Same thing said here.\nNO: same thing said here.") is None
    assert parse_statements("Sure! Here they are.") is None

    items = {i.decision: i for i in pubmedqa_train()}
    for decision, agrees in (("yes", "yes"), ("no", "no")):
        item = items[decision]
        rows = statement_rows(item, said, window_words=100)
        results = " ".join(t for label, t in item.sections if "RESULT" in label.upper())
        by_label = {r["label"]: r for r in rows}
        backed = said.yes if agrees == "yes" else said.no
        assert by_label["entailment"]["hypothesis"] == backed
        assert by_label["contradiction"]["hypothesis"] != backed
        assert by_label["entailment"]["premise"] in results
        neutral = [r for r in rows if r["label"] == "neutral"]
        assert len(neutral) == 2 and all(r["premise"] not in results for r in neutral)
        path = tmp_path / f"{decision}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert sorted(e.label for e in read_nli(path)) == [0, 1, 1, 2]
