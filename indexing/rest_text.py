"""reStructuredText as a reader of the built page sees it.

A project's documentation source (`docs/*.rst`) writes ":func:`json.dump`" where its page shows
"json.dump", "`the tutorial <https://...>`_" where it shows "the tutorial", and ".. index::"
blocks the page never shows. Indexed as written, that markup splits the words the search, the
pruner and the checker match on, and the generator copies it into answers (a walrus operator
"known as `the eyes and tusks of a walrus <https://en.wikipedia.org/...>`_"). Roles, links and
literals are read by their text, and the lines a page never shows (directive and comment lines,
title adornments, directive options, index and table-of-contents blocks) are left out; a
directive's argument stays, since it is often the text (".. function:: open(file)", an
admonition's first line), and version notes read as the page words them.
"""

from __future__ import annotations

import re

# :role:`text`, :domain:role:`text`; Sphinx's "~" and "!" prefixes only change the link
_ROLE = re.compile(r"(?<![\w`]):(?:[\w.+-]+:)*(?P<role>[\w.+-]+):`(?P<body>[^`]+)`")
# roles whose page shows a word before the number
_NUMBERED = {"pep": "PEP {}", "rfc": "RFC {}"}
# `text <target>`_ and `text <target>`__ (a named or an anonymous hyperlink)
_LINK = re.compile(r"`(?P<text>[^`<]+?)\s*<[^`>]*>`__?")
# `text`_ (a reference to a target defined elsewhere)
_REFERENCE = re.compile(r"(?<![\w`])`(?P<text>[^`]+)`__?(?![\w`])")
# ``literal``
_LITERAL = re.compile(r"``(?P<text>[^`]+?)``")
# `text` in the default role (Sphinx shows it in italics)
_DEFAULT_ROLE = re.compile(r"(?<![\w`])`(?P<text>[^`]+)`(?![\w`])")
# a line of one repeated punctuation mark over or under a title, or a transition
_ADORNMENT = re.compile(r"[=\-~^*#+`:'\".]{3,}")
# ".. name:: argument", ".. _label:", ".. |sub| replace:: ...", ".. comment"
_EXPLICIT = re.compile(
    r"^(?P<indent>\s*)\.\.(?=\s|$)(?:\s+(?P<name>[\w:.-]+)::(?:\s+(?P<arg>.*))?$)?(?P<rest>.*)"
)
# "Example::" shows "Example:" over the literal block it opens; "Example ::" and "::", nothing
_LITERAL_AFTER_WORD = re.compile(r"(?<=\S)::$", re.MULTILINE)
_LITERAL_MARK = re.compile(r"[ \t]*::$", re.MULTILINE)
_OPTION = re.compile(r"^\s+:[\w -]+:(\s.*)?$")
# blocks whose indented lines a page shows nowhere near the text
_HIDDEN_BLOCKS = frozenset({"index", "toctree", "highlight", "only", "meta", "raw", "include"})
_VERSION_NOTES = {
    "versionadded": "New in version {}.",
    "versionchanged": "Changed in version {}:",
    "deprecated": "Deprecated since version {}:",
}


def rest_text(source: str) -> str:
    """The text of a reStructuredText source without its markup (see the module's doc)."""
    lines: list[str] = []
    hidden: tuple[int, bool] | None = None  # a hidden block: its line's indent, blank lines in it
    in_directive = False  # directly under a directive line, where its options are
    for line in source.splitlines():
        indent = len(line) - len(line.lstrip())
        if hidden is not None:
            below, through_blank = hidden
            if (not line.strip() and through_blank) or (line.strip() and indent > below):
                continue
            hidden = None
        if in_directive and _OPTION.match(line):
            continue
        in_directive = False
        explicit = _EXPLICIT.match(line)
        if explicit:
            name, argument = explicit.group("name"), (explicit.group("arg") or "").strip()
            if name is None:  # a comment, a target (".. _label:") or a substitution
                if explicit.group("rest").strip():
                    hidden = (indent, False)  # its indented lines go with it
                continue
            name = name.rsplit(":", 1)[-1].lower()  # "py:function" -> "function"
            if name in _HIDDEN_BLOCKS:
                hidden = (indent, True)
                continue
            in_directive = True
            if name in _VERSION_NOTES and argument:
                version, _, rest = argument.partition(" ")
                argument = f"{_VERSION_NOTES[name].format(version)} {rest}".strip()
            if argument:
                lines.append(explicit.group("indent") + argument)
            continue
        if _ADORNMENT.fullmatch(line.strip()):
            continue
        lines.append(line)
    return inline_text("\n".join(lines))  # a role or link may wrap onto the next line


def inline_text(text: str) -> str:
    """Roles, links and literals by their text."""
    text = _LITERAL_MARK.sub("", _LITERAL_AFTER_WORD.sub(":", text))
    text = _ROLE.sub(lambda m: _role_text(m.group("role"), m.group("body")), text)
    text = _LINK.sub(lambda m: m.group("text"), text)
    text = _LITERAL.sub(lambda m: m.group("text"), text)
    text = _REFERENCE.sub(lambda m: m.group("text"), text)
    return _DEFAULT_ROLE.sub(lambda m: m.group("text"), text)


def _role_text(role: str, body: str) -> str:
    """A role's text as shown: "title <target>" shows its title, "~a.b" and "!a" their name,
    :pep:`405` "PEP 405"."""
    titled = re.fullmatch(r"(?s)(.+?)\s*<[^<>]+>", body)
    if titled:
        return titled.group(1)
    shown = body.lstrip("~!")
    numbered = _NUMBERED.get(role.lower())
    return numbered.format(shown) if numbered and shown.isdigit() else shown
