"""Comparing an answer's entries with the expected ones: exactly (``sympy.expand`` of the
difference), or within a tolerance when the answer itself was written with decimals."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from ..core.errors import SpecError
from .fast import known_keys
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
        self._keys = {}
        self._alive = []

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

    def keys(self, arr):
        """``arr`` as an object array of Python ints and Fractions, which compare exactly
        and fast (whole arrays at once), or None when some entry is not a rational number or
        the comparison is not plain equality (a tolerance applies, or ``canon``)."""
        if arr is None or self.canon is not None or (self.tolerance and self.decimals):
            return None
        known = known_keys(arr)
        if known is not None:
            return known
        flat = np.asarray(arr, dtype=object).reshape(-1).tolist()
        # id(value) -> key: ids hash fast, SymPy numbers do not; every value with a key is
        # kept alive (self._alive), so its id cannot be reused by another object
        memo = self._keys
        try:
            vals = list(map(memo.__getitem__, map(id, flat)))
        except KeyError:
            vals = []
            for v in flat:
                key = _number_key(v)
                if key is None:
                    return None
                if id(v) not in memo and len(memo) < 200_000:
                    memo[id(v)] = key
                    self._alive.append(v)
                vals.append(key)
        out = np.empty(len(flat), dtype=object)
        out[:] = vals
        return out.reshape(np.shape(arr))


def _number_key(v):
    """A rational number as a Python int or Fraction, or None."""
    if isinstance(v, sympy.Integer):
        return int(v)
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else v
    return None
