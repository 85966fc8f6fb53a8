"""Everything the web page does to the pipeline, shared by all browser sessions of one server.

One `QA` per generator choice (the embedder and reranker inside are loaded once per process
by `indexing.models.load_once`, so a second choice costs only its own generator). Indexing runs
one at a time behind a lock; every `QA` switches to the newest published version on its next
use (`qa()` calls `QA.reload()`), whoever published it, while questions already running
finish on the version they started with.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.answer import AnswerStream
from app.qa import QA, History
from app.settings import Settings
from app.web.uploads import data_folder, is_inside, safe_name, store_upload
from generation.engines import GeneratorSettings
from generation.engines.factory import resolved_engine
from indexing.builder import BuildReport, IndexBuilder
from indexing.embedding import Embedder
from indexing.errors import MinigiantError
from indexing.index_dir import IndexDir
from retrieval.passages import Passage

CONTEXT_CHARS = 400  # document text shown around a cited passage


class QueueFull(MinigiantError):
    """More questions wait than `web.queue_size` allows."""


class AnswerSlots:
    """At most `concurrency` answers at a time and `queue_size` waiting, across the page's
    chat and the HTTP APIs: both draw on the same generator."""

    def __init__(self, concurrency: int, queue_size: int):
        self._free = threading.BoundedSemaphore(concurrency)
        self._queue_size = queue_size
        self._waiting = 0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._waiting >= self._queue_size:
                raise QueueFull(
                    f"{self._waiting} questions are waiting already (web.queue_size); "
                    "try again shortly"
                )
            self._waiting += 1
        try:
            self._free.acquire()
        finally:
            with self._lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._free.release()


@dataclass(frozen=True)
class FileResult:
    """What became of one uploaded file, in words a user can act on."""

    name: str
    status: Literal["indexed", "unchanged", "skipped"]
    detail: str


@dataclass(frozen=True)
class IndexedFile:
    path: str
    size: int
    chunks: int
    uploaded: bool  # lives in the index's data folder (deleting removes the file too)

    @property
    def name(self) -> str:
        return Path(self.path).name


def generator_label(settings: GeneratorSettings) -> str:
    return f"{settings.model} ({resolved_engine(settings)})"


class WebService:
    """The pipeline behind the page: ask, upload, list, remove, show a passage in context."""

    def __init__(self, settings: Settings):
        self.settings = settings
        choices = [settings.generator, *settings.web.generators]
        self.generators = {generator_label(g): g for g in choices}
        self.default_model = generator_label(settings.generator)
        self.index_dir = IndexDir(settings.index)
        self.data_dir = data_folder(settings.index)
        self.max_upload_bytes = int(settings.web.max_upload_mb * 1024 * 1024)
        self._qas: dict[str, QA] = {}
        self._qa_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._builder: IndexBuilder | None = None
        self._slots = AnswerSlots(settings.web.chat_concurrency, settings.web.queue_size)

    def slot(self):
        """Hold one of the answer slots the page and the APIs share (QueueFull if too many
        wait)."""
        return self._slots.slot()

    # --- questions -------------------------------------------------------------------------

    def qa(self, model: str | None = None) -> QA:
        """The pipeline for one generator choice, opened on first use, on the index's newest
        version."""
        label = model or self.default_model
        if label not in self.generators:
            raise MinigiantError(f"unknown model {label!r}; choose one of {list(self.generators)}")
        with self._qa_lock:
            qa = self._qas.get(label)
            if qa is None:
                if not self.index_dir.exists():
                    raise MinigiantError(
                        "the index is empty: add documents in the Documents tab first"
                    )
                qa = QA(self.settings.model_copy(update={"generator": self.generators[label]}))
                self._qas[label] = qa
        qa.reload()  # a version published since by another process (minigiant index --watch)
        return qa

    def warm_up(self) -> None:
        """Load the default models before the first visitor asks, if there is an index yet."""
        if self.index_dir.exists():
            self.qa().warm_up()

    def ask_stream(
        self,
        question: str,
        top_n: int | None = None,
        rerank: bool = True,
        temperature: float | None = None,
        model: str | None = None,
        history: History | None = None,
    ) -> AnswerStream:
        return self.qa(model).ask_stream(
            question, top_n=top_n, rerank=rerank, temperature=temperature, history=history
        )

    @property
    def has_reranker(self) -> bool:
        return bool(self.settings.retrieval.reranker)

    # --- what the index holds --------------------------------------------------------------

    def files(self) -> list[IndexedFile]:
        if not self.index_dir.exists():
            return []
        store = self.qa().reader.store  # one version for the whole listing
        rows = store.db.execute(
            "SELECT files.path, files.size, count(chunks.id) FROM files "
            "LEFT JOIN documents ON documents.file = files.path "
            "LEFT JOIN chunks ON chunks.doc_id = documents.id "
            "GROUP BY files.path ORDER BY files.path"
        ).fetchall()
        return [
            IndexedFile(path, size, chunks, is_inside(Path(path), self.data_dir))
            for path, size, chunks in rows
        ]

    def counts(self) -> dict[str, int]:
        if not self.index_dir.exists():
            return {"files": 0, "documents": 0, "chunks": 0, "version": 0}
        reader = self.qa().reader
        return {**reader.store.counts(), "version": reader.version.number}

    def passage_context(self, passage: Passage) -> tuple[str, str, str]:
        """(text before, the passage, text after) from the document, if it is still indexed:
        the rest of its pages for a document with pages, else some text either side."""
        store = self.qa().reader.store  # one version for both reads
        text = store.document_text(passage.doc_uri) or ""
        if text[passage.start : passage.end] != passage.text:  # gone or changed since
            return "", passage.text, ""
        if passage.pages is not None:
            first, last = store.page_bounds(passage.doc_uri, passage.pages)
            return text[first : passage.start], passage.text, text[passage.end : last]
        before = text[max(0, passage.start - CONTEXT_CHARS) : passage.start]
        after = text[passage.end : passage.end + CONTEXT_CHARS]
        return before, passage.text, after

    # --- changing the index ----------------------------------------------------------------

    @property
    def builder(self) -> IndexBuilder:
        if self._builder is None:
            options = self.settings.indexing.model_copy(update={"progress": True})
            embedder = Embedder.from_settings(self.settings.embedder)  # the shared model
            self._builder = IndexBuilder(self.index_dir, embedder, options)
        return self._builder

    def upload(self, files: Sequence[tuple[Path, str]]) -> list[FileResult]:
        """Index uploaded (temp path, original name) pairs; one result per file, in order."""
        with self._index_lock:
            results: list[FileResult | None] = []
            stored: list[tuple[int, str, Path]] = []
            for source, original in files:
                name = safe_name(original)
                size = Path(source).stat().st_size
                if size > self.max_upload_bytes:
                    limit = self.settings.web.max_upload_mb
                    results.append(
                        FileResult(
                            name,
                            "skipped",
                            f"{size / 2**20:.1f} MB is over the {limit:g} MB upload limit",
                        )
                    )
                    continue
                stored.append(
                    (len(results), name, store_upload(Path(source), self.data_dir, original))
                )
                results.append(None)
            report = self.builder.run([t for _, _, t in stored]) if stored else BuildReport()
            skipped = dict(report.skipped)
            indexed = set(report.indexed)
            for slot, name, target in stored:
                if str(target) in skipped:
                    target.unlink(missing_ok=True)  # not indexed: keep nothing of it
                    results[slot] = FileResult(name, "skipped", skipped[str(target)])
                elif str(target) in indexed:
                    results[slot] = FileResult(name, "indexed", "ready to ask about")
                else:
                    results[slot] = FileResult(name, "unchanged", "already indexed, same content")
            return [r for r in results if r is not None]

    def remove(self, paths: Sequence[str]) -> BuildReport:
        """Drop files from the index; uploaded copies are deleted, files elsewhere are kept."""
        with self._index_lock:
            report = self.builder.remove(list(paths))
            for path in paths:
                if is_inside(Path(path), self.data_dir):
                    Path(path).unlink(missing_ok=True)
            return report
