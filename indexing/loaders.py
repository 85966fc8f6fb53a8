"""Read supported files into Documents; anything unreadable raises SkipFile with the reason."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from fnmatch import fnmatchcase
from pathlib import Path, PurePath

from indexing.documents import Document
from indexing.epub_format import load_epub
from indexing.errors import SkipFile
from indexing.extract import (
    decode_text,
    html_text,
    one_document,
    paged_document,
    read_text_bytes,
    tidy,
)
from indexing.mail_formats import load_eml, load_mbox
from indexing.ocr import OcrOptions, read_pages, unavailable
from indexing.office_formats import load_csv, load_docx, load_pptx, load_xlsx
from indexing.rest_text import inline_text, rest_text

log = logging.getLogger(__name__)

# a page with fewer words than this in its text layer is treated as a scan (page numbers and
# running heads survive in many scanned PDFs)
_MIN_TEXT_LAYER_WORDS = 5
_MD_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_MD_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
# reStructuredText: a title is a line under (and maybe over) a line of one punctuation mark
_RST_TITLE = re.compile(r"^(?:([=\-~^*#+])\1+\n)?(\S.*?)\s*\n([=\-~^*#+])\3+\s*$", re.MULTILINE)
# plain text: an opening line of at most 100 characters set apart by a blank line, which
# does not end as a sentence or a salutation does ("Dear Anna,")
_TEXT_TITLE = re.compile(r"\A\s*(\S[^\n]{0,99}?)[ \t]*\r?\n[ \t]*\r?\n")


def load_text(path: Path) -> list[Document]:
    text = decode_text(read_text_bytes(path))
    title = path.stem
    if path.suffix.lower() == ".md":
        text = _MD_COMMENT.sub("", text)  # rendered markdown never shows them
        heading = _MD_HEADING.search(text)
        if heading:
            title = heading.group(1)
    if _is_rest(path):
        heading = _RST_TITLE.search(text)
        if heading:
            title = inline_text(heading.group(2))
        text = rest_text(text)
    elif path.suffix.lower() == ".txt":
        title = _text_title(text) or title
    return one_document(path, title, text)


def _is_rest(path: Path) -> bool:
    """reStructuredText: `.rst`, or `.rst.txt` as Sphinx copies its sources into a build."""
    return path.name.lower().endswith((".rst", ".rst.txt"))


def _text_title(text: str) -> str | None:
    """A plain-text file's title line, as a Markdown file's first heading is its title. Each
    chunk is read under its title, and the file's name says little: over a file "doc.txt"
    the reranker scored "It was designed by the engineer Mara Quillon" for who designed the
    Tessaly river bridge 0.75 under "doc" and 0.97 under "Tessaly river bridge"."""
    line = _TEXT_TITLE.match(text)
    if line is None or line.group(1)[-1] in ".!?,;:" or not any(c.isalpha() for c in line.group(1)):
        return None
    return line.group(1)


def load_html(path: Path) -> list[Document]:
    title, text = html_text(decode_text(read_text_bytes(path)))
    return one_document(path, title, text)


def load_pdf(path: Path, ocr: OcrOptions | None = None) -> list[Document]:
    """Pages from the text layer; pages without one (scans) by OCR where it is available."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise SkipFile(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    blank = [i for i, page in enumerate(pages) if len(page.split()) < _MIN_TEXT_LAYER_WORDS]
    read_by_ocr: list[int] = []
    if blank:
        options = ocr or OcrOptions()
        reason = unavailable(options)
        if reason is None:
            for i, text in read_pages(path, blank, options).items():
                if text.strip():
                    pages[i] = text
                    read_by_ocr.append(i + 1)
        elif len(blank) == len(pages):
            raise SkipFile(f"PDF has no text layer (scanned?) and {reason}")
        else:
            log.warning("%s: %d page(s) without text left out: %s", path, len(blank), reason)
    if not any(p.strip() for p in pages):
        raise SkipFile("PDF has no text, not even by OCR")
    document = paged_document(path, str(meta_title) or path.stem, pages)
    return [dataclasses.replace(document, ocr_pages=tuple(read_by_ocr))]


