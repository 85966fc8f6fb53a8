"""The reranker recipes end to end on a slice of the real training data: mining, a few
listwise (or, for the student, distillation) steps, the compact export, the model card, and
loading what it wrote."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.eval.datasets import data_root
from app.train.datasets import halueval_qa, halueval_summaries, pubmedqa_train
from app.train.distill import STUDENT_LAYERS, distil_reranker
from app.train.recipes import train_reranker
from app.train.reranker_data import mine_hard_negatives, reranker_sources
from app.train.trainer import TrainConfig
from indexing.embedding import Embedder
from retrieval.rerank import Reranker

DATA = data_root()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "pubmedqa").exists(), reason=f"no data at {DATA}"),
]


def test_hard_negatives_never_come_from_the_positive_source(embedder: Embedder) -> None:
    halu = list(halueval_qa())[:40]
    sources = reranker_sources(
        pubmedqa_train()[:20], halu, halueval_summaries(20), random.Random(0)
    )
    rows = mine_hard_negatives(sources, 3, embedder)
    assert len(rows) > 0.9 * len(sources.queries)
    kinds = {r.kind for r in rows}
    assert {"pubmed-question", "pubmed-cloze", "halueval-question"} <= kinds
    text_group = {text: sources.groups[pid] for pid, text in sources.passages.items()}
    for row in rows:
        assert len(row.negatives) == 3 and row.positive not in row.negatives
        assert all(text_group[n] != row.group for n in row.negatives)
        if row.kind == "pubmed-cloze":  # the claim is taken out of the passage it points to
            assert row.query not in row.positive


def test_reranker_recipe_writes_a_loadable_model_with_its_card(tmp_path: Path) -> None:
    out = tmp_path / "reranker"
    run = train_reranker(
        out, TrainConfig(steps=3, batch_size=4), halu_items=30, news_items=15, pubmed_items=15
    )
    assert run.config.loss == "listwise" and run.config.max_length == 128
    assert 0.0 < run.dev["own_dev_mrr"] <= 1.0
    card = (out / "README.md").read_text()
    assert "MIT" in card and "hard negatives" in card
    logged = json.loads((out / "train_log.json").read_text())
    assert logged["data"]["train"]["total"] > 0 and logged["config"]["steps"] == 3
    reranker = Reranker(str(out), device="cpu")  # rerank_tokens default: 256
    assert json.loads((out / "minigiant.json").read_text())["max_length"] == 128
    assert reranker.model.max_seq_length == 128
    scores = reranker.score(
        "aspirin and heart attack", ["Aspirin lowers the risk of heart attack.", "Snow fell."]
    )
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)


def test_student_recipe_keeps_some_teacher_layers_and_scores_both(tmp_path: Path) -> None:
    out = tmp_path / "student"
    run = distil_reranker(
        out,
        TrainConfig(steps=2, batch_size=4),
        lists=6,
        halu_items=30,
        news_items=15,
        pubmed_items=15,
    )
    assert run.config.layers == STUDENT_LAYERS and run.config.loss == "mse"
    assert {"student_own_dev_mrr", "teacher_own_dev_mrr"} <= set(run.dev)
    assert run.data["train"]["window_pairs"] >= 6 * 4  # a positive and 3 negatives per list
    assert json.loads((out / "minigiant.json").read_text())["layers"] == list(STUDENT_LAYERS)
    assert "minigiant-reranker" in (out / "README.md").read_text()
    student = Reranker(str(out), device="cpu")
    assert len(student.model.model.base_model.encoder.layer) == len(STUDENT_LAYERS)
