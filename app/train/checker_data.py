"""Training pairs for the factuality checker: (evidence window, claim, supported?).

Only permissively licensed sources, so the weights can ship: HaluEval QA (MIT), PubMedQA
train part (MIT), and FactCC-style synthetic pairs made from their passages.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Protocol, TypeVar

from app.eval.factuality_sets import qa_claim
from app.train.datasets import HaluQA, HaluSummary, PubMedQA
from app.train.perturb import corrupt, qualify
from retrieval.windows import half_windows

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


@dataclass(frozen=True)
class Pair:
    text1: str
    text2: str
    label: float
    group: str  # source item: the dev split holds whole groups out
    kind: str


def labels_of(pairs: list[Pair]) -> list[int]:
    return [int(p.label >= 0.5) for p in pairs]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if len(s.split()) >= 6]


def window_with(evidence: str, sentence: str, words: int) -> str:
    """The evidence window holding the sentence (what the checker sees at answer time)."""
    windows = half_windows(evidence, words)
    return next((w for w in windows if sentence in w), windows[0])


def halueval_pairs(items: list[HaluQA], rng: random.Random) -> list[Pair]:
    """Right vs hallucinated answers; pairs whose lengths differ a lot are dropped, so the
    model cannot learn 'short answer = right'."""
    pairs = []
    for i, item in enumerate(items):
        right, wrong = len(item.right_answer.split()), len(item.hallucinated_answer.split())
        if wrong > 2 * right + 2 or right > 2 * wrong + 2:
            continue
        group = f"halu-{i}"
        pairs.append(
            Pair(item.knowledge, qa_claim(item.question, item.right_answer), 1.0, group, "qa")
        )
        pairs.append(
            Pair(
                item.knowledge, qa_claim(item.question, item.hallucinated_answer), 0.0, group, "qa"
            )
        )
    return pairs


def synthetic_pairs(
    passages: list[tuple[str, str]], per_passage: int, words: int, rng: random.Random
) -> list[Pair]:
    """From (group, passage): its sentences as supported claims; each corrupted, each checked
    against the passage without it, and a sentence of another passage, as unsupported."""
    pairs = []
    for group, passage in passages:
        own = sentences(passage)
        if len(own) < 2:
            continue
        for sentence in rng.sample(own, min(per_passage, len(own))):
            window = window_with(passage, sentence, words)
            pairs.append(Pair(window, sentence, 1.0, group, "copy"))
            donors = [p for _, p in rng.sample(passages, 3)]
            changed = corrupt(sentence, donors, rng)
            if changed:
                pairs.append(Pair(window, changed, 0.0, group, "corrupt"))
            stronger = qualify(sentence, rng)
            if stronger:
                pairs.append(Pair(window, stronger, 0.0, group, "qualified"))
            without = " ".join(s for s in own if s != sentence)
            pairs.append(Pair(window_with(without, own[0], words), sentence, 0.0, group, "removed"))
        other = sentences(rng.choice(passages)[1])
        if other and other[0] not in passage:
            pairs.append(Pair(half_windows(passage, words)[0], other[0], 0.0, group, "other"))
    return pairs


def pubmed_answer_pairs(items: list[PubMedQA], words: int, rng: random.Random) -> list[Pair]:
    """Each abstract's own conclusion sentences as supported; corrupted ones as unsupported."""
    pairs = []
    for item in items:
        for sentence in sentences(item.long_answer)[:2]:
            window = max(
                half_windows(item.context, words),
                key=lambda w: len(set(w.lower().split()) & set(sentence.lower().split())),
            )
            pairs.append(Pair(window, sentence, 1.0, f"pubmed-{item.pmid}", "conclusion"))
            changed = corrupt(sentence, [rng.choice(items).context], rng)
            if changed:
                pairs.append(
                    Pair(window, changed, 0.0, f"pubmed-{item.pmid}", "conclusion-corrupt")
                )
    return pairs


def word_overlap(window: str, sentence: str) -> int:
    return len(set(window.lower().split()) & set(sentence.lower().split()))


def summary_pairs(items: list[HaluSummary], words: int, rng: random.Random) -> list[Pair]:
    """Faithful summary sentences are paraphrases: supported by the article window that shares
    most words with them, unsupported by the window that shares fewest, and unsupported once
    corrupted."""
    pairs = []
    for i, item in enumerate(items):
        windows = half_windows(item.document, words)
        for sentence in sentences(item.right_summary)[:2]:
            ranked = sorted(windows, key=lambda w: word_overlap(w, sentence))
            group = f"summary-{i}"
            pairs.append(Pair(ranked[-1], sentence, 1.0, group, "summary"))
            if len(windows) >= 3:
                pairs.append(Pair(ranked[0], sentence, 0.0, group, "summary-elsewhere"))
            changed = corrupt(sentence, [rng.choice(items).right_summary], rng)
            if changed:
                pairs.append(Pair(ranked[-1], changed, 0.0, group, "summary-corrupt"))
    return pairs


class Grouped(Protocol):
    @property
    def group(self) -> str: ...


G = TypeVar("G", bound=Grouped)


def split_by_group(items: list[G], dev_share: float, rng: random.Random) -> tuple[list[G], list[G]]:
    """Hold out whole source items (at least one), so no dev item shares a source with train."""
    groups = sorted({p.group for p in items})
    rng.shuffle(groups)
    dev = set(groups[: max(1, int(len(groups) * dev_share))])
    return [p for p in items if p.group not in dev], [p for p in items if p.group in dev]
