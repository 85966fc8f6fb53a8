"""`minigiant train answerability`: fit the gate (generation/answerability.py) for the
configured generator on CLAPNQ dev questions outside the QA eval's default sample, on SQuAD
dev questions outside its own (short factoid questions match their passage less closely than
CLAPNQ's: median best cosine 0.61 against 0.71, and the gate must answer them too), and on
MTRAG turns from conversations outside the conversation eval's sample (a follow-up, rewritten
or not, matches its passage less closely still: 0.65, partial answers 0.51).

Each question goes through the app's own path (QA.gate_signals): a follow-up's rewrite,
hybrid retrieval, pruning, then the generator's doubt read from the prompt it would answer
and its refusal. The pruner's own floor (`context.abstain_below`) does not apply where a gate
decides, so the gate sees every question.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.eval.conversation_eval import ANSWERED
from app.eval.datasets import (
    ConversationTask,
    QASet,
    data_root,
    load_clapnq,
    load_mtrag,
    load_squad,
    sample,
)
from app.eval.indexes import mtrag_index, qa_set_index
from app.qa import QA, History
from app.settings import Settings
from app.train.trainer import TrainConfig, TrainLog, write_card
from generation.answerability import AnswerabilityGate, GateSignals, logit, sigmoid
from generation.engines.factory import resolved_engine
from generation.prompt import ABSTAIN, VERIFY, prompt_fingerprint

EVAL_SAMPLE = 100  # `minigiant eval qa --dataset clapnq`'s default --limit and seed 0: held out
SQUAD_EVAL_SAMPLE = 200  # the SQuAD sample the README's QA tables use (seed 0): held out
SQUAD_QUESTIONS = 150  # SQuAD questions the gate learns from (seed 1 among the rest)
# the turns `minigiant eval conversation` scores in the README (seed 0): their conversations
# are held out, since a conversation's turns share passages
MTRAG_EVAL_SAMPLE = 100
MTRAG_TURNS = 200  # MTRAG turns the gate learns from (seed 1 among the rest)
ANSWERED_SHARE = 0.9  # the threshold answers this share of the answerable CLAPNQ questions
REFUSAL_RANGE = (0.1, 0.9)  # the quantiles of training refusals the gate reads it within

# the gate's inputs in GateSignals order, each with the sign of its own relation to
# answerability (for its AUC alone); the doubt enters as its logit
FEATURES = dict(zip(GateSignals._fields, (-1, 1, -1, 1, 1), strict=True))


def feature_row(signals: GateSignals) -> list[float]:
    return [logit(signals.doubt), *signals[1:]]


def signals_of(row: Sequence[float]) -> GateSignals:
    """feature_row's inverse."""
    return GateSignals(sigmoid(row[0]), *(float(v) for v in row[1:]))


Rows = tuple[np.ndarray, np.ndarray]  # signal rows (FEATURES order) and labels (1: answerable)


def fit_gate(sets: dict[str, Rows], settings: Settings) -> tuple[AnswerabilityGate, dict]:
    """The gate over the rows of every training set ("clapnq" sets the threshold), and its
    cross-validated scores on each: ROC AUC where a set has both labels, the share of its
    answerable rows answered and of its unanswerable ones stopped."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rows = np.vstack([x for x, _ in sets.values()])
    labels = np.concatenate([y for _, y in sets.values()])
    kinds = np.concatenate([2 * k + y for k, (_, y) in enumerate(sets.values())])
    model = LogisticRegression().fit(rows, labels)
    held = np.zeros(len(labels))
    for train, test in StratifiedKFold(10, shuffle=True, random_state=0).split(rows, kinds):
        fold = LogisticRegression().fit(rows[train], labels[train])
        held[test] = fold.predict_proba(rows[test])[:, 1]
    x, y = sets["clapnq"]
    fitted = model.predict_proba(x)[:, 1]
    weights = dict(zip(FEATURES, (float(w) for w in model.coef_[0]), strict=True))
    refusals = rows[:, list(FEATURES).index("refusal")]
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
        refusal_range=tuple(float(q) for q in np.quantile(refusals, REFUSAL_RANGE)),
        engine=resolved_engine(settings.generator),
    )
    ends = np.cumsum([len(labels_here) for _, labels_here in sets.values()])
    held_by_set = dict(zip(sets, np.split(held, ends[:-1]), strict=True))
    cut = np.quantile(held_by_set["clapnq"][y == 1], 1 - ANSWERED_SHARE)
    scores = {
        f"cv_roc_auc_{feature}_alone": float(roc_auc_score(y, sign * x[:, k]))
        for k, (feature, sign) in enumerate(FEATURES.items())
    }
    signals = [signals_of(r) for r in rows]
    skipped = [s for s in signals if not gate.needs_refusal(s)]
    scores["refusal_skipped"] = len(skipped) / len(signals)
    # decisions the skip changed: made without the refusal, unmade by the one read
    scores["refusal_skip_changed"] = sum(
        gate.answers(s) != gate.answers(s._replace(refusal=gate.refusal_range[0])) for s in skipped
    )
    for name, (_, labels_here) in sets.items():
        scored = held_by_set[name]
        if 0 < labels_here.sum() < len(labels_here):
            scores[f"cv_roc_auc_{name}"] = float(roc_auc_score(labels_here, scored))
        if labels_here.any():
            scores[f"cv_{name}_answered"] = float((scored[labels_here == 1] >= cut).mean())
        if not labels_here.all():
            scores[f"cv_{name}_stopped"] = float((scored[labels_here == 0] < cut).mean())
    return gate, scores


def train_answerability(out: Path, config: TrainConfig, settings: Settings) -> TrainLog:
    started = time.perf_counter()
    clapnq = load_clapnq(data_root() / "clapnq")
    squad = load_squad(data_root() / "squad-v1.1" / "dev-v1.1.json")
    squad_items = sample(_outside(squad.items, SQUAD_EVAL_SAMPLE), SQUAD_QUESTIONS, seed=1)
    sets = {
        "clapnq": _signals(clapnq, _outside(clapnq.items, EVAL_SAMPLE), settings),
        "mtrag": _mtrag_signals(settings),
        "squad": _signals(squad, squad_items, settings),
    }
    sets["squad"] = tuple(part[sets["squad"][1] == 1] for part in sets["squad"])
    return save_fitted_gate(out, config, settings, sets, started)


def _outside(items: list, eval_sample: int) -> list:
    held_out = {id(item) for item in sample(items, eval_sample, seed=0)}
    return [item for item in items if id(item) not in held_out]


def _signals(qa_set: QASet, items: list, settings: Settings) -> Rows:
    """The gate's signals for `items` of `qa_set`, over the eval's index of its passages."""
    questions = [(item.question, None, item.answerable) for item in items]
    return _read(qa_set_index(qa_set, settings), questions, qa_set.name, settings)


def _read(
    index: Path,
    questions: list[tuple[str, History | None, bool]],
    name: str,
    settings: Settings,
) -> Rows:
    """Signal rows and labels for (question, conversation before it, answerable) over `index`;
    questions left with nothing to read give no row."""
    qa = QA(settings.model_copy(update={"index": index}))
    qa.warm_up()
    rows, labels = [], []
    for question, history, answerable in tqdm(
        questions, desc=f"answerability signals, {name}", unit="question"
    ):
        signals = qa.gate_signals(question, history=history)
        if signals is not None:
            rows.append(feature_row(signals))
            labels.append(int(answerable))
    qa.close()
    return np.array(rows), np.array(labels)


def _conversation(task: ConversationTask) -> str:
    """What names a task's conversation: its first user turn (a task id names one turn)."""
    return task.history[0]["content"] if task.history else task.question


