"""Grading a class: every student's variant is regenerated from the seed and each labelled
answer is checked (:func:`symconv.grading.check`), with partial credit per entry or all or
nothing. An answer equal to the key takes a fast path (parsed and compared, no diagnosis).

:func:`grade` returns a :class:`Gradebook`; ``csv_text()`` is the gradebook (one row per roster
student: id, the roster's name/email columns, one column per question, total), ``to_dict()``
the detailed JSON the report reads, ``feedback(student)`` a student's feedback (Markdown; the
right values only with ``reveal``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import multiprocessing
from fractions import Fraction

import sympy

from ..core.errors import SymconvError
from ..grading import check
from ..grading.answer import read_answer
from ..grading.values import align
from .roster import Roster, read_roster
from .spec import Assignment, load_assignment
from .submissions import Issue, collect
from .variants import _plain, draw_variant

__all__ = ["grade", "Gradebook", "points_text"]

_STATE = {}
#: The longest answer text kept (anonymised) for the report.
MAX_SHOWN = 400


def points_text(p) -> str:
    """Points for a spreadsheet: an integer, else a decimal with at most 2 places."""
    p = Fraction(p)
    if p.denominator == 1:
        return str(p.numerator)
    return f"{float(p):.2f}".rstrip("0").rstrip(".")


#: An exact number as a JSON answer's entry may hold it: an integer or a fraction p/q.
_RATIONAL = re.compile(r"-?(?:0|[1-9][0-9]{0,29})(?:/[1-9][0-9]{0,29})?")


def _same_lists(answer, key) -> bool:
    """Whether a JSON answer is nested lists of exactly the key's shape whose entries (ints,
    or texts ``p`` / ``p/q``) equal the key's; False for anything else (no parsing, no
    recursion: only as deep as the key)."""
    level = [answer]
    for n in key.shape:
        flat = []
        for item in level:
            if type(item) is not list or len(item) != n:
                return False
            flat.extend(item)
        level = flat
    for got, want in zip(level, key.reshape(-1).tolist()):
        if type(got) is int:
            if got != want:
                return False
        elif type(got) is str and _RATIONAL.fullmatch(got):
            if Fraction(got) != want:
                return False
        else:
            return False
    return True


def _fast_equal(answer, quantity, key) -> bool:
    """Whether the answer, read as numbers only, equals the key entry by entry."""
    if type(answer) is list and key.ndim and _same_lists(answer, key):
        return True
    try:
        values, _, _ = read_answer(answer, quantity, None, int(key.size))
    except (SymconvError, ValueError, TypeError, RecursionError):
        return False
    if quantity == "output-size" and values.size == key.size + 1:
        return False
    arr = align(values, key.shape)
    if arr is None:
        return False
    for got, want in zip(arr.reshape(-1), key.reshape(-1)):
        if not isinstance(got, sympy.Rational) or got != sympy.Rational(
            want.numerator, want.denominator
        ):
            return False
    return True


def _answer_shown(answer) -> str:
    text = answer if isinstance(answer, str) else repr(answer)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + " ..."


def check_part(qv, quantity, answer, reveal) -> dict:
    """One answer to one quantity of a variant, graded: ``status`` (correct, wrong, invalid),
    ``score``, ``codes``, the ``wrong`` entries' names and ``wrong_index``, the ``diagnosis``
    lines (``code: text``, the expected values hidden unless ``reveal``) and ``notes``."""
    key = qv.answers[quantity]
    part = {"quantity": quantity, "shape": list(key.shape), "answer": _answer_shown(answer)}
    if _fast_equal(answer, quantity, key):
        part.update(status="correct", score=1.0, codes=[], wrong=[], wrong_index=[], notes=[])
        part["diagnosis"] = []
        return part
    givens = {k: _plain(v) for k, v in qv.givens.items()}
    try:
        r = check(qv.layer, quantity, answer, **givens)
    except (SymconvError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        part.update(status="invalid", score=0.0, codes=[], wrong=[], wrong_index=[])
        part.update(notes=[msg], diagnosis=[])
        return part
    part.update(
        status="correct" if r.correct else "wrong",
        score=float(r.score),
        codes=r.codes,
        wrong=[r.label(m.index) for m in r.mismatches],
        wrong_index=[[int(i) for i in m.index] for m in r.mismatches],
        diagnosis=[f"{d.code}: {d.text(not reveal)}" for d in r.diagnosis],
        notes=list(r.notes),
    )
    if r.mismatches and tuple(r.expected_shape) != tuple(key.shape):
        part["wrong_index"] = []
    return part


def _grade_student(assignment, sid, sub, reveal) -> dict:
    variant = draw_variant(assignment, sid, verify=False)
    total = Fraction(0)
    questions = {}
    for qv in variant.questions:
        q = qv.question
        parts = {}
        for label, quantity in zip(q.labels, q.quantities):
            answer = None if sub is None else sub.answers.get(label)
            if answer is None:
                key = qv.answers[quantity]
                parts[label] = {
                    "quantity": quantity,
                    "shape": list(key.shape),
                    "status": "missing",
                    "score": 0.0,
                    "codes": [],
                    "wrong": [],
                    "wrong_index": [],
                    "diagnosis": [],
                    "notes": [],
                    "answer": "",
                }
            else:
                parts[label] = check_part(qv, quantity, answer, reveal)
            if reveal:
                parts[label]["expected"] = _plain(qv.answers[quantity])
        if q.credit == "all-or-nothing":
            earned = q.points if all(p["status"] == "correct" for p in parts.values()) else 0
        else:
            earned = (
                q.points
                * sum(Fraction(p["score"]).limit_denominator(10**6) for p in parts.values())
                / len(parts)
            )
        earned = Fraction(earned)
        total += earned
        questions[q.id] = {
            "points": points_text(earned),
            "max": points_text(q.points),
            "parts": parts,
        }
    return {
        "id": sid,
        "file": "" if sub is None else sub.file,
        "total": points_text(total),
        "questions": questions,
    }


def _work(chunk):
    a, subs, reveal = _STATE["assignment"], _STATE["subs"], _STATE["reveal"]
    return [_grade_student(a, sid, subs.get(sid), reveal) for sid in chunk]


@dataclasses.dataclass
class Gradebook:
    """The graded class: ``students`` (one dict per roster row, in roster order), ``issues``
    (:class:`~.submissions.Issue`), the roster and the assignment."""

    assignment: Assignment
    roster: Roster
    students: list
    issues: list
    reveal: bool = False

    def csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        qids = [q.id for q in self.assignment.questions]
        w.writerow(["id", *self.roster.columns, *qids, "total"])
        for s in self.students:
            info = self.roster.info[s["id"]]
            w.writerow(
                [s["id"], *(info[c] for c in self.roster.columns)]
                + [s["questions"][q]["points"] for q in qids]
                + [s["total"]]
            )
        return buf.getvalue()

    def to_dict(self) -> dict:
        a = self.assignment
        return {
            "title": a.title,
            "course": a.course,
            "assignment": a.digest,
            "reveal": self.reveal,
            "total_points": points_text(a.points),
            "questions": [
                {
                    "id": q.id,
                    "points": points_text(q.points),
                    "credit": q.credit,
                    "labels": list(q.labels),
                    "quantities": list(q.quantities),
                }
                for q in a.questions
            ],
            "students": self.students,
            "issues": [dataclasses.asdict(i) for i in self.issues],
        }

    def feedback(self, student) -> str:
        """A student's feedback as Markdown (expected values only with ``reveal``)."""
        s = next(s for s in self.students if s["id"] == student)
        a = self.assignment
        lines = [f"# {a.title}: feedback for {s['id']}", ""]
        lines.append(f"Total: {s['total']} / {points_text(a.points)} points")
        if s["file"]:
            lines.append(f"Graded file: {s['file']}")
        else:
            lines.append("No submission was found.")
        for issue in self.issues:
            if issue.student == student and issue.kind not in ("invalid", "missing-answer"):
                lines.append(f"- note: {issue.message}")
        for q in a.questions:
            sq = s["questions"][q.id]
            lines += ["", f"## {q.id}: {sq['points']} / {sq['max']} points ({q.credit})"]
            for label, p in sq["parts"].items():
                lines.append(f"- {label}: {_part_line(p)}")
                for d in p["diagnosis"]:
                    lines.append(f"  - likely mistake {d}")
                for n in p["notes"]:
                    lines.append(f"  - {n}")
                if "expected" in p and p["status"] != "correct":
                    lines.append(f"  - right answer: {p['expected']}")
        return "\n".join(lines) + "\n"


