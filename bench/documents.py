"""Documents as people have them: per format, files tried, indexed and skipped (with the
reason); OCR speed and character accuracy on pages rendered from known text; and the watch
loop's delay from saving a file to answering from it.

The sample files are written by the same helpers the tests use (real python-pptx, openpyxl,
reportlab and pdfium output), each next to its broken variants.

    python bench/documents.py --ocr-pages 3
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from common import print_result, setup_logging

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' file writers

from app.qa import QA
from app.settings import Settings
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.extract import html_text
from indexing.index_dir import IndexDir
from indexing.loaders import load_file
from indexing.watch import watch
from tests.conftest import write_docx, write_pdf
from tests.test_formats import mail_message, write_epub, write_pptx
from tests.test_hostile_loaders import zip_bomb
from tests.test_ocr import scanned_pdf

TUTORIAL = Path(__file__).resolve().parents[1] / "corpora" / "python-tutorial"


def sample_folder(folder: Path) -> None:
    """Good files of every format, and for each its empty, truncated or hostile variants."""
    folder.mkdir(parents=True)
    good = {
        "notes.txt": b"The Orvane ferry leaves at seven.",
        "guide.rst": b"Piers\n=====\n\nThe pier is 300 m long.\n",
        "tides.csv": b"port,high tide\nValmora,06:12\n",
    }
    for name, data in good.items():
        (folder / name).write_bytes(data)
    write_pdf(folder / "report.pdf", "Survey", "The glacier retreated 212 metres. " * 20)
    scanned_pdf(folder / "scan.pdf", ["The Tarnvik glacier retreated 212 metres."])
    write_docx(folder / "memo.docx", "Memo", "The bakery switched to rye flour. " * 20)
    write_pptx(folder / "deck.pptx")
    write_epub(folder / "tales.epub")
    (folder / "note.eml").write_bytes(bytes(mail_message("Survey", "It retreated 212 metres.")))
    import mailbox

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["ferry", "departs"])
    workbook.active.append(["Orvane", "07:00"])
    workbook.save(folder / "timetable.xlsx")
    box = mailbox.mbox(folder / "inbox.mbox")
    box.add(mail_message("First", "The ferry is late."))
    box.close()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        (folder / f"empty{path.suffix}").write_bytes(b"")
        (folder / f"truncated{path.suffix}").write_bytes(data[: len(data) // 3])
    for suffix in (".docx", ".pptx", ".xlsx", ".epub"):
        zip_bomb(folder / f"bomb{suffix}", 300)
        (folder / f"encrypted{suffix}").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 64)


def formats_table(folder: Path, embedder: Embedder) -> list[dict[str, object]]:
    index = folder.parent / "idx"
    report = IndexBuilder(IndexDir(index), embedder, BuildOptions(progress=False)).run([folder])
    rows: dict[str, dict[str, object]] = defaultdict(
        lambda: {"tried": 0, "indexed": 0, "skipped": 0, "reasons": set()}
    )
    for path in report.indexed:
        row = rows[Path(path).suffix]
        row["tried"] += 1
        row["indexed"] += 1
    for path, reason in report.skipped:
        row = rows[Path(path).suffix]
        row["tried"] += 1
        row["skipped"] += 1
        row["reasons"].add(reason.split(" (")[0][:48])
    return [
        {
            "format": suffix,
            **{k: v for k, v in row.items() if k != "reasons"},
            "skip reasons": "; ".join(sorted(row["reasons"])),
        }
        for suffix, row in sorted(rows.items())
    ]


def ocr_figures(folder: Path, pages: int) -> dict[str, float]:
    """Pages of the Python tutorial's prose rendered at 200 dpi as image-only PDFs, read back."""
    _, prose = html_text((TUTORIAL / "introduction.html").read_text())
    words = prose.split()
    truth_chars, seconds, ratios = 0, 0.0, []
    for n in range(pages):
        lines = [" ".join(words[i : i + 11]) for i in range(n * 440, n * 440 + 440, 11)]
        path = folder / f"ocr{n}.pdf"
        scanned_pdf(path, lines)
        begun = time.perf_counter()
        [document] = load_file(path)
        seconds += time.perf_counter() - begun
        truth = " ".join(lines)
        read = " ".join(document.text.split())
        ratios.append(difflib.SequenceMatcher(None, read, truth, autojunk=False).ratio())
        truth_chars += len(truth)
    return {
        "pages": pages,
        "chars/s": truth_chars / seconds,
        "s/page": seconds / pages,
        "char accuracy": sum(ratios) / len(ratios),
    }


def watch_delay(folder: Path, embedder: Embedder, rounds: int) -> list[float]:
    """Seconds from writing a new file to the first retrieval that returns it."""
    watched, index = folder / "watched", folder / "watched-idx"
    watched.mkdir()
    (watched / "first.txt").write_text("The Orvane ferry leaves at seven.")
    builder = IndexBuilder(IndexDir(index), embedder, BuildOptions(progress=False))
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=watch, args=(builder, [watched], lambda _: ready.set(), 1.0, stop)
    )
    thread.start()
    ready.wait(120)
    qa = QA(Settings(index=index, retrieval={"reranker": ""}))
    delays = []
    try:
        for n in range(rounds):
            fact = f"Pier number {n} of Kallum harbour is painted vermilion."
            saved = time.perf_counter()
            (watched / f"pier{n}.txt").write_text(fact)
            while True:
                qa.reload()
                if any(p.text == fact for p in qa.retrieve(f"Kallum pier {n} vermilion")):
                    break
                time.sleep(0.05)
            delays.append(time.perf_counter() - saved)
    finally:
        stop.set()
        thread.join()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocr-pages", type=int, default=3)
    parser.add_argument("--watch-rounds", type=int, default=5)
    args = parser.parse_args()
    setup_logging()
    embedder = Embedder("all-MiniLM-L6-v2")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        sample_folder(folder)
        rows = formats_table(folder, embedder)
        ocr = ocr_figures(Path(tmp), args.ocr_pages)
        delays = watch_delay(Path(tmp), embedder, args.watch_rounds)
    print_result("documents: formats", rows, {})
    print_result("OCR (Tesseract, 300 dpi, pages rendered at 200 dpi)", [ocr], {})
    delay_row = {"rounds": len(delays), "min s": min(delays), "max s": max(delays)}
    print_result("watch: save to answerable (quiet period 1 s)", [delay_row], {})


if __name__ == "__main__":
    main()
