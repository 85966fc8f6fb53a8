"""`minigiant train injection-detector`: the small model that keeps planted instructions out
of the generator's prompt (generation/injection.py): a logistic regression over hashed
character n-grams, and a second one over the same n-grams beside the sentence's MiniLM
embedding whose agreement a flag needs. What it is fitted on: app/train/injection_data.py.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.train.injection_data import CACHE, LANGUAGES, LICENCES, training_set
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.injection import MANIFEST, WEIGHTS, ngram_indices

log = logging.getLogger(__name__)

NGRAM_SIZES = (2, 3, 4)
BUCKETS = 2**18
# the dev share of ordinary sentences the threshold may flag: at 1% it also dropped prose
# ("Construction began in November 1962.") and more of the lines that address their reader;
# 0.5% keeps them, for a few more planted sentences left to the other defences (README)
MAX_FALSE_ALARMS = 0.005
# the second opinion (generation/injection.py): the n-grams beside MiniLM's sentence embedding,
# the embedding scaled by this before the fit (0.3 / 0.5 / 0.7 / 1.0 tied on the dev split at
# these thresholds; 0.5 kept the most planted lines of the suite), and its own threshold at
# this share of ordinary dev sentences; a sentence is flagged where both models agree
SECOND_OPINION_EMBEDDER = "all-MiniLM-L6-v2"
EMBEDDING_WEIGHT = 0.5
SECOND_MAX_FALSE_ALARMS = 0.01


def features(texts: Sequence[str]):
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    for i, text in enumerate(texts):
        for k, v in ngram_indices(text, NGRAM_SIZES, BUCKETS).items():
            rows.append(i)
            cols.append(k)
            values.append(v)
    return csr_matrix((values, (rows, cols)), shape=(len(texts), BUCKETS))


def _embedded(texts: Sequence[str]) -> np.ndarray:
    from indexing.embedding import Embedder

    log.info("embedding %d training sentences for the second opinion", len(texts))
    return Embedder(SECOND_OPINION_EMBEDDER).embed_passages(texts, progress=True)


def _threshold(scores: np.ndarray, ordinary: np.ndarray, false_alarms: float) -> float:
    """The score that flags `false_alarms` of the `ordinary` sentences."""
    kept = np.sort(scores[ordinary])
    return float(kept[int(len(kept) * (1 - false_alarms))])


def train_injection_detector(out: Path, config: TrainConfig, bipia: Path) -> TrainLog:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    from app.eval.metrics import binary_classification

    started = time.perf_counter()
    rng = random.Random(config.seed)
    data = training_set(bipia, rng)
    texts, labels, weights, fragment = data.texts, data.labels, data.weights, data.fragment
    dev = np.array([rng.random() < 0.2 for _ in texts])
    x = features(texts)
    model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
    model.fit(x[~dev], labels[~dev], sample_weight=weights[~dev])
    scores = model.predict_proba(x[dev])[:, 1]
    # the thresholds are set on ordinary sentences, as before fragments were added: they
    # score far lower, and would let them flag more prose
    ordinary = (labels[dev] == 0) & ~fragment[dev]
    attacks = labels[dev] == 1
    threshold = _threshold(scores, ordinary, MAX_FALSE_ALARMS)
    dev_scores = binary_classification(labels[dev].tolist(), scores.tolist(), threshold)
    both = hstack([x, csr_matrix(_embedded(texts) * EMBEDDING_WEIGHT)]).tocsr()
    second = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
    second.fit(both[~dev], labels[~dev], sample_weight=weights[~dev])
    second_scores = second.predict_proba(both[dev])[:, 1]
    second_threshold = _threshold(second_scores, ordinary, SECOND_MAX_FALSE_ALARMS)
    flagged = (scores >= threshold) & (second_scores >= second_threshold)
    dev_scores |= {
        "second_opinion_roc_auc": binary_classification(
            labels[dev].tolist(), second_scores.tolist(), second_threshold
        )["roc_auc"],
        "second_threshold": second_threshold,
        "ngram_flagged_attacks": float(np.mean(scores[attacks] >= threshold)),
        "ngram_flagged_ordinary": float(np.mean(scores[ordinary] >= threshold)),
        "flagged_attacks": float(np.mean(flagged[attacks])),
        "flagged_ordinary": float(np.mean(flagged[ordinary])),
    }
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / WEIGHTS,
        coef=model.coef_[0].astype(np.float16),
        bias=np.float32(model.intercept_[0]),
        second_coef=second.coef_[0].astype(np.float16),
        second_bias=np.float32(second.intercept_[0]),
    )
    manifest = {
        "ngram_sizes": list(NGRAM_SIZES),
        "threshold": threshold,
        "second_opinion": {
            "embedder": SECOND_OPINION_EMBEDDER,
            "embedding_weight": EMBEDDING_WEIGHT,
            "threshold": second_threshold,
        },
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    run = TrainLog(
        task="injection-detector",
        config=config,
        data={**data.counts, "languages": list(LANGUAGES), "dev_share": 0.2},
        dev={**dev_scores, "threshold": threshold},
        wall_seconds=time.perf_counter() - started,
    )
    write_card(
        out,
        run,
        "Flags sentences that address the model with instructions (prompt injection) so the "
        "pruner keeps them out of the prompt. Logistic regression over hashed character 2-4 "
        f"grams ({BUCKETS} buckets, fp16 weights); threshold at {MAX_FALSE_ALARMS:.1%} of "
        "ordinary dev sentences flagged; a table row is read cell by cell. What it flags gets "
        "a second opinion, a logistic regression over the same n-grams and the sentence's "
        f"{SECOND_OPINION_EMBEDDER} embedding (weighted {EMBEDDING_WEIGHT}, threshold at "
        f"{SECOND_MAX_FALSE_ALARMS:.0%} of ordinary dev sentences), and stays flagged only "
        "where it agrees.",
        LICENCES,
        method=(
            "Positives: BIPIA's attack instructions, bare and behind generic override framings, "
            "and composed injections (addressee, override, demand); negatives: sentences of "
            "prose and documentation, lines that address their reader (BIPIA's benign e-mails, "
            "everyday messages written by the offline Qwen 1.5B, ordinary sentences behind a "
            "reply's framing such as 'As you requested, ...'), fragments of prose (headings, "
            "names, table cells), numbers, dates and mail header lines. A share of the sentences "
            "is translated into "
            f"{len(LANGUAGES)} languages. The prompt-injection suite "
            "(`minigiant eval injection`) is never trained on."
        ),
        reproduce=(
            f"Reproduce: `minigiant train injection-detector --bipia BIPIA/benchmark --out DIR "
            f"--seed {config.seed}` (the translations and the everyday messages take about 20 "
            f"minutes on 2 cores, once, and are cached in {CACHE})."
        ),
    )
    return run
