"""Numbers an answer sentence states that none of its passages does.

A swapped year, count or score is the hallucination a cross-encoder reading 100-word windows
misses most often ("retreated 300 metres" against 212 scored 0.43), and it is the one an exact
comparison catches without a model: a number the sources never write did not come from them.
Nor did one they write only of another table row, another column or, in prose, another
subject: the year of the neighbouring fact is the generator's commonest swap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from generation.sentences import table_pieces
from retrieval.windows import content_terms, prefix_terms

# 1,234 / 12 / 3.5 not inside a longer token ("v2", "1.2.3" parts after the first)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)")
# "2." or "2)" before a space or the end: how a numbered list marks its items
_MARKER = re.compile(r"(?<![\w.,])(\d{1,2})[.)](?=\s|$)")
_WORD = re.compile(r"[a-z]+")
# a name as prose writes it: a capitalised word
_NAME = re.compile(r"\b[A-Z][\w'-]*")
# one inside a sentence, after a word or a comma: a sentence's first word is capitalised anyway
_INNER_NAME = re.compile(r"(?<=[\w,;:)] )[A-Z][\w'-]*")
# where a sentence lists several facts ("12:25 at Velmora and 12:51 at Corsa"), each clause
# is held to a row of its own
_CLAUSE = re.compile(r",\s|;\s|\s(?:and|but|while|whereas)\s")
# "On 2 March, ..." sets when the clause after it holds: one clause with it, not one alone
_OPENING_PHRASE = re.compile(
    r"(?:on|in|at|for|by|during|from|until|before|after)\s[^,;]{1,40},\s", re.IGNORECASE
)
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


class Column(NamedTuple):
    """A table cell that states numbers, by its column: the column's name and the name's
    prefix terms, the cell as written and its numbers."""

    name: str
    terms: frozenset[str]
    cell: str
    numbers: frozenset[float]


class TableRow(NamedTuple):
    numbers: frozenset[float]
    terms: frozenset[str]  # the prefix terms of its cells
    columns: tuple[Column, ...]


class ProseClause(NamedTuple):
    """A clause of the passages' prose that states numbers: its numbers (value: as written),
    the prefix terms of the names it writes (capitalised words) and of its other content
    words."""

    numbers: dict[float, str]
    names: frozenset[str]
    words: frozenset[str]
    subject: str | None  # the prefix term of the first name it writes: whom it is about


@dataclass(frozen=True)
class SourceNumbers:
    """What the passages state of numbers: their table rows that state some, the numbers
    they state outside rows, the terms every row holds, the prose's clauses that state
    numbers, and the names they write."""

    rows: tuple[TableRow, ...]
    prose: frozenset[float]
    common: frozenset[str]
    clauses: tuple[ProseClause, ...] = ()
    # the capitalised words the passages write inside a sentence: names, where a capitalised
    # word opening a sentence ("Only") may be any word
    proper: frozenset[str] = frozenset()


def source_numbers(passages: Sequence[str]) -> SourceNumbers:
    """The rows of the passages' tables that state numbers (sheet rows as the loaders write
    them, Markdown and Word rows), their cells read without their column names (a header
    row names columns, which every row's values share) and, for the numbers, with them; and
    the prose's clauses that state numbers."""
    rows, prose, clauses = [], set(), []
    proper = frozenset(_INNER_NAME.findall(" ".join(passages)))
    for text in passages:
        for piece, fields, _ in table_pieces(text):
            if fields is None:
                prose |= stated_numbers(piece)
                clauses += [
                    c for c in (_prose_clause(c, proper) for c in _clauses(piece)) if c.numbers
                ]
                continue
            cells = " ".join(cell for _, cell in fields)
            if numbers := stated_numbers(cells):
                columns = tuple(
                    Column(name, frozenset(prefix_terms(name)), cell, frozenset(found))
                    for name, cell in fields
                    if (found := stated_numbers(cell))
                )
                rows.append(TableRow(frozenset(numbers), frozenset(prefix_terms(cells)), columns))
    common = frozenset.intersection(*(row.terms for row in rows)) if rows else frozenset()
    return SourceNumbers(tuple(rows), frozenset(prose), common, tuple(clauses), proper)


def _prose_clause(clause: str, proper: frozenset[str]) -> ProseClause:
    names = _names(clause)
    numbers = claimed_numbers(clause, frozenset())
    subject = _subject(clause, proper)
    return ProseClause(numbers, names, frozenset(_words(clause) - names), subject)


def _names(text: str) -> frozenset[str]:
    return frozenset(content_terms(" ".join(_NAME.findall(text))))


def _subject(text: str, proper: frozenset[str]) -> str | None:
    """The first name the text writes (a capitalised word the passages also write inside a
    sentence: "Only" opening one is no name), as a prefix term."""
    terms = (content_terms(w) for w in _NAME.findall(text) if w in proper)
    return next((min(t) for t in terms if t), None)


def _words(text: str) -> set[str]:
    return {t for t in content_terms(text) if not t.isdigit()}


@dataclass(frozen=True)
class NumberSwaps:
    """A sentence's numbers that the passages give, but for something else than it says:
    each as the CLI and the web badge's tooltip name it."""

    other_rows: tuple[str, ...] = ()  # the table row's numbers, as written
    other_columns: tuple[str, ...] = ()  # "12:51 as low tide"
    other_subjects: tuple[str, ...] = ()  # "2011 for Newton, not 1998"

    def __bool__(self) -> bool:
        return bool(self.other_rows or self.other_columns or self.other_subjects)


def number_swaps(
    sentence: str, sources: SourceNumbers, markers: set[float] | frozenset[float] = frozenset()
) -> NumberSwaps:
    """The sentence's numbers taken from another table row, another column of its row, or
    another subject of the prose than the sentence says. Every passage-level check accepts
    these, since the passage does state each number: a swapped year or value of the fact
    next to the asked one is the generator's commonest wrong answer. `markers`: the whole
    answer's list_markers."""
    clauses = _clauses(sentence)
    read = _clause_rows(sentence, clauses, sources, markers)
    return NumberSwaps(
        _other_rows(read),
        _other_columns(read),
        _other_subjects(clauses, sources, markers),
    )


def _clause_rows(
    sentence: str,
    clauses: list[str],
    sources: SourceNumbers,
    markers: set[float] | frozenset[float],
) -> list[tuple[str, dict[float, str], TableRow | None]]:
    """Each clause of the sentence, the numbers it claims that only the tables state (value:
    as written), and the row it reads: among the rows about the subjects the sentence names
    (all, where it names none), the one holding most of those numbers."""
    named = content_terms(sentence) & frozenset().union(*(row.terms for row in sources.rows))
    named -= sources.common
    rows = [row for row in sources.rows if not named or row.terms & named]
    tabled = frozenset().union(*(row.numbers for row in sources.rows)) - sources.prose
    read = []
    for clause in clauses:
        claimed = {v: w for v, w in claimed_numbers(clause, markers).items() if v in tabled}
        best = max(rows, key=lambda row: len(claimed.keys() & row.numbers), default=None)
        read.append((clause, claimed, best))
    return read


def _clauses(sentence: str) -> list[str]:
    opening = _OPENING_PHRASE.match(sentence)
    cut = opening.end() if opening else 0
    clauses = _CLAUSE.split(sentence[cut:])
    return [sentence[:cut] + clauses[0], *clauses[1:]]


def _other_rows(read: list[tuple[str, dict[float, str], TableRow | None]]) -> tuple[str, ...]:
    """The numbers the tables give only in another row than the one a clause reads: a row
    about another subject than the sentence names ("low tide at Corsa is 13:10", where 13:10
    is Velmora's), or another row than the one holding the clause's other numbers ("high tide
    at Velmora on 2 March is 06:12", the 1 March row's time). Numbers the passages also write
    outside tables may come from there: left alone."""
    out: dict[str, None] = {}
    for _, claimed, row in read:
        best = row.numbers if row is not None else frozenset()
        out |= {written: None for value, written in claimed.items() if value not in best}
    return tuple(out)


def _other_columns(read: list[tuple[str, dict[float, str], TableRow | None]]) -> tuple[str, ...]:
    """The cells (as "12:51 as low tide") whose numbers a clause states for a sibling column
    of theirs in the row it reads: "high tide at Velmora is 12:51", where 12:51 is that row's
    low tide. Siblings share a word of their names ("tide"); the clause names the other one's
    own word ("high") and never this one's ("low"). A clause naming no column, or columns
    that share nothing ("on 2 March ... 06:58": date, high tide), is left alone: which column
    it reads is not said."""
    out: dict[str, None] = {}
    for clause, claimed, row in read:
        if row is None:
            continue
        terms = content_terms(clause)
        for value in claimed.keys() & row.numbers:
            own = [c for c in row.columns if value in c.numbers]
            if own and all(_sibling_named(c, row.columns, value, terms) for c in own):
                out |= {f"{c.cell} as {c.name}": None for c in own}
    return tuple(out)


def _sibling_named(
    column: Column, columns: Sequence[Column], value: float, terms: set[str]
) -> bool:
    """Whether the clause's terms name a sibling of `column` that does not hold `value`, by
    a word the column's own name lacks, and none of the words that set this one apart."""
    for other in columns:
        if value in other.numbers or not column.terms & other.terms:
            continue
        if terms & (other.terms - column.terms) and not terms & (column.terms - other.terms):
            return True
    return False


def _other_subjects(
    clauses: list[str], sources: SourceNumbers, markers: set[float] | frozenset[float]
) -> tuple[str, ...]:
    """The numbers the prose gives only another subject, where it gives the sentence's
    subject another number of the same kind for the same thing: "Newton was the first pick of
    the 1998 draft" over "Manning was the #1 selection of the 1998 NFL draft, while Newton
    was picked first in 2011", as "2011 for Newton, not 1998". A clause stating one number
    is held to the prose's clauses: none of those holding the number names its subject, each
    has a subject of its own (a pronoun could be this one), and one about its subject shares
    a word with it and states one other year (or non-year)."""
    out: dict[str, None] = {}
    for clause in clauses:
        subject, names = _subject(clause, sources.proper), _names(clause)
        claimed = claimed_numbers(clause, markers)
        if subject is None or len(claimed) != 1:
            continue
        [(value, written)] = claimed.items()
        holding = [c for c in sources.clauses if value in c.numbers]
        if not holding or any(subject in c.names or c.subject is None for c in holding):
            continue
        words = _words(clause) - names
        for rival in sources.clauses:
            other = [w for m, w in rival.numbers.items() if _is_year(m) == _is_year(value)]
            if value in rival.numbers or len(other) != 1 or rival.subject != subject:
                continue
            if _share_word(rival.words, words):
                name = next(w for w in _NAME.findall(clause) if subject in prefix_terms(w))
                out[f"{other[0]} for {name}, not {written}"] = None
    return tuple(out)


def _is_year(value: float) -> bool:
    return value.is_integer() and 1000 <= value <= 2100


def _share_word(a: frozenset[str], b: set[str]) -> bool:
    """Whether two sets of prefix terms share a word, a short one meeting its longer forms
    ("pick" and "picked")."""
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b if min(len(x), len(y)) > 3)
