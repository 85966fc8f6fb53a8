"""The records that flow through indexing: a loaded document and the chunks cut from it."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """Text of one document. `uri` is unique in an index; `source` is the file it came from.

    A file usually holds one document (uri == source); a BEIR .jsonl holds many (uri is
    `source#_id`).
    """

    uri: str
    source: str
    title: str
    text: str
    # where each page starts in `text` (page 1 at the first offset), for files that have
    # pages (PDF); empty for those that do not
    page_starts: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()  # pages (from 1) whose text came from OCR of a scan


def pages_of(page_starts: Sequence[int], start: int, end: int) -> tuple[int, int] | None:
    """The first and last page (from 1) that the span [start, end) touches; None without
    pages."""
    if not page_starts:
        return None
    first = bisect_right(page_starts, start)
    last = bisect_right(page_starts, max(start, end - 1))
    return max(1, first), max(1, last)


def page_label(pages: tuple[int, int] | None) -> str:
    """ "p. 7" or "pp. 7-8"; empty without pages."""
    if pages is None:
        return ""
    first, last = pages
    return f"p. {first}" if first == last else f"pp. {first}-{last}"


@dataclass(frozen=True)
class Chunk:
    """A span of a document small enough for the embedder; offsets index into document.text."""

    doc_uri: str
    ordinal: int
    title: str
    text: str
    start: int
    end: int


def titled(title: str, text: str) -> str:
    """The text models read for a chunk: titles carry topic words a mid-document chunk lacks."""
    return f"{title}\n{text}" if title else text
