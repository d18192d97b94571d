"""Grading a folder of answer files (one per student) against a problem, and the report.

:func:`grade_folder` checks every regular, non-hidden file of the folder (the student is the
file name without extension); :func:`report_text` lays the rows out as CSV or JSON. The report
never contains expected values. Unreadable files (not UTF-8, too large, permission denied) and
unparseable answers are reported and grading continues.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from ..core.errors import AnswerError, SpecError, SymconvError
from .files import read_capped
from .problems import Problem, load_problem

__all__ = ["REPORT_FIELDS", "grade_folder", "report_text", "ProgressBar"]

#: The columns of a report, one row per answer file.
REPORT_FIELDS = (
    "student",
    "file",
    "status",
    "score",
    "correct_entries",
    "total_entries",
    "diagnosis",
    "wrong_entries",
    "message",
)


def grade_folder(folder, problem, *, progress=None, skip=()) -> list:
    """Check every answer file of ``folder`` against ``problem`` (a :class:`Problem`, a dict or
    a path). Returns one dict per file with :data:`REPORT_FIELDS`; ``status`` is ``correct``,
    ``wrong``, ``invalid`` (the answer could not be parsed), ``unreadable`` (the file could not
    be read as UTF-8 text) or ``error`` (anything else). Never contains expected values.
    ``progress(i, n, name)`` is called before each file; paths in ``skip`` (resolved) are
    left out (the problem file and the report when they sit in the folder)."""
    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(f"grade: {folder} is not a directory")
    skip = {Path(p).resolve() for p in skip}
    files = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and not p.is_dir() and p.resolve() not in skip
    )
    rows = []
    for i, path in enumerate(files):
        if progress is not None:
            progress(i, len(files), path.name)
        row = dict.fromkeys(REPORT_FIELDS, "")
        row.update(student=path.stem, file=path.name, score=0.0, correct_entries=0)
        row["total_entries"] = ""
        try:
            text = read_capped(path, "answer file", name=path.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            row.update(status="unreadable", message=f"answer file {path.name}: {reason}")
            rows.append(row)
            continue
        except AnswerError as exc:
            row.update(status="unreadable", message=_one_line(exc))
            rows.append(row)
            continue
        try:
            result = problem.check(text)
        except (SymconvError, ValueError, RecursionError, MemoryError) as exc:
            row.update(status="invalid", message=_one_line(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            row.update(status="error", message=f"internal error: {_one_line(exc)}")
        else:
            row.update(
                status="correct" if result.correct else "wrong",
                score=round(result.score, 4),
                correct_entries=result.correct_entries,
                total_entries=result.total_entries,
                diagnosis=";".join(result.codes),
                wrong_entries=";".join(result.label(m.index) for m in result.mismatches),
                message=" | ".join(
                    [d.explanation for d in result.diagnosis if d.code == "wrong-shape"]
                    + list(result.notes)
                ),
            )
        rows.append(row)
    if progress is not None:
        progress(len(files), len(files), "")
    return rows


def _one_line(exc) -> str:
    """An exception's message on one line (its type name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def report_text(rows, fmt: str, problem: Problem) -> str:
    """The rows of :func:`grade_folder` as a CSV table or (``fmt='json'``) a JSON document
    with the problem and a summary by status."""
    if fmt == "json":
        summary = {
            s: sum(1 for r in rows if r["status"] == s)
            for s in ("correct", "wrong", "invalid", "unreadable", "error")
        }
        summary["submissions"] = len(rows)
        data = {
            "problem": problem.title,
            "layer": repr(problem.layer.spec),
            "quantity": problem.quantity,
            "summary": summary,
            "submissions": rows,
        }
        return json.dumps(data, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


class ProgressBar:
    """A one-line progress bar on a terminal stream (nothing otherwise)."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def __call__(self, i, n, name):
        """Draw file ``i`` of ``n`` (``name``); a newline once ``i`` reaches ``n``."""
        if not self.enabled:
            return
        width = 30
        filled = width * i // n if n else width
        bar = "#" * filled + "-" * (width - filled)
        label = name[:30]
        self.stream.write(f"\rgrading [{bar}] {i}/{n} {label:<30}")
        if i >= n:
            self.stream.write("\n")
        self.stream.flush()
