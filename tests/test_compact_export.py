"""Compact model folders: a student of some of the shipped reranker's layers is written as the
tensors that differ from the base layers it came from, and loads back scoring the same."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from app.train.export import export_compact
from indexing.models import resolve_model
from retrieval.cross_encoder import (
    COMPACT_MANIFEST,
    COMPACT_WEIGHTS,
    keep_layers,
    load_cross_encoder,
)
from retrieval.rerank import Reranker

PAIRS = [
    ("does aspirin prevent heart attacks", "Aspirin lowers the risk of a first heart attack."),
    ("does aspirin prevent heart attacks", "The harbour froze in the winter of 1963."),
    ("what is a virtual environment", "A virtual environment keeps a project's packages apart."),
]


def test_student_layers_export_against_their_base_layers_and_load_back(tmp_path: Path) -> None:
    shipped = resolve_model("minigiant-reranker", "test")
    student = load_cross_encoder(shipped, "cpu", 128, "test", precision="float32")
    # the shipped reranker tuned layers 3-5 only: base layers 0 and 2 come back unchanged
    layers = [0, 2, 5]
    keep_layers(student, layers)
    full = tmp_path / "full"
    student.save_pretrained(str(full))
    out = tmp_path / "student"
    export_compact(full, out, "all-MiniLM-L6-v2", 128, layers)

    assert json.loads((out / COMPACT_MANIFEST).read_text())["layers"] == layers
    stored = load_file(str(out / COMPACT_WEIGHTS))
    stored_layers = {name.split(".")[3] for name in stored if ".layer." in name}
    assert stored_layers == {"2"}  # student layer 2 is tuned base layer 5

    loaded = Reranker(str(out), device="cpu")
    assert len(loaded.model.model.base_model.encoder.layer) == 3
    expected = [float(x) for x in student.predict(PAIRS, show_progress_bar=False)]
    for (query, passage), want in zip(PAIRS, expected, strict=True):
        assert abs(loaded.score(query, [passage])[0] - want) < 0.05
