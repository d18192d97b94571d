"""What the generated-kernel tests share: random inputs, Fraction arrays, the reference loops
run over a batch (the oracle: symconv/core/reference.py, one sample at a time) and a relative
comparison."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from symconv import reference


def inputs(spec, n, rng, dtype=np.float64):
    """Random (x, w, b, dy); w/b None where the layer has none."""
    x = rng.standard_normal((n,) + spec.x_shape).astype(dtype)
    dy = rng.standard_normal((n,) + spec.y_shape).astype(dtype)
    w = rng.standard_normal(spec.w_shape).astype(dtype) if spec.has_weight else None
    b = rng.standard_normal(spec.b_shape).astype(dtype) if spec.bias else None
    return x, w, b, dy


def fractions(rng, shape, low=-6, high=7):
    """An object array of random Fractions p/q, low <= p < high, 1 <= q <= 4."""
    size = math.prod(shape)
    values = [
        Fraction(int(p), int(q))
        for p, q in zip(rng.integers(low, high, size), rng.integers(1, 5, size))
    ]
    return np.array(values, dtype=object).reshape(shape)


def run_reference(spec, x, w, b, dy):
    """(y, dx, dw, db) from reference.py, sample by sample (dw, db summed over the batch)."""
    ys, dxs, dws, dbs = [], [], [], []
    for i in range(x.shape[0]):
        ys.append(reference.forward(spec, x[i], w, b))
        dx, dw, db = reference.backward(spec, dy[i], x[i], w)
        dxs.append(dx)
        dws.append(dw)
        dbs.append(db)
    dw = sum(dws[1:], dws[0]) if spec.has_weight else None
    db = sum(dbs[1:], dbs[0]) if spec.bias else None
    return np.stack(ys), np.stack(dxs), dw, db


def assert_close(ours, theirs, rtol, what):
    """``ours`` within ``rtol`` of ``theirs`` relative to its largest entry (at least 1)."""
    if theirs is None:
        assert ours is None, f"{what}: expected None"
        return
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    scale = max(float(np.abs(theirs).max()), 1.0)
    err = float(np.abs(ours - theirs).max()) / scale
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:.0e}"
