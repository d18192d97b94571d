"""Mistakes in laying out or numbering the result: the other Toeplitz convention or vec
order, entries, windows or symbol indices off by one, and dE/dw with its operands swapped."""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy

from ..catalogue import Candidate, mistake
from ..values import object_array


def _rot(arr, nsp):
    """Rotate the last ``nsp`` axes by 180 degrees."""
    sl = (slice(None),) * (arr.ndim - nsp) + (slice(None, None, -1),) * nsp
    return arr[sl]


def _shift(arr, axes, deltas):
    """``out[i] = arr[i + delta]`` along ``axes``, zero where that falls outside; None when a
    shift is as long as its axis."""
    out = np.full(arr.shape, sympy.Integer(0), dtype=object)
    src = [slice(None)] * arr.ndim
    dst = [slice(None)] * arr.ndim
    for ax, d in zip(axes, deltas):
        n = arr.shape[ax]
        if abs(d) >= n:
            return None
        if d > 0:
            src[ax], dst[ax] = slice(d, n), slice(0, n - d)
        elif d < 0:
            src[ax], dst[ax] = slice(0, n + d), slice(-d, n)
    out[tuple(dst)] = arr[tuple(src)]
    return out


def _colmajor(shape):
    """Row-major positions of a (C, *spatial) array's entries listed column by column."""
    idx = np.arange(math.prod(shape)).reshape(shape)
    nsp = len(shape) - 1
    perm = (0,) + tuple(range(nsp, 0, -1))
    return idx.transpose(perm).reshape(-1)


def _unit_shifts(n):
    """Every shift by -1, 0 or +1 along ``n`` axes except no shift at all."""
    return [d for d in itertools.product((-1, 0, 1), repeat=n) if any(d)]


@mistake(
    "toeplitz-convention",
    "W and W^T (row vs column convention) or the vec order mixed up",
    quantities=("toeplitz",),
    common=4,
)
def _toeplitz_convention(case):
    """The matrix of the other convention (W vs W^T), or rows/columns numbered column-major."""
    spec, E, convention = case.spec, case.expected, case.calc.convention
    other = "column" if convention == "row" else "row"
    eq = "T with vec(y) = T vec(x)" if other == "column" else "W with x W = y"
    text = f"matches the {other} convention (the transpose, {eq})"
    yield Candidate(text, E.T.copy(), True)
    if spec.ndim >= 2:
        px, py = _colmajor(spec.x_shape), _colmajor(spec.y_shape)
        rows, cols = (px, py) if convention == "row" else (py, px)
        P = E[np.ix_(rows, cols)]
        text = "matches x and y numbered column by column (column-major vec)"
        yield Candidate(text, P, True)
        text = f"matches the {other} convention with column-major vec"
        yield Candidate(text, P.T.copy(), True)


@mistake(
    "index-shift",
    "indices shifted by one (0- vs 1-based, or an off-by-one window)",
    quantities=("output", "grad-input", "grad-weight", "toeplitz", "output-size"),
    common=5,
)
def _index_shift(case):
    """The result displaced by one position along spatial axes (zero-filled), the output
    recomputed with the window one position off, a symbolic answer whose symbol indices are
    all shifted by one, or an output size off by one."""
    spec, q, E = case.spec, case.quantity, case.expected
    nsp = spec.ndim
    if q == "output-size":
        for deltas in _unit_shifts(nsp):
            C = object_array(E.shape, (e + d for e, d in zip(E, deltas)))
            yield Candidate("a size is off by one (e.g. the +1 of the formula)", C)
        return
    axes = [0, 1] if q == "toeplitz" else list(range(E.ndim - nsp, E.ndim))
    for deltas in _unit_shifts(len(axes)):
        C = _shift(E, axes, deltas)
        if C is not None:
            text = "the entries are displaced by one position (off-by-one indices)"
            yield Candidate(text, C, True)
    if q == "output":
        for deltas in _unit_shifts(nsp):
            Xs = _shift(case.X, list(range(1, 1 + nsp)), deltas)
            if Xs is not None:
                text = "matches windows placed one position off (off-by-one window)"
                yield case.variant(text, X=Xs)
    for delta in (-1, 1):
        ren = case.symbols.renaming(delta)
        if ren:
            zero_based = case.calc.base == 1 and delta < 0
            text = "the symbol indices are shifted by one " + (
                "(0-based instead of 1-based)" if zero_based else "(off by one)"
            )
            C = object_array(E.shape, (sympy.sympify(e).xreplace(ren) for e in E.reshape(-1)))
            yield Candidate(text, C)


@mistake(
    "swapped-operands",
    "dE/dw computed with x and dE/dy the wrong way round",
    quantities=("grad-weight",),
    common=5,
)
def _swapped_operands(case):
    """dE/dw as dE/dy correlated with x (the result rotated by 180 degrees), or x convolved
    instead of correlated with dE/dy (dE/dy rotated)."""
    nsp = case.spec.ndim
    text = "matches dE/dy correlated with x (the result rotated by 180 degrees)"
    yield Candidate(text, _rot(case.expected, nsp).copy(), True)
    text = "matches x convolved (not correlated) with dE/dy (dE/dy rotated)"
    yield case.variant(text, DY=_rot(case.dy_value, nsp).copy())


@mistake(
    "forward-size-formula",
    "the output size of a transposed convolution computed with the forward formula",
    quantities=("output-size",),
)
def _forward_size_formula(case):
    """floor((n + pads - d (k - 1) - 1) / s) + 1, the forward convolution's size, for a
    transposed convolution (whose size is (n - 1) s - pads + d (k - 1) + output_padding + 1)."""
    spec = case.spec
    if spec.kind != "conv_transpose":
        return
    sizes = [
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, (lo, hi), d, k, s in zip(
            spec.input_size, spec.padding, spec.dilation, spec.kernel_size, spec.stride
        )
    ]
    if min(sizes) >= 1:
        text = "matches the forward convolution's size formula, not the transposed one's"
        yield Candidate(text, object_array((spec.ndim,), (sympy.Integer(n) for n in sizes)), True)
