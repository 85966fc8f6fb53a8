"""Put uploaded files into the index's data folder, and nowhere else, whatever they are called."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath

DATA_FOLDER = "uploads"  # inside the index folder, beside the vN/ versions
_UNSAFE = re.compile(r"[^\w.\- ()+]+")
_MAX_NAME = 120


def data_folder(index_root: Path) -> Path:
    """Where uploads live: one folder per index, so deleting the index deletes them too."""
    return Path(index_root).expanduser().resolve() / DATA_FOLDER


def safe_name(original: str) -> str:
    """A plain file name from whatever the browser sent: no folders, no dot files, no controls.

    >>> safe_name("../../etc/passwd")
    'passwd'
    >>> safe_name("..\\\\secret\\\\.bashrc")
    'bashrc'
    """
    name = PurePosixPath(original.replace("\\", "/")).name
    name = unicodedata.normalize("NFKC", name)
    name = _UNSAFE.sub("_", name).strip(" ._") or "upload"
    if len(name) > _MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix[:16] if dot else ""
        name = (stem or name)[: _MAX_NAME - len(suffix) - 1] + ("." + suffix if suffix else "")
    return name


def target_path(folder: Path, original: str) -> Path:
    """The path an upload is written to; raises ValueError if it would leave `folder`."""
    folder = folder.resolve()
    name = safe_name(original)
    target = folder / name  # not resolved: a symlink already there is replaced, not followed
    if "/" in name or name in (".", "..") or target.parent != folder:
        raise ValueError(f"refusing to write {original!r} outside {folder}")
    return target


def store_upload(source: Path, folder: Path, original: str) -> Path:
    """Copy an uploaded temp file into `folder` atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = target_path(folder, original)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)  # replaces a symlink itself, never what it points to
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())
