"""The records that flow through indexing: a loaded document and the chunks cut from it."""

from __future__ import annotations

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
