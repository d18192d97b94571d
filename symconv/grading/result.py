"""The verdict on one answer: :class:`CheckResult` with its wrong entries (:class:`Mismatch`)
and likely mistakes (:class:`Diagnosis`), printed as a terminal report or as JSON-ready data."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import sympy

__all__ = ["Mismatch", "Diagnosis", "CheckResult"]


class Mismatch(NamedTuple):
    """A wrong entry: ``index`` into the expected array (0-based), ``expected`` and ``got``
    (SymPy values)."""

    index: tuple
    expected: object
    got: object


class Diagnosis(NamedTuple):
    """A diagnosis ``code`` (a key of :data:`symconv.grading.DIAGNOSES`) and a one-line ``explanation``."""

    code: str
    explanation: str


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
                "got": _show(m.got),
            }
            if not hide_solution:
                entry["expected"] = _show(m.expected)
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
            "diagnosis": [{"code": d.code, "explanation": d.explanation} for d in self.diagnosis],
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
                    lines.append(f"  {self.label(m.index)}: got {_show(m.got)}")
                else:
                    lines.append(
                        f"  {self.label(m.index)}: expected {_show(m.expected)}, "
                        f"got {_show(m.got)}"
                    )
            if len(self.mismatches) > len(shown):
                lines.append(f"  ... and {len(self.mismatches) - len(shown)} more")
        if self.diagnosis:
            lines.append("diagnosis:")
            for d in self.diagnosis:
                lines.append(f"  {d.code}: {d.explanation}")
        elif not self.correct:
            lines.append("diagnosis: no mistake of the catalogue reproduces this answer")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines) + "\n"


def _show(v) -> str:
    return "?" if v is None else sympy.sstr(v)


def _nested(arr):
    arr = np.asarray(arr, dtype=object)
    if arr.ndim == 0:
        return _show(arr[()])
    return [_nested(a) for a in arr]
