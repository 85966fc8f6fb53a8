"""End-to-end QA: ask every question through `QA` and score answers, citations and latency."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from app.answer import Answer
from app.eval.datasets import QAItem, QASet, doc_id_of, sample
from app.eval.indexes import qa_set_index
from app.eval.metrics import contains_answer, exact_match, token_f1
from app.qa import QA
from app.settings import Settings
from generation.citations import without_markers

log = logging.getLogger(__name__)

# where a short answer can lose its gold (lost_at()), in the order a question meets them
STAGES = ("retrieval", "pruning", "abstention", "generator")
_VERDICT = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
_VERDICT_WORDS = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}


def answer_verdict(text: str) -> str | None:
    """The first yes/no (or true/false) word of an answer; None when it gives neither."""
    match = _VERDICT.search(text)
    return _VERDICT_WORDS[match.group(1).lower()] if match else None


@dataclass
class QAEval:
    """A question set, the settings to answer it with, and how many questions to sample."""

    qa_set: QASet
    settings: Settings
    limit: int | None = None
    seed: int = 0

    def run(self) -> dict[str, object]:
        root = qa_set_index(self.qa_set, self.settings)
        qa = QA(self.settings.model_copy(update={"index": root}))
        qa.warm_up()  # latencies are a warm server's, as `serve` gives them
        items = sample(self.qa_set.items, self.limit, self.seed)
        records = [
            self._record(item, qa.ask(item.question))
            for item in tqdm(items, desc=f"qa {self.qa_set.name}", unit="question")
        ]
        qa.close()
        return {
            "dataset": self.qa_set.name,
            "kind": self.qa_set.kind,
            "index": str(root),
            "questions": len(records),
            "generator": f"{self.settings.generator.engine}:{self.settings.generator.model}",
            "generator_settings": self.settings.generator.model_dump(exclude={"api_key"}),
            "large_generator": self.settings.large_generator
            and self.settings.large_generator.model_dump(exclude={"api_key"}),
            "context": self.settings.context.model_dump(),
            "checker": self.settings.checker.model,
            "top_n": self.settings.retrieval.top_n,
            "peak_memory_gib": peak_memory_gib(),
            "summary": summarise(
                records, self.qa_set.kind, cascade=self.settings.large_generator is not None
            ),
            "answers": records,
        }

    def _record(self, item: QAItem, answer: Answer) -> dict[str, object]:
        cited_docs = [doc_id_of(c.passage.doc_uri) for c in answer.citations]
        record: dict[str, object] = {
            "question": item.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "seconds": answer.timings.get("total"),
            "first_token_s": answer.timings.get("first_token"),
            "cited_docs": cited_docs,
            "escalated": answer.escalated,
            "answerable": item.answerable,
            "prompt_tokens": answer.usage.get("prompt_tokens"),
            "cached_tokens": answer.usage.get("cached_tokens"),
            **recorded_signals(answer),
            "stages": {
                k: v for k, v in answer.timings.items() if k not in ("total", "first_token")
            },
            # found by retrieval, before the pruner chose what the generator reads
            "gold_retrieved": item.gold_doc is not None
            and any(doc_id_of(uri) == item.gold_doc for uri in answer.retrieved_docs),
        }
        if answer.verdicts is not None:
            record["sentences"] = len(answer.verdicts)
            record["sentences_supported"] = sum(v.supported for v in answer.verdicts)
        if self.qa_set.kind == "claims":
            predicted = None if answer.abstained else answer_verdict(answer.text)
            record |= {
                "gold": item.verdict,
                "predicted": predicted,
                "gold_cited": item.gold_doc in cited_docs,
            }
        elif self.qa_set.kind == "long_answer":
            text = "" if answer.abstained else without_markers(answer.text)
            record |= {
                "gold": item.answers,
                "f1": token_f1(text, item.answers) if item.answers else 0.0,
                "citations_with_answer": sum(d == item.gold_doc for d in cited_docs),
                "citations": len(cited_docs),
            }
        else:
            text = "" if answer.abstained else without_markers(answer.text)
            record |= {
                "gold": item.answers,
                "em": exact_match(text, item.answers),
                "f1": token_f1(text, item.answers),
                # sentence answers fail exact match by design; does the answer state the gold?
                "contains_gold": contains_answer(text, item.answers),
                # did the generator read a gold answer (after pruning)?
                "gold_read": any(
                    contains_answer(p.read_text, item.answers) for p in answer.passages
                ),
                "citations_with_answer": sum(
                    contains_answer(c.passage.text, item.answers) for c in answer.citations
                ),
                "citations": len(answer.citations),
            }
            record["lost_at"] = lost_at(record)
        return record


def lost_at(record: dict[str, object]) -> str | None:
    """Where a short answer lost its gold (None: it states it): the generator read it and
    wrote something else, or the gate abstained over it; else the pruner left it out of a
    retrieved gold passage, or retrieval never found that passage."""
    if record["contains_gold"]:
        return None
    if record["gold_read"]:
        return "abstention" if record["abstained"] else "generator"
    return "pruning" if record["gold_retrieved"] else "retrieval"


def recorded_signals(answer: Answer) -> dict[str, float | None]:
    """What the answerability gate weighed, so that another gate's decisions can be read off
    a run (None: not read, as when the pruner's floor stopped the question first)."""
    return {
        "doubt": answer.doubt,
        "refusal": answer.refusal,
        "best": answer.best,
        "coverage": answer.coverage,
        "dense": answer.dense,
    }


def peak_memory_gib() -> float:
    """This process's peak resident memory so far (Linux and macOS report it differently)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def summarise(
    records: list[dict[str, object]], kind: str, cascade: bool = False
) -> dict[str, float | None]:
    """Means over all questions (abstentions count as wrong) plus latency percentiles; with a
    small-first cascade, the share the small generator kept and the quality of each path."""
    seconds = [r["seconds"] for r in records if r["seconds"] is not None]
    first = [r["first_token_s"] for r in records if r["first_token_s"] is not None]
    tokens = [r["prompt_tokens"] for r in records if r.get("prompt_tokens") is not None]
    cached = [r["cached_tokens"] for r in records if r.get("cached_tokens") is not None]
    sentences = sum(r.get("sentences", 0) for r in records)
    summary: dict[str, float | None] = {
        "abstention_rate": sum(r["abstained"] for r in records) / max(1, len(records)),
        "gold_retrieved": sum(r["gold_retrieved"] for r in records) / max(1, len(records)),
        "latency_p50_s": float(np.percentile(seconds, 50)) if seconds else None,
        "latency_p95_s": float(np.percentile(seconds, 95)) if seconds else None,
        "first_token_p50_s": float(np.percentile(first, 50)) if first else None,
        "first_token_p95_s": float(np.percentile(first, 95)) if first else None,
        "prompt_tokens_mean": float(np.mean(tokens)) if tokens else None,
        "cached_tokens_mean": float(np.mean(cached)) if cached else None,
        "checker_accepted": (
            sum(r.get("sentences_supported", 0) for r in records) / sentences if sentences else None
        ),
    }
    unanswerable = [r for r in records if not r.get("answerable", True)]
    if unanswerable:
        # answer quality is scored on the answerable questions; the others must abstain
        records = [r for r in records if r.get("answerable", True)]
        summary["abstained_unanswerable"] = sum(r["abstained"] for r in unanswerable) / len(
            unanswerable
        )
        summary["answered_answerable"] = (
            sum(not r["abstained"] for r in records) / len(records) if records else None
        )
    n = max(1, len(records))
    if kind == "claims":
        summary["verdict_accuracy"] = sum(r["predicted"] == r["gold"] for r in records) / n
        summary["gold_cited"] = sum(r["gold_cited"] for r in records) / n
    else:
        cited = sum(r["citations"] for r in records)
        if kind != "long_answer":
            summary["exact_match"] = sum(r["em"] for r in records) / n
            summary["answer_contains_gold"] = sum(r["contains_gold"] for r in records) / n
            summary["gold_read"] = sum(r.get("gold_read", False) for r in records) / n
            for stage in STAGES:
                summary[f"lost_at_{stage}"] = sum(r.get("lost_at") == stage for r in records) / n
        summary["f1"] = sum(r["f1"] for r in records) / n
        # short answers: the cited passage states a gold answer; long ones: it is the gold one
        summary["citation_precision"] = (
            sum(r["citations_with_answer"] for r in records) / cited if cited else None
        )
    if cascade:
        quality = "verdict_accuracy" if kind == "claims" else "f1"
        small = [r for r in records if r["escalated"] is None]
        large = [r for r in records if r["escalated"] is not None]
        summary["answered_by_small"] = len(small) / n
        for name, part in (("small", small), ("large", large)):
            summary[f"{quality}_{name}_path"] = summarise(part, kind)[quality] if part else None
    return summary
