"""Readers for the evaluation sets under the shared data folder, in their published formats."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexing.errors import MinigiantError

DATA_ENV = "MINIGIANT_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_SHARE = 5  # one group in five is dev


def data_root() -> Path:
    """`$MINIGIANT_DATA`, else `<repo>/../shared/data` (where CI and workers keep it)."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT.parent / "shared" / "data").resolve()


def is_dev(group: str) -> bool:
    """Stable dev/train split by group id (a claim id): sha1(id) % 5 == 0 is dev, about 20%.

    Grouping keeps every row of one claim on the same side, since claims repeat across rows.
    """
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % DEV_SHARE == 0


def halueval_rows(path: Path, held_out: bool) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a HaluEval file (QA or summarization): the held-out items the
    checker is judged on and never trained on, or the others."""
    with path.open() as handle:
        for i, line in enumerate(handle):
            if is_dev(f"halueval-{i}") == held_out:
                yield i, json.loads(line)


def doc_id_of(uri: str) -> str:
    """`/path/corpus.jsonl#<_id>` -> `<_id>`, the id qrels and gold labels use."""
    return uri.rsplit("#", 1)[-1]


def sample(items: list, limit: int | None, seed: int = 0) -> list:
    """A seeded random subset in original order, so small runs still span the whole set."""
    if limit is None or limit >= len(items):
        return items
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


@dataclass
class BeirDataset:
    """A BEIR folder: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

    name: str
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @classmethod
    def load(cls, folder: Path, split: str = "test") -> BeirDataset:
        folder = Path(folder).resolve()
        corpus, queries_path, qrels_path = (
            folder / "corpus.jsonl",
            folder / "queries.jsonl",
            folder / "qrels" / f"{split}.tsv",
        )
        for path in (corpus, queries_path, qrels_path):
            if not path.exists():
                raise MinigiantError(f"{folder} is not a BEIR folder: {path.name} is missing")
        qrels: dict[str, dict[str, int]] = {}
        with qrels_path.open(newline="") as handle:
            rows = csv.reader(handle, delimiter="\t")
            next(rows)  # header: query-id corpus-id score
            for row in rows:
                if len(row) >= 3 and int(row[2]) > 0:
                    qrels.setdefault(row[0].strip(), {})[row[1].strip()] = int(row[2])
        queries = {}
        with queries_path.open() as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    if str(row["_id"]) in qrels:
                        queries[str(row["_id"])] = str(row["text"])
        missing = set(qrels) - set(queries)
        if missing:
            raise MinigiantError(f"{len(missing)} judged queries are not in {queries_path}")
        return cls(folder.name, corpus, queries, qrels)


@dataclass
class QAItem:
    """One question with what counts as right: answer strings, or a yes/no verdict and doc."""

    question: str
    answers: list[str] = field(default_factory=list)
    verdict: str | None = None  # "yes" / "no" for claims
    gold_doc: str | None = None
    answerable: bool = True  # False: the right reply is the abstention


@dataclass
class QASet:
    name: str
    kind: str  # "short_answer", "long_answer" or "claims"
    items: list[QAItem]
    corpus: Path | None  # BEIR corpus to index; None when the set carries its own passages
    passages: list[dict[str, str]] = field(default_factory=list)


def load_squad(path: Path) -> QASet:
    """SQuAD v1.1 json: questions with answer spans; its paragraphs become the corpus."""
    data = json.loads(Path(path).read_text())["data"]
    items, passages = [], []
    for article in data:
        for p, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}-{p}"
            passages.append(
                {"_id": doc_id, "title": article["title"], "text": paragraph["context"]}
            )
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa["answers"]))
                items.append(QAItem(qa["question"], answers=answers, gold_doc=doc_id))
    return QASet(Path(path).resolve().parent.name, "short_answer", items, None, passages)


CLAIM_VERDICTS = {"SUPPORT": "yes", "CONTRADICT": "no"}


def claim_question(claim: str) -> str:
    """A SciFact claim asked as a yes/no question whose answer has to cite its evidence."""
    return (
        f"Is it true that {claim.strip().rstrip('.')}? Answer yes or no, then say why, citing "
        "the source."
    )


def load_scifact_claims(path: Path, corpus: Path, split: str = "dev") -> QASet:
    """SUPPORT/CONTRADICT claims from scifact-claims, dev split by claim id (see `is_dev`)."""
    items = []
    with Path(path).open() as handle:
        for line in handle:
            row = json.loads(line)
            verdict = CLAIM_VERDICTS.get(row["label"])
            if verdict is None or (split == "dev" and not is_dev(str(row["claim_id"]))):
                continue
            items.append(
                QAItem(claim_question(row["claim"]), verdict=verdict, gold_doc=str(row["doc_id"]))
            )
    return QASet(f"{Path(path).parent.name}-{split}", "claims", items, corpus)


