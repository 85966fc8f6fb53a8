"""Numbers an answer sentence states that none of its passages does.

A swapped year, count or score is the hallucination a cross-encoder reading 100-word windows
misses most often ("retreated 300 metres" against 212 scored 0.43), and it is the one an exact
comparison catches without a model: a number the sources never write did not come from them.
"""

from __future__ import annotations

import re

# 1,234 / 12 / 3.5 not inside a longer token ("v2", "1.2.3" parts after the first)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)")
_WORD = re.compile(r"[a-z]+")
_SPELLED = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip


def _value(digits: str) -> float:
    return float(digits.replace(",", ""))


def stated_numbers(text: str) -> set[float]:
    """Every number the text writes, in digits or as a word up to twelve."""
    values = {_value(m.group(1)) for m in _NUMBER.finditer(text)}
    return values | {float(_SPELLED[w]) for w in _WORD.findall(text.lower()) if w in _SPELLED}


def claimed_numbers(sentence: str) -> dict[float, str]:
    """The numbers a sentence states in digits, as written; list markers ("2." or "2)" ending
    a sentence the splitter cut from a numbered list) state nothing."""
    out: dict[float, str] = {}
    for match in _NUMBER.finditer(sentence):
        digits, after = match.group(1), sentence[match.end() : match.end() + 2]
        if len(digits) <= 2 and after[:1] in (".", ")") and after[1:2] in ("", " ", "\n"):
            continue
        out.setdefault(_value(digits), digits)
    return out


def unstated_numbers(sentence: str, stated: set[float]) -> list[str]:
    """The sentence's numbers (as written) missing from `stated` (the passages'
    stated_numbers, read once for all the answer's sentences)."""
    return [written for value, written in claimed_numbers(sentence).items() if value not in stated]
