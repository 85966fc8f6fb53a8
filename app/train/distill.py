"""`minigiant train reranker-student`: a shallower reranker taught by the shipped one.

A cross-encoder's cost grows with its depth: on two CPU cores six MiniLM layers rerank 50
focused windows in ~0.9 s, half of them would take half that. The student keeps some of the
teacher's layers (spread out, as DistilBERT keeps every other one) and learns to reproduce
the teacher's logits (MSE) on the teacher's own training lists, read as the app reads them
(`read_windows`). No new labels: the teacher is all it sees. One epoch on two CPU cores left
the student well behind its teacher (README, "Our small checking models"): it wants the step
budget of a GPU.
"""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from app.train.checker_data import split_by_group
from app.train.recipes import RERANKER_LICENCES, count_rows, ranking_scores, reranker_rows
from app.train.trainer import TrainConfig, TrainLog, fit_and_export, write_card
from indexing.embedding import best_device
from indexing.errors import ModelNotFoundError
from indexing.models import resolve_model
from retrieval.cross_encoder import COMPACT_MANIFEST, keep_layers, load_cross_encoder
from retrieval.hybrid import RetrievalOptions
from retrieval.rerank import read_windows

STUDENT_LAYERS = (0, 3, 5)


def distil_reranker(
    out: Path,
    config: TrainConfig,
    teacher: str = "minigiant-reranker",
    lists: int = 3000,
    halu_items: int = 3000,
    news_items: int = 2500,
    pubmed_items: int | None = None,
) -> TrainLog:
    """Train `config.layers` (default STUDENT_LAYERS) of `teacher`, a compact minigiant
    reranker, to score like all of it."""
    import torch
    from sentence_transformers.cross_encoder.losses import MSELoss
    from transformers import set_seed

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    path = resolve_model(teacher, "train --teacher")
    manifest = Path(path) / COMPACT_MANIFEST
    if not manifest.exists():
        raise ModelNotFoundError(f"train --teacher: {path} is not a minigiant-trained reranker")
    spec = json.loads(manifest.read_text())
    config = replace(
        config,
        base=spec["base"],
        max_length=spec.get("max_length", 128),
        loss="mse",
        layers=tuple(config.layers or STUDENT_LAYERS),
        frozen_layers=0,
    )
    # train_reranker's lists and split (same sizes and seed): the teacher never saw the dev
    rows = reranker_rows(config.seed, pubmed_items, halu_items, news_items, 3)
    train, dev = split_by_group(rows, 0.02, random.Random(config.seed))
    train = random.Random(config.seed).sample(train, min(lists, len(train)))
    reading = RetrievalOptions()
    pairs = [
        (row.query, piece)
        for row in train
        for windows in read_windows(
            row.query,
            [row.positive, *row.negatives],
            reading.rerank_window_words,
            reading.rerank_windows_read,
        )
        for piece in windows
    ]
    teacher_model = load_cross_encoder(
        path, best_device(), config.max_length, "train --teacher", precision="float32"
    )
    # logits, not predict()'s default sigmoid: near 0 and 1 probabilities flatten the
    # differences a ranking is made of
    labels = [
        float(x)
        for x in teacher_model.predict(
            pairs, batch_size=32, show_progress_bar=True, activation_fn=torch.nn.Identity()
        )
    ]
    set_seed(config.seed)
    student = copy.deepcopy(teacher_model)
    keep_layers(student, config.layers)
    student.model.base_model.embeddings.requires_grad_(False)
    columns = {
        "query": [q for q, _ in pairs],
        "passage": [p for _, p in pairs],
        "label": labels,
    }
    model = fit_and_export(student, columns, MSELoss(student), config, out)
    run = TrainLog(
        "reranker-student",
        config,
        {"train": count_rows(train) | {"window_pairs": len(pairs)}, "dev": count_rows(dev)},
    )
    scored = [("student", model), ("teacher", teacher_model)]
    for name, scorer in tqdm(scored, desc="dev lists"):
        run.dev.update({f"{name}_own_dev_{k}": v for k, v in ranking_scores(scorer, dev).items()})
    run.wall_seconds = time.perf_counter() - started
    write_card(
        out,
        run,
        f"Reranker student: layers {list(config.layers)} of {teacher}, trained to reproduce its "
        "scores. Use with `retrieval.reranker=<this folder>`.",
        RERANKER_LICENCES,
        method=(
            f"Method: the teacher scored {len(pairs)} (query, passage window) pairs, what the "
            f"app reads ({reading.rerank_window_words} words, {reading.rerank_windows_read} "
            f"per passage), from "
            f"{len(train)} of its training lists; the student (its embeddings frozen) fitted "
            f"those scores with an MSE loss for {config.steps} steps of {config.batch_size} "
            f"pairs (lr {config.learning_rate}, seed {config.seed}) in "
            f"{run.wall_seconds / 60:.1f} minutes."
        ),
    )
    return run
