"""Given values as exact arrays: numbers, array-likes and answer text turned into object
ndarrays of SymPy values, and an answer laid out as the expected shape.

Every number is exact: floats are read through their repr (``0.1`` is 1/10), text goes
through the whitelist parser of :mod:`symconv.core.answers` (never eval).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy

from ..core.answers import ParsedAnswer, parse_answer
from ..core.arrays import as_object_array
from ..core.errors import SpecError

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_ANSWER_DEPTH",
    "object_array",
    "substitute",
    "exact_number",
    "to_values",
    "align",
]

#: Limits handed to the answer parser for answers and given values.
MAX_ANSWER_CHARS = 200_000
MAX_ANSWER_DEPTH = 32


def object_array(shape, values) -> np.ndarray:
    """An object ndarray of ``shape`` filled row-major from the iterable ``values``."""
    out = np.empty(tuple(shape), dtype=object)
    flat = list(values)
    if flat:
        out.reshape(-1)[:] = flat
    return out


def substitute(arr, subs) -> np.ndarray:
    """``arr`` (SymPy entries) with ``subs`` (symbol -> value) replaced in every entry."""
    arr = as_object_array(arr)
    if not subs:
        return arr
    return object_array(arr.shape, (sympy.sympify(e).xreplace(subs) for e in arr.reshape(-1)))


def exact_number(v, what: str):
    """One input entry as an exact SymPy value (floats are read through their repr)."""
    if isinstance(v, (bool, np.bool_)):
        raise SpecError(f"check: {what} must hold numbers, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return sympy.Integer(int(v))
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise SpecError(f"check: {what} must hold finite numbers, got {v!r}")
        return sympy.Rational(repr(float(v)))
    if isinstance(v, sympy.Basic):
        if isinstance(v, sympy.Float):
            return sympy.Rational(str(v))
        return v
    if isinstance(v, str):
        vals = parse_answer(v, max_chars=10_000)
        if vals.ndim != 0:
            raise SpecError(f"check: {what} entries must be single numbers, got {v!r}")
        return vals[()]
    raise SpecError(f"check: {what} must hold numbers, got {v!r}")


def to_values(value, what: str) -> np.ndarray:
    """Numbers given by a caller (array-like, or text in any answer format) as SymPy values."""
    if isinstance(value, str):
        return parse_answer(value, max_chars=MAX_ANSWER_CHARS, max_depth=MAX_ANSWER_DEPTH)
    if isinstance(value, ParsedAnswer):
        return value.values
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"check: {what} must be a rectangular array, got {exc}") from None
    return object_array(arr.shape, (exact_number(v, what) for v in arr.reshape(-1)))


def align(arr, shape):
    """``arr`` laid out as ``shape``: equal, equal after dropping singleton axes, or (for a 2-D
    answer to an N-d quantity) blocks stacked vertically; None when impossible."""
    shape = tuple(shape)
    if arr.shape == shape:
        return arr
    if arr.size != math.prod(shape):
        return None
    if tuple(n for n in arr.shape if n != 1) == tuple(n for n in shape if n != 1):
        return arr.reshape(shape)
    if arr.ndim == 2 and len(shape) > 2 and arr.shape[-1] == shape[-1]:
        return arr.reshape(shape)
    return None
