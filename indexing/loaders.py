"""Read supported files into Documents; anything unreadable raises SkipFile with the reason."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from indexing.documents import Document
from indexing.errors import SkipFile

log = logging.getLogger(__name__)

_BINARY_SNIFF_BYTES = 8192
# Text and HTML are read whole (HTML parsers hold a tree several times the file's size), so
# files past this are refused before reading: ~3,000 pages of prose, far beyond a document.
MAX_TEXT_FILE_BYTES = 16 * 2**20
# A .docx is a zip that python-docx inflates completely: refuse archives that would expand
# past this, or that claim impossible compression (zip bombs), before opening them.
MAX_DOCX_UNCOMPRESSED_BYTES = 256 * 2**20
_MAX_DOCX_RATIO = 200
_CHAOS_TOLERANCE = 0.15
PAGE_BREAK = "\n\n"
_BLANK_RUNS = re.compile(r"\n\s*\n+")
_MD_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_MD_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def decode_text(data: bytes) -> str:
    """Decode bytes that should be text: UTF-8 first, then the best detected encoding."""
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise SkipFile("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise SkipFile("not text in any known encoding")
    # Single-byte Latin code pages are hard to tell apart; windows-1252 is by far the most
    # common one, so it wins whenever it reads about as cleanly as the statistical favourite.
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + _CHAOS_TOLERANCE:
        return str(western)
    return str(best)


def _tidy(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _one(path: Path, title: str, text: str) -> list[Document]:
    text = _tidy(text)
    if not text:
        raise SkipFile("no text in file")
    return [Document(uri=str(path), source=str(path), title=title.strip() or path.stem, text=text)]


def _read_text_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise SkipFile(
            f"too large: {size / 2**20:.1f} MB of text, the limit is "
            f"{MAX_TEXT_FILE_BYTES / 2**20:g} MB (split the file)"
        )
    return path.read_bytes()


def load_text(path: Path) -> list[Document]:
    text = decode_text(_read_text_bytes(path))
    title = path.stem
    if path.suffix.lower() == ".md":
        text = _MD_COMMENT.sub("", text)  # rendered markdown never shows them
        heading = _MD_HEADING.search(text)
        if heading:
            title = heading.group(1)
    return _one(path, title, text)


_BLOCK_TAGS = [
    "p",
    "div",
    "section",
    "article",
    "li",
    "dt",
    "dd",
    "pre",
    "blockquote",
    "table",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
]
_CODE_MARK = "\ue000"  # private-use character: cannot clash with the page's own text
_SPACE_RUN = re.compile(r"\s+")
_CODE_LINE = re.compile(f"{_CODE_MARK}(\\d+){_CODE_MARK}")
_HTML_NOISE = ["script", "style", "noscript", "template", "nav", "header", "footer", "form"]


_HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)


def _hidden_from_readers(tag) -> bool:
    """Elements a page hides (the `hidden` attribute, display:none, visibility:hidden): text
    planted there for models, such as injected instructions, never reaches the index."""
    return tag.has_attr("hidden") or bool(_HIDDEN_STYLE.search(tag.get("style", "")))


def load_html(path: Path) -> list[Document]:
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(decode_text(_read_text_bytes(path)), "lxml")
    for tag in soup(_HTML_NOISE):
        tag.decompose()
    for tag in soup.find_all(_hidden_from_readers):  # what a browser never shows the reader
        if not tag.decomposed:  # an element inside one already removed
            tag.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    for anchor in soup.select("a.headerlink"):  # Sphinx's pilcrow links
        anchor.decompose()
    # documentation generators put the page body in <main> or role=main; the rest is navigation
    body = soup.find("main") or soup.find(attrs={"role": "main"}) or soup.body or soup
    h1 = body.find("h1")
    title = h1.get_text(" ", strip=True) if h1 else ""
    if not title and soup.title:
        title = soup.title.get_text(" ", strip=True)
    # as a browser does: whitespace runs are one space, except in code, which keeps its layout
    for string in body.find_all(string=True):
        if string.find_parent("pre") is None:
            string.replace_with(_SPACE_RUN.sub(" ", string))
    code = []
    for pre in body.find_all("pre"):
        code.append(pre.get_text().strip("\n"))
        pre.replace_with(f"\n{_CODE_MARK}{len(code) - 1}{_CODE_MARK}\n")
    for block in body.find_all(_BLOCK_TAGS):
        block.insert_after("\n")
    lines = []
    for line in body.get_text().splitlines():
        mark = _CODE_LINE.fullmatch(line.strip())
        lines.append(code[int(mark.group(1))] if mark else " ".join(line.split()))
    return _one(path, title, "\n".join(lines))


def load_pdf(path: Path) -> list[Document]:
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
    if not any(p.strip() for p in pages):
        raise SkipFile("PDF has no extractable text (scanned images?)")
    return [paged_document(path, str(meta_title) or path.stem, pages)]


def paged_document(path: Path, title: str, pages: Sequence[str]) -> Document:
    """One document of pages joined by blank lines, knowing where each page starts, so a
    chunk can be cited by page."""
    starts, parts, offset = [], [], 0
    for page in pages:
        text = _tidy(page)
        starts.append(offset)
        parts.append(text)
        offset += len(text) + len(PAGE_BREAK)
    return Document(
        uri=str(path),
        source=str(path),
        title=title.strip() or path.stem,
        text=PAGE_BREAK.join(parts),
        page_starts=tuple(starts),
    )


def _check_zip_expansion(path: Path) -> None:
    """Refuse a zip bomb from its directory alone; zipfile never inflates past declared sizes."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > MAX_DOCX_UNCOMPRESSED_BYTES:
        raise SkipFile(
            f"zip bomb? .docx would expand to {total / 2**20:.0f} MB, the limit is "
            f"{MAX_DOCX_UNCOMPRESSED_BYTES / 2**20:g} MB"
        )
    if total > 2**20 and total > _MAX_DOCX_RATIO * max(packed, 1):
        raise SkipFile(f"zip bomb? .docx compresses {total // max(packed, 1)}:1")


def load_docx(path: Path) -> list[Document]:
    import docx
    from docx.opc.exceptions import OpcError

    try:
        _check_zip_expansion(path)
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SkipFile(f"corrupt .docx ({type(exc).__name__}: {exc})") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    title = document.core_properties.title or ""
    if not title:
        heading = next(
            (p.text for p in document.paragraphs if p.style.name.startswith("Heading")), ""
        )
        title = heading or path.stem
    return _one(path, title, "\n".join(parts))


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
            text = _tidy(text)
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
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".jsonl": load_beir_jsonl,
}


def load_file(path: Path) -> list[Document]:
    """Load one file by its suffix; raises SkipFile naming the reason for anything unusable."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SkipFile(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        if path.stat().st_size == 0:
            raise SkipFile("empty file")
        return loader(path)
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


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield supported files under the given files and folders, skipping hidden entries.

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
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                candidate = Path(folder, name)
                if name.startswith(".") or candidate.suffix.lower() not in LOADERS:
                    continue
                if _is_special(candidate):
                    log.warning("skipped %s: not a regular file", candidate)
                    continue
                yield _canonical(candidate)


def _warn_unreadable(error: OSError) -> None:
    log.warning("skipped folder %s: %s", error.filename, error.strerror or error)
