"""Keep only citations that name a passage the model was given, also while streaming."""

from __future__ import annotations

import re

# a bracket right after a word or ")" is code (a[0], f(x)[1]), not a citation; the 1.5B
# generator now and then names the source in it ("[source 3]"), which is written back as [3]
_CITATION = re.compile(
    r"(?:\s|(?<![\w)]))\[(?:sources?:?\s?)?(\d{1,3}(?:\s?[,;]\s?\d{1,3}){0,9})\]", re.IGNORECASE
)
_OPEN_CITATION = re.compile(
    r"\[(?:s(?:o(?:u(?:r(?:c(?:es?:?\s?)?)?)?)?)?)?[\d\s,;]*", re.IGNORECASE
)
_DECIDES_NEXT = re.compile(r"[\w)\s]")  # a "[" after these is code, or takes the space along
_MAX_PENDING = 64  # longer than any text _CITATION can match: emit it as plain text
_MARKER = re.compile(r"\[\d{1,3}(?:\s?[,;]\s?\d{1,3})*\]")
_MARKERS = re.compile(rf"\s*{_MARKER.pattern}")


def _rewrite(match: re.Match[str], n_passages: int) -> str:
    valid = list(dict.fromkeys(n for n in _numbers(match) if 1 <= n <= n_passages))
    if not valid:
        return ""
    lead = match.group(0)[0] if match.group(0)[0].isspace() else ""
    return lead + _marker(valid)


def _marker(numbers: list[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def clean_citations(text: str, n_passages: int) -> str:
    """Drop numbers that name no passage; a bracket left empty disappears with its space."""
    return _CITATION.sub(lambda m: _rewrite(m, n_passages), text)


def without_markers(text: str) -> str:
    """Answer text without its [n] markers: for scoring it against reference answers, for
    judging what it says, and for reading it back as an earlier turn of a conversation."""
    return _MARKERS.sub("", text).strip()


def has_markers(text: str) -> bool:
    """Whether the text carries a [n] marker anywhere."""
    return bool(_MARKERS.search(text))


def marker_at(text: str, at: int) -> str | None:
    """The [n] marker that starts at `at`, if one does."""
    match = _MARKER.match(text, at)
    return match.group(0) if match else None


def cite_only(sentence: str, number: int) -> str:
    """The sentence with its markers replaced by one [number], before its final punctuation."""
    bare = _MARKERS.sub("", sentence).rstrip()
    body = bare.rstrip(".!?")
    return f"{body} [{number}]{bare[len(body) :]}{sentence[len(sentence.rstrip()) :]}"


def citation_spans(text: str) -> list[tuple[int, int, list[int]]]:
    """(start, end, numbers) of each citation marker, the brackets alone: for linking them."""
    spans = []
    for match in _CITATION.finditer(text):
        start = match.start() if text[match.start()] == "[" else match.start() + 1
        spans.append((start, match.end(), _numbers(match)))
    return spans


def _numbers(match: re.Match[str]) -> list[int]:
    return [int(x) for x in re.split(r"\s?[,;]\s?", match.group(1))]


def cited_numbers(text: str) -> list[int]:
    """Passage numbers in order of first citation."""
    found: dict[int, None] = {}
    for match in _CITATION.finditer(text):
        for n in _numbers(match):
            found[n] = None
    return list(found)


class CitationFilter:
    """Streams text through `clean_citations`, holding back only a possibly-open bracket.

    Tokens split citations anywhere ("[", "1", "]"), so text from an unclosed "[" (and the
    character before it) waits until the bracket closes or clearly is not a citation.
    """

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = self._hold_from(text)
        for match in _CITATION.finditer(text):  # never split a whole citation at the cut
            if match.start() < cut < match.end():
                cut = match.start()
        self._pending = text[cut:]
        return clean_citations(text[:cut], self.n_passages)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return clean_citations(text, self.n_passages)

    @staticmethod
    def _hold_from(text: str) -> int:
        """Index from which text may still become (or decide) a citation."""
        start = text.rfind("[")
        tail = text[start:] if start != -1 else ""
        if tail and len(tail) <= _MAX_PENDING and _OPEN_CITATION.fullmatch(tail):
            # keep the character before "[": it decides whether the bracket is a citation
            return max(start - 1, 0)
        if text and _DECIDES_NEXT.fullmatch(text[-1]):
            return len(text) - 1
        return len(text)


# a list of cited items on one line ("Levi's Stadium [1], Stanford Stadium [2], and Levi's
# Stadium [3]"): each item's words up to its marker, the items cut by commas, "and" or "or"
_ITEM = r"[^,;:.\[\]\n]*?[^\s,;:.\[\]\n]\s?\[\d{1,3}(?:\s?[,;]\s?\d{1,3})*\]"
_JOIN = r"(?:,\s+(?:and\s+|or\s+)?|\s+(?:and|or)\s+)"
_ITEM_LIST = re.compile(rf"{_ITEM}(?:{_JOIN}{_ITEM})+")
_ITEM_PARTS = re.compile(rf"({_JOIN})?([^\[]*?)\s?(\[[^\]]+\])")


def merged_repeats(text: str) -> str:
    """The answer with a list that names one item once per passage ("founded in 2015 [3],
    2015 [4], and 2015 [5]", the 1.5B generator's habit) naming it once, citing every passage
    that gave it: "founded in 2015 [3, 4, 5]". An item repeats an earlier one when its words
    are the earlier one's or end it."""
    return _ITEM_LIST.sub(_merged, text)


def _merged(run: re.Match[str]) -> str:
    items: list[tuple[str, str, list[int]]] = []  # words as written, their key, cited numbers
    conjunction, repeats = "and", 0
    for part in _ITEM_PARTS.finditer(run.group(0)):
        join, words, marker = part.groups()
        if join and join.strip(", "):
            conjunction = join.strip(", ")
        key = " ".join(words.lower().split())
        earlier = next((item for item in items if _same_item(item[1], key)), None)
        if earlier is None:
            items.append((words, key, cited_numbers(marker)))
        else:
            repeats += 1
            earlier[2].extend(n for n in cited_numbers(marker) if n not in earlier[2])
    if not repeats:
        return run.group(0)
    shown = [f"{words} {_marker(numbers)}" for words, _, numbers in items]
    if len(shown) == 1:
        return shown[0]
    last = f" {conjunction} " if len(shown) == 2 else f", {conjunction} "
    return ", ".join(shown[:-1]) + last + shown[-1]


def _same_item(earlier: str, item: str) -> bool:
    """Equal words, or the item ends the earlier one where it is more than one bare word
    ("2015" ends "founded in 2015", but "Rome" does not repeat "the Treaty of Rome")."""
    telling = " " in item or any(c.isdigit() for c in item)
    return bool(item) and (earlier == item or (telling and earlier.endswith(" " + item)))
