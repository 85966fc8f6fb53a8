"""Cite the passage behind a sentence the generator left uncited.

Small generators often state a fact from a passage without its [n]. At each sentence end, if
the sentence carries no citation, the passage sharing most of its content words (at least
half of them) is cited; a sentence no passage backs stays uncited for the checker to judge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from generation.citations import has_markers, marker_at
from generation.sentences import is_abbreviation, opens_item

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_STOPWORD_TEXT = """
the and for are was were that this with from which what when where who whom whose how why its
it's has have had not but can could would should will shall may might must into onto than then
there their them they these those been being also such only very about above after again all
any because before below between both each few more most other over same some under until while
does did doing just own too out off you your
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
MIN_SUPPORT = 0.5
MIN_SHARED_WORDS = 2


def content_words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS}


def best_supporting(sentence: str, passages: Sequence[set[str]]) -> int | None:
    """1-based number of the passage that shares most of the sentence's words, if any does."""
    words = content_words(sentence)
    if len(words) < MIN_SHARED_WORDS:
        return None
    best, best_score = None, MIN_SUPPORT
    for number, passage_words in enumerate(passages, start=1):
        shared = len(words & passage_words)
        score = shared / len(words)
        if (
            shared >= MIN_SHARED_WORDS
            and score >= best_score
            and (best is None or score > best_score)
        ):
            best, best_score = number, score
    return best


class SentenceAttributor:
    """Streaming: passes text through, holding only a sentence-final punctuation run.

    The hold lets " [n]" go before the full stop ("... tall [1]. Next"), and moves a citation
    written after the stop ("tall. [1] Next", 10 of 83 MTRAG answers) before it.
    """

    def __init__(self, passages: Sequence[str]):
        self._passages = [content_words(p) for p in passages]
        self._sentence = ""  # the current sentence, emitted or not
        self._held = ""  # sentence-end punctuation and spaces not yet emitted

    def feed(self, piece: str) -> str:
        out, at = [], 0
        while at < len(piece):
            citation = marker_at(piece, at) if self._after_stop() else None
            if citation:
                out.append(self._cite_before_stop(citation))
                at += len(citation)
            else:
                out.append(self._step(piece[at]))
                at += 1
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        text = self._close(held.rstrip()) + held[len(held.rstrip()) :]
        self._sentence = ""
        return text

    def _step(self, char: str) -> str:
        if self._held:
            if char in ".!?" or char.isspace():
                self._held += char
                return ""
            if (
                char == "["
                or not self._held[-1:].isspace()
                or self._stop_ends_nothing()
                or self._held.startswith("...")
            ):
                # a citation after the stop belongs to this sentence; "3.5", "U.S. Open",
                # "steps: 1. Open", an ellipsis and a doctest's "..." continuation prompt hold
                # no sentence end
                text, self._held = self._held + char, ""
                self._sentence += text
                return text
            held, self._held = self._held, ""
            punct = held.rstrip()
            text = self._close(punct) + held[len(punct) :] + char
            self._sentence = char
            return text
        if char in ".!?":
            self._held = char
            return ""
        self._sentence += char
        return char

    def _after_stop(self) -> bool:
        """Whether the held text is a sentence's own full stop (and spaces): a citation the
        generator writes after it ("tall. [1]") then goes before it. Whole citations arrive in
        one piece (CitationFilter holds an open bracket back), so they can be matched here."""
        return self._held.rstrip() in (".", "!", "?") and not self._stop_ends_nothing()

    def _stop_ends_nothing(self) -> bool:
        """A held full stop after an abbreviation ("U.S.") or a list item's opening number
        ("steps: 1."), which ends no sentence."""
        return self._held.rstrip() == "." and (
            is_abbreviation(self._sentence) or opens_item(self._sentence)
        )

    def _cite_before_stop(self, citation: str) -> str:
        self._held = self._held.rstrip()
        self._sentence += " " + citation
        return " " + citation

    def _close(self, punct: str) -> str:
        """The end of the current sentence: its punctuation, with a citation before it if due."""
        sentence = self._sentence
        if sentence.strip() and not has_markers(sentence):
            number = best_supporting(sentence, self._passages)
            if number is not None:
                return f" [{number}]{punct}"
        return punct
