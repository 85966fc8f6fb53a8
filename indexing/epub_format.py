"""EPUB: a zip of XHTML chapters; the package file (OPF) names them in reading order.

Read with zipfile and our HTML extraction rather than EbookLib, whose AGPL licence would bind
this Apache-2.0 project.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from indexing.documents import Document
from indexing.errors import SkipFile
from indexing.extract import check_zip, html_text, one_document

_CONTAINER = "META-INF/container.xml"


def load_epub(path: Path) -> list[Document]:
    from bs4 import BeautifulSoup

    try:
        check_zip(path)
        with zipfile.ZipFile(path) as book:
            if book.getinfo(_CONTAINER).flag_bits & 0x1:
                raise SkipFile("encrypted EPUB")
            container = BeautifulSoup(book.read(_CONTAINER), "xml")
            opf_path = container.find("rootfile")["full-path"]
            opf = BeautifulSoup(book.read(opf_path), "xml")
            folder = posixpath.dirname(opf_path)
            items = {i["id"]: i for i in opf.find_all("item") if i.get("id") and i.get("href")}
            chapters = []
            for ref in opf.find_all("itemref"):
                item = items.get(ref.get("idref"))
                if item is None or "html" not in item.get("media-type", ""):
                    continue
                member = posixpath.normpath(posixpath.join(folder, item["href"]))
                chapters.append(html_text(book.read(member))[1])
    except SkipFile:
        raise
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, OSError) as exc:
        raise SkipFile(f"corrupt EPUB ({type(exc).__name__}: {exc})") from exc
    title_tag = opf.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else path.stem
    return one_document(path, title, "\n\n".join(chapters))
