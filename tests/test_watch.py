"""A watched folder: added, changed and deleted files reach the index within seconds, and a
running server answers from the new version without a restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.settings import Settings
from app.web.service import WebService
from indexing.builder import BuildOptions, IndexBuilder
from indexing.embedding import Embedder
from indexing.index_dir import IndexDir
from indexing.watch import watch


def _wait_for_version(root: Path, above: int, seconds: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if IndexDir(root).exists() and IndexDir(root).current().number > above:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"no version above {above} within {seconds} s")


def test_changes_are_indexed_in_one_run_per_burst(tmp_path: Path, embedder: Embedder) -> None:
    folder, root = tmp_path / "docs", tmp_path / "idx"
    folder.mkdir()
    (folder / "a.txt").write_text("The Orvane ferry leaves at seven.")
    builder = IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False))
    reports, stop = [], threading.Event()
    thread = threading.Thread(target=watch, args=(builder, [folder], reports.append, 0.5, stop))
    thread.start()
    try:
        while not reports:  # the first run, with the observer already listening
            time.sleep(0.05)
        reports.clear()
        for n in range(5):  # a burst: one run
            (folder / f"new{n}.md").write_text(f"# Note {n}\n\nPier {n} is {n * 10} metres long.")
        (folder / "ignored.bin").write_bytes(b"\x00" * 10)
        _wait_for_version(root, 1)
        time.sleep(1.0)
        assert len(reports) == 1 and len(reports[0].indexed) == 5

        (folder / "a.txt").write_text("The Orvane ferry leaves at eight.")
        (folder / "new0.md").unlink()
        _wait_for_version(root, 2)
        report = reports[-1]
        assert report.indexed == [str(folder / "a.txt")]
        assert report.removed == [str(folder / "new0.md")]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_the_web_service_answers_from_a_version_published_elsewhere(
    tmp_path: Path, built_index: Path, embedder: Embedder
) -> None:
    root = tmp_path / "idx"
    shutil.copytree(built_index, root)
    service = WebService(Settings(index=root))
    before = service.qa().reader.version.number
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lighthouse.txt").write_text("The Brisdel lighthouse was automated in 1987.")
    IndexBuilder(IndexDir(root), embedder, BuildOptions(progress=False)).run([extra])
    assert service.qa().reader.version.number > before
    [top] = service.qa().retrieve("When was the Brisdel lighthouse automated?", top_n=1)
    assert Path(top.source).name == "lighthouse.txt"


def _as_from_a_shell() -> None:
    """Ctrl-C as a terminal delivers it: a child inherits ignored and blocked signals, and
    libraries loaded by earlier tests in this process may have left SIGINT so (the whole
    suite on a CPU with AVX2 only twice timed out here, each test file alone never)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_index_watch_from_the_command_line(tmp_path: Path) -> None:
    folder, root = tmp_path / "docs", tmp_path / "idx"
    folder.mkdir()
    (folder / "a.txt").write_text("The Orvane ferry leaves at seven.")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "index", str(folder), "--index", str(root), "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MINIGIANT_INDEXING__PROGRESS": "false"},
        preexec_fn=_as_from_a_shell,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("watching"):
                break
        assert "indexed 1 file(s)" in "".join(lines)
        saved = time.monotonic()
        (folder / "b.txt").write_text("The Brisdel lighthouse was automated in 1987.")
        delay = _wait_for_version(root, 1)
        assert delay < 30, f"{delay:.1f} s from save to a published version"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "indexed 1 file(s)" in out and "stopped watching" in out, out
    assert time.monotonic() - saved > 0
