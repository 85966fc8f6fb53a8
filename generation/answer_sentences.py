"""An answer cut into what the checker judges: its sentences, lines and list items, and which
of them state a claim a passage could back."""

from __future__ import annotations

import re

from generation.citations import without_markers
from generation.numbers import list_marker_starts
from generation.prompt import says_sources_silent
from generation.sentences import FENCE, is_abbreviation, is_item_number, trimmed_span

# a sentence ends at . ! ? followed by a space or the end (not in "file.py" or "2.7"),
# keeping citations written after the stop
_SENTENCE = re.compile(
    r"(?:[^.!?\n]|[.!?](?![.!?]*(?:\s|$)))+(?:[.!?]+(?:\s*\[\d{1,3}(?:\s?[,;]\s?\d{1,3})*\])*|$)"
)

# a clause that goes on after a note of what the sources leave out
_CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|instead|while|whereas)\b|;", re.I)
# a line of code ends in a colon too ("For example: except (KeyError, TypeError):", "def
# area(r):"): it states what the sources' example is, so it is judged, not taken for a line
# introducing what follows
_CODE_OPENER = re.compile(
    r"(?:^|:\s+)(?:def|class|for|while|if|elif|else|try|except|finally|with)\b[^:]*:$"
    r"|\w\([^()]*\):$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of an answer's sentences, each keeping the citations that follow its
    full stop; a stop after an abbreviation or initial ("U.S. Open"), an ellipsis and a
    doctest's "..." prompt end nothing. Every line ends one too, stop or none (a list item
    without a full stop was never checked), a list item keeps its marker ("2." alone was
    judged as a claim, and failed), a numbered list written on one line is read as one item
    per marker, and a fenced code example is one piece."""
    lined = _items_on_lines(text)
    spans: list[tuple[int, int]] = []
    for a, b, code in _answer_lines(lined):
        if code:
            spans.append(trimmed_span(lined, a, b))
            continue
        line: list[tuple[int, int]] = []
        for match in _SENTENCE.finditer(lined, a, b):
            span = trimmed_span(lined, *match.span())
            if span is None:
                continue
            previous = lined[line[-1][0] : line[-1][1]] if line else ""
            # "U.S." and the last dot of "..." (a word with periods inside) alike, and an
            # item's marker ("2.") with its item
            if previous.endswith(".") and (
                is_abbreviation(previous[:-1]) or is_item_number(previous[:-1])
            ):
                span = (line.pop()[0], span[1])
            line.append(span)
        spans += line
    return spans


def states_claim(sentence: str) -> bool:
    """Whether a sentence says something passages could back: not a line introducing what
    follows ("To create a schema:"; a line of code ending in a colon is a claim) nor a note
    that the sources are silent on a point ("The documents do not say why."), which no
    passage can back and which an honest answer writes (MTRAG's raters call such answers
    faithful: flagging the note marked them unsupported). A note that goes on to state
    something ("..., but it fell 46%") is a claim."""
    text = without_markers(sentence).strip()
    note = says_sources_silent(text) and not _CONTRAST.search(text)
    return bool(text) and not _introduces(text) and not note


def without_dangling_intro(answer: str) -> str:
    """The answer less a last sentence introducing what follows when nothing follows ("...
    you can activate it by running the command for your operating system: [2]", the demo's
    answer once): the generator stopped where the pruned sources ran out, and the line
    promises what the answer never gives. An answer of that sentence alone stays whole."""
    spans = split_sentences(answer)
    if len(spans) < 2:
        return answer
    start, end = spans[-1]
    if answer[end:].strip() or not _introduces(without_markers(answer[start:end]).strip()):
        return answer
    return answer[:start].rstrip()


def _introduces(text: str) -> bool:
    """A line introducing what follows ("To create a schema:"), not a line of code."""
    return text.endswith(":") and not _CODE_OPENER.search(text)


def _items_on_lines(text: str) -> str:
    """The text with a line break before each marker of a numbered list written inside a line
    ("Steps: 1. Go to Databases. 2. Select it."), so each item is read as one: same length,
    same offsets."""
    chars = list(text)
    for at in list_marker_starts(text):
        line_start = text.rfind("\n", 0, at) + 1
        if at > 0 and text[at - 1] in " \t" and text[line_start:at].strip():
            chars[at - 1] = "\n"
    return "".join(chars)


def _answer_lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is code) of each line, a fenced code example (fences included) as one."""
    pieces: list[tuple[int, int, bool]] = []
    fence = None  # where an open fence starts
    start = 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if FENCE.match(line):
            if fence is None:
                fence = start
            else:
                pieces.append((fence, end, True))
                fence = None
        elif fence is None:
            pieces.append((start, end, False))
        start = end
    if fence is not None:
        pieces.append((fence, len(text), True))
    return [(a, b, code) for a, b, code in pieces if text[a:b].strip()]
