"""50 concurrent questions through the Python API and through the Gradio API while indexing
adds documents: no errors, and every citation names a passage of the version it read."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.answer import Answer
from app.qa import QA
from app.render import answer_json
from app.settings import Settings
from app.web.server import launch
from app.web.service import WebService
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import SQLITE_NAME, IndexDir
from tests.conftest import FACTS
from tests.test_web_e2e import free_port

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

ASKS = 50
RUNS = 2  # v1 + 2 published versions: nothing is pruned before the checks read them
STAGGER_SECONDS = 0.15
QUESTIONS = [question for _, _, question in FACTS.values()]
SMALL = {"generator": {"max_tokens": 8}, "indexing": {"progress": False}}


def new_files(folder: Path, run: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(3):
        path = folder / f"added-{run}-{i}.txt"
        path.write_text(f"Added during the storm: tide table {run}-{i} lists {run * 10 + i} tides.")
        paths.append(path)
    return paths


def in_background(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def assert_citations_exist(root: Path, answers: list[dict]) -> set[int]:
    """Each cited passage is, word for word, a chunk of the index version the answer read."""
    versions = set()
    for answer in answers:
        version = answer["index_version"]
        versions.add(version)
        db = sqlite3.connect(f"file:{root / f'v{version}' / SQLITE_NAME}?mode=ro", uri=True)
        try:
            for citation in answer["citations"]:
                passage = citation["passage"]
                row = db.execute(
                    "SELECT text FROM chunks WHERE id = ?", [passage["chunk_id"]]
                ).fetchone()
                assert row == (passage["text"],), f"v{version} lacks chunk {passage['chunk_id']}"
        finally:
            db.close()
    return versions


def test_fifty_python_api_asks_while_indexing(
    private_corpus: tuple[Path, Path], built_index: Path, embedder: Embedder
) -> None:
    folder, root = private_corpus
    shutil.copytree(built_index, root)
    qa = QA(Settings(index=root, **SMALL))
    builder = IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False))

    def index() -> None:
        for run in range(RUNS):
            new_files(folder / "added", run)
            builder.run([folder])
            qa.reload()

    def ask(i: int) -> Answer:
        time.sleep(i * STAGGER_SECONDS)  # questions keep arriving while versions are published
        return qa.ask(QUESTIONS[i % len(QUESTIONS)], top_n=1)

    indexer, errors = in_background(index)
    with ThreadPoolExecutor(ASKS) as pool:
        answers = list(pool.map(ask, range(ASKS)))
    indexer.join()
    assert not errors, errors
    assert len(answers) == ASKS and all(a.text for a in answers)
    versions = assert_citations_exist(root, [answer_json(a) for a in answers])
    assert IndexDir(root).current().number == 1 + RUNS
    log.warning("python API: %d concurrent asks held, versions read %s", ASKS, sorted(versions))


def test_fifty_gradio_api_asks_while_uploading(tmp_path: Path, built_index: Path) -> None:
    from gradio_client import Client

    root = tmp_path / "idx"
    shutil.copytree(built_index, root)
    port = free_port()
    web = {"port": port, "queue_size": ASKS + 8, "requests_per_minute": 1000}
    service = WebService(Settings(index=root, web=web, **SMALL))
    demo = launch(service, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)

        def upload() -> None:
            for run in range(RUNS):
                files = new_files(tmp_path / f"in{run}", run)
                results = service.upload([(p, p.name) for p in files])
                assert all(r.status == "indexed" for r in results), results

        uploader, errors = in_background(upload)
        jobs = [
            client.submit(QUESTIONS[i % len(QUESTIONS)], 1, api_name="/ask") for i in range(ASKS)
        ]
        answers = [job.result(timeout=300) for job in jobs]
        uploader.join()
    finally:
        demo.close()
    assert not errors, errors
    assert len(answers) == ASKS and all(a["text"] for a in answers)
    versions = assert_citations_exist(root, answers)
    log.warning("gradio API: %d concurrent asks held, versions read %s", ASKS, sorted(versions))
