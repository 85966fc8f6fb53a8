"""`minigiant train answerability`: fit the gate (generation/answerability.py) for the
configured generator on CLAPNQ dev questions outside the QA eval's default sample.

Each question goes through the app's own path: hybrid retrieval, pruning, then the
generator's doubt read from the prompt it would answer. The pruner's own floor
(`context.abstain_below`) does not apply where a gate decides, so the gate sees every question.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.eval.datasets import data_root, load_clapnq, sample
from app.eval.indexes import ensure_index, write_corpus
from app.qa import QA
from app.settings import Settings
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.answerability import (
    AnswerabilityGate,
    logit,
    question_coverage,
    read_refusal,
)
from generation.prompt import ABSTAIN, VERIFY, build_messages, prompt_fingerprint

EVAL_SAMPLE = 100  # `minigiant eval qa --dataset clapnq`'s default --limit and seed 0: held out
ANSWERED_SHARE = 0.9  # the threshold answers this share of the answerable training questions


def gate_signals(qa: QA, question: str) -> tuple[float, float, float, float] | None:
    """(best sentence score, doubt, refusal, coverage) as the app computes them; None when
    nothing is left to read or the engine gives no probabilities."""
    passages, best, _ = qa.pruned(question, qa.retriever.retrieve(question), {})
    if not passages or best is None:
        return None
    refusal = read_refusal(qa.generator, question, passages)
    doubt = qa.generator.opening_probabilities(build_messages(question, passages), [ABSTAIN])
    if refusal is None or doubt is None:
        return None
    return best, doubt[0], refusal, question_coverage(question, [p.read_text for p in passages])


def train_answerability(out: Path, config: TrainConfig, settings: Settings) -> TrainLog:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    started = time.perf_counter()
    qa_set = load_clapnq(data_root() / "clapnq")
    held_out = {id(item) for item in sample(qa_set.items, EVAL_SAMPLE, seed=0)}
    items = [item for item in qa_set.items if id(item) not in held_out]
    corpus = write_corpus(qa_set.name, qa_set.passages)
    root = ensure_index(qa_set.name, [corpus], settings)
    qa = QA(settings.model_copy(update={"index": root}))
    qa.warm_up()
    rows, labels = [], []
    for item in tqdm(items, desc="answerability signals", unit="question"):
        signals = gate_signals(qa, item.question)
        if signals is not None:
            rows.append([logit(signals[1]), signals[0], signals[2], signals[3]])
            labels.append(int(item.answerable))
    qa.close()
    x, y = np.array(rows), np.array(labels)
    model = LogisticRegression().fit(x, y)
    held = cross_val_predict(LogisticRegression(), x, y, cv=10, method="predict_proba")[:, 1]
    fitted = model.predict_proba(x)[:, 1]
    threshold = float(np.quantile(fitted[y == 1], 1 - ANSWERED_SHARE))
    gate = AnswerabilityGate(
        generator=settings.generator.model,
        reranker=settings.retrieval.reranker or "",
        bias=float(model.intercept_[0]),
        w_doubt=float(model.coef_[0][0]),
        w_best=float(model.coef_[0][1]),
        threshold=threshold,
        w_refusal=float(model.coef_[0][2]),
        w_coverage=float(model.coef_[0][3]),
        prompt=prompt_fingerprint(),
    )
    cut = np.quantile(held[y == 1], 1 - ANSWERED_SHARE)
    run = TrainLog(
        task="answerability",
        config=config,
        data={
            "clapnq_dev_questions": len(items),
            "past_the_pruner_floor": len(labels),
            "answerable": int(y.sum()),
        },
        dev={
            "cv_roc_auc": float(roc_auc_score(y, held)),
            "cv_roc_auc_doubt_alone": float(roc_auc_score(y, -x[:, 0])),
            "cv_roc_auc_best_alone": float(roc_auc_score(y, x[:, 1])),
            "cv_roc_auc_refusal_alone": float(roc_auc_score(y, -x[:, 2])),
            "cv_roc_auc_coverage_alone": float(roc_auc_score(y, x[:, 3])),
            "cv_unanswerable_stopped": float(((held < cut) & (y == 0)).sum() / (y == 0).sum()),
        },
        wall_seconds=time.perf_counter() - started,
    )
    gate.save(out)
    write_card(
        out,
        run,
        "Decides before generating whether the pruned sources answer the question: a "
        "logistic model over the pruner's best sentence score, the share of the question's "
        "content words found in the pruned sources, the generator's doubt (its "
        f"probability of replying '{ABSTAIN}') and its refusal (log-odds of No over Yes when "
        f"asked '{VERIFY}'), fitted for `{settings.generator.model}` under the prompt "
        f"{gate.prompt} (`generation.prompt.prompt_fingerprint()`: refit when it changes).",
        {"CLAPNQ dev, outside the QA eval's default sample": "Apache-2.0"},
        method=(
            f"Threshold: the gate answers {ANSWERED_SHARE:.0%} of the answerable training "
            "questions. cv_* scores are 10-fold cross-validated on the training questions; "
            "cv_unanswerable_stopped is the share of unanswerable ones the gate stops there."
        ),
        reproduce="Reproduce: `minigiant train answerability --out DIR` (the default settings).",
    )
    return run
