"""Reading the text files a grader is handed (problem files, answer files): UTF-8 only and
size-capped, so that a stray binary or huge file is reported instead of read."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import AnswerError

__all__ = ["MAX_FILE_BYTES", "read_capped"]

#: The largest problem or answer file read, in bytes.
MAX_FILE_BYTES = 1_000_000


def read_capped(path: Path, what: str, limit: int = MAX_FILE_BYTES, name=None) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes (OSError/AnswerError otherwise);
    ``name`` is how messages call the file (default: the path)."""
    name = path if name is None else name
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise AnswerError(f"{what} {name} is larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerError(
            f"{what} {name} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
