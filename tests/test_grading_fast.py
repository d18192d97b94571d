"""The checker's fast path (:mod:`symconv.grading.fast`): every quantity read off the index map
in exact arithmetic equals the reference loops of :mod:`symconv.core.reference` (no SymPy, no
index map) on a grid of layer kinds, and the Toeplitz matrix equals the derivation's."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy

import symconv
from symconv.core import reference
from symconv.grading import fast

LAYERS = {
    "conv2d-stride-pad": lambda: symconv.conv((5, 4), 3, stride=2, padding=1, bias=True),
    "conv2d-groups-dil": lambda: symconv.conv(
        (5, 5), 2, in_channels=4, out_channels=2, groups=2, dilation=2
    ),
    "conv1d-flip": lambda: symconv.conv(6, 3, in_channels=2, out_channels=3, flip=True),
    "conv3d": lambda: symconv.conv((3, 3, 3), 2, padding=((1, 0), (0, 1), (0, 0))),
    "convT2d": lambda: symconv.conv_transpose(
        (3, 3), 3, in_channels=2, out_channels=2, stride=2, padding=1, output_padding=1, bias=True
    ),
    "convT1d-groups": lambda: symconv.conv_transpose(
        4, 2, in_channels=2, out_channels=4, groups=2, dilation=2
    ),
    "maxpool-ties-first": lambda: symconv.max_pool((5, 5), 3, stride=1, padding=1),
    "maxpool-ties-split": lambda: symconv.max_pool((4, 4), 2, channels=2, ties="split"),
    "avgpool-ceil": lambda: symconv.avg_pool((5, 5), 2, ceil_mode=True, padding=1),
    "avgpool-nopad-count": lambda: symconv.avg_pool(
        (5, 5), 3, stride=2, padding=1, count_include_pad=False
    ),
}


def _values(shape, seed, small=False):
    rng = np.random.default_rng(seed)
    hi = 3 if small else 6
    vals = [
        Fraction(int(v), int(d))
        for v, d in zip(rng.integers(-hi, hi, np.prod(shape)), rng.integers(1, 3, np.prod(shape)))
    ]
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(shape)


def _sym(arr):
    out = np.empty(arr.size, dtype=object)
    out[:] = [sympy.Rational(v.numerator, v.denominator) for v in arr.reshape(-1)]
    return out.reshape(arr.shape)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fast_path_equals_the_reference_loops(name):
    spec = LAYERS[name]().spec
    x = _values(spec.x_shape, 1, small=spec.kind == "max_pool")  # small: ties in max pools
    w = _values(spec.w_shape, 2) if spec.has_weight else None
    b = _values(spec.b_shape, 3) if spec.bias else None
    dy = _values(spec.y_shape, 4)
    y_ref = reference.forward(spec, x, w, b)
    dx_ref, dw_ref, db_ref = reference.backward(spec, dy, x, w)
    X, W, B, DY = (None if a is None else _sym(a) for a in (x, w, b, dy))
    pairs = {"output": y_ref, "grad-input": dx_ref, "grad-weight": dw_ref, "grad-bias": db_ref}
    for quantity, ref in pairs.items():
        if ref is None:
            continue
        got = fast.evaluate(spec, quantity, X, W, B, DY)
        assert got.shape == ref.shape, quantity
        assert [Fraction(int(v.p), int(v.q)) for v in got.reshape(-1)] == list(
            ref.reshape(-1)
        ), quantity


@pytest.mark.parametrize("name", [n for n in sorted(LAYERS) if not n.startswith("maxpool")])
@pytest.mark.parametrize("convention", ["row", "column"])
def test_fast_toeplitz_equals_the_derivation(name, convention):
    layer = LAYERS[name]()
    spec = layer.spec
    w = _values(spec.w_shape, 2) if spec.has_weight else None
    W = None if w is None else _sym(w)
    got = fast.evaluate(spec, "toeplitz", None, W, None, None, convention)
    d = symconv.derive(layer, index_base=0)
    T = np.array(d.toeplitz(convention).tolist(), dtype=object)
    if W is not None:
        subs = dict(zip(np.asarray(d.w.tolist(), dtype=object).reshape(-1), W.reshape(-1)))
        T = np.vectorize(lambda e: sympy.sympify(e).xreplace(subs), otypes=[object])(T)
    assert got.shape == T.shape
    assert all(sympy.simplify(a - e) == 0 for a, e in zip(got.reshape(-1), T.reshape(-1)))


def test_symbolic_values_are_left_to_the_derivation():
    spec = symconv.conv((3, 3), 2).spec
    X = np.array([[[sympy.Symbol("a")] * 3] * 3], dtype=object)
    W = _sym(_values(spec.w_shape, 2))
    assert fast.evaluate(spec, "output", X, W, None, None) is None
    # a max pool's routing needs numeric inputs only: a symbolic dE/dy is routed exactly
    pool = symconv.max_pool((2, 2), 2).spec
    g = sympy.Symbol("g")
    x = _sym(np.array([[[Fraction(1), Fraction(3)], [Fraction(3), Fraction(0)]]], dtype=object))
    dx = fast.evaluate(pool, "grad-input", x, None, None, np.array([[[g]]], dtype=object))
    assert dx.reshape(-1).tolist() == [0, g, 0, 0]
