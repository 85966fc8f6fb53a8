"""FactCC-style corruptions: a supported sentence made unsupported by one small edit."""

from __future__ import annotations

import random
import re

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*")
_NEGATABLE = [
    (" is not ", " is "),
    (" are not ", " are "),
    (" was not ", " was "),
    (" were not ", " were "),
    (" did not ", " did "),
    (" does not ", " does "),
    (" cannot ", " can "),
    (" no ", " some "),
    (" is ", " is not "),
    (" are ", " are not "),
    (" was ", " was not "),
    (" were ", " were not "),
    (" can ", " cannot "),
    (" has ", " has no "),
    (" increased ", " decreased "),
    (" decreased ", " increased "),
    (" higher ", " lower "),
    (" lower ", " higher "),
    (" more ", " fewer "),
    (" before ", " after "),
    (" after ", " before "),
]


def swap_number(sentence: str, rng: random.Random) -> str | None:
    matches = list(_NUMBER.finditer(sentence))
    if not matches:
        return None
    match = rng.choice(matches)
    digits = match.group(0)
    value = float(digits.replace(",", ""))
    candidates = {value + 1, value * 2, max(value - 1, 0), value + 10, round(value * 1.5)}
    candidates.discard(value)
    new = rng.choice(sorted(candidates))
    text = f"{new:g}" if "." in digits else str(int(new))
    return sentence[: match.start()] + text + sentence[match.end() :]


def swap_name(sentence: str, donors: list[str], rng: random.Random) -> str | None:
    """Replace a capitalised name with one taken from another passage."""
    own = list(_NAME.finditer(sentence))
    others = [m.group(0) for d in donors for m in _NAME.finditer(d)]
    others = [o for o in others if o not in sentence]
    if not own or not others:
        return None
    match = rng.choice(own)
    return sentence[: match.start()] + rng.choice(others) + sentence[match.end() :]


def _replace_one(sentence: str, table: list[tuple[str, str]], rng: random.Random) -> str | None:
    """One of the table's replacements that applies, at its first place; None if none does."""
    options = [(a, b) for a, b in table if a in sentence]
    if not options:
        return None
    old, new = rng.choice(options)
    return sentence.replace(old, new, 1)


def negate(sentence: str, rng: random.Random) -> str | None:
    return _replace_one(sentence, _NEGATABLE, rng)


# words that make a claim stronger than its evidence: "X improves Y" becomes "X always
# improves Y", which the evidence no longer backs
_QUALIFIABLE = [
    (" can be ", " is always "),
    (" can ", " can only "),
    (" may ", " will certainly "),
    (" might ", " will certainly "),
    (" causes ", " always causes "),
    (" some ", " all "),
    (" several ", " all "),
    (" many ", " all "),
    (" most ", " all "),
    (" often ", " always "),
    (" sometimes ", " always "),
    (" usually ", " always "),
    (" likely ", " certainly "),
]


def qualify(sentence: str, rng: random.Random) -> str | None:
    """The sentence with an absolute qualifier its evidence does not state."""
    return _replace_one(sentence, _QUALIFIABLE, rng)


def corrupt(sentence: str, donors: list[str], rng: random.Random) -> str | None:
    """One corruption chosen at random among those that apply; None if none does."""
    edits = [
        lambda: swap_number(sentence, rng),
        lambda: swap_name(sentence, donors, rng),
        lambda: negate(sentence, rng),
    ]
    rng.shuffle(edits)
    for edit in edits:
        changed = edit()
        if changed and changed != sentence:
            return changed
    return None
