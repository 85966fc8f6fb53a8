"""Text out of raw files: decoding, tidying, HTML as a reader sees it, zip guards, and the
Document records the loaders return."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from indexing.documents import Document
from indexing.errors import SkipFile

_BINARY_SNIFF_BYTES = 8192
# Text and HTML are read whole (HTML parsers hold a tree several times the file's size), so
# files past this are refused before reading: ~3,000 pages of prose, far beyond a document.
MAX_TEXT_FILE_BYTES = 16 * 2**20
# Office files and e-books are zips their readers inflate completely: refuse archives that
# would expand past this, or that claim impossible compression (zip bombs), before opening.
MAX_UNZIPPED_BYTES = 256 * 2**20
_MAX_ZIP_RATIO = 200
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML and legacy .doc/.ppt/.xls
_CHAOS_TOLERANCE = 0.15
PAGE_BREAK = "\n\n"
_BLANK_RUNS = re.compile(r"\n\s*\n+")


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


def tidy(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def one_document(path: Path, title: str, text: str) -> list[Document]:
    text = tidy(text)
    if not text:
        raise SkipFile("no text in file")
    return [Document(uri=str(path), source=str(path), title=title.strip() or path.stem, text=text)]


def read_text_bytes(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_TEXT_FILE_BYTES:
        raise SkipFile(
            f"too large: {size / 2**20:.1f} MB of text, the limit is "
            f"{MAX_TEXT_FILE_BYTES / 2**20:g} MB (split the file)"
        )
    return path.read_bytes()


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


def html_text(markup: str | bytes) -> tuple[str, str]:
    """(title, text) of an HTML page as a reader sees it: no scripts, navigation, hidden
    elements or comments; blocks on their own lines; code keeping its layout."""
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(markup, "lxml")
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
    return title, "\n".join(lines)


def paged_document(path: Path, title: str, pages: Sequence[str]) -> Document:
    """One document of pages joined by blank lines, knowing where each page starts, so a
    chunk can be cited by page."""
    starts, parts, offset = [], [], 0
    for page in pages:
        text = tidy(page)
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


def check_zip(path: Path) -> None:
    """Refuse a zip bomb from its directory alone (zipfile never inflates past declared
    sizes), and name encrypted or legacy Office files, which are not zips at all."""
    with path.open("rb") as handle:
        if handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
            raise SkipFile(
                f"encrypted (password-protected) or legacy binary Office file, not {path.suffix}"
            )
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise SkipFile(
            f"zip bomb? {path.suffix} would expand to {total / 2**20:.0f} MB, the limit is "
            f"{MAX_UNZIPPED_BYTES / 2**20:g} MB"
        )
    if total > 2**20 and total > _MAX_ZIP_RATIO * max(packed, 1):
        raise SkipFile(f"zip bomb? {path.suffix} compresses {total // max(packed, 1)}:1")
