"""The retrieval result handed to generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indexing.documents import page_label


@dataclass
class Passage:
    """A retrieved chunk with every score it earned on the way (absent stage: missing key)."""

    chunk_id: int
    doc_uri: str
    source: str
    title: str
    text: str
    start: int
    end: int
    scores: dict[str, float] = field(default_factory=dict)
    # when the context was pruned: the sentences the generator read ("…" where some were left
    # out), and their offsets in the document
    read: str | None = None
    spans: list[tuple[int, int]] | None = None
    pages: tuple[int, int] | None = None  # first and last page, for documents with pages
    ocr: bool = False  # read by OCR from a scanned page: the text may hold misreadings

    @property
    def where(self) -> str:
        """The file's name and, for documents with pages, the page: "report.pdf, p. 7", and
        "(OCR)" when the text was read from a scan."""
        name = Path(self.source).name
        where = f"{name}, {page_label(self.pages)}" if self.pages else name
        return f"{where} (OCR)" if self.ocr else where

    @property
    def read_text(self) -> str:
        """What the generator reads of this passage: the kept sentences, else all of it."""
        return self.text if self.read is None else self.read
