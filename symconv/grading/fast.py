"""Exact numbers for a check, straight from the index map: the checker's fast path.

A check recomputes its quantity for many variant layers (one per mistake it tries). When the
values are numbers, building each variant's symbolic derivation and substituting into it costs
seconds (a max pool's ``Max`` and its Piecewise routing above all); here the same quantity is
read off the variant's index map instead, with every (output, tap, channel pair) connection as
flat index arrays (cached per layer) and the arithmetic done on whole object arrays of
:class:`fractions.Fraction` (``np.add.at``), exactly. The results equal the derivation's (the
tests compare them), so the checker may use either.

:func:`evaluate` returns None when it does not apply (a value that is not a number, except a
max pool's dE/dy, which may stay symbolic since its routing only needs numeric inputs).
``pairs`` replaces the layer's (c_out, c_in, weight index) connections (:meth:`Layer.
channel_pairs`), for the channel mistakes of the catalogue (groups ignored or mixed).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import sympy

from ..core.layers import Layer

__all__ = ["evaluate", "to_fractions", "connections", "known_keys"]

_ZERO = Fraction(0)


_BY_ID = {}  # id(array) -> (array, its Fractions, its scaled ints): a check reuses its values


def _cached(arr, slot, make):
    entry = _BY_ID.get(id(arr))
    if entry is None or entry[0] is not arr:
        if len(_BY_ID) > 256:
            _BY_ID.clear()
        entry = _BY_ID[id(arr)] = [arr, _UNSET, _UNSET]
    if entry[slot] is _UNSET:
        entry[slot] = make(arr)
    return entry[slot]


_UNSET = object()


def to_fractions(arr):
    """``arr`` (object array of SymPy values) as an object array of Fractions, or None when
    some entry is not a rational number (cached for the array object)."""
    if arr is None:
        return None
    return _cached(arr, 1, _fractions)


def _fractions(arr):
    flat = np.asarray(arr, dtype=object).reshape(-1)
    out = np.empty(flat.size, dtype=object)
    for k, v in enumerate(flat):
        if isinstance(v, sympy.Integer):
            out[k] = Fraction(int(v))
        elif isinstance(v, sympy.Rational):
            out[k] = Fraction(int(v.p), int(v.q))
        elif isinstance(v, (int, Fraction)) and not isinstance(v, bool):
            out[k] = Fraction(v)
        else:
            return None
    return out.reshape(np.shape(arr))


_SYMPY = {}  # Fraction -> its SymPy number (values repeat: converting is the slow part)


def _sympy_number(v: Fraction):
    s = _SYMPY.get(v)
    if s is None:
        if len(_SYMPY) > 100_000:
            _SYMPY.clear()
        s = _SYMPY[v] = sympy.Rational(v.numerator, v.denominator)
    return s


class _Scaled:
    """Exact rationals as int64 numerators over one common denominator ``den``."""

    __slots__ = ("ints", "den", "top")

    def __init__(self, ints, den):
        self.ints, self.den = ints, den
        self.top = int(np.abs(ints).max()) if ints.size else 0


_LIMIT = 1 << 62


def _scaled(fr):
    """An object array of Fractions as :class:`_Scaled` (None when it does not fit int64)."""
    if fr is None:
        return None

    def make(a):
        flat = a.reshape(-1)
        den = math.lcm(*(f.denominator for f in flat)) if flat.size else 1
        nums = [f.numerator * (den // f.denominator) for f in flat]
        if nums and max(abs(v) for v in nums) >= (1 << 40):
            return None
        return _Scaled(np.array(nums, dtype=np.int64), den)

    return _cached(fr, 2, make)


def _scatter(n, index, a, ia, b, ib):
    """``out[index[k]] += a[ia[k]] * b[ib[k]]`` exactly: as int64 numerators over a common
    denominator when every partial sum fits, else with Fractions."""
    sa, sb = _scaled(a), _scaled(b)
    if sa is not None and sb is not None and sa.top * sb.top * max(len(index), 1) < _LIMIT:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, index, sa.ints[ia] * sb.ints[ib])
        return _Scaled(out, sa.den * sb.den)
    out = _zeros(n)
    np.add.at(out, index, a.reshape(-1)[ia] * b.reshape(-1)[ib])
    return out


_SYMPY_INT = {}  # (numerator, denominator) -> SymPy number


def _finish(res, shape, plus=None) -> np.ndarray:
    """A :func:`_scatter` result (plus Fractions ``plus`` per entry) as SymPy values."""
    if isinstance(res, _Scaled):
        if plus is None:
            memo, den = _SYMPY_INT, res.den
            out = np.empty(res.ints.size, dtype=object)
            vals = []
            for v in res.ints.tolist():
                got = memo.get((v, den))
                if got is None:
                    if len(memo) > 200_000:
                        memo.clear()
                    got = memo[(v, den)] = sympy.Rational(v, den)
                vals.append(got)
            out[:] = vals
            out = out.reshape(shape)
            if den == 1:  # the comparison's keys (Python ints), known without converting
                _remember(out, res.ints.astype(object).reshape(shape))
            return out
        res = np.array([Fraction(v, res.den) for v in res.ints.tolist()], dtype=object)
    if plus is not None:
        res = res + plus
    return _to_sympy(res, shape)


_KNOWN = {}  # id(result) -> (result, its entries as Python ints)


def _remember(out, keys):
    if len(_KNOWN) > 64:
        _KNOWN.clear()
    _KNOWN[id(out)] = (out, keys)


def known_keys(arr):
    """The entries of a result of this module as Python ints, when known (else None)."""
    hit = _KNOWN.get(id(arr))
    return hit[1] if hit is not None and hit[0] is arr else None


def _to_sympy(flat, shape) -> np.ndarray:
    """Fractions (or SymPy values) back to an object array of SymPy values."""
    out = np.empty(len(flat), dtype=object)
    out[:] = [
        _sympy_number(v) if isinstance(v, Fraction) else sympy.sympify(v)
        for v in np.asarray(flat, dtype=object).reshape(-1)
    ]
    return out.reshape(shape)


@functools.lru_cache(maxsize=512)
def connections(spec, pairs=None):
    """``(Y, X, W)`` flat indices of every connection of a linear layer: output entry
    ``Y[k]`` gets ``w[W[k]] * x[X[k]]`` (conv, conv_transpose; ``W`` is None for an average
    pool, whose connection has the coefficient ``coef[k]`` instead: ``(Y, X, coef)``)."""
    layer = Layer(spec)
    imap = layer.index_map
    o_idx, t_idx = np.nonzero(imap >= 0)
    i_idx = imap[o_idx, t_idx]
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    if spec.is_pool:
        sizes = layer.window_sizes
        coef_one = np.array([Fraction(1, int(sizes[o])) for o in o_idx], dtype=object)
        C = spec.in_channels
        Y = np.concatenate([c * n_out + o_idx for c in range(C)])
        X = np.concatenate([c * n_in + i_idx for c in range(C)])
        return Y, X, np.concatenate([coef_one] * C)
    n_taps = math.prod(spec.kernel_size)
    w_cols = spec.w_shape[1]
    wt = layer.weight_tap[t_idx]
    pairs = tuple(layer.channel_pairs()) if pairs is None else pairs
    Y, X, W = [], [], []
    for co, ci, (w0, w1) in pairs:
        Y.append(co * n_out + o_idx)
        X.append(ci * n_in + i_idx)
        W.append((w0 * w_cols + w1) * n_taps + wt)
    empty = np.zeros(0, np.int64)
    return tuple(np.concatenate(a) if a else empty for a in (Y, X, W))


@functools.lru_cache(maxsize=256)
def _windows(spec):
    """The flat input positions of each output's window (taps in row-major order)."""
    imap = Layer(spec).index_map
    return [[int(p) for p in row if p >= 0] for row in imap]


