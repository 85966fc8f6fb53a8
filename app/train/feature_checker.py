"""`minigiant train checker`: the shipped factuality checker, a logistic regression over
evidence-overlap and embedding features (generation/check_features.py).

A cross-encoder needs far more optimiser steps than two CPU cores give in an hour (see
`minigiant train checker-cross-encoder` and its card); this model trains in minutes and
generalises from the same permissive data.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from app.eval.metrics import best_threshold, binary_classification
from app.train.checker_data import labels_of
from app.train.recipes import LICENCES, checker_pairs, count_kinds, scifact_dev_pairs
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.check import CheckerSettings, FactChecker
from generation.check_features import FEATURES, pair_features
from indexing.embedding import Embedder


def train_feature_checker(
    out: Path, config: TrainConfig, train_pairs: int = 4000, dev_pairs: int = 1500
) -> TrainLog:
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    train, dev = checker_pairs(config.seed, 4000, CheckerSettings().window_words)
    train = rng.sample(train, min(train_pairs, len(train)))
    dev = rng.sample(dev, min(dev_pairs, len(dev)))
    embedder = Embedder(config.base)
    x_train = pair_features([(p.text1, p.text2) for p in train], embedder)
    y_train = np.asarray([p.label for p in train]) >= 0.5
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-9
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000)
    model.fit((x_train - mean) / scale, y_train)
    x_dev = pair_features([(p.text1, p.text2) for p in dev], embedder)
    dev_probs = model.predict_proba((x_dev - mean) / scale)[:, 1]
    labels = labels_of(dev)
    threshold = best_threshold(labels, dev_probs)
    (out / "minigiant.json").write_text(
        json.dumps(
            {
                "format": 1,
                "kind": "features",
                "embedder": config.base,
                "features": list(FEATURES),
                "coef": model.coef_[0].tolist(),
                "intercept": float(model.intercept_[0]),
                "mean": mean.tolist(),
                "scale": scale.tolist(),
                "threshold": threshold,
            },
            indent=2,
        )
    )
    run = TrainLog("checker", config, {"train": count_kinds(train), "dev": count_kinds(dev)})
    run.dev = {
        f"own_dev_{k}": v for k, v in binary_classification(labels, dev_probs, threshold).items()
    }
    run.dev["threshold"] = threshold
    checker = FactChecker(CheckerSettings(model=str(out), threshold=threshold))
    scifact = scifact_dev_pairs()
    sf_probs = checker.score([(p.text1, p.text2) for p in scifact])
    for name, t in (("t0.5", 0.5), ("tdev", threshold)):
        scores = binary_classification(labels_of(scifact), sf_probs, t)
        run.dev.update({f"scifact_dev_{name}_{k}": v for k, v in scores.items()})
    run.wall_seconds = time.perf_counter() - started
    weights = ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, model.coef_[0], strict=True))
    write_card(
        out,
        run,
        "Factuality checker: P(claim supported by evidence) from a logistic regression over "
        f"these standardised features (weights): {weights}. Embeddings come from the packaged "
        f"all-MiniLM-L6-v2. Use with `checker.model=<this folder>` and "
        f"`checker.threshold={threshold:.3f}`.",
        LICENCES,
        method=(
            f"Method: scikit-learn LogisticRegression (balanced classes) on {len(train)} training "
            f"pairs, threshold chosen on {len(dev)} held-out pairs (held out by source item), "
            f"seed {config.seed}, in {run.wall_seconds / 60:.1f} minutes on 2 CPU cores."
        ),
    )
    return run
