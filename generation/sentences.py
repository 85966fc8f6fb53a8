"""Where sentences end, for passages and answers alike, and which sentences address the model.

A full stop after an initial or a common abbreviation ("U.S. Open", "Dr. Smith", "e.g.") is
not a sentence end: splitting there put citations into the middle of names. A blank line
ends one too (a heading, a table row or a list item has no full stop), as does a line that
starts a list item or is a table row (a Markdown or Word table's, or a spreadsheet row as the
loaders write it, "port: Velmora; high tide: 06:12"), and a code example is one piece with the
sentence that introduces it: split at its "..." prompts, the pruner kept a loop's body without
its `for` line and without the sentence saying what it does.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from indexing.office_formats import CELL_BAR, FIELD_SEPARATOR, NAME_SEPARATOR

_ABBREVIATION_TEXT = """
mr mrs ms dr prof st jr sr sen gov gen col lt sgt rev hon mt ft fig figs no nos vol vols pp ed
eds approx dept est inc ltd co corp bros vs etc al cf ca jan feb mar apr jun jul aug sep sept
oct nov dec
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())
_CLOSING = frozenset({"a.m", "p.m", "etc"})
_LAST_WORD = re.compile(r"([^\s(\[\"']+)$")
# a candidate end: . ! ? (repeated), then space or the end of the text; Chinese and Japanese
# full stops end a sentence with no space after them
_END = re.compile(r"[.!?]+(?=\s|$)|[。！？]+")  # noqa: RUF001

# a blank line, and the line that starts a code example: a doctest or shell prompt, an indented
# line, a fence
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_CODE_START = re.compile(r"(?:>>>|\$ |```|~~~|    |\t)")
FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# a line that starts a list item or a table row starts a piece: items and rows often have no
# full stop, and glued to the next one they cost the pruner's budget as one blob
_ITEM = re.compile(r"[ \t]*(?:[*+\u2022-]|(\d{1,3})[.)])[ \t]+\S")
_ITEM_START = re.compile(rf"\n(?=(?:{_ITEM.pattern}))")
# a table row: Markdown's ("| a | b |"), a Word table's as the loader joins its cells
# ("a | b"), or a spreadsheet row as the loaders name its cells ("port: Velmora; date:
# 2026-03-01"; indexing/office_formats.py). Glued together, a sheet's rows were one piece
# that the pruner kept or dropped whole
_FIELD = rf"[^\n:;|]{{1,60}}{re.escape(NAME_SEPARATOR)}[^\n;]*"
_SHEET_ROW = rf"[ \t]*{_FIELD}(?:{re.escape(FIELD_SEPARATOR)}{_FIELD})+"
TABLE_ROW = re.compile(rf"^(?:[ \t]*\|.*|.*{re.escape(CELL_BAR)}.*|{_SHEET_ROW})$", re.MULTILINE)
# two or more lines of "Name: value" in a row: a message's headers as the mail loader writes
# them (indexing/mail_formats.py), a document's front matter or metadata. Each line is a piece:
# glued, they were one, which the injection detector dropped whole for one planted subject
_FIELD_LINES = re.compile(
    r"^(?:[ \t]*[A-Z][\w /-]{0,30}:[ \t]+\S[^\n]*(?:\n|\Z)){2,}", re.MULTILINE
)
_ITEM_NUMBER = re.compile(r"\s*\d{1,3}")  # "1" before the stop of "1. Edit the file"
# "Steps: 1" of "Steps: 1. Open" (not "at 10:30"), and a number alone on its line
_COLON_ITEM_NUMBER = re.compile(r":[ \t]+\d{1,2}$")
_OPENING_ITEM_NUMBER = re.compile(rf"(?:^|\n)\s*\d{{1,2}}$|{_COLON_ITEM_NUMBER.pattern}")
# a code example longer than this is cut at line ends: the pruner keeps its best-ranked piece
# whatever it costs, and a whole listing would spend the prompt's budget many times over
CODE_PIECE_CHARS = 480

# <|im_start|>, <|eot_id|>, <|endoftext|>...: the special tokens of ChatML-style templates,
# which tokenizers read as real turn boundaries wherever they appear
CONTROL_TOKEN = re.compile(r"<\|([^<>|]{1,40})\|>")

