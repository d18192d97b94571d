"""Given values as exact arrays: numbers, array-likes and answer text turned into object
ndarrays of SymPy values, and an answer laid out as the expected shape.

Every number is exact: floats are read through their repr (``0.1`` is 1/10), text goes
through the whitelist parser of :mod:`symconv.core.answers` (never eval). Given values are
read by the same function as :meth:`Derivation.evaluate`'s
(:func:`symconv.core.evaluate.read_values`).
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..core.arrays import as_object_array
from ..core.errors import SpecError
from ..core.evaluate import MAX_VALUE_CHARS, MAX_VALUE_DEPTH, read_values

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_ANSWER_DEPTH",
    "object_array",
    "substitute",
    "exact_number",
    "to_values",
    "align",
]

#: Limits handed to the answer parser for answers (the same as for given values).
MAX_ANSWER_CHARS = MAX_VALUE_CHARS
MAX_ANSWER_DEPTH = MAX_VALUE_DEPTH


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
    """One given number as an exact SymPy value (floats are read through their repr)."""
    arr = to_values(v, what)
    if arr.ndim != 0:
        raise SpecError(f"check: {what} must be a single number, got {v!r}")
    return arr[()]


def to_values(value, what: str, op: str = "check") -> np.ndarray:
    """Values given by a caller (anything :func:`symconv.core.evaluate.read_values` reads:
    nested lists, arrays, Fractions, answer text) as exact SymPy values; floats are read
    through their repr (``0.1`` is 1/10). Error messages start with ``op``."""
    arr = read_values(value, what, op)
    return object_array(arr.shape, (_exact(v) for v in arr.reshape(-1)))


def _exact(v):
    return sympy.Rational(repr(v)) if isinstance(v, float) else v


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
