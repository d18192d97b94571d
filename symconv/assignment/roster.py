"""The class roster: a CSV file with a header row, one student per row.

The column named by ``id_column`` (``id`` by default) identifies a student; ids become file
names, so they must be letters, digits, ``_ . @ + -`` and must not start with a dot. Columns
whose header contains ``name`` or ``email`` are copied to the gradebook.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

from ..core.errors import SpecError
from ..grading.files import read_capped

__all__ = ["Roster", "read_roster", "ID_RE"]

ID_RE = re.compile(r"^[A-Za-z0-9_@+\-][A-Za-z0-9_.@+\-]{0,99}$")


@dataclasses.dataclass
class Roster:
    """Student ids in roster order, the extra columns kept (name/email) and their values."""

    ids: list
    columns: list
    info: dict  # id -> {column: value}

    def __len__(self):
        return len(self.ids)


def read_roster(source, id_column: str = "id") -> Roster:
    """Read a roster (a CSV path, or a list of ids / of dicts)."""
    if isinstance(source, (list, tuple)):
        rows = [r if isinstance(r, dict) else {id_column: str(r)} for r in source]
        header = list(rows[0]) if rows else [id_column]
        where = "roster"
    else:
        path = Path(source)
        where = f"roster {path}"
        try:
            text = read_capped(path, "roster", limit=50_000_000)
        except OSError as exc:
            raise SpecError(f"assignment: cannot read the roster {path}: {exc.strerror}") from None
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        rows = list(reader)
    if id_column not in header:
        raise SpecError(
            f"assignment: {where}: id column must be one of the header's columns {header}, "
            f"got {id_column!r}"
        )
    columns = [h for h in header if h != id_column and re.search("name|email", h, re.I)]
    ids, info = [], {}
    for n, row in enumerate(rows, start=2):
        sid = (row.get(id_column) or "").strip()
        if not sid:
            continue
        if not ID_RE.match(sid):
            raise SpecError(
                f"assignment: {where}: row {n}: {id_column} must be letters, digits, _ . @ + - "
                f"(not starting with a dot), got {sid!r}"
            )
        if sid in info:
            raise SpecError(f"assignment: {where}: row {n}: {id_column} {sid!r} appears twice")
        ids.append(sid)
        info[sid] = {c: (row.get(c) or "").strip() for c in columns}
    if not ids:
        raise SpecError(f"assignment: {where}: has no student rows")
    return Roster(ids, columns, info)
