"""`minigiant train answerability`: fit the gate (generation/answerability.py) for the
configured generator on CLAPNQ dev questions outside the QA eval's default sample, and on
SQuAD dev questions outside its own: short factoid questions match their passage less
closely than CLAPNQ's (median best cosine 0.61 against 0.71), and the gate must answer them too.

Each question goes through the app's own path: hybrid retrieval, pruning, then the
generator's doubt read from the prompt it would answer. The pruner's own floor
(`context.abstain_below`) does not apply where a gate decides, so the gate sees every question.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.eval.datasets import QASet, data_root, load_clapnq, load_squad, sample
from app.eval.indexes import qa_set_index
from app.qa import QA
from app.settings import Settings
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.answerability import (
    AnswerabilityGate,
    best_dense,
    logit,
    question_coverage,
    read_refusal,
)
from generation.prompt import ABSTAIN, VERIFY, build_messages, prompt_fingerprint

EVAL_SAMPLE = 100  # `minigiant eval qa --dataset clapnq`'s default --limit and seed 0: held out
SQUAD_EVAL_SAMPLE = 200  # the SQuAD sample the README's QA tables use (seed 0): held out
SQUAD_QUESTIONS = 150  # SQuAD questions the gate learns from (seed 1 among the rest)
ANSWERED_SHARE = 0.9  # the threshold answers this share of the answerable CLAPNQ questions


def gate_signals(qa: QA, question: str) -> list[float] | None:
    """The gate's inputs as the app computes them, in FEATURES order; None when nothing is
    left to read or the engine gives no probabilities."""
    retrieved = qa.retriever.retrieve(question)
    passages, best, _ = qa.pruned(question, retrieved, {})
    if not passages or best is None:
        return None
    refusal = read_refusal(qa.generator, question, passages)
    doubt = qa.generator.opening_probabilities(build_messages(question, passages), [ABSTAIN])
    if refusal is None or doubt is None:
        return None
    coverage = question_coverage(question, [p.read_text for p in passages])
    return [logit(doubt[0]), best, refusal, coverage, best_dense(retrieved)]


# the gate's inputs, and the sign of each one's own relation to answerability (for its AUC alone)
FEATURES = {"doubt": -1, "best": 1, "refusal": -1, "coverage": 1, "dense": 1}


def fit_gate(
    x: np.ndarray, y: np.ndarray, squad: np.ndarray, settings: Settings
) -> tuple[AnswerabilityGate, dict]:
    """The gate over CLAPNQ signal rows `x` (FEATURES order) with labels `y` (1: answerable)
    and the answerable SQuAD rows `squad`, and its cross-validated scores on them."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rows = np.vstack([x, squad])
    labels = np.concatenate([y, np.ones(len(squad), dtype=int)])
    model = LogisticRegression().fit(rows, labels)
    held = np.zeros(len(labels))
    folds = np.concatenate([y, np.full(len(squad), 2)])  # each fold holds all three kinds
    for train, test in StratifiedKFold(10, shuffle=True, random_state=0).split(rows, folds):
        fold = LogisticRegression().fit(rows[train], labels[train])
        held[test] = fold.predict_proba(rows[test])[:, 1]
    fitted = model.predict_proba(x)[:, 1]
    weights = dict(zip(FEATURES, (float(w) for w in model.coef_[0]), strict=True))
    gate = AnswerabilityGate(
        generator=settings.generator.model,
        reranker=settings.retrieval.reranker or "",
        bias=float(model.intercept_[0]),
        w_doubt=weights["doubt"],
        w_best=weights["best"],
        threshold=float(np.quantile(fitted[y == 1], 1 - ANSWERED_SHARE)),
        w_refusal=weights["refusal"],
        w_coverage=weights["coverage"],
        prompt=prompt_fingerprint(),
        w_dense=weights["dense"],
        embedder=settings.embedder.model,
    )
    clapnq, squad_held = held[: len(y)], held[len(y) :]
    cut = np.quantile(clapnq[y == 1], 1 - ANSWERED_SHARE)
    scores = {"cv_roc_auc": float(roc_auc_score(y, clapnq))}
    for k, (name, sign) in enumerate(FEATURES.items()):
        scores[f"cv_roc_auc_{name}_alone"] = float(roc_auc_score(y, sign * x[:, k]))
    scores["cv_unanswerable_stopped"] = float(((clapnq < cut) & (y == 0)).sum() / (y == 0).sum())
    scores["cv_squad_answered"] = float((squad_held >= cut).mean())
    return gate, scores


