"""`minigiant train pubmedqa-statements`: PubMedQA's yes/no questions said as findings, for the
checker to learn that an abstract can share every word of a claim and still refute it.

A scientific claim and its contradiction differ by a "not" or a direction, and a model that
judges overlap accepts both (SciFact's contradicted claims scored as high as its supported
ones). PubMedQA-L's experts answered yes or no to a question about each abstract, so once
the question is said as a statement both ways, the abstract's results support one statement
and refute the other, and its background, which only asks the question, supports neither.
The offline generator does the one step rules would get wrong, turning the question into the
two statements (an LLM curating data for a small model, as MiniCheck does); the labels are
the experts', not the generator's.

Rows are premise / hypothesis / label jsonl, the form `train checker-nli --nli` reads.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from app.train.datasets import PubMedQA, pubmedqa_train
from generation.engines import Generator, GeneratorSettings, make_generator
from retrieval.windows import focused_windows, half_windows

log = logging.getLogger(__name__)

FILE = "pubmedqa_statements.jsonl"
_INSTRUCTIONS = (
    "Rewrite a yes/no research question as two plain statements: YES: the finding if the "
    "answer is yes. NO: the finding if the answer is no. Keep the question's words; "
    "write nothing else."
)
_EXAMPLES = (
    (
        "Does vitamin D supplementation reduce fracture risk in older women?",
        "YES: Vitamin D supplementation reduces fracture risk in older women.\n"
        "NO: Vitamin D supplementation does not reduce fracture risk in older women.",
    ),
    (
        "Laparoscopic appendectomy in children: is it safe?",
        "YES: Laparoscopic appendectomy is safe in children.\n"
        "NO: Laparoscopic appendectomy is not safe in children.",
    ),
)
_MIN_WORDS = 4


@dataclass(frozen=True)
class Statements:
    yes: str
    no: str


def statements(generator: Generator, question: str) -> Statements | None:
    """The question said as its yes-finding and its no-finding; None when the generator's
    reply lacks either or says the same thing twice."""
    messages = [{"role": "system", "content": _INSTRUCTIONS}]
    for asked, said in _EXAMPLES:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": said}]
    messages.append({"role": "user", "content": question})
    return parse_statements("".join(generator.stream(messages, 120, 0.0)))


def parse_statements(reply: str) -> Statements | None:
    """The first YES: and NO: lines of a reply, when both say something and differ."""
    said: dict[str, str] = {}
    for line in reply.splitlines():
        tag, _, text = line.partition(":")
        if tag.strip() in ("YES", "NO") and text.strip():
            said.setdefault(tag.strip(), text.strip())
    yes, no = said.get("YES", ""), said.get("NO", "")
    if min(len(yes.split()), len(no.split())) < _MIN_WORDS or yes.lower() == no.lower():
        return None
    return Statements(yes, no)


def _section(item: PubMedQA, results: bool, claim: str, window_words: int) -> str:
    """The abstract's results (where its answer is), or the sections before its methods
    (where it only asks), cut to the window that shares the claim's rarest words."""
    text = " ".join(
        body
        for label, body in item.sections
        if ("RESULT" in label.upper()) == results and "METHOD" not in label.upper()
    )
    pieces = half_windows(text, window_words) if text.strip() else []
    return focused_windows(claim, [pieces], 1)[0][0] if pieces else ""


def statement_rows(item: PubMedQA, said: Statements, window_words: int) -> list[dict]:
    """Results support the experts' answer and refute the other; the background supports
    neither."""
    rows = []
    for claim, answer in ((said.yes, "yes"), (said.no, "no")):
        results = _section(item, True, claim, window_words)
        if results:
            label = "entailment" if item.decision == answer else "contradiction"
            rows.append({"premise": results, "hypothesis": claim, "label": label})
        background = _section(item, False, claim, window_words)
        if background:
            rows.append({"premise": background, "hypothesis": claim, "label": "neutral"})
    return [dict(row, pmid=item.pmid) for row in rows]


def write_statements(out: Path, settings: GeneratorSettings, window_words: int) -> Path:
    """Writes FILE in `out` (atomically) from PubMedQA-L's training questions answered yes or
    no; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    generator = make_generator(settings)
    items = [i for i in pubmedqa_train() if i.decision in ("yes", "no")]
    started, rows, skipped = time.perf_counter(), [], 0
    for item in tqdm(items, desc="statements", unit="question"):
        said = statements(generator, item.question)
        if said is None:
            skipped += 1
            continue
        rows += statement_rows(item, said, window_words)
    path = out / FILE
    partial = path.with_suffix(".partial")
    partial.write_text("".join(json.dumps(row) + "\n" for row in rows))
    partial.replace(path)
    log.info(
        "%d rows from %d questions (%d replies unusable) by %s in %.1f min",
        len(rows),
        len(items) - skipped,
        skipped,
        generator.name,
        (time.perf_counter() - started) / 60,
    )
    return path
