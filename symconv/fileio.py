"""Atomic file writes: a reader never sees a half-written file, even if the writer dies.

A write into a folder that does not exist, or that cannot be written, fails with an
:class:`OutputError` naming the file and its folder (never the hidden temporary file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .core.errors import SymconvError

__all__ = ["OutputError", "check_folder", "write_atomic"]


class OutputError(SymconvError, OSError):
    """A file cannot be written where it was asked for: the message names the file and why
    (``cannot write out/y.py: folder out does not exist``)."""


def check_folder(path, op: str | None = None) -> Path:
    """The folder ``path`` will be written into; :class:`OutputError` when it does not exist or
    is not a folder. ``op`` (a command's name) prefixes the message. Commands call it before
    their work, so that a typo in the folder costs nothing."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    head = f"{op}: " if op else ""
    if not folder.exists():
        raise OutputError(f"{head}cannot write {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{head}cannot write {path}: {folder} is not a folder")
    if path.is_dir():
        raise OutputError(f"{head}cannot write {path}: it is a folder")
    return folder


def write_atomic(path, data) -> None:
    """Write ``data`` (str, or bytes) to ``path`` via a temporary file in the same folder and
    ``os.replace``; an existing file keeps its permission bits. A missing folder, or one that
    cannot be written, raises :class:`OutputError` naming ``path`` and the folder."""
    path = Path(path)
    folder = check_folder(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror} (folder {folder})") from None
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