def load_short_answers(path: Path, corpus: Path) -> QASet:
    """jsonl of {"question", "answers": [...]} (or "answer": str) over a BEIR corpus."""
    items = []
    with Path(path).open() as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                answers = row.get("answers") or [row["answer"]]
                items.append(QAItem(row["question"], answers=[str(a) for a in answers]))
    return QASet(Path(path).stem, "short_answer", items, corpus)


CLAPNQ_FILES = {"clapnq_dev_answerable.jsonl": True, "clapnq_dev_unanswerable.jsonl": False}


def load_clapnq(folder: Path) -> QASet:
    """CLAPNQ dev: answerable questions with long grounded answers, and unanswerable ones whose
    gold passage is on topic but does not answer them; every gold passage is in the corpus."""
    items, passages = [], []
    for name, answerable in CLAPNQ_FILES.items():
        with (folder / name).open() as handle:
            for line in handle:
                row = json.loads(line)
                doc_id = str(row["id"])
                for k, passage in enumerate(row["passages"]):
                    passages.append(
                        {"_id": f"{doc_id}-{k}", "title": passage["title"], "text": passage["text"]}
                    )
                answers = [o["answer"] for o in row["output"] if o.get("answer")]
                items.append(
                    QAItem(
                        row["input"],
                        answers=answers if answerable else [],
                        gold_doc=f"{doc_id}-0",
                        answerable=answerable,
                    )
                )
    return QASet(folder.name, "long_answer", items, None, passages)


def load_qa_set(path: Path, corpus: Path | None = None) -> QASet:
    """Pick the reader from the path: SQuAD json, the CLAPNQ folder, scifact-claims jsonl, or
    short answers."""
    path = Path(path).resolve()
    if path.is_dir() and all((path / name).exists() for name in CLAPNQ_FILES):
        return load_clapnq(path)
    if path.suffix == ".json":
        return load_squad(path)
    with path.open() as handle:
        first = json.loads(handle.readline())
    if "claim" in first and "label" in first:
        return load_scifact_claims(path, corpus or data_root() / "scifact" / "corpus.jsonl")
    if corpus is None:
        raise MinigiantError(f"{path.name} has no passages of its own: name one with --corpus")
    return load_short_answers(path, corpus)


def is_tuning_half(group: str) -> bool:
    """Which half of an eval set picks the checker threshold; the other half is scored."""
    return int(hashlib.sha1(f"threshold:{group}".encode()).hexdigest(), 16) % 2 == 0


MTRAG_FILE = "mtragun_generation_reference.jsonl"
_SPEAKER_ROLE = {"user": "user", "agent": "assistant"}


@dataclass
class ConversationTask:
    """One MTRAG turn: the conversation before it, its question, reference passages and
    answer, and whether the reference passages answer it at all."""

    task_id: str
    history: list[dict[str, str]]  # OpenAI-style messages, oldest first
    question: str
    gold_docs: list[str]
    answers: list[str]
    answerability: str  # ANSWERABLE, PARTIAL, UNANSWERABLE or UNDERSPECIFIED
    kind: str  # MTRAG's multi-turn type: Follow-up, Clarification or N/A (a first turn)


def load_mtrag(folder: Path) -> tuple[list[ConversationTask], list[dict[str, str]]]:
    """MTRAG's generation tasks and the union of their reference passages, which becomes the
    corpus (ids prefixed with the collection: the four collections reuse numbering)."""
    path = Path(folder) / MTRAG_FILE
    if not path.exists():
        raise MinigiantError(f"{path} is missing: the MTRAG folder holds {MTRAG_FILE}")
    tasks, passages = [], {}
    with path.open() as handle:
        for n, line in enumerate(handle, 1):
            row = json.loads(line)
            try:
                collection = row["Collection"]
                *before, last = row["input"]
                gold = []
                for context in row["contexts"]:
                    doc_id = f"{collection}/{context['document_id']}"
                    passages[doc_id] = {
                        "_id": doc_id,
                        "title": context.get("title") or "",
                        "text": context["text"].strip(),
                    }
                    gold.append(doc_id)
                history = [
                    {"role": _SPEAKER_ROLE[t["speaker"]], "content": t["text"]} for t in before
                ]
                tasks.append(
                    ConversationTask(
                        row["task_id"],
                        history,
                        last["text"].strip(),
                        list(dict.fromkeys(gold)),
                        [t["text"] for t in row["targets"]],
                        row["answerability"][0],
                        row["Multi-Turn"][0],
                    )
                )
            except (KeyError, IndexError, TypeError) as exc:
                raise MinigiantError(f"{path}:{n}: not an MTRAG task ({exc!r})") from exc
    return tasks, sorted(passages.values(), key=lambda p: p["_id"])
