"""Documents, chunks and their FTS5 lexical index in one SQLite file, through sqlite-utils.

The FTS5 table is kept in step with the chunks table in the same transaction: new chunks
are indexed with one set-based insert per batch (a per-row trigger cost 2.5x as much at a
million chunks), deletions and updates follow by trigger.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from indexing.documents import Chunk, Document, pages_of

# 2: documents.page_starts and documents.ocr_pages (JSON lists, or NULL); version-1 files
# are upgraded when a new version is written and read as page-less until then
SCHEMA_VERSION = 2
_PAGE_COLUMNS = ("page_starts", "ocr_pages")
_INSERT_TRIGGER = "chunks_ai"  # sqlite-utils' per-row FTS insert trigger, replaced by add_files


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back for retrieval: text plus where it came from."""

    id: int
    doc_uri: str
    source: str
    title: str
    text: str
    start: int
    end: int
    pages: tuple[int, int] | None = None  # first and last page, for documents with pages
    ocr: bool = False  # text of a scanned page, read by OCR


def _json_or_null(values: tuple[int, ...]) -> str | None:
    return json.dumps(list(values)) if values else None


def _page_facts(
    start: int, end: int, page_starts: str | None, ocr_pages: str | None
) -> tuple[tuple[int, int] | None, bool]:
    """A chunk's first and last page, and whether any of them was read by OCR."""
    if not page_starts:
        return None, False
    pages = pages_of(json.loads(page_starts), start, end)
    scanned = set(json.loads(ocr_pages or "[]"))
    return pages, pages is not None and any(p in scanned for p in range(pages[0], pages[1] + 1))


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    size: int


