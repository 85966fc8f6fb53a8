"""Scanned PDF pages: rendered from known text, read back by Tesseract, cited with (OCR)."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from app.qa import QA
from app.settings import Settings
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.errors import SkipFile
from indexing.index_dir import IndexDir
from indexing.loaders import load_file
from indexing.ocr import OcrOptions, unavailable

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (make setup does it)"
)

SCANNED = [
    "The Tarnvik glacier retreated 212 metres between 2001 and 2021, according to",
    "the survey team led by hydrologist Petra Lindqvist. Meltwater from the glacier",
    "feeds the Orvane river, whose spring flood now comes eleven days earlier.",
]
TYPED = "The Kallum salt marsh shelters about four thousand wintering geese each January."


def _text_pdf(path: Path, pages: list[list[str]]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        pdf.setFont("Helvetica", 12)
        for n, line in enumerate(lines):
            pdf.drawString(50, 780 - 18 * n, line)
        pdf.showPage()
    pdf.save()


def scanned_pdf(path: Path, scanned: list[str], typed: str | None = None) -> None:
    """A PDF whose first page is only an image of `scanned` (as a scanner makes it), and
    whose second page, if `typed` is given, has a text layer."""
    import pypdfium2 as pdfium

    source = path.with_suffix(".source.pdf")
    _text_pdf(source, [scanned])
    rendered = pdfium.PdfDocument(str(source))
    bitmap = rendered[0].render(scale=200 / 72, grayscale=True)
    width, height = rendered[0].get_size()
    out = pdfium.PdfDocument.new()
    page = out.new_page(width, height)
    image = pdfium.PdfImage.new(out)
    image.set_bitmap(bitmap)
    image.set_matrix(pdfium.PdfMatrix().scale(width, height))
    page.insert_obj(image)
    page.gen_content()
    if typed is not None:
        _text_pdf(source, [[typed]])
        out.import_pages(pdfium.PdfDocument(str(source)))
    out.save(str(path))
    source.unlink()


def test_a_scanned_page_is_read_by_ocr_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    scanned_pdf(path, SCANNED, TYPED)
    [document] = load_file(path)
    assert document.ocr_pages == (1,) and len(document.page_starts) == 2
    first_page = document.text[: document.page_starts[1]]
    truth = " ".join(SCANNED)
    accuracy = difflib.SequenceMatcher(None, " ".join(first_page.split()), truth).ratio()
    assert accuracy >= 0.95, first_page
    assert TYPED in document.text[document.page_starts[1] :]


def test_without_ocr_a_scan_is_skipped_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    scanned_pdf(path, SCANNED)
    off = OcrOptions(enabled=False)
    with pytest.raises(SkipFile, match=r"no text layer.*indexing\.ocr\.enabled"):
        load_file(path, off)
    assert "no language pack for xx" in unavailable(OcrOptions(language="xx"))
    scanned_pdf(path, SCANNED, TYPED)  # a page with text is still indexed
    [document] = load_file(path, off)
    assert document.ocr_pages == () and TYPED in document.text


def test_answers_cite_the_scanned_page_as_ocr(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    scanned_pdf(folder / "survey.pdf", SCANNED, TYPED)
    root = tmp_path / "idx"
    options = BuildOptions(progress=False, chunk_tokens=40, overlap_tokens=4)
    IndexBuilder(IndexDir(root), embedder, options).run([folder])
    qa = QA(Settings(index=root))
    [top] = qa.retrieve("Who led the survey of the Tarnvik glacier?", top_n=1)
    assert top.ocr and top.where.startswith("survey.pdf, p. 1") and top.where.endswith("(OCR)")
    [marsh] = qa.retrieve("How many geese winter in the Kallum salt marsh?", top_n=1)
    assert not marsh.ocr or marsh.pages == (1, 2)  # a chunk across both pages holds a scan