def _zeros(n) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [_ZERO] * n
    return out


def _max_pool(spec, Xf, DYf, quantity):
    wins = _windows(spec)
    n_in, n_out = math.prod(spec.input_size), len(wins)
    y = _zeros(spec.in_channels * n_out)
    gx = _zeros(spec.in_channels * n_in) if quantity == "grad-input" else None
    for c in range(spec.in_channels):
        for o, window in enumerate(wins):
            vals = [Xf[c * n_in + i] for i in window]
            top = max(vals)
            y[c * n_out + o] = top
            if gx is None:
                continue
            won = [i for v, i in zip(vals, window) if v == top]
            if spec.ties == "first":
                won = won[:1]
            g = DYf[c * n_out + o]
            share = g if len(won) == 1 else g * Fraction(1, len(won))
            for i in won:
                gx[c * n_in + i] = gx[c * n_in + i] + share
    return y if gx is None else gx


def evaluate(spec, quantity, X, W, B, DY, convention="row", pairs=None):
    """The quantity of ``spec`` for exact values (object arrays of SymPy values; ``DY`` is
    dE/dy, used by the gradients), or None when this fast path does not apply."""
    need_x = quantity in ("output", "grad-weight") or spec.kind == "max_pool"
    Xf = to_fractions(X) if need_x else None
    if need_x and Xf is None:
        return None
    Xf = None if Xf is None else Xf.reshape(-1)
    n_x, n_y = math.prod(spec.x_shape), math.prod(spec.y_shape)
    if spec.kind == "max_pool":
        if quantity == "toeplitz":
            return None
        DYf = None
        if quantity == "grad-input":
            DYf = to_fractions(DY)
            DYf = np.asarray(DY, dtype=object) if DYf is None else DYf
            DYf = DYf.reshape(-1)
        flat = _max_pool(spec, Xf, DYf, quantity)
        shape = spec.x_shape if quantity == "grad-input" else spec.y_shape
        return _to_sympy(flat, shape)
    if quantity in ("grad-input", "grad-weight", "grad-bias"):
        DYf = to_fractions(DY)
        if DYf is None:
            return None
        DYf = DYf.reshape(-1)
    if spec.is_pool:
        Y, Xi, coef = connections(spec)
        k = np.arange(len(Y))
        if quantity == "output":
            return _finish(_scatter(n_y, Y, coef, k, Xf, Xi), spec.y_shape)
        if quantity == "grad-input":
            return _finish(_scatter(n_x, Xi, coef, k, DYf, Y), spec.x_shape)
        if quantity == "toeplitz":
            return _toeplitz(n_y, n_x, Y, Xi, coef, k, convention)
        return None
    Wf = to_fractions(W)
    if Wf is None:
        return None
    Wf = Wf.reshape(-1)
    Y, Xi, Wi = connections(spec, pairs)
    if quantity == "output":
        plus = None
        if spec.bias:
            Bf = to_fractions(B)
            if Bf is None:
                return None
            plus = np.repeat(Bf.reshape(-1), n_y // spec.out_channels)
        return _finish(_scatter(n_y, Y, Wf, Wi, Xf, Xi), spec.y_shape, plus)
    if quantity == "grad-input":
        return _finish(_scatter(n_x, Xi, DYf, Y, Wf, Wi), spec.x_shape)
    if quantity == "grad-weight":
        return _finish(_scatter(Wf.size, Wi, DYf, Y, Xf, Xi), spec.w_shape)
    if quantity == "grad-bias":
        if not spec.bias:
            return None
        sums = [sum(row, _ZERO) for row in DYf.reshape(spec.out_channels, -1)]
        return _to_sympy(sums, (spec.out_channels,))
    if quantity == "toeplitz":
        return _toeplitz(n_y, n_x, Y, Xi, Wf, Wi, convention)
    return None


def _toeplitz(n_y, n_x, Y, Xi, values, iv, convention):
    """T[Y[k], Xi[k]] = values[iv[k]] (column convention; transposed for 'row')."""
    sv = _scaled(values)
    if sv is not None:
        out = np.zeros((n_y, n_x), dtype=np.int64)
        np.add.at(out, (Y, Xi), sv.ints[iv])
        res = _Scaled(out.reshape(-1), sv.den)
    else:
        out = np.empty((n_y, n_x), dtype=object)
        out.reshape(-1)[:] = [_ZERO] * (n_y * n_x)
        np.add.at(out, (Y, Xi), values.reshape(-1)[iv])
        res = out.reshape(-1)
    T = _finish(res, (n_y, n_x))
    return T.T.copy() if convention == "row" else T