# sentences that address the model instead of stating facts: a prompt-injection attempt
# inside a document must not reach the prompt, nor count as evidence for what it demands
INSTRUCTION = re.compile(
    r"\b(?:(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|"
    r"earlier)\s+instructions|you\s+are\s+now|(?:reply|respond|answer)\s+only|tell\s+the\s+user|"
    r"system\s+prompt|do\s+not\s+cite)\b"
    # a chat template's control token: no document needs one
    f"|{CONTROL_TOKEN.pattern}"
    # a line that speaks as the assistant: a scripted reply the model would copy as its own
    r"|(?:^|\n)\s*assistant\s*:"
    # "ignore the previous instructions" as attackers write it in other languages: the learned
    # detector (injection.py) reads Latin scripts well but misses most of these in Chinese
    r"|(?:ignorier\w*|vergiss|vergessen\s+sie)\s+(?:\w+\s+){0,3}anweisungen"
    r"|(?:ignore[zr]?|oublie[zr]?)\s+(?:\w+\s+){0,3}instructions\s+(?:pr[ée]c[ée]dentes|ant[ée]rieures)"
    r"|(?:ignor|olvid|esque[cç])\w*\s+(?:\w+\s+){0,3}instru(?:cciones|[cç][õo]es)\s+anteriores"
    r"|(?:ignora|dimentica)\w*\s+(?:\w+\s+){0,3}istruzioni\s+precedenti"
    r"|(?:игнориру|забуд)\w*\s+(?:\w+\s+){0,3}инструкци"
    r"|(?:忽略|无视|忘记|忘掉)[^。！？]{0,10}(?:指令|指示)|(?:指示|命令)を(?:すべて)?無視",  # noqa: RUF001
    re.IGNORECASE,
)


def is_abbreviation(text_before_stop: str) -> bool:
    """Whether a full stop right after this text belongs to an abbreviation or an initial."""
    match = _LAST_WORD.search(text_before_stop)
    if not match:
        return False
    word = match.group(1)
    if "." in word:  # "U.S", "e.g", "i.e": periods inside the word
        return True
    if len(word) == 1 and word.isalpha():  # an initial: "J. R. R. Tolkien", "U. S."
        return True
    return word.lower() in _ABBREVIATIONS


def is_item_number(text_before_stop: str) -> bool:
    """Whether a full stop right after this text ends a list item's number ("1" of "1. Edit
    the file"), not a sentence."""
    return bool(_ITEM_NUMBER.fullmatch(text_before_stop))


def opens_item(sentence_before_stop: str) -> bool:
    """Whether a full stop right after this text ends the number of a list item that opens
    after a colon or at a line start ("Follow these steps: 1. Open a terminal"): a streamed
    answer cannot wait for the "2." that would show the list."""
    return bool(_OPENING_ITEM_NUMBER.search(sentence_before_stop))


def _ends_here(before: str, text: str, stop: re.Match[str]) -> bool:
    """ "at 4 p.m. Members may..." ends a sentence: a.m., p.m. and etc. mostly close one, so
    before a capital letter they do (the merged sentence hid an answer behind its neighbour),
    and before a letter of a script without case (Chinese) or a tag: "...closes at 4 p.m."
    glued to a planted Chinese command or "</sources>" was dropped with it, answer and all."""
    last = _LAST_WORD.search(before)
    following = text[stop.end() :].lstrip()[:1]
    opens = (following.isalpha() and not following.islower()) or following == "<"
    return bool(last) and last.group(1).lower() in _CLOSING and opens


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences of prose and of the code examples in
    it, whitespace trimmed. What follows a sentence ending with ":" after a blank line (a
    command, an example, the first item) is read with it, up to CODE_PIECE_CHARS."""
    spans: list[tuple[int, int]] = []
    introduces = False  # the last block is prose ending with ":"
    for a, b, code in _blocks(text):
        block = _code_pieces(text, a, b) if code else _prose_spans(text, a, b)
        if introduces and block and block[0][1] - spans[-1][0] <= CODE_PIECE_CHARS:
            spans[-1] = (spans[-1][0], block.pop(0)[1])
        spans += block
        introduces = not code and text[a:b].rstrip().endswith(":")
    return spans


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is code) of the runs of text between blank lines; a fenced example is one
    block, blank lines and all."""
    blocks: list[tuple[int, int, bool]] = []
    start, fence = 0, None  # where an open fence's block starts
    for gap in [*_BLANK_LINE.finditer(text), None]:
        end = gap.start() if gap else len(text)
        piece = text[start:end]
        toggles = len(FENCE.findall(piece)) % 2 == 1
        if fence is not None:
            if toggles:  # the fence closes in this piece
                blocks.append((fence, end, True))
                fence = None
        elif toggles:
            fence = start
        elif piece.strip():
            blocks.append((start, end, bool(_CODE_START.match(piece.lstrip("\r\n")))))
        if gap:
            start = gap.end()
    if fence is not None:
        blocks.append((fence, len(text), True))
    return blocks