def _part_line(p) -> str:
    if p["status"] == "correct":
        return "correct"
    if p["status"] == "missing":
        return "no answer given"
    if p["status"] == "invalid":
        return "the answer could not be read"
    n = len(p["wrong"])
    shown = ", ".join(p["wrong"][:12]) + (" ..." if n > 12 else "")
    text = f"wrong (score {p['score']:.2f})"
    return text + (f"; wrong entries: {shown}" if n else "")


def grade(assignment, submissions, roster, *, jobs=1, reveal=False, id_column="id", skip=()):
    """Grade the folder ``submissions`` (one file per student) for every roster student;
    returns a :class:`Gradebook`. ``assignment`` may be a path or dict."""
    if not isinstance(assignment, Assignment):
        assignment = load_assignment(assignment)
    if not isinstance(roster, Roster):
        roster = read_roster(roster, id_column)
    from pathlib import Path

    folder = Path(submissions)
    if not folder.is_dir():
        raise SymconvError(f"assignment grade: {folder} is not a directory")
    subs, issues = collect(folder, roster.ids, assignment.labels, skip)
    for sid in roster.ids:
        if sid not in subs:
            issues.append(Issue("no-submission", "", f"no submission from {sid}", student=sid))
    _STATE.update(assignment=assignment, subs=subs, reveal=reveal)
    try:
        ids = list(roster.ids)
        size = max(1, min(250, len(ids) // (4 * max(jobs, 1)) or 1))
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        if jobs <= 1 or len(chunks) <= 1:
            students = [s for c in chunks for s in _work(c)]
        else:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            with ctx.Pool(jobs) as pool:
                students = [s for part in pool.map(_work, chunks) for s in part]
    finally:
        _STATE.clear()
    for s in students:
        for qid, sq in s["questions"].items():
            for label, p in sq["parts"].items():
                if p["status"] == "invalid":
                    msg = f"{label}: the answer could not be read: {'; '.join(p['notes'])}"
                    issues.append(Issue("invalid", s["file"], msg, student=s["id"], label=label))
                elif p["status"] == "missing" and s["file"]:
                    issues.append(
                        Issue(
                            "missing-answer",
                            s["file"],
                            f"{label}: no answer",
                            student=s["id"],
                            label=label,
                        )
                    )
    return Gradebook(assignment, roster, students, issues, reveal)
