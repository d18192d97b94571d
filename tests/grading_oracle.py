"""Plain-loop oracles for the checker's tests (issue 23): every layer kind, N-d, forward and
backward, over ``fractions.Fraction``. Nothing here uses symconv: the parameters are passed as
plain numbers, so the tests can build a *mistaken* answer by calling these loops with a
perturbed parameter (stride 1, padding 0, ...), independently of the checker.

Arrays are NumPy object arrays used only as containers: ``x`` (C_in, *n), ``w`` (C_out,
C_in/g, *k) for a convolution and (C_in, C_out/g, *k) for a transposed one, ``dy`` like y.
``pad`` is a list of (lo, hi) per axis.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction as Fr

import numpy as np


def zeros(shape):
    out = np.empty(tuple(shape), dtype=object)
    out.reshape(-1)[:] = [Fr(0)] * int(np.prod(shape))
    return out


def frac(a):
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    out.reshape(-1)[:] = [Fr(v) for v in a.reshape(-1)]
    return out


def js(a) -> str:
    def conv(v):
        if isinstance(v, list):
            return [conv(u) for u in v]
        v = Fr(v)
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"

    return json.dumps(conv(np.asarray(a, dtype=object).tolist()))


def grid(shape):
    return itertools.product(*(range(n) for n in shape))


def _inside(pos, size):
    return all(0 <= p < n for p, n in zip(pos, size))


# ---------------------------------------------------------------------- convolution
def conv_size(n, k, s, pad, d):
    return tuple(
        (ni + lo + hi - (ki - 1) * di - 1) // si + 1
        for ni, ki, si, (lo, hi), di in zip(n, k, s, pad, d)
    )


def _wtap(t, k, flip):
    return tuple(ki - 1 - ti for ti, ki in zip(t, k)) if flip else tuple(t)


def conv_connections(n, k, s, pad, d, cin, cout, groups, flip, group_of=None, reads=None):
    """(co, o, ci, cl, t', position) of every product of a convolution."""
    cin_g, cout_g = cin // groups, cout // groups
    group_of = group_of or (lambda co: co // cout_g)
    reads = reads or (lambda grp, cl: grp * cin_g + cl)
    out = conv_size(n, k, s, pad, d)
    for co in range(cout):
        grp = group_of(co)
        for o in grid(out):
            for cl in range(cin_g):
                ci = reads(grp, cl)
                for t in grid(k):
                    pos = tuple(
                        oi * si + ti * di - lo for oi, ti, si, di, (lo, _) in zip(o, t, s, d, pad)
                    )
                    if _inside(pos, n):
                        yield co, o, ci, cl, _wtap(t, k, flip), pos


def conv_forward(x, w, b=None, s=1, pad=0, d=1, groups=1, flip=False, **kw):
    n, k, nd = x.shape[1:], w.shape[2:], x.ndim - 1
    s, d, pad = _per_axis(s, nd), _per_axis(d, nd), _pads(pad, nd)
    cout = w.shape[0]
    y = zeros((cout,) + conv_size(n, k, s, pad, d))
    for co, o, ci, cl, wt, pos in conv_connections(
        n, k, s, pad, d, x.shape[0], cout, groups, flip, **kw
    ):
        y[(co,) + o] += Fr(w[(co, cl) + wt]) * Fr(x[(ci,) + pos])
    if b is not None:
        for co in range(cout):
            y[co] += Fr(b[co])
    return y


def conv_backward(x, w, dy, s=1, pad=0, d=1, groups=1, flip=False, **kw):
    n, k, nd = x.shape[1:], w.shape[2:], x.ndim - 1
    s, d, pad = _per_axis(s, nd), _per_axis(d, nd), _pads(pad, nd)
    dx, dw = zeros(x.shape), zeros(w.shape)
    conns = conv_connections(n, k, s, pad, d, x.shape[0], w.shape[0], groups, flip, **kw)
    for co, o, ci, cl, wt, pos in conns:
        dx[(ci,) + pos] += Fr(w[(co, cl) + wt]) * Fr(dy[(co,) + o])
        dw[(co, cl) + wt] += Fr(x[(ci,) + pos]) * Fr(dy[(co,) + o])
    db = np.array([sum(dy[co].reshape(-1), Fr(0)) for co in range(dy.shape[0])], dtype=object)
    return dx, dw, db


# ---------------------------------------------------------------------- transposed convolution
def convT_size(n, k, s, pad, d, op):
    return tuple(
        (ni - 1) * si - lo - hi + (ki - 1) * di + 1 + opi
        for ni, ki, si, (lo, hi), di, opi in zip(n, k, s, pad, d, op)
    )


def convT_connections(n, k, s, pad, d, op, cin, cout, groups, group_of=None, writes=None):
    """(ci, i, co, cl, t, output position) of every product of a transposed convolution."""
    cin_g, cout_g = cin // groups, cout // groups
    group_of = group_of or (lambda ci: ci // cin_g)
    writes = writes or (lambda grp, cl: grp * cout_g + cl)
    out = convT_size(n, k, s, pad, d, op)
    for ci in range(cin):
        grp = group_of(ci)
        for i in grid(n):
            for cl in range(cout_g):
                co = writes(grp, cl)
                for t in grid(k):
                    pos = tuple(
                        ii * si + ti * di - lo for ii, ti, si, di, (lo, _) in zip(i, t, s, d, pad)
                    )
                    if _inside(pos, out):
                        yield ci, i, co, cl, t, pos


def convT_forward(x, w, b=None, s=1, pad=0, d=1, op=0, groups=1, flip=False, **kw):
    n, k, nd = x.shape[1:], w.shape[2:], x.ndim - 1
    s, d, pad, op = _per_axis(s, nd), _per_axis(d, nd), _pads(pad, nd), _per_axis(op, nd)
    cout = w.shape[1] * groups
    y = zeros((cout,) + convT_size(n, k, s, pad, d, op))
    for ci, i, co, cl, t, pos in convT_connections(
        n, k, s, pad, d, op, x.shape[0], cout, groups, **kw
    ):
        y[(co,) + pos] += Fr(x[(ci,) + i]) * Fr(w[(ci, cl) + _wtap(t, k, flip)])
    if b is not None:
        for co in range(cout):
            y[co] += Fr(b[co])
    return y


def convT_backward(x, w, dy, s=1, pad=0, d=1, op=0, groups=1, flip=False, **kw):
    n, k, nd = x.shape[1:], w.shape[2:], x.ndim - 1
    s, d, pad, op = _per_axis(s, nd), _per_axis(d, nd), _pads(pad, nd), _per_axis(op, nd)
    dx, dw = zeros(x.shape), zeros(w.shape)
    conns = convT_connections(n, k, s, pad, d, op, x.shape[0], dy.shape[0], groups, **kw)
    for ci, i, co, cl, t, pos in conns:
        wt = _wtap(t, k, flip)
        dx[(ci,) + i] += Fr(w[(ci, cl) + wt]) * Fr(dy[(co,) + pos])
        dw[(ci, cl) + wt] += Fr(x[(ci,) + i]) * Fr(dy[(co,) + pos])
    return dx, dw


# ---------------------------------------------------------------------- pools
def pool_size(n, k, s, pad, d, ceil):
    out = []
    for ni, ki, si, (lo, hi), di in zip(n, k, s, pad, d):
        span = ni + lo + hi - (ki - 1) * di - 1
        o = (-(-span // si) if ceil else span // si) + 1
        if ceil and (o - 1) * si >= ni + lo:
            o -= 1
        out.append(o)
    return tuple(out)


def pool_windows(n, k, s, pad, d, ceil, cip):
    """(o, [positions of the real inputs, row-major], divisor)."""
    for o in grid(pool_size(n, k, s, pad, d, ceil)):
        cells, counted = [], 0
        for t in grid(k):
            pos = tuple(oi * si + ti * di - lo for oi, ti, si, di, (lo, _) in zip(o, t, s, d, pad))
            if _inside(pos, n):
                cells.append(pos)
                counted += 1
            elif all(-lo <= p < ni + hi for p, ni, (lo, hi) in zip(pos, n, pad)) and cip:
                counted += 1
        yield o, cells, counted


def pool_forward(x, kind, k, s=None, pad=0, d=1, ceil=False, cip=True, pad_value=None):
    nd = x.ndim - 1
    k = _per_axis(k, nd)
    s, d, pad = _per_axis(s or k, nd), _per_axis(d, nd), _pads(pad, nd)
    n = x.shape[1:]
    y = zeros((x.shape[0],) + pool_size(n, k, s, pad, d, ceil))
    for o, cells, count in pool_windows(n, k, s, pad, d, ceil, cip):
        for c in range(x.shape[0]):
            vals = [Fr(x[(c,) + p]) for p in cells]
            if kind == "max":
                if pad_value is not None and len(cells) < np.prod(k):
                    vals.append(Fr(pad_value))
                y[(c,) + o] = max(vals)
            else:
                y[(c,) + o] = sum(vals, Fr(0)) / count
    return y


def pool_backward(x, dy, kind, k, s=None, pad=0, d=1, ceil=False, cip=True):
    nd = x.ndim - 1
    k = _per_axis(k, nd)
    s, d, pad = _per_axis(s or k, nd), _per_axis(d, nd), _pads(pad, nd)
    dx = zeros(x.shape)
    for o, cells, count in pool_windows(x.shape[1:], k, s, pad, d, ceil, cip):
        for c in range(x.shape[0]):
            g = Fr(dy[(c,) + o])
            if kind == "max":
                vals = [Fr(x[(c,) + p]) for p in cells]
                dx[(c,) + cells[vals.index(max(vals))]] += g
            else:
                for p in cells:
                    dx[(c,) + p] += g / count
    return dx


# ---------------------------------------------------------------------- Toeplitz
def toeplitz_row(forward, x_shape):
    """W with x W = y (row convention) of a linear map, column by column from unit inputs."""
    size = int(np.prod(x_shape))
    cols = []
    for i in range(size):
        e = zeros((size,))
        e[i] = Fr(1)
        cols.append(forward(e.reshape(x_shape)).reshape(-1))
    return np.array([list(c) for c in cols], dtype=object)


def _per_axis(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _pads(p, nd):
    if isinstance(p, int):
        return ((p, p),) * nd
    return tuple((q, q) if isinstance(q, int) else tuple(q) for q in p)
