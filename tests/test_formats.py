"""Slides, spreadsheets, CSV, e-books, mail and reStructuredText, each written by a real
library (or by hand where the format is simple) and read back by our loaders."""

from __future__ import annotations

import datetime
import mailbox
import zipfile
from email.message import EmailMessage
from pathlib import Path

from indexing.loaders import discover, load_file


def write_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for title, body, notes in [
        ("Harbour plans", "The new pier opens in May.", "Mention the budget."),
        ("Budget", "The pier costs 4.2 million euros.", ""),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    table = deck.slides.add_slide(deck.slide_layouts[5]).shapes.add_table(
        2, 2, Inches(1), Inches(2), Inches(4), Inches(1)
    )
    for col, (head, value) in enumerate([("berth", "B7"), ("depth m", "14")]):
        table.table.cell(0, col).text = head
        table.table.cell(1, col).text = value
    deck.save(str(path))


def test_pptx_slides_are_pages_with_notes_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "deck.pptx"
    write_pptx(path)
    [document] = load_file(path)
    assert document.title == "Harbour plans"
    assert len(document.page_starts) == 3
    second = document.text[document.page_starts[1] : document.page_starts[2]]
    assert "4.2 million euros" in second
    assert "Notes: Mention the budget." in document.text[: document.page_starts[1]]
    assert "berth: B7; depth m: 14" in document.text[document.page_starts[2] :]


def test_docx_table_rows_are_lines_with_dates_also_in_words(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Tides at the harbour.")
    table = document.add_table(rows=2, cols=3)
    rows = [("port", "date", "high tide"), ("Velmora", "2026-03-01", "06:12")]
    for row, cells in zip(table.rows, rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    path = tmp_path / "tides.docx"
    document.save(str(path))
    [loaded] = load_file(path)
    assert loaded.text.splitlines()[1:] == [
        "port | date | high tide",
        "Velmora | 2026-03-01 (1 March 2026) | 06:12",
    ]


def test_xlsx_sheets_are_documents_whose_rows_keep_their_header(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Ferries"
    sheet.append(["ferry", "departs", "cars", "from"])
    sheet.append(["Orvane", "07:00", 60, datetime.datetime(2026, 3, 2)])
    sheet.append(["Skerry", "09:30", None, datetime.datetime(2026, 3, 2, 14, 30)])
    workbook.create_sheet("Empty")
    path = tmp_path / "timetable.xlsx"
    workbook.save(path)
    [document] = load_file(path)
    assert document.uri.endswith("#Ferries") and document.title == "timetable: Ferries"
    assert document.text.splitlines() == [
        "ferry: Orvane; departs: 07:00; cars: 60; from: 2026-03-02 (2 March 2026)",
        "ferry: Skerry; departs: 09:30; from: 2026-03-02 14:30:00",
    ]


def test_csv_rows_keep_their_header_whatever_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "tides.csv"
    path.write_text(
        "port;high tide;metres;on\nValmora;06:12;4.1;2026-02-30\nBrisdel;07:40;3.6;2026-03-01\n"
    )
    [document] = load_file(path)
    # a date also in words, as questions ask for it; what is no date stays as written
    assert "port: Brisdel; high tide: 07:40; metres: 3.6; on: 2026-03-01 (1 March 2026)" in (
        document.text
    )
    assert "port: Valmora; high tide: 06:12; metres: 4.1; on: 2026-02-30" in document.text


def write_epub(path: Path) -> None:
    chapter = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        "<h1>{}</h1><p>{}</p></body></html>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>',
        )
        book.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package><metadata><dc:title '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">Tales of the Coast</dc:title>'
            '</metadata><manifest><item id="c2" href="text/two.xhtml" '
            'media-type="application/xhtml+xml"/><item id="c1" href="text/one.xhtml" '
            'media-type="application/xhtml+xml"/></manifest>'
            '<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>',
        )
        book.writestr("OEBPS/text/one.xhtml", chapter.format("One", "The keeper lit the lamp."))
        book.writestr("OEBPS/text/two.xhtml", chapter.format("Two", "The storm broke at dawn."))


def test_epub_chapters_in_reading_order(tmp_path: Path) -> None:
    path = tmp_path / "tales.epub"
    write_epub(path)
    [document] = load_file(path)
    assert document.title == "Tales of the Coast"
    assert document.text.index("lit the lamp") < document.text.index("storm broke")


def mail_message(subject: str, body: str, html: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Petra Lindqvist <petra@example.org>"
    message["To"] = "survey@example.org"
    message["Date"] = "Tue, 01 Dec 2026 09:00:00 +0000"
    message["Subject"] = subject
    message.set_content(body, subtype="html" if html else "plain")
    return message


def test_eml_keeps_its_headers_above_the_body(tmp_path: Path) -> None:
    path = tmp_path / "note.eml"
    path.write_bytes(bytes(mail_message("Glacier survey", "The glacier retreated 212 metres.")))
    [document] = load_file(path)
    assert document.title == "Glacier survey"
    assert document.text.startswith("From: Petra Lindqvist <petra@example.org>\nTo: ")
    assert "Date: Tue, 01 Dec 2026" in document.text and "retreated 212 metres" in document.text


def test_mbox_messages_are_documents_and_html_bodies_are_text(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    box.add(mail_message("First", "The ferry is late."))
    html = "<p>The <b>pier</b> opens in May.</p><script>x()</script>"
    box.add(mail_message("Second", html, True))
    box.flush()
    box.close()
    first, second = load_file(path)
    assert (first.title, second.title) == ("First", "Second")
    assert second.uri.endswith("#2") and "The pier opens in May." in second.text
    assert "x()" not in second.text


def test_rst_title_and_discovery_of_every_format(tmp_path: Path) -> None:
    (tmp_path / "guide.rst").write_text("=====\nPiers\n=====\n\nThe pier is 300 m long.\n")
    [document] = load_file(tmp_path / "guide.rst")
    assert document.title == "Piers"
    write_pptx(tmp_path / "deck.pptx")
    write_epub(tmp_path / "tales.epub")
    (tmp_path / "tides.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.odt").write_text("not read")
    found = {p.name for p in discover([tmp_path])}
    assert found == {"guide.rst", "deck.pptx", "tales.epub", "tides.csv"}
