"""Fine-tune a cross-encoder from the packaged MiniLM weights, deterministically, and log it."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.train.checker_data import Pair
from app.train.export import export_compact
from indexing.embedding import best_device
from indexing.models import resolve_model
from retrieval.cross_encoder import load_cross_encoder

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    base: str = "all-MiniLM-L6-v2"
    max_length: int = 160
    steps: int = 300
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    frozen_layers: int = 3  # embeddings and the lowest layers keep MiniLM's weights: CPU budget
    seed: int = 13
    # "binary": labelled pairs; "listwise": a positive ranked against its hard negatives plus
    # `random_negatives` drawn from the batch (localised contrastive loss, as for rerankers);
    # "mse": a teacher's scores as labels (app/train/distill.py)
    loss: Literal["binary", "listwise", "mse"] = "binary"
    random_negatives: int = 1
    layers: tuple[int, ...] | None = None  # a student's base layers; None: all of them


@dataclass
class TrainLog:
    """What the model card records: data, steps, time and scores."""

    task: str
    config: TrainConfig
    data: dict[str, object] = field(default_factory=dict)
    dev: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0


def pair_columns(pairs: Sequence[Pair]) -> dict[str, list]:
    return {
        "text1": [p.text1 for p in pairs],
        "text2": [p.text2 for p in pairs],
        "label": [float(p.label) for p in pairs],
    }


def _loss(model, config: TrainConfig):
    from sentence_transformers.cross_encoder.losses import (
        BinaryCrossEntropyLoss,
        MultipleNegativesRankingLoss,
    )

    if config.loss == "listwise":
        return MultipleNegativesRankingLoss(model, num_negatives=config.random_negatives)
    return BinaryCrossEntropyLoss(model)


def train_cross_encoder(columns: dict[str, list], config: TrainConfig, out: Path):
    """Train a one-logit CrossEncoder and save it as a compact folder; returns it as loaded.

    `columns` are the loss's inputs in order: (text1, text2, label) for the binary loss,
    (query, positive, negative_1, ...) for the listwise one.
    """
    from sentence_transformers.cross_encoder import CrossEncoder
    from transformers import set_seed

    set_seed(config.seed)
    model = CrossEncoder(
        resolve_model(config.base, "train --base"),
        num_labels=1,
        max_length=config.max_length,
        device=best_device(),
    )
    encoder = model.model.base_model
    frozen = [encoder.embeddings, *encoder.encoder.layer[: config.frozen_layers]]
    for module in frozen:
        module.requires_grad_(False)
    return fit_and_export(model, columns, _loss(model, config), config, out)


def fit_and_export(model, columns: dict[str, list], loss, config: TrainConfig, out: Path):
    """Run the sentence-transformers trainer for `config.steps`, then save `model` as a
    compact folder over `config.base` (keeping `config.layers` of it, when set) and return
    it loaded the way minigiant loads it."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )

    dataset = Dataset.from_dict(columns).shuffle(seed=config.seed)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=50,
        save_strategy="no",
        report_to="none",
        fp16=torch.cuda.is_available(),
        dataloader_drop_last=True,
    )
    CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
    full = out / "checkpoints" / "final"
    model.save_pretrained(str(full))
    export_compact(full, out, config.base, config.max_length, config.layers)
    # score what ships: the compact fp16 folder, loaded the way minigiant loads it
    device = model.device.type
    return load_cross_encoder(
        str(out), device, config.max_length, "train --out", precision="float32"
    )


def predict_probs(model, pairs: Sequence[Pair], batch_size: int = 64) -> list[float]:
    import torch

    return [
        float(x)
        for x in model.predict(
            [(p.text1, p.text2) for p in pairs],
            batch_size=batch_size,
            activation_fn=torch.nn.Sigmoid(),
            show_progress_bar=False,
        )
    ]


def cross_encoder_method(run: TrainLog) -> str:
    config = run.config
    if config.loss == "listwise":
        how = (
            f"with a listwise loss (each query's passage ranked against its mined hard "
            f"negatives and {config.random_negatives} in-batch negative) for {config.steps} "
            f"steps of {config.batch_size} queries"
        )
    else:
        how = f"for {config.steps} steps of {config.batch_size} labelled pairs"
    return (
        f"Base: all-MiniLM-L6-v2 (Apache-2.0), fine-tuned as a one-logit cross-encoder {how} "
        f"(max length {config.max_length}, lr {config.learning_rate}, seed {config.seed}, "
        f"lowest {config.frozen_layers} layers frozen) in {run.wall_seconds / 60:.1f} minutes."
    )


def write_card(
    out: Path,
    run: TrainLog,
    description: str,
    licences: dict[str, str],
    method: str | None = None,
    reproduce: str | None = None,
) -> None:
    """README.md (the model card) and train_log.json beside the weights."""
    payload = {
        "task": run.task,
        "config": run.config.__dict__,
        "data": run.data,
        "dev": run.dev,
        "wall_seconds": round(run.wall_seconds, 1),
        "machine": f"{platform.machine()}, {platform.system()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "train_log.json").write_text(json.dumps(payload, indent=2))
    rows = "\n".join(f"| {name} | {lic} |" for name, lic in licences.items())
    dev = "\n".join(f"| {k} | {v:.4f} |" for k, v in run.dev.items())
    (out / "README.md").write_text(
        f"# minigiant {run.task}\n\n{description}\n\n"
        f"{method or cross_encoder_method(run)}\n\n"
        f"## Training data\n\n| source | licence |\n|---|---|\n{rows}\n\n"
        f"Counts: `{json.dumps(run.data)}`\n\n## Scores\n\n| metric | value |\n|---|---|\n{dev}\n\n"
        f"{reproduce or _reproduce(run)}\n"
    )


def _reproduce(run: TrainLog) -> str:
    return (
        f"Reproduce: `minigiant train {run.task} --out DIR --steps {run.config.steps} "
        f"--batch-size {run.config.batch_size} --seed {run.config.seed}`."
    )