def _code_pieces(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """The example's trimmed span, cut at line ends into pieces of at most CODE_PIECE_CHARS
    (a single longer line stays whole)."""
    pieces, start, last = [], a, a
    for end in [*(a + m.start() for m in re.finditer("\n", text[a:b])), b]:
        if end - start > CODE_PIECE_CHARS and last > start:
            pieces.append((start, last))
            start = last
        last = end
    pieces.append((start, b))
    return [span for span in (trimmed_span(text, x, y) for x, y in pieces) if span]


def _prose_spans(text: str, a: int, b: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for x, y in _lines_of_items(text, a, b):
        start = x
        for match in _END.finditer(text, x, y):
            before = text[start : match.start()]
            # "1." of "Follow these steps: 1. Open a terminal" starts the first item, which
            # stays with its introduction (a line starting an item is cut before already)
            if match.group(0) == "." and (
                is_item_number(before)
                or _COLON_ITEM_NUMBER.search(before)
                or (is_abbreviation(before) and not _ends_here(before, text, match))
            ):
                continue
            spans.append((start, match.end()))
            start = match.end()
        spans.append((start, y))
    return [span for span in (trimmed_span(text, x, y) for x, y in spans) if span]


def _lines_of_items(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """The block cut before each line that starts a list item, and before and after each
    table row and each line of a run of fields."""
    cuts = {m.start() for m in _ITEM_START.finditer(text, a, b) if _starts_item(text, a, m.start())}
    for row in TABLE_ROW.finditer(text, a, b):
        cuts |= set(row.span())
    for run in _FIELD_LINES.finditer(text, a, b):  # each line of the run, its end included
        cuts |= {run.start(), *(run.start() + m.end() for m in re.finditer("\n", run.group()))}
    bounds = [a, *sorted(at for at in cuts if a < at < b), b]
    return list(itertools.pairwise(bounds))


def _starts_item(text: str, a: int, at: int) -> bool:
    """A numbered item starts one only after a line that ends a sentence or is an item
    itself: in "dioxygen, O\n2. It is..." a formula's subscript was wrapped, no list begun."""
    item = _ITEM.match(text, at + 1)
    if item is None or item.group(1) is None:
        return True
    previous = text[max(text.rfind("\n", a, at) + 1, a) : at].rstrip()
    return previous.endswith((".", ":", "!", "?")) or bool(_ITEM.match(previous))


def table_cells(piece: str) -> list[str] | None:
    """The cells of a one-line table row (a sheet row's values without their column names);
    None for any other text."""
    fields = table_fields(piece)
    return None if fields is None else [cell for _, cell in fields]


def table_fields(piece: str, header: str = "") -> list[tuple[str, str]] | None:
    """A one-line table row's (column name, cell) pairs: a sheet row names its cells itself,
    a Markdown or Word row's take the names of `header`, its table's first row, by position
    ("" where it has none); None for any other text."""
    line = piece.strip()
    if not TABLE_ROW.fullmatch(line):  # no alternative of it crosses a line end
        return None
    if "|" in line:
        names = _by_position(header)
        cells = _by_position(line)
        return [(names[i] if i < len(names) else "", c) for i, c in enumerate(cells) if c]
    fields = (field.partition(NAME_SEPARATOR) for field in line.split(FIELD_SEPARATOR))
    return [(name, cell) if sep else ("", name) for name, sep, cell in fields]


class TablePiece(NamedTuple):
    """A piece of a text (sentence_spans) with what a table makes of it: `fields`, a table
    row's (column name, cell) pairs (None for prose), and `header`, the first row of the
    Markdown or Word table the row sits under ("" for prose, sheet rows and first rows)."""

    text: str
    fields: list[tuple[str, str]] | None
    header: str


def table_pieces(text: str) -> list[TablePiece]:
    """The text's pieces, each table row with its cells named: a sheet row names them
    itself, a Markdown or Word row after its table's first row takes that row's names. The
    checker reads a row under its header and holds a number to its row by these."""
    pieces, header = [], ""  # the first row of the Markdown or Word table being read
    for a, b in sentence_spans(text):
        piece = text[a:b]
        fields = table_fields(piece, header)
        if fields is None or "|" not in piece:
            header = ""
        pieces.append(TablePiece(piece, fields, header))
        if fields is not None and "|" in piece and not header:
            header = piece
    return pieces


def _by_position(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")] if row else []


def trimmed_span(text: str, a: int, b: int) -> tuple[int, int] | None:
    """text[a:b] without its surrounding whitespace, as a span; None when nothing is left."""
    piece = text[a:b]
    if not piece.strip():
        return None
    lead = len(piece) - len(piece.lstrip())
    return a + lead, a + len(piece.rstrip())


def is_instruction(sentence: str) -> bool:
    return bool(INSTRUCTION.search(sentence))
