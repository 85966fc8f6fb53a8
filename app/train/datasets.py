"""Readers for the shared training and evaluation sets, with the splits we train and test on.

The data root and the claims dev split are the evaluation harness's (app/eval/datasets.py),
so training can never see what eval scores on.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.eval.datasets import data_root, halueval_rows, is_dev

_GLUED_SENTENCES = re.compile(r"(?<=[a-z0-9)]\.)(?=[A-Z])")


@dataclass(frozen=True)
class HaluQA:
    knowledge: str
    question: str
    right_answer: str
    hallucinated_answer: str


def halueval_qa(root: Path | None = None) -> Iterator[HaluQA]:
    """HaluEval QA (MIT) less the items the checker is judged on; its knowledge passages glue
    sentences together, so re-space them."""
    path = (root or data_root()).joinpath("halueval", "dataset_halueval_qa.jsonl")
    for _, row in halueval_rows(path, held_out=False):
        yield HaluQA(
            _GLUED_SENTENCES.sub(" ", row["knowledge"]),
            row["question"],
            row["right_answer"],
            row["hallucinated_answer"],
        )


@dataclass(frozen=True)
class PubMedQA:
    pmid: str
    question: str
    context: str
    long_answer: str
    decision: str = ""  # the experts' yes / no / maybe
    sections: tuple[tuple[str, str], ...] = ()  # (label, text): BACKGROUND, METHODS, RESULTS


def pubmedqa_train(root: Path | None = None) -> list[PubMedQA]:
    """PubMedQA-L (MIT) minus its official 500-question test split."""
    root = root or data_root()
    rows = json.loads(root.joinpath("pubmedqa", "ori_pqal.json").read_text())
    test = set(json.loads(root.joinpath("pubmedqa", "test_ground_truth.json").read_text()))
    out = []
    for pmid, row in rows.items():
        if pmid in test:
            continue
        contexts = row["CONTEXTS"]
        if isinstance(contexts, str):
            contexts = ast.literal_eval(contexts)
        out.append(
            PubMedQA(
                pmid,
                row["QUESTION"],
                " ".join(contexts),
                row["LONG_ANSWER"],
                row["final_decision"],
                tuple(zip(row["LABELS"], contexts, strict=True)),
            )
        )
    return out


@dataclass(frozen=True)
class ClaimPair:
    claim_id: str
    claim: str
    doc_id: str
    title: str
    evidence: str
    label: str  # SUPPORT / CONTRADICT / NOT_ENOUGH_INFO


def scifact_claims(split: str, root: Path | None = None) -> list[ClaimPair]:
    """SciFact claim/abstract pairs (CC BY-NC 2.0: evaluation only for shipped weights)."""
    if split not in ("train", "dev"):
        raise ValueError(f"split must be train or dev, got {split!r}")
    path = (root or data_root()).joinpath("scifact-claims", "train.jsonl")
    pairs = []
    with path.open() as handle:
        for line in handle:
            row = json.loads(line)
            if is_dev(str(row["claim_id"])) == (split == "dev"):
                pairs.append(
                    ClaimPair(
                        str(row["claim_id"]),
                        row["claim"],
                        str(row["doc_id"]),
                        row["title"],
                        row["evidence"],
                        row["label"],
                    )
                )
    return pairs


@dataclass(frozen=True)
class HaluSummary:
    document: str
    right_summary: str


def halueval_summaries(limit: int, root: Path | None = None) -> list[HaluSummary]:
    """HaluEval summarization (MIT), less held-out items: news articles with a faithful
    summary."""
    path = (root or data_root()).joinpath("halueval", "dataset_halueval_summarization.jsonl")
    out = []
    for _, row in halueval_rows(path, held_out=False):
        out.append(HaluSummary(row["document"], row["right_summary"]))
        if len(out) >= limit:
            break
    return out
