"""Office files: Word documents, slide decks (a slide is a page), spreadsheets and CSV (each row
with its header, so a cell keeps its meaning when the table is cut into chunks)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from indexing.documents import Document
from indexing.errors import SkipFile
from indexing.extract import check_zip, decode_text, one_document, paged_document, read_text_bytes

# how a table row is written as one line, which generation/sentences.py reads back into cells:
# a Word table's cells joined by bars, a sheet row's cells each after its column's name
CELL_BAR = " | "
FIELD_SEPARATOR = "; "
NAME_SEPARATOR = ": "


def load_docx(path: Path) -> list[Document]:
    import docx
    from docx.opc.exceptions import OpcError

    try:
        check_zip(path)
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SkipFile(f"corrupt .docx ({type(exc).__name__}: {exc})") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(CELL_BAR.join(_cell_text(cell.text) for cell in row.cells))
    title = document.core_properties.title or ""
    if not title:
        heading = next(
            (p.text for p in document.paragraphs if p.style.name.startswith("Heading")), ""
        )
        title = heading or path.stem
    return one_document(path, title, "\n".join(parts))


def _open_failed(path: Path, exc: Exception) -> SkipFile:
    return SkipFile(f"corrupt {path.suffix} ({type(exc).__name__}: {exc})")


def load_pptx(path: Path) -> list[Document]:
    """One page per slide: its text frames, tables and speaker notes, in slide order."""
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        check_zip(path)
        deck = Presentation(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _open_failed(path, exc) from exc
    slides = []
    for slide in deck.slides:
        parts = [text for shape in slide.shapes for text in _shape_texts(shape)]
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                parts.append(f"Notes: {notes.text}")
        slides.append("\n".join(parts))
    if not any(s.strip() for s in slides):
        raise SkipFile("no text on any slide")
    title = deck.core_properties.title or _first_slide_title(deck) or path.stem
    return [paged_document(path, title, slides)]


def _shape_texts(shape) -> Iterable[str]:
    if shape.shape_type is not None and shape.shape_type == 6:  # a group: its shapes inside
        for inner in shape.shapes:
            yield from _shape_texts(inner)
    if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
        yield shape.text_frame.text
    if getattr(shape, "has_table", False):
        yield from rows_as_text([[cell.text for cell in row.cells] for row in shape.table.rows])


def _first_slide_title(deck) -> str:
    for slide in deck.slides:
        title = slide.shapes.title
        if title is not None and title.text.strip():
            return title.text.strip()
    return ""


def rows_as_text(rows: Iterable[Sequence[object]]) -> list[str]:
    """Lines of "header: value; header: value" from the first non-empty row's headers, so a
    chunk that holds row 900 still says what each of its cells means."""
    header: list[str] | None = None
    lines = []
    for row in rows:
        cells = [_cell_text(c) for c in row]
        if not any(cells):
            continue
        if header is None:
            header = [c or f"column {i}" for i, c in enumerate(cells, 1)]
            continue
        named = [
            f"{header[i] if i < len(header) else f'column {i + 1}'}{NAME_SEPARATOR}{c}"
            for i, c in enumerate(cells)
            if c
        ]
        lines.append(FIELD_SEPARATOR.join(named))
    if header is not None and not lines:  # a header row alone is still text
        lines.append(FIELD_SEPARATOR.join(header))
    return lines


# a cell that holds a date: 2026-03-01, as CSV writes it, or 2026-03-01 00:00:00, a
# spreadsheet date cell as Python prints it
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?")
# English, as the prompt is, whatever the machine's locale would make of %B
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _cell_text(value: object) -> str:
    """The cell on one line; a date also in words ("2026-03-01 (1 March 2026)"), as questions
    and answers write it: asked for "2 March", the generator read the value off the 1 March
    row and the checker backed no answer against the ISO form alone."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return text
    try:
        day = date(*map(int, match.groups()))
    except ValueError:
        return text
    return f"{day.isoformat()} ({day.day} {_MONTHS[day.month - 1]} {day.year})"


def load_xlsx(path: Path) -> list[Document]:
    """One document per sheet with data, each row under its header."""
    import openpyxl

    try:
        check_zip(path)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise _open_failed(path, exc) from exc
    documents = []
    try:
        for sheet in workbook.worksheets:
            text = "\n".join(rows_as_text(sheet.iter_rows(values_only=True)))
            if text.strip():
                documents.append(
                    Document(
                        f"{path}#{sheet.title}", str(path), f"{path.stem}: {sheet.title}", text
                    )
                )
    finally:
        workbook.close()
    if not documents:
        raise SkipFile("no cells with values in any sheet")
    return documents


def load_csv(path: Path) -> list[Document]:
    """Rows under their header, read with the dialect csv.Sniffer finds (comma by default)."""
    text = decode_text(read_text_bytes(path))
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise SkipFile(f"not CSV ({exc})") from exc
    return one_document(path, path.stem, "\n".join(rows_as_text(rows)))
