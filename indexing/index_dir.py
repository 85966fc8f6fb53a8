"""One index = one folder of numbered versions and a manifest naming the current one.

Writers build a new version in a staging folder beside the old one, then publish it with two
atomic renames (staging -> vN, manifest.tmp -> manifest.json). A crash at any point leaves
the manifest naming a complete version; readers keep the version they opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexing.errors import IndexStateError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
SQLITE_NAME = "index.sqlite"
FAISS_NAME = "faiss.index"
_KEEP_OLD_VERSIONS = 2  # readers that opened an older version a moment ago still find it


@dataclass(frozen=True)
class Version:
    """A complete, immutable version of an index."""

    number: int
    path: Path

    @property
    def sqlite_path(self) -> Path:
        return self.path / SQLITE_NAME

    @property
    def faiss_path(self) -> Path:
        return self.path / FAISS_NAME


class IndexDir:
    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()

    def exists(self) -> bool:
        return (self.root / MANIFEST).exists()

    def current(self) -> Version:
        """The published version; an error that says how to create one if there is none."""
        manifest = self.root / MANIFEST
        try:
            data = json.loads(manifest.read_text())
        except FileNotFoundError:
            raise IndexStateError(
                f"no index at {self.root}: build one with "
                f"`minigiant index PATH --index {self.root}`"
            ) from None
        except (json.JSONDecodeError, OSError) as exc:
            raise IndexStateError(f"unreadable manifest {manifest}: {exc}") from exc
        if data.get("format") != FORMAT_VERSION:
            raise IndexStateError(
                f"{manifest} has format {data.get('format')}, this minigiant reads "
                f"{FORMAT_VERSION}: rebuild the index"
            )
        return Version(int(data["version"]), self.root / data["path"])

    @contextlib.contextmanager
    def writer(self) -> Iterator[Path]:
        """Hold the write lock and yield an empty staging folder; publish it on clean exit.

        If the body raises (or the process dies), the staging folder is discarded and the
        current version stays as it was.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexStateError(
                    f"another indexing run is writing {self.root}; wait for it to finish"
                ) from None
            self._remove_leftovers()
            staging = self.root / f".staging-{os.getpid()}"
            staging.mkdir()
            try:
                yield staging
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            if any(staging.iterdir()):
                self._publish(staging)
            else:
                staging.rmdir()

    def copy_current_into(self, staging: Path) -> Version | None:
        """Start a new version from the current one (SQLite backup API: a consistent copy)."""
        if not self.exists():
            return None
        version = self.current()
        src = sqlite3.connect(f"file:{version.sqlite_path}?mode=ro", uri=True)
        dst = sqlite3.connect(str(staging / SQLITE_NAME))
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        return version

    def _publish(self, staging: Path) -> None:
        number = self.current().number + 1 if self.exists() else 1
        for name in (SQLITE_NAME, FAISS_NAME):
            _fsync(staging / name)
        target = self.root / f"v{number}"
        os.replace(staging, target)
        tmp = self.root / f"{MANIFEST}.tmp"
        tmp.write_text(
            json.dumps({"format": FORMAT_VERSION, "version": number, "path": target.name})
        )
        _fsync(tmp)
        os.replace(tmp, self.root / MANIFEST)
        _fsync_dir(self.root)
        log.info("published %s", target)
        self._prune(number)

    def _remove_leftovers(self) -> None:
        """Drop staging folders and unpublished versions left by a killed run."""
        current = self.current().number if self.exists() else 0
        for entry in self.root.iterdir():
            stale_staging = entry.name.startswith(".staging-")
            unpublished = _version_number(entry) > current
            if stale_staging or unpublished:
                log.info("removing leftover %s from an interrupted run", entry.name)
                shutil.rmtree(entry, ignore_errors=True)

    def _prune(self, current: int) -> None:
        for entry in self.root.iterdir():
            number = _version_number(entry)
            if 0 < number < current - _KEEP_OLD_VERSIONS:
                shutil.rmtree(entry, ignore_errors=True)


def _version_number(entry: Path) -> int:
    name = entry.name
    return int(name[1:]) if entry.is_dir() and name[:1] == "v" and name[1:].isdigit() else 0


def _fsync(path: Path) -> None:
    if path.exists():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