def _mtrag_signals(settings: Settings) -> Rows:
    """The gate's signals for MTRAG turns outside the eval sample's conversations, over the
    eval's index of MTRAG's passages, each read after its conversation as the app reads it."""
    tasks, passages = load_mtrag(data_root() / "mtrag")
    held_out = {_conversation(t) for t in sample(tasks, MTRAG_EVAL_SAMPLE, seed=0)}
    judged = ("UNANSWERABLE", *ANSWERED)
    rest = [t for t in tasks if _conversation(t) not in held_out and t.answerability in judged]
    turns = [
        (t.question, t.history, t.answerability in ANSWERED)
        for t in sample(rest, MTRAG_TURNS, seed=1)
    ]
    return _read(mtrag_index(passages, settings), turns, "mtrag", settings)


def save_fitted_gate(
    out: Path, config: TrainConfig, settings: Settings, sets: dict[str, Rows], started: float
) -> TrainLog:
    """Fit the gate on the (signals, labels) of each training set, and save it with its card
    and the signals, so that another fit can be tried without reading them again."""
    gate, scores = fit_gate(sets, settings)
    data: dict[str, int] = {}
    for name, (_, y) in sets.items():
        data[f"{name}_questions"] = len(y)
        data[f"{name}_answerable"] = int(y.sum())
    run = TrainLog(
        task="answerability",
        config=config,
        data=data,
        dev=scores,
        wall_seconds=time.perf_counter() - started,
    )
    gate.save(out)
    np.savez_compressed(
        out / "signals.npz",
        **{f"{name}_x": x for name, (x, _) in sets.items()},
        **{f"{name}_y": y for name, (_, y) in sets.items()},
    )
    write_card(
        out,
        run,
        "Decides before generating whether the pruned sources answer the question: a "
        "logistic model over the pruner's best sentence score, the share of the question's "
        "content words found in the pruned sources, the generator's doubt (its "
        f"probability of replying '{ABSTAIN}'), its refusal (log-odds of No over Yes when "
        f"asked '{VERIFY}') and the best question-passage cosine of dense search, fitted for "
        f"`{settings.generator.model}` (read by the {gate.engine} engine) and "
        f"`{settings.embedder.model}` under the prompt "
        f"{gate.prompt} (`generation.prompt.prompt_fingerprint()`: refit when it changes). "
        "The refusal is read only where a refusal between its training questions' "
        f"{REFUSAL_RANGE[0]:.0%} and {REFUSAL_RANGE[1]:.0%} quantiles could change the decision.",
        {
            "CLAPNQ dev, outside the QA eval's default sample": "Apache-2.0",
            "MTRAG, conversations outside the conversation eval's sample": "Apache-2.0",
            "SQuAD v1.1 dev, outside the QA eval's default sample": "CC BY-SA 4.0",
        },
        method=(
            f"Threshold: the gate answers {ANSWERED_SHARE:.0%} of the answerable training "
            "CLAPNQ questions. cv_* scores are 10-fold cross-validated on the training "
            "questions: cv_<set>_answered is the share of a set's answerable questions the "
            "gate answers, cv_<set>_stopped of its unanswerable ones it stops. "
            "refusal_skipped is the share of training questions decided without the refusal, "
            "refusal_skip_changed how many of those its reading would have decided otherwise. "
            "signals.npz holds each set's signal rows (x) and labels (y)."
        ),
        reproduce=(
            "Reproduce: `minigiant train answerability --out DIR` (the default settings; "
            f"`MINIGIANT_GENERATOR__ENGINE={gate.engine}` where `auto` picks another engine)."
        ),
    )
    return run
