"""Assignments for a whole class: per-student variants, handouts and keys, class grading with
partial credit, and the cohort misconception report (docs/ASSIGNMENT.md has the file format).

    >>> from symconv import assignment
    >>> a = assignment.load("examples/assignment/assignment.json")  # doctest: +SKIP
    >>> v = assignment.variant(a, "s001")           # the student's numbers and answers
    >>> assignment.make(a, "roster.csv", "out/")    # handouts, blank submissions, keys
    >>> book = assignment.grade(a, "submissions/", "roster.csv")
    >>> book.csv_text(), book.feedback("s001")      # gradebook, a student's feedback
    >>> html = assignment.report(book)

A variant is drawn from (secret seed, student id, question id) only, so it never changes when
students are added; it is verified before it is written (the derivation's answers against the
reference loops, the question's constraints). The export formats of LMSs sit on this API:
:func:`load`, :func:`variant` (a :class:`Variant` with ``answer_key()``), :func:`make`,
:func:`grade` (a :class:`Gradebook`) and :func:`report`.
"""

from __future__ import annotations

from .grade import Gradebook, grade
from .make import blank_submission, make
from .report import report_html, report_markdown
from .roster import Roster, read_roster
from .spec import Assignment, Question, load_assignment
from .variants import HashDraw, Variant, draw_variant, variant_count

__all__ = [
    "Assignment",
    "Question",
    "Roster",
    "Variant",
    "HashDraw",
    "load",
    "variant",
    "make",
    "grade",
    "report",
    "report_html",
    "report_markdown",
    "Gradebook",
    "read_roster",
    "blank_submission",
    "variant_count",
]


def load(source) -> Assignment:
    """Read and validate an assignment file (path or dict). Every question is also drawn for
    a few probe students, so constraints that cannot be met are reported now, naming the
    question and the constraint."""
    a = load_assignment(source)
    for probe in ("probe-1", "probe-2", "probe-3"):
        draw_variant(a, probe, verify=True)
    return a


def variant(assignment, student) -> Variant:
    """Student ``student``'s variant (verified against the reference loops)."""
    if not isinstance(assignment, Assignment):
        assignment = load(assignment)
    return draw_variant(assignment, str(student), verify=True)


def report(grades) -> str:
    """The cohort report as one self-contained HTML page, from a :class:`Gradebook`, the
    detailed grades dict or a grades.json path (:func:`report_markdown` for a terminal)."""
    return report_html(grades)
