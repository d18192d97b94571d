"""Array helpers shared by the stages: SymPy arrays <-> NumPy object arrays, and the small
N-d operations (zero padding, stride dilation, 180-degree rotation) in which the seeds state
their identities."""

from __future__ import annotations

import numpy as np
import sympy

__all__ = [
    "as_object_array",
    "correlation_size",
    "dilate",
    "flat_entries",
    "grouped",
    "rotate180",
    "to_sympy_array",
    "zero_pad",
]


def flat_entries(arr) -> list:
    """Entries of a SymPy N-d array, SymPy Matrix or NumPy array (or nested list) in row-major
    order."""
    if isinstance(arr, sympy.MatrixBase):
        return list(arr)
    if not isinstance(arr, sympy.NDimArray):
        return list(np.asarray(arr, dtype=object).reshape(-1))
    if arr.rank() == 0:
        return [arr[()]]
    flat = getattr(arr, "_array", None)  # dense SymPy arrays keep their entries row-major
    if isinstance(flat, list) and len(flat) == len(arr):
        return list(flat)
    return sympy.flatten(arr.tolist()) if arr.rank() > 1 else list(arr)


def as_object_array(arr):
    """A SymPy N-d array or Matrix as a NumPy object array of the same shape (None stays None,
    a NumPy array is returned as it is)."""
    if arr is None or isinstance(arr, np.ndarray):
        return arr
    out = np.empty(tuple(arr.shape), dtype=object)
    out.reshape(-1)[:] = flat_entries(arr)
    return out


_new = object.__new__


def to_sympy_array(flat, shape):
    """A SymPy immutable N-d array of ``shape`` from row-major entries."""
    return sympy.ImmutableDenseNDimArray(list(flat), shape)


# Small N-d helpers on object arrays, used to state the identities independently of the index
# map (they recompute the arithmetic on purpose: that is what an identity checks).
def zero_pad(a, pads):
    return np.pad(a, list(pads), mode="constant", constant_values=sympy.Integer(0))


def dilate(a, factors):
    shape = tuple((n - 1) * f + 1 for n, f in zip(a.shape, factors))
    out = np.full(shape, sympy.Integer(0), dtype=object)
    out[tuple(slice(None, None, f) for f in factors)] = a
    return out


def rotate180(a):
    return a[(slice(None, None, -1),) * a.ndim]


def correlation_size(a_shape, k_shape, stride) -> tuple:
    """Size of the valid cross-correlation of ``a`` with ``k`` taken every ``stride``."""
    return tuple((na - nk) // s + 1 for na, nk, s in zip(a_shape, k_shape, stride))


def grouped(terms, keys, n, combine, lead=None, lead_every=1):
    """Combine ``terms`` (sorted by ``keys``) into ``n`` sums, one per key value; ``lead[k //
    lead_every]`` terms (a bias) go first."""
    bounds = np.concatenate(([0], np.cumsum(np.bincount(keys, minlength=n)))).tolist()
    if lead is None:
        return [combine(terms[bounds[k] : bounds[k + 1]]) for k in range(n)]
    return [combine(lead[k // lead_every] + terms[bounds[k] : bounds[k + 1]]) for k in range(n)]
