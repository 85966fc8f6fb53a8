"""Citations name the page of a PDF: offsets to pages, the loader, the index, the CLI."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.qa import QA
from app.render import sources_text
from app.settings import Settings
from indexing.builder import BuildOptions, IndexBuilder
from indexing.documents import page_label, pages_of
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.loaders import load_file
from tests.conftest import write_pdf

PAGES = [
    "The Orvane ferry leaves the harbour at seven every morning and carries sixty cars.",
    "The Brisdel lighthouse was automated in 1987 and its keeper's house is now a museum.",
    "The Kallum salt marsh shelters about four thousand wintering geese each January.",
]


def write_paged_pdf(path: Path, pages: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle("Coast guide")
    for text in pages:
        pdf.drawString(40, 800, text)
        pdf.showPage()
    pdf.save()


@pytest.mark.parametrize(
    ("start", "end", "pages"),
    [(0, 10, (1, 1)), (95, 100, (2, 2)), (50, 150, (1, 2)), (299, 300, (3, 3)), (0, 400, (1, 3))],
)
def test_spans_map_to_the_pages_they_touch(start: int, end: int, pages: tuple) -> None:
    assert pages_of([0, 90, 200], start, end) == pages


def test_page_labels() -> None:
    assert (page_label((7, 7)), page_label((7, 8)), page_label(None)) == ("p. 7", "pp. 7-8", "")
    assert pages_of([], 0, 10) is None


def test_a_pdf_document_knows_where_each_page_starts(tmp_path: Path) -> None:
    path = tmp_path / "coast.pdf"
    write_paged_pdf(path, PAGES)
    [document] = load_file(path)
    assert len(document.page_starts) == 3
    for number, (start, fact) in enumerate(zip(document.page_starts, PAGES, strict=True), 1):
        assert document.text[start:].startswith(fact), number


def _build(folder: Path, root: Path, embedder: Embedder) -> None:
    """Chunks shorter than a page, so most lie on one page."""
    options = BuildOptions(progress=False, chunk_tokens=24, overlap_tokens=4)
    IndexBuilder(IndexDir(root), embedder, options).run([folder])


def _coast_index(tmp_path: Path, embedder: Embedder) -> Path:
    """An index of the three-page coast.pdf."""
    folder = tmp_path / "docs"
    folder.mkdir()
    write_paged_pdf(folder / "coast.pdf", PAGES)
    root = tmp_path / "idx"
    _build(folder, root, embedder)
    return root


def test_retrieved_passages_and_cited_sources_name_the_page(
    tmp_path: Path, embedder: Embedder
) -> None:
    qa = QA(Settings(index=_coast_index(tmp_path, embedder)))
    [top, *_] = qa.retrieve("How many geese winter in the Kallum salt marsh?", top_n=1)
    # a chunk that starts in the overlap with the page before spans both
    assert top.where in ("coast.pdf, p. 3", "coast.pdf, pp. 2-3")
    answer = qa.ask("When was the Brisdel lighthouse automated?")
    assert answer.passages[0].pages in ((2, 2), (1, 2))
    for citation in answer.citations:
        label = page_label(citation.passage.pages)
        assert f"coast.pdf, {label} (chars" in sources_text(answer)


def test_an_index_from_before_pages_still_answers_and_upgrades(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "one.pdf", "One", PAGES[0])
    root = tmp_path / "idx"
    _build(folder, root, embedder)
    sqlite_path = IndexDir(root).current().sqlite_path
    with sqlite3.connect(sqlite_path) as db:  # as schema version 1 wrote it
        db.execute("ALTER TABLE documents DROP COLUMN page_starts")
        db.execute("ALTER TABLE documents DROP COLUMN ocr_pages")
    [passage] = QA(Settings(index=root)).retrieve("When does the Orvane ferry leave?", top_n=1)
    assert passage.pages is None and passage.where == "one.pdf"

    write_paged_pdf(folder / "coast.pdf", PAGES)
    _build(folder, root, embedder)
    passages = QA(Settings(index=root)).retrieve("Brisdel lighthouse keeper museum", top_n=3)
    assert any(p.where.startswith("coast.pdf, p") for p in passages)


def test_the_web_panel_shows_the_cited_pages_text(tmp_path: Path, embedder: Embedder) -> None:
    from app.web.service import WebService

    service = WebService(Settings(index=_coast_index(tmp_path, embedder)))
    [top] = service.qa().retrieve("How many geese winter in the Kallum salt marsh?", top_n=1)
    before, text, after = service.passage_context(top)
    shown = before + text + after
    assert text == top.text and PAGES[2] in shown
    assert shown.startswith(PAGES[top.pages[0] - 1][:20])  # from the start of its first page
