"""Metrics against hand-checked values, and the readers against the real shared data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.eval.datasets import (
    BeirDataset,
    data_root,
    is_dev,
    load_qa_set,
)
from app.eval.factuality_sets import load_factuality_set
from app.eval.metrics import (
    best_threshold,
    binary_classification,
    contains_answer,
    exact_match,
    ir_scores,
    ranked_to_run,
    token_f1,
)
from app.eval.qa_eval import answer_verdict
from app.eval.report import format_table
from generation.citations import without_markers

DATA = data_root()
needs_data = pytest.mark.skipif(not (DATA / "scifact").exists(), reason=f"no data at {DATA}")


def test_perfect_run_scores_one() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {q: ranked_to_run(list(docs)) for q, docs in qrels.items()}
    assert ir_scores(qrels, run) == pytest.approx(
        {"nDCG@10": 1.0, "R@10": 1.0, "R@100": 1.0, "RR@10": 1.0}
    )


def test_ir_measures_agrees_with_hand_computed_case() -> None:
    # q1: relevant a, b at ranks 2 and 4 -> DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    # q2: its one relevant document is never retrieved -> every measure is 0 for it
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {"q1": ranked_to_run(["x", "a", "y", "b"])}
    ndcg_q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    scores = ir_scores(qrels, run)
    assert scores["nDCG@10"] == pytest.approx(ndcg_q1 / 2)
    assert scores["RR@10"] == pytest.approx(0.5 / 2)
    assert scores["R@10"] == pytest.approx(0.5)


def test_chunks_collapse_to_documents_at_their_first_rank() -> None:
    run = ranked_to_run(["d2", "d1", "d2", "d3", "d1"])
    assert sorted(run, key=run.get, reverse=True) == ["d2", "d1", "d3"]
    # equal retriever scores cannot reorder documents: the run carries rank, not score
    assert len(set(run.values())) == 3


def test_squad_normalisation_em_and_f1() -> None:
    assert exact_match("The Denver Broncos!", ["Denver Broncos"]) == 1.0
    assert exact_match("Broncos", ["Denver Broncos"]) == 0.0
    # pred {denver, broncos, won}, gold {denver, broncos}: P = 2/3, R = 1 -> F1 = 0.8
    assert token_f1("Denver Broncos won", ["Denver Broncos", "Carolina"]) == pytest.approx(0.8)
    assert token_f1("", ["x"]) == 0.0
    assert contains_answer("In 2016 the Denver Broncos won.", ["denver broncos"])
    assert not contains_answer("Denverite Broncoses", ["denver broncos"])
    # a hyphen joins words, and two to twelve may be written in digits, either way round
    assert contains_answer("The Norman Foster-designed centre [2].", ["Norman Foster"])
    assert contains_answer("He scored 6 touchdowns.", ["six"])
    assert contains_answer("It has seven lines.", ["7"])
    assert not contains_answer("It has six lines.", ["seven"])
    assert not contains_answer("One of the lines.", ["1"])


def test_classification_metrics_and_threshold() -> None:
    labels = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    threshold = best_threshold(labels, scores)
    result = binary_classification(labels, scores, threshold)
    # 8 of 9 (positive, negative) pairs are ordered right (0.35 < 0.4 is the one miss)
    assert result["roc_auc"] == pytest.approx(8 / 9)
    # 0.8 (tpr 2/3, tnr 1) and 0.35 (tpr 1, tnr 2/3) tie at 5/6; nothing does better
    assert threshold in (pytest.approx(0.8), pytest.approx(0.35))
    assert result["balanced_accuracy"] == pytest.approx(5 / 6)
    assert binary_classification(labels, scores, 0.0)["balanced_accuracy"] == 0.5


def test_verdicts_and_markers() -> None:
    assert answer_verdict("Yes, it does [1].") == "yes"
    assert answer_verdict("The claim is false [2].") == "no"
    assert answer_verdict("It depends.") is None
    assert without_markers("Paris [1]. It is big [2, 3].") == "Paris. It is big."


def test_table_has_a_column_per_key() -> None:
    text = format_table([{"a": 1.23456, "b": "x"}, {"a": float("nan"), "c": 2}])
    lines = text.splitlines()
    assert lines[0].split("|")[1:4] == [" a     ", " b ", " c "]
    assert "1.235" in lines[2] and "n/a" in lines[3]


@needs_data
def test_scifact_reader_matches_published_counts() -> None:
    data = BeirDataset.load(DATA / "scifact")
    assert len(data.qrels) == 300
    assert sum(len(d) for d in data.qrels.values()) == 339
    assert all("\r" not in d for docs in data.qrels.values() for d in docs)


@needs_data
def test_claims_use_only_the_dev_split() -> None:
    claims = load_qa_set(DATA / "scifact-claims" / "train.jsonl")
    assert claims.kind == "claims" and claims.items
    assert {i.verdict for i in claims.items} == {"yes", "no"}
    pairs = load_factuality_set(DATA / "scifact-claims")
    assert all(is_dev(p.group) for p in pairs)
    assert 0.1 < len({p.group for p in pairs}) / 809 < 0.3


@needs_data
def test_halueval_factuality_set_holds_out_whole_items() -> None:
    items = load_factuality_set(DATA / "halueval")
    kinds = {item.kind for item in items}
    assert kinds == {"qa", "summary"}
    # each held-out item brings its right and its hallucinated answer
    assert sum(item.label for item in items) * 2 == len(items)
    assert 0.15 < len({i.group for i in items if i.kind == "qa"}) / 10000 < 0.25


@needs_data
def test_mtrag_factuality_set_carries_human_ratings() -> None:
    items = load_factuality_set(DATA / "mtrag")
    assert len(items) == 450  # 477 answers less those to the 9 turns without passages
    assert all(item.passages and item.rating is not None for item in items)
    assert {item.label for item in items if item.rating >= 3} == {1}
    assert {item.label for item in items if item.rating < 3} == {0}


def test_factuality_set_names_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"evidence": "a", "claim": "b", "label": 1}\n{"claim": "c"}\n')
    with pytest.raises(Exception, match="pairs.jsonl:2"):
        load_factuality_set(path)


@needs_data
def test_squad_reader() -> None:
    squad = load_qa_set(DATA / "squad-v1.1" / "dev-v1.1.json")
    assert len(squad.items) == 10570 and len(squad.passages) == 2067
    assert squad.name == "squad-v1.1"


def test_reports_need_real_files(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not a BEIR folder"):
        BeirDataset.load(tmp_path)


def test_cascade_summary_splits_quality_by_path() -> None:
    from app.eval.qa_eval import summarise

    def record(f1: float, escalated: str | None) -> dict[str, object]:
        return {
            "abstained": False,
            "seconds": 1.0,
            "first_token_s": 0.5,
            "gold_retrieved": True,
            "escalated": escalated,
            "em": f1 == 1.0,
            "f1": f1,
            "contains_gold": f1 == 1.0,
            "citations": 1,
            "citations_with_answer": 1,
        }

    records = [record(1.0, None), record(0.5, None), record(0.0, "the small generator abstained")]
    summary = summarise(records, "short", cascade=True)
    assert summary["answered_by_small"] == pytest.approx(2 / 3)
    assert summary["f1_small_path"] == pytest.approx(0.75)
    assert summary["f1_large_path"] == pytest.approx(0.0)
    assert summary["answer_contains_gold"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("retrieved", "read", "abstained", "contains", "stage"),
    [
        (True, True, False, True, None),
        (False, False, False, False, "retrieval"),
        (True, False, False, False, "pruning"),
        (True, True, True, False, "abstention"),
        (True, True, False, False, "generator"),
        # the gold read from another passage than its own: not retrieval's loss
        (False, True, False, False, "generator"),
    ],
)
def test_a_missed_answer_is_lost_at_the_first_stage_without_the_gold(
    retrieved: bool, read: bool, abstained: bool, contains: bool, stage: str | None
) -> None:
    from app.eval.qa_eval import lost_at

    record = {
        "gold_retrieved": retrieved,
        "gold_read": read,
        "abstained": abstained,
        "contains_gold": contains,
    }
    assert lost_at(record) == stage
