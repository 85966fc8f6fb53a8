"""kill -9 during `minigiant index`: the previous version keeps answering, the next run finishes."""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.loaders import discover
from indexing.reader import IndexReader
from retrieval.hybrid import HybridRetriever, RetrievalOptions
from tests.conftest import FACTS

TUTORIAL = Path(__file__).resolve().parent.parent / "corpora" / "python-tutorial"


def index_cmd(folder: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "app", "index", str(folder), "--index", str(root)]


def wait_for_staging(root: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any((p / "index.sqlite").exists() for p in root.glob(".staging-*")):
            return
        assert proc.poll() is None, "indexing ended before it was killed"
        time.sleep(0.05)
    raise AssertionError("indexing never started writing")


def test_kill_9_mid_run_keeps_previous_index(
    private_corpus: tuple[Path, Path], embedder: Embedder
) -> None:
    folder, root = private_corpus
    subprocess.run(index_cmd(folder, root), check=True, capture_output=True)
    shutil.copytree(TUTORIAL, folder / "tutorial")

    for attempt in range(2):
        proc = subprocess.Popen(
            index_cmd(folder, root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_staging(root, proc)
        time.sleep(random.uniform(0.0, 1.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        assert IndexDir(root).current().number == 1, f"attempt {attempt}"
        reader = IndexReader.open(root)
        assert reader.integrity_problems() == []
        [top, *_] = HybridRetriever(reader, embedder, RetrievalOptions()).retrieve(
            FACTS["notes.txt"][2]
        )
        assert Path(top.source).name == "notes.txt"
        reader.close()

    done = subprocess.run(index_cmd(folder, root), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert IndexDir(root).current().number == 2
    assert not list(root.glob(".staging-*"))
    reader = IndexReader.open(root)
    assert reader.integrity_problems() == []
    assert reader.store.counts()["files"] == 6 + len(list(discover([TUTORIAL])))
