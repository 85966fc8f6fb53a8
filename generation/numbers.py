"""Numbers an answer sentence states that none of its passages does.

A swapped year, count or score is the hallucination a cross-encoder reading 100-word windows
misses most often ("retreated 300 metres" against 212 scored 0.43), and it is the one an exact
comparison catches without a model: a number the sources never write did not come from them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from generation.sentences import sentence_spans, table_cells
from retrieval.windows import content_terms, prefix_terms

# 1,234 / 12 / 3.5 not inside a longer token ("v2", "1.2.3" parts after the first)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)")
# "2." or "2)" before a space or the end: how a numbered list marks its items
_MARKER = re.compile(r"(?<![\w.,])(\d{1,2})[.)](?=\s|$)")
_WORD = re.compile(r"[a-z]+")
# where a sentence lists several facts ("12:25 at Velmora and 12:51 at Corsa"), each clause
# is held to a row of its own
_CLAUSE = re.compile(r",\s|;\s|\s(?:and|but|while|whereas)\s")
SPELLED_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
# "a second season" states the 2 of "season 2"
_ORDINAL = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
_WORD_VALUES = SPELLED_NUMBERS | _ORDINAL


def _value(digits: str) -> float:
    return float(digits.replace(",", ""))


def stated_numbers(text: str) -> set[float]:
    """Every number the text writes, in digits or as a word (cardinal or ordinal) up to
    twelve."""
    values = {_value(m.group(1)) for m in _NUMBER.finditer(text)}
    words = _WORD.findall(text.lower())
    return values | {float(_WORD_VALUES[w]) for w in words if w in _WORD_VALUES}


def list_markers(text: str) -> set[float]:
    """The numbers a text writes as markers of a numbered list ("2." or "2)" before a space):
    those written so next to their neighbour (1 and 2, 2 and 3). "He died at 86." alone is no
    list, and its number is a claim like any other."""
    written = {int(m.group(1)) for m in _MARKER.finditer(text)}
    return {float(n) for n in written if n - 1 in written or n + 1 in written}


def list_marker_starts(text: str) -> list[int]:
    """Where each marker of the text's numbered list (see list_markers) starts."""
    markers = list_markers(text)
    return [m.start() for m in _MARKER.finditer(text) if float(m.group(1)) in markers]


def claimed_numbers(sentence: str, markers: set[float] | frozenset[float]) -> dict[float, str]:
    """The numbers a sentence states in digits, as written; the answer's list `markers`, where
    written as markers, state nothing."""
    out: dict[float, str] = {}
    for match in _NUMBER.finditer(sentence):
        digits = match.group(1)
        if _value(digits) in markers and _MARKER.match(sentence, match.start()):
            continue
        out.setdefault(_value(digits), digits)
    return out


def unstated_numbers(
    sentence: str, stated: set[float], markers: set[float] | frozenset[float] = frozenset()
) -> list[str]:
    """The sentence's numbers (as written) missing from `stated` (the passages'
    stated_numbers, read once for all the answer's sentences); `markers`: the whole answer's
    list_markers."""
    return [
        written
        for value, written in claimed_numbers(sentence, markers).items()
        if value not in stated
    ]


@dataclass(frozen=True)
class TableRows:
    """The table rows among the passages (each row's numbers and the prefix terms of its
    cells), the numbers the passages state outside rows, and the terms every row holds."""

    rows: tuple[tuple[frozenset[float], frozenset[str]], ...]
    prose: frozenset[float]
    common: frozenset[str]


def table_rows(passages: Sequence[str]) -> TableRows:
    """The rows of the passages' tables that state numbers (sheet rows as the loaders write
    them, Markdown and Word rows), read cell by cell without their column names: a header
    row names columns, which every row's values share."""
    rows, prose = [], set()
    for text in passages:
        for a, b in sentence_spans(text):
            cells = table_cells(text[a:b])
            if cells is None:
                prose |= stated_numbers(text[a:b])
            elif numbers := stated_numbers(" ".join(cells)):
                rows.append((frozenset(numbers), frozenset(prefix_terms(" ".join(cells)))))
    common = frozenset.intersection(*(terms for _, terms in rows)) if rows else frozenset()
    return TableRows(tuple(rows), frozenset(prose), common)


def other_rows_numbers(
    sentence: str, tables: TableRows, markers: set[float] | frozenset[float] = frozenset()
) -> list[str]:
    """The sentence's numbers (as written) that the passages' tables give only in another row
    than the one a clause of it reads: a row about another subject than the sentence names
    ("low tide at Corsa is 13:10", where 13:10 is Velmora's), or another row than the one
    holding the clause's other numbers ("high tide at Velmora on 2 March is 06:12", the 1 March
    row's time). Every passage-level check accepts these, since the passage does state each
    number. Numbers the passages also write outside tables may come from there: left alone."""
    named = content_terms(sentence) & frozenset().union(*(t for _, t in tables.rows))
    named -= tables.common
    rows = [numbers for numbers, terms in tables.rows if not named or terms & named]
    tabled = frozenset().union(*(numbers for numbers, _ in tables.rows)) - tables.prose
    out: dict[str, None] = {}
    for clause in _CLAUSE.split(sentence):
        claimed = {v: w for v, w in claimed_numbers(clause, markers).items() if v in tabled}
        best = max(rows, key=lambda numbers: len(claimed.keys() & numbers), default=frozenset())
        out |= {written: None for value, written in claimed.items() if value not in best}
    return list(out)
