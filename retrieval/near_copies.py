"""Near copies: text that better-ranked text already says, whatever its markup.

Folders people index hold one text in several forms: a Sphinx build's page beside its reST
source (`_sources/*.rst.txt`), a PDF beside the Word file it came from, a page republished
under two addresses, an e-mail quoting the one before. Their chunks differ in markup and in
where they were cut, so they are not equal, yet each copy spends one of the few places the
generator reads. Shingling (Broder 1997) compares what the words say: a text whose runs of
three words are mostly among those of the texts kept before it adds little to them. Each
markup word inserted (":func:`repr`" for "repr()") changes three runs; over Python's
documentation no two chunks of different pages share half their runs. Copies of a template
differ in their figures (two years' reports, one page per product model), so a text giving a
number that the kept ones do not is never a copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3

Shingle = tuple[str, ...]


@dataclass(frozen=True)
class Wording:
    """What a text says, for comparing: its runs of three words, lowercased (a text shorter
    than that is one run), and the words holding digits it gives."""

    runs: frozenset[Shingle]
    numbers: frozenset[str]


def wording(text: str) -> Wording:
    words = _WORD.findall(text.lower())
    if len(words) <= SHINGLE_WORDS:
        runs = {tuple(words)} if words else set()
    else:
        runs = {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    numbers = {w for w in words if any(c.isdigit() for c in w)}
    return Wording(frozenset(runs), frozenset(numbers))


@dataclass
class Said:
    """Everything the texts kept so far say."""

    runs: set[Shingle] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)

    def repeats(self, text: Wording, share: float) -> bool:
        """Whether at least `share` of the text's runs of words were said, and every number it
        gives; a text without words repeats nothing."""
        if not text.runs or not text.numbers <= self.numbers:
            return False
        return len(text.runs & self.runs) >= share * len(text.runs)

    def add(self, text: Wording) -> None:
        self.runs |= text.runs
        self.numbers |= text.numbers
