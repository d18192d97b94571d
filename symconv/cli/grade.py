"""``symconv grade``: grade a folder of answer files against a problem file."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import SpecError
from ..fileio import write_atomic
from ..grading import grade_folder, load_problem
from ..grading.grade import ProgressBar, report_text

__all__ = ["register", "run_grade"]


def run_grade(args) -> int:
    """Run ``symconv grade``; exit status 0 when every submission is correct, 1 otherwise."""
    problem = load_problem(args.problem)
    fmt = args.format
    if args.output and fmt is None:
        fmt = "json" if str(args.output).lower().endswith(".json") else "csv"
    fmt = fmt or "csv"
    skip = {Path(p).resolve() for p in (args.problem, args.output) if p}
    rows = grade_folder(args.submissions, problem, progress=ProgressBar(), skip=skip)
    text = report_text(rows, fmt, problem)
    if args.output:
        _write_report(args.output, text)
        counts = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"graded {len(rows)} submission(s): {summary or 'none'}; report: {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if rows and all(r["status"] == "correct" for r in rows) else 1


def _write_report(path, text) -> None:
    """Write the report atomically; a missing folder or an unwritable file is a
    :class:`SpecError` naming the report's path (never the temporary file's)."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise SpecError(f"grade: cannot write the report {path}: folder {folder} does not exist")
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise SpecError(f"grade: cannot write the report {path}: {exc.strerror}") from None


def register(sub) -> None:
    """Add ``grade`` to the ``symconv`` command line."""
    g = sub.add_parser(
        "grade",
        help="grade a folder of answer files (one per student) against a problem file",
        description="Check every file of SUBMISSIONS_DIR against --problem and write a CSV or "
        "JSON report (atomically; to stdout without -o). The report never contains expected "
        "values. Unreadable or unparseable files are reported and grading continues. Exit "
        "status 0 when every submission is correct, 1 otherwise, 2 for a bad problem file.",
    )
    g.add_argument(
        "submissions",
        metavar="SUBMISSIONS_DIR",
        help="folder with one answer file per student (hidden files and folders are skipped)",
    )
    g.add_argument("--problem", required=True, help="problem JSON file (layer, quantity, values)")
    g.add_argument(
        "-o", "--output", help="report file (.csv or .json; its folder must exist); default stdout"
    )
    g.add_argument(
        "--format",
        choices=["csv", "json"],
        default=None,
        help="report format (default: from the -o suffix, else csv)",
    )
    g.set_defaults(func=run_grade)
