"""Comparing an answer's entries with the expected ones: exactly (``sympy.expand`` of the
difference), or within a tolerance when the answer itself was written with decimals."""

from __future__ import annotations

import sympy

from ..core.errors import SpecError
from .values import exact_number

__all__ = ["exact_tolerance", "Comparison"]


def exact_tolerance(tol):
    """``tolerance`` as an exact non-negative Rational (None means 0)."""
    if tol is None:
        return sympy.Integer(0)
    t = exact_number(tol, "tolerance")
    if not (isinstance(t, sympy.Rational) and t >= 0):
        raise SpecError(f"check: tolerance must be a non-negative number, got {tol!r}")
    return t


class Comparison:
    """Entry comparison for one check.

    ``decimals`` (the answer was written with decimals) enables ``tolerance``; ``canon`` is an
    optional substitution applied before comparing (dE/dy_ij -> y_ij - yhat_ij when a symbolic
    gradient answer uses y and yhat).
    """

    def __init__(self, tolerance):
        self.tolerance = tolerance
        self.decimals = False
        self.canon = None
        self._norms = {}

    def norm(self, e):
        """The canonical form of an entry (expanded; cached)."""
        try:
            return self._norms[e]
        except KeyError:
            pass
        except TypeError:  # pragma: no cover - unhashable
            return sympy.expand(e)
        e2 = sympy.sympify(e)
        if self.canon is not None:
            e2 = e2.xreplace(self.canon)
        val = e2 if e2.is_Number else sympy.expand(e2)
        self._norms[e] = val
        return val

    def same(self, a, e) -> bool:
        """Whether answer entry ``a`` equals expected entry ``e``."""
        na, ne = self.norm(a), self.norm(e)
        if na == ne:
            return True
        if self.tolerance and self.decimals:
            diff = sympy.expand(na - ne)
            if diff.is_Number:
                return abs(diff) <= self.tolerance
            return all(abs(c) <= self.tolerance for c in diff.as_coefficients_dict().values())
        return False

    def equal_arrays(self, A, C) -> bool:
        """Whether two arrays of the same size are equal entry by entry (row-major)."""
        return all(self.same(a, c) for a, c in zip(A.reshape(-1), C.reshape(-1)))
