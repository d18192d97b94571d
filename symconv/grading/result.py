"""The verdict on one answer: :class:`CheckResult` with its wrong entries (:class:`Mismatch`)
and likely mistakes (:class:`Diagnosis`), printed as a terminal report or as JSON-ready data."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import sympy

__all__ = ["Mismatch", "Diagnosis", "CheckResult", "show_value"]


class Mismatch(NamedTuple):
    """A wrong entry: ``index`` into the expected array (0-based), ``expected`` and ``got``
    (SymPy values)."""

    index: tuple
    expected: object
    got: object


class Diagnosis(NamedTuple):
    """A diagnosis ``code`` (a key of :data:`symconv.grading.DIAGNOSES`), a one-line
    ``explanation``, the codes of equivalent diagnoses folded into this one (``same_as``, the
    explanation says why they coincide) and a ``detail`` that shows expected values (left out
    when the solution is hidden)."""

    code: str
    explanation: str
    same_as: tuple = ()
    detail: str = ""

    def text(self, hide_solution: bool = False) -> str:
        """The explanation, with the detail unless the solution is hidden."""
        if self.detail and not hide_solution:
            return f"{self.explanation}; {self.detail}"
        return self.explanation


@dataclasses.dataclass
class CheckResult:
    """The verdict on one answer.

    ``correct`` is True when every entry matches; ``score`` is the fraction of correct entries
    (``correct_entries / total_entries``; 0 when the shape cannot be matched); ``mismatches``
    lists the wrong entries; ``diagnosis`` the likely mistakes (empty for a correct answer).
    ``labels`` maps an index to the entry's name (``y_12``, ``dE/dw_12``, ``W[5,1]``).
    """

    quantity: str
    layer: str
    correct: bool
    score: float
    correct_entries: int
    total_entries: int
    mismatches: list
    diagnosis: list
    expected_shape: tuple
    answer_shape: tuple
    symbolic: bool
    answer_format: str = ""
    notes: list = dataclasses.field(default_factory=list)
    labels: dict = dataclasses.field(default_factory=dict, repr=False)
    expected: np.ndarray = dataclasses.field(default=None, repr=False)
    answer: np.ndarray = dataclasses.field(default=None, repr=False)

    @property
    def codes(self) -> list:
        """The diagnosis codes, in report order."""
        return [d.code for d in self.diagnosis]

    def label(self, index) -> str:
        """The name of the entry at ``index`` (its index tuple when it has none)."""
        return self.labels.get(tuple(index), str(tuple(int(i) for i in index)))

    def to_dict(self, hide_solution: bool = False) -> dict:
        """JSON-ready fields; with ``hide_solution`` no expected value appears."""
        mism = []
        for m in self.mismatches:
            entry = {
                "index": [int(i) for i in m.index],
                "entry": self.label(m.index),
                "got": show_value(m.got),
            }
            if not hide_solution:
                entry["expected"] = show_value(m.expected)
            mism.append(entry)
        data = {
            "quantity": self.quantity,
            "layer": self.layer,
            "correct": self.correct,
            "score": self.score,
            "correct_entries": self.correct_entries,
            "total_entries": self.total_entries,
            "expected_shape": list(self.expected_shape),
            "answer_shape": list(self.answer_shape),
            "symbolic": self.symbolic,
            "answer_format": self.answer_format,
            "wrong_entries": [self.label(m.index) for m in self.mismatches],
            "mismatches": mism,
            "diagnosis": [
                {
                    "code": d.code,
                    "explanation": d.text(hide_solution),
                    "same_as": list(d.same_as),
                }
                for d in self.diagnosis
            ],
            "notes": list(self.notes),
            "hide_solution": bool(hide_solution),
        }
        if not hide_solution and self.expected is not None:
            data["expected"] = _nested(self.expected)
        return data

    def to_text(self, hide_solution: bool = False) -> str:
        """A short report for a terminal; with ``hide_solution`` no expected value appears."""
        lines = [f"check {self.quantity} of {self.layer}"]
        if self.correct:
            lines.append(f"result: CORRECT ({self.correct_entries}/{self.total_entries} entries)")
        else:
            lines.append(
                f"result: WRONG ({self.correct_entries}/{self.total_entries} entries correct, "
                f"score {self.score:.2f})"
            )
        if self.mismatches:
            lines.append("wrong entries:")
            shown = self.mismatches[:50]
            for m in shown:
                if hide_solution:
                    lines.append(f"  {self.label(m.index)}: got {show_value(m.got)}")
                else:
                    lines.append(
                        f"  {self.label(m.index)}: expected {show_value(m.expected)}, "
                        f"got {show_value(m.got)}"
                    )
            if len(self.mismatches) > len(shown):
                lines.append(f"  ... and {len(self.mismatches) - len(shown)} more")
        if self.diagnosis:
            lines.append("diagnosis:")
            for d in self.diagnosis:
                lines.append(f"  {d.code}: {d.text(hide_solution)}")
        elif not self.correct:
            lines.append("diagnosis: no mistake of the catalogue reproduces this answer")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()


def show_value(v) -> str:
    """An exact value as text: integers as integers, fractions as a/b, expressions as SymPy
    prints them; ``?`` for a missing value."""
    return "?" if v is None else sympy.sstr(v)


def _nested(arr):
    arr = np.asarray(arr, dtype=object)
    if arr.ndim == 0:
        return show_value(arr[()])
    return [_nested(a) for a in arr]
