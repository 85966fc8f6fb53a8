"""Files in the model cache that later processes read instead of computing them again.

Each is written whole (a temporary file beside it, renamed into place, so a reader never sees
half of one), and a folder keeps only its most recently used files, so upgrades and other
models do not pile up. A cache that cannot be written costs the next process time, never a
result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def write_whole(path: Path, writer: Callable[[Path], None]) -> bool:
    """`writer` fills a temporary file beside `path`, which is then renamed to it; False
    (logged) where the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(handle)
        try:
            writer(Path(temporary))
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not keep %s: %s", path, exc)
        return False
    return True


def keep_newest(folder: Path, pattern: str, keep: int, current: Path) -> None:
    """Remove all but the `keep` most recently used (modified) files matching `pattern`, never
    `current`; one another process removes or holds open meanwhile is left as it is."""
    files = []
    for path in folder.glob(pattern):
        with contextlib.suppress(OSError):
            files.append((path.stat().st_mtime_ns, path))
    for _, path in sorted(files, reverse=True)[keep:]:
        if path != current:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
