"""Labelled answers for `minigiant eval factuality`: an answer, the passages it was written
from, and whether people (or the data set's construction) call it supported.

An answer is scored as a user meets it: every sentence is checked against every passage and
the weakest sentence decides, so a long answer with one invented sentence counts as
unsupported.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from app.eval.datasets import halueval_rows, is_dev
from indexing.errors import MinigiantError

POSITIVE_LABELS = {"SUPPORT", "SUPPORTS", "SUPPORTED", "TRUE", "YES", "1", "ENTAILMENT", "FAITHFUL"}
MTRAG_HUMAN_FILE = "mtrag_reference_subset_with_human_evaluations.json"
# MTRAG's faithfulness scale: 1 No, 2 Mostly No, 3 Mostly Yes, 4 Yes; the median rating of
# its annotators at or above this counts as faithful
MTRAG_FAITHFUL_AT = 3.0


@dataclass
class LabeledAnswer:
    passages: list[str]
    answer: str
    label: int  # 1 = supported
    group: str  # rows of one claim or task share a group, so splits never divide them
    kind: str
    rating: float | None = None  # a graded human judgement, where the set has one


def load_factuality_set(path: Path) -> list[LabeledAnswer]:
    """A jsonl of (evidence, claim, label) or (premise, hypothesis, label) rows, or one of the
    shared data folders: scifact-claims (its dev split), halueval (its held-out items) or mtrag
    (human ratings)."""
    path = Path(path)
    if path.is_dir():
        for marker, loader in _FOLDERS.items():
            if (path / marker).exists():
                items = loader(path)
                break
        else:
            raise MinigiantError(
                f"{path} is not a factuality set: give a jsonl with evidence, claim and label, "
                f"or a folder holding one of {', '.join(_FOLDERS)}"
            )
    elif path.exists():
        items = _jsonl_pairs(path)
    else:
        raise MinigiantError(f"{path}: no such file or folder")
    if not items:
        raise MinigiantError(f"no labelled answers in {path}")
    return items


def _jsonl_pairs(path: Path) -> list[LabeledAnswer]:
    """Rows carrying `claim_id` (scifact-claims) keep only their dev split: the checker
    trains on the rest."""
    items = []
    with path.open() as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                # NLI files (the checker's training format) name them premise and hypothesis
                evidence = row["evidence"] if "evidence" in row else row["premise"]
                claim = row["claim"] if "claim" in row else row["hypothesis"]
                group = str(row.get("claim_id", claim))
                if "claim_id" in row and not is_dev(group):
                    continue
                label = str(row["label"]).strip().upper()
                items.append(
                    LabeledAnswer(
                        [str(evidence)],
                        str(claim),
                        int(label in POSITIVE_LABELS),
                        group,
                        label.lower(),
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise MinigiantError(
                    f"{path}:{n}: not an (evidence, claim, label) row ({exc!r})"
                ) from exc
    return items


def _scifact_claims(folder: Path) -> list[LabeledAnswer]:
    return _jsonl_pairs(folder / "train.jsonl")


def _halueval(folder: Path) -> list[LabeledAnswer]:
    """Held-out QA items (the right and the hallucinated answer, each said as a sentence
    with its question) and summaries (the faithful and the hallucinated one) of an article."""
    items = []
    for i, row in halueval_rows(folder / "dataset_halueval_qa.jsonl", held_out=True):
        for answer, label in ((row["right_answer"], 1), (row["hallucinated_answer"], 0)):
            claim = qa_claim(row["question"], answer)
            items.append(LabeledAnswer([row["knowledge"]], claim, label, f"qa-{i}", "qa"))
    for i, row in halueval_rows(folder / "dataset_halueval_summarization.jsonl", held_out=True):
        for summary, label in ((row["right_summary"], 1), (row["hallucinated_summary"], 0)):
            items.append(
                LabeledAnswer([row["document"]], summary, label, f"summary-{i}", "summary")
            )
    return items


def qa_claim(question: str, answer: str) -> str:
    """A short answer said as one sentence with its question, so it can be checked."""
    return f"{question.strip()} {answer.strip().rstrip('.')}."


def _mtrag(folder: Path) -> list[LabeledAnswer]:
    """Three systems' answers to 159 MTRAG turns, each with its annotators' median
    faithfulness rating, checked against the turn's reference passages. Turns without
    passages are left out: their answers are about abstaining, not about grounding."""
    data = json.loads((folder / MTRAG_HUMAN_FILE).read_text())
    documents = {d["document_id"]: d["text"] for d in data["documents"]}
    contexts = {
        t["task_id"]: [documents[c["document_id"]] for c in t["contexts"]] for t in data["tasks"]
    }
    items = []
    for row in data["evaluations"]:
        if not contexts[row["task_id"]]:
            continue
        ratings = [int(v["value"]) for v in row["annotations"]["faithfulness"].values()]
        rating = statistics.median(ratings)
        items.append(
            LabeledAnswer(
                contexts[row["task_id"]],
                row["model_response"],
                int(rating >= MTRAG_FAITHFUL_AT),
                row["task_id"],
                row["model_id"],
                float(rating),
            )
        )
    return items


_FOLDERS = {
    "train.jsonl": _scifact_claims,
    "dataset_halueval_qa.jsonl": _halueval,
    MTRAG_HUMAN_FILE: _mtrag,
}