class ChunkStore:
    """The SQLite side of an index: files, documents, chunks, FTS5 and build metadata."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        if readonly:
            # published versions never change, so readers skip locking altogether
            uri = f"file:{path}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False)
            # durability comes from fsync + rename when the version is published
            conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        if not readonly:
            self._create_schema()
        self._paged = set(_PAGE_COLUMNS) <= set(self.db["documents"].columns_dict)

    def _create_schema(self) -> None:
        db = self.db
        if "files" in db.table_names():
            db.execute(f"DROP TRIGGER IF EXISTS {_INSERT_TRIGGER}")
            missing = [c for c in _PAGE_COLUMNS if c not in db["documents"].columns_dict]
            if missing:
                with db.conn:
                    for column in missing:
                        db["documents"].add_column(column, str)
                    self.set_meta({"schema_version": SCHEMA_VERSION})
            return
        with db.conn:
            db["files"].create({"path": str, "sha256": str, "size": int}, pk="path")
            db["documents"].create(
                {
                    "id": int,
                    "uri": str,
                    "file": str,
                    "title": str,
                    "text": str,
                    "page_starts": str,
                    "ocr_pages": str,
                },
                pk="id",
                foreign_keys=[("file", "files", "path")],
            )
            db["documents"].create_index(["uri"], unique=True)
            db["documents"].create_index(["file"])
            db["chunks"].create(
                {
                    "id": int,
                    "doc_id": int,
                    "ordinal": int,
                    "title": str,
                    "text": str,
                    "start": int,
                    "end": int,
                },
                pk="id",
                foreign_keys=[("doc_id", "documents", "id")],
            )
            db["chunks"].create_index(["doc_id"])
            db["chunks"].enable_fts(["title", "text"], tokenize="porter", create_triggers=True)
            db.execute(f"DROP TRIGGER {_INSERT_TRIGGER}")
            db["meta"].create({"key": str, "value": str}, pk="key")
            self.set_meta({"schema_version": SCHEMA_VERSION})

    def set_meta(self, values: dict[str, object]) -> None:
        self.db["meta"].upsert_all(
            [{"key": k, "value": json.dumps(v)} for k, v in values.items()], pk="key"
        )

    def meta(self) -> dict[str, object]:
        return {row["key"]: json.loads(row["value"]) for row in self.db["meta"].rows}

    def files(self) -> dict[str, FileRecord]:
        return {row["path"]: FileRecord(**row) for row in self.db["files"].rows}

    def add_file(
        self, record: FileRecord, documents: Sequence[Document], chunks: Sequence[Sequence[Chunk]]
    ) -> list[int]:
        """Insert one file with its documents and chunks; returns the new chunk ids."""
        return self.add_files([(record, documents, chunks)])

    def add_files(
        self, files: Sequence[tuple[FileRecord, Sequence[Document], Sequence[Sequence[Chunk]]]]
    ) -> list[int]:
        """Insert files with their documents and chunks; returns the new chunk ids in order.

        Rows go in with `executemany` and ids assigned here (one writer per version), which
        keeps a million-chunk build at SQLite's speed rather than a round trip per row; FTS5
        indexes the new chunks in one statement. The caller wraps this in a transaction
        (`with store.db.conn:`).
        """
        conn = self.db.conn
        next_doc = self._next_id("documents")
        first_chunk = next_chunk = self._next_id("chunks")
        file_rows, doc_rows, chunk_rows = [], [], []
        for record, documents, chunks in files:
            file_rows.append((record.path, record.sha256, record.size))
            for document, doc_chunks in zip(documents, chunks, strict=True):
                doc_rows.append(
                    (
                        next_doc,
                        document.uri,
                        record.path,
                        document.title,
                        document.text,
                        _json_or_null(document.page_starts),
                        _json_or_null(document.ocr_pages),
                    )
                )
                for chunk in doc_chunks:
                    chunk_rows.append(
                        (
                            next_chunk,
                            next_doc,
                            chunk.ordinal,
                            chunk.title,
                            chunk.text,
                            chunk.start,
                            chunk.end,
                        )
                    )
                    next_chunk += 1
                next_doc += 1
        conn.executemany("INSERT INTO files (path, sha256, size) VALUES (?, ?, ?)", file_rows)
        conn.executemany(
            "INSERT INTO documents (id, uri, file, title, text, page_starts, ocr_pages) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            doc_rows,
        )
        conn.executemany(
            'INSERT INTO chunks (id, doc_id, ordinal, title, text, "start", "end") '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            chunk_rows,
        )
        conn.execute(
            "INSERT INTO chunks_fts (rowid, title, text) "
            "SELECT id, title, text FROM chunks WHERE id >= ?",
            [first_chunk],
        )
        return [row[0] for row in chunk_rows]

    def _next_id(self, table: str) -> int:
        return int(self.db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def remove_file(self, path: str) -> list[int]:
        """Delete a file, its documents and chunks (FTS follows by trigger); returns chunk ids."""
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT chunks.id FROM chunks JOIN documents ON chunks.doc_id = documents.id "
                "WHERE documents.file = ?",
                [path],
            )
        ]
        self.db.execute(
            "DELETE FROM chunks WHERE doc_id IN (SELECT id FROM documents WHERE file = ?)", [path]
        )
        self.db.execute("DELETE FROM documents WHERE file = ?", [path])
        self.db.execute("DELETE FROM files WHERE path = ?", [path])
        return ids

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        pages = "documents.page_starts, documents.ocr_pages" if self._paged else "NULL, NULL"
        rows = self.db.execute(
            "SELECT chunks.id, documents.uri, documents.file, chunks.title, chunks.text, "
            f"chunks.start, chunks.end, {pages} FROM chunks "
            f"JOIN documents ON chunks.doc_id = documents.id WHERE chunks.id IN ({marks})",
            ids,
        ).fetchall()
        return {row[0]: StoredChunk(*row[:7], *_page_facts(*row[5:9])) for row in rows}

    def document_text(self, uri: str) -> str | None:
        row = self.db.execute("SELECT text FROM documents WHERE uri = ?", [uri]).fetchone()
        return row[0] if row else None

    def page_bounds(self, uri: str, pages: tuple[int, int]) -> tuple[int, int]:
        """Where page `pages[0]` starts and page `pages[1]` ends in the document's text."""
        row = self.db.execute(
            "SELECT page_starts, length(text) FROM documents WHERE uri = ?", [uri]
        ).fetchone()
        if row is None or not row[0]:
            return 0, 0
        starts, length = json.loads(row[0]), row[1]
        first, last = pages
        return starts[first - 1], starts[last] if last < len(starts) else length

    def chunk_ids(self) -> list[int]:
        return [row[0] for row in self.db.execute("SELECT id FROM chunks ORDER BY id")]

    def counts(self) -> dict[str, int]:
        return {name: self.db[name].count for name in ("files", "documents", "chunks")}

    def close(self) -> None:
        self.db.conn.close()