def train_answerability(out: Path, config: TrainConfig, settings: Settings) -> TrainLog:
    started = time.perf_counter()
    clapnq = load_clapnq(data_root() / "clapnq")
    squad = load_squad(data_root() / "squad-v1.1" / "dev-v1.1.json")
    x, y = _signals(clapnq, _outside(clapnq.items, EVAL_SAMPLE), settings)
    squad_items = sample(_outside(squad.items, SQUAD_EVAL_SAMPLE), SQUAD_QUESTIONS, seed=1)
    sx, sy = _signals(squad, squad_items, settings)
    return save_fitted_gate(out, config, settings, (x, y), (sx, sy), started)


def _outside(items: list, eval_sample: int) -> list:
    held_out = {id(item) for item in sample(items, eval_sample, seed=0)}
    return [item for item in items if id(item) not in held_out]


def _signals(qa_set: QASet, items: list, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The gate's signals for `items` of `qa_set`, over the eval's index of its passages."""
    qa = QA(settings.model_copy(update={"index": qa_set_index(qa_set, settings)}))
    qa.warm_up()
    rows, labels = [], []
    for item in tqdm(items, desc=f"answerability signals, {qa_set.name}", unit="question"):
        signals = gate_signals(qa, item.question)
        if signals is not None:
            rows.append(signals)
            labels.append(int(item.answerable))
    qa.close()
    return np.array(rows), np.array(labels)


def save_fitted_gate(
    out: Path,
    config: TrainConfig,
    settings: Settings,
    clapnq: tuple[np.ndarray, np.ndarray],
    squad: tuple[np.ndarray, np.ndarray],
    started: float,
) -> TrainLog:
    """Fit the gate on the (signals, labels) of the CLAPNQ and SQuAD training questions, and
    save it with its card."""
    (x, y), (sx, sy) = clapnq, squad
    gate, scores = fit_gate(x, y, sx[sy == 1], settings)
    run = TrainLog(
        task="answerability",
        config=config,
        data={
            "clapnq_dev_questions": len(y),
            "answerable": int(y.sum()),
            "squad_dev_questions": int(sy.sum()),
        },
        dev=scores,
        wall_seconds=time.perf_counter() - started,
    )
    gate.save(out)
    write_card(
        out,
        run,
        "Decides before generating whether the pruned sources answer the question: a "
        "logistic model over the pruner's best sentence score, the share of the question's "
        "content words found in the pruned sources, the generator's doubt (its "
        f"probability of replying '{ABSTAIN}'), its refusal (log-odds of No over Yes when "
        f"asked '{VERIFY}') and the best question-passage cosine of dense search, fitted for "
        f"`{settings.generator.model}` and `{settings.embedder.model}` under the prompt "
        f"{gate.prompt} (`generation.prompt.prompt_fingerprint()`: refit when it changes).",
        {
            "CLAPNQ dev, outside the QA eval's default sample": "Apache-2.0",
            "SQuAD v1.1 dev, outside the QA eval's default sample": "CC BY-SA 4.0",
        },
        method=(
            f"Threshold: the gate answers {ANSWERED_SHARE:.0%} of the answerable training "
            "CLAPNQ questions. cv_* scores are 10-fold cross-validated on the training "
            "questions; cv_unanswerable_stopped is the share of unanswerable CLAPNQ ones the "
            "gate stops there, cv_squad_answered the share of SQuAD ones it answers."
        ),
        reproduce="Reproduce: `minigiant train answerability --out DIR` (the default settings).",
    )
    return run
