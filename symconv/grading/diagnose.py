"""Naming the likely mistakes of a wrong answer from the catalogue.

Every mistake of :mod:`symconv.grading.catalogue` that applies to the quantity builds its
candidate answers. A code is reported when a candidate reproduces the answer exactly, or when
it explains at least two wrong entries and at least half of them (the explanation then says
which); an entry counts as explained when the mistake gives the student's value and that value
is not 0 (a 0 is weak evidence). A candidate equal to the correct result is ignored (the
mistake changes nothing for this problem).
"""

from __future__ import annotations

from . import mistakes  # noqa: F401  (registers the catalogue's entries)
from .catalogue import Case, mistakes_for
from .result import Diagnosis
from .values import align

__all__ = ["diagnose"]


def diagnose(case: Case, mismatches, labels) -> list:
    """The :class:`Diagnosis` list for a wrong answer: exact matches first, then partial
    ones, each in catalogue order (the order of :data:`~.catalogue.DIAGNOSES`).
    ``mismatches`` are the wrong entries (empty when the shape did not match) and ``labels``
    the entry names."""
    E, A, compare = case.expected, case.answer, case.compare
    EA = align(A, E.shape)
    exact, partial = {}, {}
    mism_idx = [m.index for m in mismatches]
    for entry in mistakes_for(case.quantity):
        code = entry.code
        for text, C, exact_only in entry.build(case):
            if code in exact:
                break
            if C is None:
                continue
            CA = align(A, C.shape)
            if CA is None:
                continue
            if C.shape == E.shape and compare.equal_arrays(C, E):
                continue
            if compare.equal_arrays(CA, C):
                if C.shape != E.shape:
                    text += f" (shape {tuple(C.shape)})"
                exact[code] = text
                partial.pop(code, None)
                continue
            if exact_only or EA is None or C.shape != E.shape or not mism_idx:
                continue
            if code in partial:
                continue
            explained = [
                i for i in mism_idx if compare.norm(C[i]) != 0 and compare.same(EA[i], C[i])
            ]
            k, n = len(explained), len(mism_idx)
            if k >= 2 and k == n:
                partial[code] = f"{text}; explains all {n} wrong entries"
            elif k >= 2 and 2 * k >= n:
                names = ", ".join(labels.get(i, str(i)) for i in explained[:8])
                more = ", ..." if k > 8 else ""
                partial[code] = f"{text}; explains {k} of {n} wrong entries ({names}{more})"
    return [Diagnosis(c, t) for c, t in exact.items()] + [
        Diagnosis(c, t) for c, t in partial.items()
    ]
