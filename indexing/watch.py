"""Keep an index in step with folders: changes are batched until the folders go quiet for a
moment, then one incremental run (only changed files are re-read) publishes a new version.

Events come from the operating system through watchdog (inotify, FSEvents, ReadDirectoryChangesW;
polling elsewhere). A burst such as a copy of a hundred files, or an editor's save dance of
temp file, rename and touch, becomes one run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from indexing.builder import BuildReport, IndexBuilder
from indexing.errors import MinigiantError
from indexing.loaders import LOADERS

log = logging.getLogger(__name__)

_CHANGES = frozenset({"created", "modified", "deleted", "moved"})


class _Changes(FileSystemEventHandler):
    """The time of the last relevant event, shared with watchdog's thread."""

    def __init__(self, ignored: Path):
        super().__init__()
        self.ignored = ignored.resolve()
        self.last: float | None = None
        self.lock = threading.Lock()

    def dispatch(self, event: FileSystemEvent) -> None:
        """watchdog's handler entry point: note changes to files we index, or to folders
        (opening and closing a file, as indexing itself does, is no change)."""
        if event.event_type not in _CHANGES:
            return
        paths = [Path(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
        if any(self._relevant(p, event.is_directory) for p in paths):
            with self.lock:
                self.last = time.monotonic()

    def _relevant(self, path: Path, is_directory: bool) -> bool:
        if any(part.startswith(".") for part in path.parts[1:]):
            return False
        if path.resolve().is_relative_to(self.ignored):  # our own writes, if the index is inside
            return False
        return is_directory or path.suffix.lower() in LOADERS

    def settled(self, quiet_s: float) -> bool:
        """True once, when events were seen and none came for `quiet_s`."""
        with self.lock:
            if self.last is None or time.monotonic() - self.last < quiet_s:
                return False
            self.last = None
            return True


def watch(
    builder: IndexBuilder,
    paths: Sequence[Path],
    on_report: Callable[[BuildReport], None],
    quiet_s: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Index `paths` now and again after each burst of changes, until `stop` is set (or
    Ctrl-C). Listening starts before the first run, so no change is missed in between."""
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    changes = _Changes(builder.index_dir.root)
    observer = Observer()
    for path in paths:
        folder = path if path.is_dir() else path.parent
        observer.schedule(changes, str(folder), recursive=path.is_dir())
    observer.start()
    try:
        on_report(builder.run(list(paths)))
        while not stop.wait(min(0.2, quiet_s / 2)):
            if changes.settled(quiet_s):
                try:
                    on_report(builder.run(list(paths)))
                except MinigiantError as exc:  # e.g. a watched folder was removed
                    log.error("indexing after a change failed: %s", exc)
    finally:
        observer.stop()
        observer.join()
