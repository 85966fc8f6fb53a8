"""kill -9 at random points of indexing, 20+ times: the index always opens, answers, is whole.

Each run is a child forked from a forkserver that has already imported torch and the app, so
a kill costs a second instead of a fresh interpreter; the child runs the CLI's `run_index`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from app.indexing_run import run_index
from app.settings import Settings
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.loaders import discover
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, RetrievalOptions
from tests.conftest import FACTS
from tests.test_crash_safety import wait_for_staging

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

KILLS = 22
MAX_ATTEMPTS = 45


def index_in_child(folder: str, root: str) -> None:
    run_index(Settings(index=Path(root), indexing={"progress": False}), [Path(folder)])


class Child:
    """An indexing run in a forked child; `poll()` as for `subprocess.Popen`."""

    _context = multiprocessing.get_context("forkserver")

    def __init__(self, folder: Path, root: Path):
        self._context.set_forkserver_preload(["app.indexing_run", "sentence_transformers"])
        self.process = self._context.Process(target=index_in_child, args=(str(folder), str(root)))
        self.process.start()
        self.pid = self.process.pid

    def poll(self) -> int | None:
        return self.process.exitcode

    def kill(self) -> bool:
        """SIGKILL; True if the run was still going (the kill interrupted it)."""
        alive = self.process.is_alive()
        os.kill(self.pid, signal.SIGKILL)
        self.process.join(60)
        return alive and self.process.exitcode == -signal.SIGKILL

    def wait(self) -> int | None:
        self.process.join(300)
        return self.process.exitcode


def add_work(folder: Path, attempt: int, rng: random.Random) -> None:
    """Two new files each time, and now and then a removal, so every run has work to do."""
    for i in range(2):
        body = " ".join(
            f"Ledger {attempt}-{i} line {n} records cargo item {n * 7}." for n in range(60)
        )
        (folder / f"extra-{attempt}-{i}.txt").write_text(body)
    extras = sorted(folder.glob("extra-*.txt"))
    if attempt % 4 == 3 and len(extras) > 4:
        rng.choice(extras[:-2]).unlink()


def assert_index_whole(root: Path, embedder: Embedder, label: str) -> int:
    """The published version opens, is consistent, and still answers; returns its number."""
    reader = IndexReader.open(root)
    try:
        assert reader.integrity_problems() == [], label
        [top, *_] = HybridRetriever(reader, embedder, RetrievalOptions()).retrieve(
            FACTS["notes.txt"][2]
        )
        assert Path(top.source).name == "notes.txt", label
        return reader.version.number
    finally:
        reader.close()


def test_twenty_kill_9s_at_random_points(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    rng = random.Random(7)
    first = Child(folder, root)
    assert first.wait() == 0
    add_work(folder, 0, rng)
    started = time.monotonic()
    timed = Child(folder, root)
    assert timed.wait() == 0
    full_run = time.monotonic() - started  # how long a run with two new files takes here
    survived = attempts = writing = published = 0
    while survived < KILLS and attempts < MAX_ATTEMPTS:
        attempts += 1
        add_work(folder, attempts, rng)
        before = IndexDir(root).current().number
        child = Child(folder, root)
        if attempts % 2:  # anywhere from start-up to publishing
            time.sleep(rng.uniform(0.0, full_run * 1.1))
        else:  # while the new version is being written
            wait_for_staging(root, child)
            time.sleep(rng.uniform(0.0, 0.5))
        writing += any(root.glob(".staging-*"))
        survived += child.kill()
        now = assert_index_whole(root, embedder, f"attempt {attempts}")
        assert now in (before, before + 1), f"attempt {attempts}: v{before} -> v{now}"
        published += now == before + 1
    assert survived >= KILLS, f"only {survived} of {attempts} kills hit a running index"

    final = Child(folder, root)
    assert final.wait() == 0, "the run after the kills did not finish"
    assert not list(root.glob(".staging-*"))
    assert_index_whole(root, embedder, "after the last run")
    reader = IndexReader.open(root)
    try:
        indexed = set(reader.store.files())
    finally:
        reader.close()
    assert indexed == {str(p) for p in discover([folder])}, "the last run left work undone"
    log.warning(
        "kill -9 survived: %d of %d attempts (%d while writing a version, %d after publishing)",
        survived,
        attempts,
        writing,
        published,
    )
