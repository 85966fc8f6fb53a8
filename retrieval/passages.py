"""The retrieval result handed to generation."""

from __future__ import annotations

from dataclasses import dataclass, field


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