def load_beir_jsonl(path: Path) -> list[Document]:
    """One document per line: {"_id", "title", "text"} as in BEIR corpora."""
    docs: list[Document] = []
    seen: set[str] = set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                doc_id, text = str(row["_id"]), str(row.get("text") or "")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise SkipFile(f"line {number}: not JSON ({exc})") from exc
            except (KeyError, TypeError) as exc:
                raise SkipFile(f"line {number}: needs fields _id and text") from exc
            if doc_id in seen:
                raise SkipFile(f"line {number}: duplicate _id {doc_id!r}")
            seen.add(doc_id)
            text = tidy(text)
            if text:
                title = str(row.get("title") or "").strip() or doc_id
                docs.append(Document(f"{path}#{doc_id}", str(path), title, text))
    if not docs:
        raise SkipFile("no documents with text")
    return docs


LOADERS: dict[str, Callable[[Path], list[Document]]] = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".rst": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
    ".epub": load_epub,
    ".eml": load_eml,
    ".mbox": load_mbox,
    ".jsonl": load_beir_jsonl,
}


def load_file(path: Path, ocr: OcrOptions | None = None) -> list[Document]:
    """Load one file by its suffix; raises SkipFile naming the reason for anything unusable.
    `ocr`: how to read scanned PDF pages (default OcrOptions())."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SkipFile(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        if path.stat().st_size == 0:
            raise SkipFile("empty file")
        return load_pdf(path, ocr) if loader is load_pdf else loader(path)
    except PermissionError as exc:
        raise SkipFile("permission denied") from exc
    except SkipFile:
        raise
    except Exception as exc:
        raise SkipFile(f"unreadable ({type(exc).__name__}: {exc})") from exc


def _canonical(path: Path) -> Path:
    """The resolved path; a symlink loop keeps its own name, so hashing it reports the loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


def _is_special(path: Path) -> bool:
    """FIFOs, sockets and devices (also behind links): reading one could block forever."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:  # dangling link or loop: the indexer reports it when it tries to read
        return False


def discover(paths: Iterable[Path], exclude: Sequence[str] = ()) -> Iterator[Path]:
    """Yield supported files under the given files and folders, skipping hidden entries,
    those `exclude` names (see `excluded`) and a Sphinx build's `_sources` (see
    `_sphinx_sources`); a file or folder given by name is indexed whatever it matches.

    Symlinked folders are not followed, so link loops cannot trap the walk; special files
    (FIFOs, devices) are left out with a warning, since reading one may never return.
    """
    for root in paths:
        if root.is_file():
            yield _canonical(root)
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {root}")
        for folder, dirs, files in os.walk(root, onerror=_warn_unreadable):
            under = Path(folder).relative_to(root)
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and not excluded(under / d, exclude)
                and not _sphinx_sources(Path(folder), d)
            )
            for name in sorted(files):
                candidate = Path(folder, name)
                if name.startswith(".") or candidate.suffix.lower() not in LOADERS:
                    continue
                if excluded(under / name, exclude):
                    continue
                if _is_special(candidate):
                    log.warning("skipped %s: not a regular file", candidate)
                    continue
                yield _canonical(candidate)


def _sphinx_sources(folder: Path, name: str) -> bool:
    """Whether `name` is the `_sources` folder of a Sphinx HTML build, which keeps the reST
    source of every page for its "Show Source" link: indexed, each page costs twice the
    embedding (Python's documentation: 1,027 files and 9.4 min against 530 and 5.2) and its
    copy competes with the page for the places the generator reads."""
    if name != "_sources":
        return False
    try:
        with (folder / ".buildinfo").open(encoding="utf-8", errors="replace") as handle:
            sphinx = handle.readline().startswith("# Sphinx build info")
    except OSError:
        return False
    if sphinx:
        log.warning(
            "left out %s: a Sphinx build's copies of its pages' sources (give it by name to "
            "index it)",
            folder / name,
        )
    return sphinx


def excluded(relative: PurePath, patterns: Sequence[str]) -> bool:
    """Whether a path under an indexed folder, or a folder it is in, matches a pattern, read as
    .gitignore reads one: without a slash it names a file or folder at any depth ("archive",
    "*.log"), with one a path from the indexed folder ("drafts/*.md", "build/html/_static")."""
    parts = relative.parts
    for pattern in patterns:
        pattern = pattern.strip("/")
        if "/" not in pattern:
            if any(fnmatchcase(part, pattern) for part in parts):
                return True
        elif any(fnmatchcase("/".join(parts[:k]), pattern) for k in range(1, len(parts) + 1)):
            return True
    return False


def folders_among(paths: Iterable[Path]) -> list[Path]:
    """The folders among `paths`, resolved as `discover` resolves the files under them."""
    return [_canonical(path) for path in paths if path.is_dir()]


def _warn_unreadable(error: OSError) -> None:
    log.warning("skipped folder %s: %s", error.filename, error.strerror or error)
