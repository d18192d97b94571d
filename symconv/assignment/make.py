"""``make``: every student's variant, handout, blank submission file and answer key, and the
table of all variants (see :func:`make`)."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..core.errors import SpecError
from .handout import student_tex
from .output import staged_folder, write_text
from .roster import Roster, read_roster
from .spec import Assignment, load_assignment
from .variants import draw_variant, spec_repr, variant_count

__all__ = ["make", "MakeSummary", "blank_submission"]

_STATE = {}


class MakeSummary(dict):
    """What :func:`make` wrote: ``students``, ``variants_possible``, ``redrawn`` (students
    whose first draw repeated an earlier student's), ``shared`` (groups of students sharing a
    variant when the template has fewer variants than students), ``pdf`` and ``notes``."""


def blank_submission(assignment: Assignment, student) -> str:
    """The blank submission file: ``{"student": id, label: "", ...}``."""
    data = {"student": str(student)}
    data.update({label: "" for label in assignment.labels})
    return json.dumps(data, indent=2) + "\n"


def _write_student(stage: Path, assignment, variant, info, figures) -> None:
    sid = variant.student
    handout, key_text = student_tex(assignment, variant, info, figures)
    write_text(stage / "handouts" / f"{sid}.tex", handout)
    write_text(stage / "submissions" / f"{sid}.json", blank_submission(assignment, sid))
    key = variant.answer_key()
    key.update(title=assignment.title, assignment=assignment.digest)
    write_text(stage / "keys" / f"{sid}.json", json.dumps(key) + "\n")
    write_text(stage / "keys" / f"{sid}.tex", key_text)


def _work(chunk):
    """Draw, verify and write a chunk of (student, salt); returns their fingerprints."""
    assignment, roster, stage, figures = (
        _STATE["assignment"],
        _STATE["roster"],
        _STATE["stage"],
        _STATE["figures"],
    )
    out = []
    for sid, salt in chunk:
        variant = draw_variant(assignment, sid, verify=True, salt=salt)
        _write_student(stage, assignment, variant, roster.info.get(sid, {}), figures)
        out.append((sid, salt, variant.fingerprint(), _table_row(variant)))
    return out


def _table_row(variant) -> list:
    row = [variant.student]
    for qv in variant.questions:
        row.append(spec_repr(qv.layer.spec))
        row.append(qv.givens_json())
    return row


def _run(chunks, jobs):
    if jobs <= 1 or len(chunks) <= 1:
        return [r for c in chunks for r in _work(c)]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(jobs) as pool:
        return [r for part in pool.map(_work, chunks) for r in part]


def _chunks(items, jobs):
    size = max(1, min(200, len(items) // (4 * max(jobs, 1)) or 1))
    return [items[i : i + size] for i in range(0, len(items), size)]


def make(
    assignment: Assignment, roster, out, *, pdf=False, jobs=1, figures=True, id_column="id"
) -> MakeSummary:
    """Write every student's files into the folder ``out`` (replaced as a whole):
    ``handouts/<id>.tex`` (and ``.pdf`` with ``pdf``), ``submissions/<id>.json`` (blank),
    ``keys/<id>.json`` and ``keys/<id>.tex`` (the answers; ``.pdf`` with ``pdf``),
    ``variants.csv`` and ``summary.json``. Variants are verified (derivation against the
    reference loops, constraints); a draw repeating an earlier roster row's variant is redrawn
    unless the template allows fewer variants than students (then the summary says so).
    ``assignment`` may be a path or dict, ``roster`` a CSV path or a list of ids."""
    if not isinstance(assignment, Assignment):
        assignment = load_assignment(assignment)
    if not isinstance(roster, Roster):
        roster = read_roster(roster, id_column)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise SpecError(f"assignment make: jobs must be a positive integer, got {jobs!r}")
    possible = variant_count(assignment)
    summary = MakeSummary(
        students=len(roster), variants_possible=str(possible), redrawn=[], shared=[], notes=[]
    )
    with staged_folder(out, "assignment make output") as stage:
        for sub in ("handouts", "submissions", "keys"):
            (stage / sub).mkdir()
        _STATE.update(assignment=assignment, roster=roster, stage=stage, figures=figures)
        try:
            results = _run(_chunks([(sid, 0) for sid in roster.ids], jobs), jobs)
            rows = _dedupe(results, possible, summary)
        finally:
            _STATE.clear()
        _write_table(stage, assignment, rows)
        summary["pdf"] = _pdfs(stage, roster.ids, jobs) if pdf else 0
        if possible < len(roster):
            summary["notes"].append(
                f"the template allows only {possible} different variant(s) for "
                f"{len(roster)} students, so some students share one"
            )
        meta = dict(summary, title=assignment.title, assignment=assignment.digest)
        write_text(stage / "summary.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return summary


def _dedupe(results, possible, summary):
    """Redraw (deterministically, with a salt) a student whose variant repeats an earlier
    roster row's, while the template has variants to spare."""
    seen, rows = {}, []
    for sid, salt, fp, row in results:
        if fp in seen and possible >= len(results):
            while fp in seen:
                sid, salt, fp, row = _work([(sid, salt + 1)])[0]
            summary["redrawn"].append(sid)
        elif fp in seen:
            summary["shared"].append([seen[fp], sid])
        seen.setdefault(fp, sid)
        rows.append(row)
    return rows


def _write_table(stage, assignment, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["student"]
    for q in assignment.questions:
        header += [f"{q.id}.layer", f"{q.id}.givens"]
    w.writerow(header)
    w.writerows(rows)
    write_text(stage / "variants.csv", buf.getvalue())


def _pdfs(stage, ids, jobs) -> int:
    """Compile every handout and key (pdflatex, ``jobs`` at a time)."""
    from ..latex.compile import compile_pdf

    files = [stage / d / f"{sid}.tex" for sid in ids for d in ("handouts", "keys")]
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")  # reproducible PDF dates
    os.environ.setdefault("FORCE_SOURCE_DATE", "1")

    def one(tex: Path):
        compile_pdf(tex.read_text(encoding="utf-8"), tex.with_suffix(".pdf"), runs=1)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        list(ex.map(one, files))
    return len(files)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))
