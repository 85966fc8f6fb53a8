"""Multi-turn QA on MTRAG: does rewriting follow-ups find their passages, and answer them?

Retrieval is scored per turn as recall of the turn's reference passages in the top k, for
each way of reading the conversation (settings.conversation.rewrite), over one index of every
reference passage in the set. Answers are scored with the chosen way: token F1 against the
reference answer on answerable turns, abstention on the unanswerable ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from app.eval.datasets import ConversationTask, doc_id_of, sample
from app.eval.indexes import mtrag_index
from app.eval.metrics import token_f1
from app.eval.qa_eval import peak_memory_gib, recorded_signals
from app.qa import QA
from app.settings import Settings
from generation.citations import without_markers
from generation.condense import Condenser, turns_from

REWRITES = ("off", "concat", "auto", "always")
ANSWERED = ("ANSWERABLE", "PARTIAL")


@dataclass
class ConversationEval:
    tasks: list[ConversationTask]
    passages: list[dict[str, str]]
    settings: Settings
    limit: int | None = None
    seed: int = 0
    k: int = 5
    rewrites: tuple[str, ...] = REWRITES
    answers: bool = False
    # the ways each turn is answered; None: without rewriting and with the configured way
    answer_modes: tuple[str, ...] | None = None

    def run(self) -> dict[str, object]:
        root = mtrag_index(self.passages, self.settings)
        settings = self.settings.model_copy(update={"index": root})
        qa = QA(settings)
        qa.warm_up()
        tasks = sample(self.tasks, self.limit, self.seed)
        report: dict[str, object] = {
            "dataset": "mtrag",
            "index": str(root),
            "turns": len(tasks),
            "k": self.k,
            "generator": self.settings.generator.model,
            "retrieval": {mode: self._recall(qa, tasks, mode) for mode in self.rewrites},
        }
        if self.answers:
            # the models are loaded once per process, so a QA per way costs only its reader
            report["answers"] = {
                mode: self._answers(QA(self._with(settings, mode)), tasks)
                for mode in self.answer_modes or ("off", self.answer_mode)
            }
        report["peak_memory_gib"] = peak_memory_gib()
        qa.close()
        return report

    @property
    def answer_mode(self) -> str:
        """The configured way of reading the conversation (auto where it is off)."""
        mode = self.settings.conversation.rewrite
        return "auto" if mode == "off" else mode

    def _recall(self, qa: QA, tasks: list[ConversationTask], mode: str) -> dict[str, object]:
        """Recall@k of the reference passages per turn, with the rewrite's latency."""
        condenser = Condenser(qa.generator, self._with(self.settings, mode).conversation)
        by_kind: dict[str, list[float]] = {}
        seconds, rewritten = [], 0
        for task in tqdm(
            [t for t in tasks if t.gold_docs], desc=f"mtrag recall ({mode})", unit="turn"
        ):
            begun = time.perf_counter()
            question = condenser.standalone(task.question, turns_from(task.history))
            seconds.append(time.perf_counter() - begun)
            rewritten += question != task.question
            found = {doc_id_of(p.doc_uri) for p in qa.retrieve(question, top_n=self.k)}
            recall = len(found & set(task.gold_docs)) / len(task.gold_docs)
            by_kind.setdefault(task.kind, []).append(recall)
            by_kind.setdefault("all", []).append(recall)
        return {
            f"recall@{self.k}": {kind: float(np.mean(v)) for kind, v in by_kind.items()},
            "turns": {kind: len(v) for kind, v in by_kind.items()},
            "rewritten": rewritten / max(1, len(seconds)),
            "rewrite_p50_s": float(np.percentile(seconds, 50)) if seconds else None,
            "rewrite_p95_s": float(np.percentile(seconds, 95)) if seconds else None,
        }

    def _answers(self, qa: QA, tasks: list[ConversationTask]) -> dict[str, object]:
        """Answer quality per turn: F1 and answered share where the references answer, the
        abstention where they cannot (MTRAG's UNDERSPECIFIED turns want a clarifying
        question, which we do not ask: they are left out)."""
        records = []
        for task in tqdm(
            [t for t in tasks if t.answerability != "UNDERSPECIFIED"],
            desc=f"mtrag answers ({qa.settings.conversation.rewrite})",
            unit="turn",
        ):
            answer = qa.ask(task.question, history=task.history)
            text = "" if answer.abstained else without_markers(answer.text)
            records.append(
                {
                    "task": task.task_id,
                    "answerability": task.answerability,
                    "standalone": answer.standalone,
                    "answer": answer.text,
                    "abstained": answer.abstained,
                    **recorded_signals(answer),
                    "f1": token_f1(text, task.answers) if task.answers else 0.0,
                    "first_token_s": answer.timings.get("first_token"),
                    "seconds": answer.timings.get("total"),
                    "condense_s": answer.timings.get("condense"),
                }
            )
        answerable = [r for r in records if r["answerability"] in ANSWERED]
        unanswerable = [r for r in records if r["answerability"] == "UNANSWERABLE"]
        first = [r["first_token_s"] for r in records if r["first_token_s"] is not None]
        return {
            "f1_answerable": float(np.mean([r["f1"] for r in answerable])) if answerable else None,
            "answered_answerable": (
                sum(not r["abstained"] for r in answerable) / len(answerable)
                if answerable
                else None
            ),
            "abstained_unanswerable": (
                sum(r["abstained"] for r in unanswerable) / len(unanswerable)
                if unanswerable
                else None
            ),
            "first_token_p50_s": float(np.percentile(first, 50)) if first else None,
            "records": records,
        }

    @staticmethod
    def _with(settings: Settings, mode: str) -> Settings:
        conversation = settings.conversation.model_copy(update={"rewrite": mode})
        return settings.model_copy(update={"conversation": conversation})
