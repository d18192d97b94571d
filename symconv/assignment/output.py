"""Writing a folder of many files so that it appears complete or not at all: everything goes
into a hidden staging folder next to the target, which replaces the target at the end (a
target that exists must be empty or one this module wrote, recognised by its marker file)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from ..core.errors import SpecError

__all__ = ["staged_folder", "write_text"]

MARKER = ".symconv-assignment"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_folder(target, what: str):
    """Yield a staging folder; on success it becomes ``target`` (replacing an earlier output
    of the same kind), on failure it is removed and ``target`` is left as it was."""
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SpecError(f"assignment: cannot write {target}: folder {parent} does not exist")
    if target.exists():
        if not target.is_dir():
            raise SpecError(f"assignment: {what} {target} exists and is not a folder")
        if any(target.iterdir()) and not (target / MARKER).exists():
            raise SpecError(
                f"assignment: {what} {target} exists and was not written by symconv; "
                "give an empty or new folder"
            )
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=parent))
    try:
        yield stage
        write_text(stage / MARKER, f"{what}\n")
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp's folder is private; the result is not
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
            os.replace(target, old / "x")
        os.replace(stage, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
_FLAGS |= getattr(os, "O_BINARY", 0)  # Windows: the bytes as they are ("\n" newlines)


def write_text(path, text: str) -> None:
    """Write a file inside a staging folder (the folder as a whole is what is atomic), UTF-8
    with ``\n`` newlines, in three system calls (thousands of files are written)."""
    view = memoryview(text.encode("utf-8"))
    fd = os.open(path, _FLAGS, 0o666)
    try:
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
