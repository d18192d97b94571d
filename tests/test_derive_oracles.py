"""The acceptance grid of the core issue: the symbolic derivation against its oracles.

For each layer of an explicit grid (1-D/2-D/3-D; kernel 1..5; stride 1..3; padding 0..2,
'same', 'valid' and per-side; dilation 1..3; channels and groups including depthwise; bias;
flip; transposed with output_padding; max/avg pools with ceil_mode, count_include_pad, ties):

(a) the forward evaluated from the derivation equals ``reference.forward`` (exact and float64);
(b) the gradients equal ``sympy.diff`` of the full expression ``E = sum_o dy_o * y_o``;
(c) the gradients equal central finite differences of ``E = 1/2 sum (y - yhat)^2`` in float64;
(d) ``T vec(x) + bias`` equals ``vec(y)`` and the row convention is ``T^T``;
(e) ``reference.backward`` equals the evaluated gradients exactly;
(f) PyTorch agrees (directly here where PyTorch takes the layer natively; every layer goes
    through ``reference`` in test_reference.py);
(g) the stated identities verify (conv and conv_transpose);
(h) max-pool ties: 'first' routes to the first maximum, 'split' shares equally.

Plus the rules of seed 003: backward with strides by hand, max-pool routing with ``+=`` across
overlapping windows, mean-pool backward spreading 1/K^2.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy

import symconv
from symconv import SymconvError, reference

CONSTRUCTORS = {
    "conv": symconv.conv,
    "conv_transpose": symconv.conv_transpose,
    "max_pool": symconv.max_pool,
    "avg_pool": symconv.avg_pool,
}


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if all(isinstance(v, int) for v in value):
        return "x".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0])
    return "x".join(f"{v},{v}" if isinstance(v, int) else f"{v[0]},{v[1]}" for v in value)


def case_id(kind, input_size, kernel_size, kw) -> str:
    """Readable ids such as ``conv2d-in5x5-k3-s2-p1-d1-g1``."""
    nd = len(input_size)
    op = {"conv_transpose": "convT", "max_pool": "maxpool", "avg_pool": "avgpool"}.get(kind, kind)
    parts = [f"{op}{nd}d", "in" + "x".join(map(str, input_size)), "k" + _fmt(kernel_size)]
    default_stride = kernel_size if kind in ("max_pool", "avg_pool") else 1
    parts.append("s" + _fmt(kw.get("stride", default_stride)))
    parts.append("p" + _fmt(kw.get("padding", 0)))
    if kind != "avg_pool":
        parts.append("d" + _fmt(kw.get("dilation", 1)))
    if kind in ("conv", "conv_transpose"):
        parts.append("g" + _fmt(kw.get("groups", 1)))
        if kw.get("in_channels", 1) > 1 or kw.get("out_channels", 1) > 1:
            parts.append(f"c{kw.get('in_channels', 1)}to{kw.get('out_channels', 1)}")
    elif kw.get("channels", 1) > 1:
        parts.append(f"c{kw['channels']}")
    if "output_padding" in kw:
        parts.append("op" + _fmt(kw["output_padding"]))
    for flag in ("bias", "flip"):
        if kw.get(flag):
            parts.append(flag)
    if kw.get("ceil_mode"):
        parts.append("ceil")
    if kw.get("count_include_pad") is False:
        parts.append("excl")
    if kw.get("ties", "first") != "first":
        parts.append("ties_" + kw["ties"])
    return "-".join(parts)


def case(kind, input_size, kernel_size, **kw):
    return pytest.param(
        kind, input_size, kernel_size, kw, id=case_id(kind, input_size, kernel_size, kw)
    )


GRID = [
    # ---- conv 1-D: kernels 1..5, strides 1..3, paddings 0..2 / same / valid / per-side
    case("conv", (5,), 1),
    case("conv", (6,), 2, stride=2, padding=1),
    case("conv", (7,), 3, stride=3, padding=2, bias=True),
    case("conv", (6,), 4, padding="same"),
    case("conv", (7,), 5, stride=2, padding="same", flip=True),
    case("conv", (7,), 3, dilation=2, padding="valid"),
    case("conv", (7,), 3, dilation=3, padding=((2, 1),)),
    case("conv", (5,), 2, in_channels=4, out_channels=2, groups=2, bias=True),
    case("conv", (5,), 3, in_channels=3, out_channels=3, groups=3, padding=1, flip=True),
    # ---- conv 2-D
    case("conv", (3, 3), 2),
    case("conv", (4, 4), 3, padding=1, bias=True),
    case("conv", (5, 5), 3, stride=2, padding=1),
    case("conv", (5, 4), (2, 3), stride=(2, 1), dilation=(2, 1)),
    case("conv", (4, 4), 2, padding=((1, 0), (0, 1)), bias=True),
    case("conv", (5, 5), 3, stride=2, padding="same"),
    case("conv", (4, 5), 4, padding="same"),
    case("conv", (4, 4), 3, padding="valid", flip=True, bias=True),
    case("conv", (5, 5), 5, stride=3, padding=2),
    case("conv", (5, 5), 2, dilation=3, padding=1),
    case("conv", (4, 4), 3, dilation=2, padding=2, stride=3),
    case("conv", (3, 4), 2, in_channels=2, out_channels=4, groups=2, bias=True),
    case("conv", (3, 3), 2, in_channels=3, out_channels=3, groups=3, flip=True),
    case("conv", (3, 4), 2, in_channels=2, out_channels=3, stride=2, bias=True),
    # ---- conv 3-D
    case("conv", (3, 3, 3), 2, bias=True),
    case("conv", (4, 3, 4), (2, 1, 3), stride=(2, 1, 1), padding=(1, 0, 1)),
    case(
        "conv",
        (3, 2, 3),
        2,
        in_channels=2,
        out_channels=2,
        groups=2,
        flip=True,
        padding=((1, 0), (0, 0), (0, 1)),
    ),
    case("conv", (5, 3, 3), 2, dilation=(2, 1, 1), stride=(1, 1, 2)),
    # ---- transposed convolution
    case("conv_transpose", (3,), 3, stride=2),
    case("conv_transpose", (3,), 2, stride=3, output_padding=2, bias=True),
    case("conv_transpose", (4,), 3, padding=1, dilation=2, output_padding=1),
    case("conv_transpose", (3,), 2, in_channels=2, out_channels=4, groups=2, bias=True),
    case("conv_transpose", (3,), 4, stride=2, padding=((2, 1),), output_padding=1),
    case("conv_transpose", (2,), 5, padding=2),
    case("conv_transpose", (2, 2), 3, stride=2, padding=1, output_padding=1, bias=True),
    case(
        "conv_transpose",
        (2, 3),
        (2, 3),
        stride=(3, 1),
        padding=((1, 0), (0, 1)),
        output_padding=(2, 0),
    ),
    case("conv_transpose", (3, 3), 2, dilation=2, in_channels=2, out_channels=2, bias=True),
    case("conv_transpose", (2, 2), 2, stride=2, in_channels=2, out_channels=2, groups=2),
    case("conv_transpose", (3, 2), 1, stride=2),
    case("conv_transpose", (2, 2, 2), 2, stride=2, output_padding=1, bias=True),
    case("conv_transpose", (2, 2, 2), 3, padding=1, in_channels=2, out_channels=2, groups=2),
    # ---- max pool
    case("max_pool", (6,), 2),
    case("max_pool", (7,), 3, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (5,), 2, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (7,), 2, stride=1, dilation=2, padding=1),
    case("max_pool", (6,), 3, stride=1, ties="split"),
    case("max_pool", (4, 4), 2),
    case("max_pool", (4, 4), 2, stride=1),
    case("max_pool", (5, 5), 3, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (5, 6), (2, 3), stride=1, dilation=2),
    case("max_pool", (5, 5), 2, channels=2, ceil_mode=True),
    case("max_pool", (4, 5), 2, stride=1, padding=((1, 0), (0, 1))),
    case("max_pool", (4, 4), 3, stride=1, ties="split"),
    case("max_pool", (5, 5), 3, stride=2, padding=1, ceil_mode=True, ties="split"),
    case("max_pool", (5, 5), 3, stride=3, padding="same"),
    case("max_pool", (3, 3, 3), 2, stride=1),
    case("max_pool", (4, 4, 3), 2, stride=2, padding=1, ceil_mode=True),
    # ---- avg pool
    case("avg_pool", (7,), 3, stride=2, padding=1),
    case("avg_pool", (8,), 3, stride=2, padding=1, ceil_mode=True),
    case("avg_pool", (8,), 3, stride=2, padding=1, count_include_pad=False),
    case("avg_pool", (8,), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    case("avg_pool", (4, 4), 2),
    case("avg_pool", (6, 6), 3, stride=2, padding=1, ceil_mode=True),
    case(
        "avg_pool",
        (6, 5),
        (2, 3),
        stride=(2, 1),
        padding=1,
        ceil_mode=True,
        count_include_pad=False,
    ),
    case("avg_pool", (4, 5), 2, stride=1, padding=((1, 0), (0, 1)), count_include_pad=False),
    case("avg_pool", (5, 5), 4, stride=3, padding=2, ceil_mode=True, channels=2),
    case("avg_pool", (5, 5), 2, padding="same"),
    case("avg_pool", (3, 3, 3), 2, stride=1),
    case("avg_pool", (4, 4, 4), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
]

LINEAR = [p for p in GRID if p.values[0] != "max_pool"]
CONVS = [p for p in GRID if p.values[0] in ("conv", "conv_transpose")]
grid = pytest.mark.parametrize("kind, input_size, kernel_size, kw", GRID)

_DERIVATIONS: dict = {}


def derivation(kind, input_size, kernel_size, kw):
    """The derivation of a grid layer, built once per test session."""
    key = case_id(kind, input_size, kernel_size, kw)
    if key not in _DERIVATIONS:
        _DERIVATIONS[key] = symconv.derive(CONSTRUCTORS[kind](input_size, kernel_size, **kw))
    return _DERIVATIONS[key]


# ---------------------------------------------------------------------- numbers
def exact_inputs(spec, seed, *, distinct=False):
    """x, w, b, dy as object arrays of small Fractions (halves); ``distinct`` gives x without
    ties (max pool)."""
    rng = np.random.default_rng(seed)

    def draw(shape):
        if shape is None:
            return None
        values = [Fraction(int(v), 2) for v in rng.integers(-6, 7, size=math.prod(shape))]
        return np.array(values, dtype=object).reshape(shape)

    x = draw(spec.x_shape)
    if distinct:
        order = rng.permutation(math.prod(spec.x_shape))
        x = np.array([Fraction(int(v) - 7, 3) for v in order], dtype=object).reshape(x.shape)
    return x, draw(spec.w_shape), draw(spec.b_shape), draw(spec.y_shape)


def float_inputs(spec, seed, *, distinct=False):
    rng = np.random.default_rng(seed)

    def draw(shape):
        return None if shape is None else rng.standard_normal(shape)

    x = draw(spec.x_shape)
    if distinct:  # values at least 1/4 apart: no ties, and far from one under a 1e-6 step
        x = rng.permutation(np.arange(x.size, dtype=np.float64)).reshape(x.shape) / 4 - 2
    return x, draw(spec.w_shape), draw(spec.b_shape), draw(spec.y_shape)


def substitution(d, x, w=None, b=None, dy=None):
    """{symbol: sympy number} for the given arrays."""
    subs = {}
    for syms, values in ((d.x, x), (d.w, w), (d.b, b), (d.dy, dy)):
        if syms is None or values is None:
            continue
        for s, v in zip(sympy.flatten(syms.tolist()), np.asarray(values, dtype=object).flat):
            subs[s] = sympy.Rational(v.numerator, v.denominator)
    return subs


def flat(arr) -> list:
    return [] if arr is None else list(sympy.flatten(arr.tolist()))


def exact_equal(actual, expected) -> bool:
    actual = np.asarray(actual, dtype=object)
    expected = np.asarray(expected, dtype=object)
    return actual.shape == expected.shape and all(
        a == e for a, e in zip(actual.reshape(-1), expected.reshape(-1))
    )


# ---------------------------------------------------------------------- (a) forward
@grid
def test_forward_matches_reference_exact(kind, input_size, kernel_size, kw):
    d = derivation(kind, input_size, kernel_size, kw)
    x, w, b, _ = exact_inputs(d.spec, 1, distinct=kind == "max_pool")
    got = d.evaluate(x=x, w=w, b=b)["y"]
    assert got.shape == d.spec.y_shape
    assert all(isinstance(v, Fraction) for v in got.reshape(-1))
    assert exact_equal(got, reference.forward(d.spec, x, w, b))


@grid
def test_forward_matches_reference_float(kind, input_size, kernel_size, kw):
    d = derivation(kind, input_size, kernel_size, kw)
    x, w, b, _ = float_inputs(d.spec, 2)
    got = d.evaluate(x=x, w=w, b=b)["y"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference.forward(d.spec, x, w, b), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- (b) sympy.diff
@grid
def test_gradients_match_sympy_diff(kind, input_size, kernel_size, kw):
    """dE/dp == diff(sum_o dy_o * y_o, p) for every input, weight and bias symbol.

    For max pool the derivative of Max is a Heaviside expression and the derivation's is a
    Piecewise: both are compared at a tie-free point (x numbers, dy symbols kept)."""
    d = derivation(kind, input_size, kernel_size, kw)
    E = sympy.Add(*[dy * y for dy, y in zip(flat(d.dy), flat(d.y))])
    point = {}
    if kind == "max_pool":
        x, _, _, _ = exact_inputs(d.spec, 3, distinct=True)
        point = substitution(d, x)
    pairs = list(zip(flat(d.x), flat(d.grad_x)))
    pairs += list(zip(flat(d.w), flat(d.grad_w))) + list(zip(flat(d.b), flat(d.grad_b)))
    assert len(pairs) == (
        math.prod(d.spec.x_shape)
        + (math.prod(d.spec.w_shape) if d.spec.w_shape else 0)
        + (d.spec.out_channels if d.spec.bias else 0)
    )
    for symbol, grad in pairs:
        expected = sympy.diff(E, symbol)
        if point:
            expected, grad = expected.xreplace(point), grad.xreplace(point)
        assert sympy.expand(expected - grad) == 0, f"dE/d{symbol}: {grad} != {expected}"


# ---------------------------------------------------------------------- (c) finite differences
@grid
def test_gradients_match_finite_differences(kind, input_size, kernel_size, kw):
    """Central differences of E = 1/2 sum (y - yhat)^2 in float64, the forward lambdified once
    from the derivation; the gradients from ``evaluate(target=yhat)``."""
    d = derivation(kind, input_size, kernel_size, kw)
    x, w, b, yhat = float_inputs(d.spec, 4, distinct=kind == "max_pool")
    names = [n for n, a in (("x", x), ("w", w), ("b", b)) if a is not None]
    arrays = {"x": x, "w": w, "b": b}
    symbols = [s for n in names for s in flat(getattr(d, n))]
    forward = sympy.lambdify(symbols, flat(d.y), modules="numpy")

    def loss(values):
        y = np.asarray(forward(*np.concatenate([values[n].reshape(-1) for n in names])))
        return 0.5 * np.sum((y - yhat.reshape(-1)) ** 2)

    grads = d.evaluate(x=x, w=w, b=b, target=yhat)
    h = 1e-6
    for name in names:
        numeric = np.zeros_like(arrays[name])
        for idx in np.ndindex(arrays[name].shape):
            up = {n: arrays[n].copy() for n in names}
            down = {n: arrays[n].copy() for n in names}
            up[name][idx] += h
            down[name][idx] -= h
            numeric[idx] = (loss(up) - loss(down)) / (2 * h)
        np.testing.assert_allclose(
            grads["grad_" + name], numeric, rtol=1e-6, atol=1e-6, err_msg=f"dE/d{name}"
        )


# ---------------------------------------------------------------------- (d) Toeplitz
@pytest.mark.parametrize("kind, input_size, kernel_size, kw", LINEAR)
def test_toeplitz_times_vec_x_is_the_forward(kind, input_size, kernel_size, kw):
    d = derivation(kind, input_size, kernel_size, kw)
    T = d.toeplitz()
    n_y, n_x = math.prod(d.spec.y_shape), math.prod(d.spec.x_shape)
    assert T.shape == (n_y, n_x)
    assert isinstance(T, sympy.SparseMatrix)
    vec_x = sympy.Matrix(flat(d.x))
    vec_y = T * vec_x + d.bias_vector()
    for got, expected in zip(vec_y, flat(d.y)):
        assert sympy.expand(got - expected) == 0
    assert d.toeplitz("row") == T.T
    assert d.jacobian() == T


def test_max_pool_has_no_toeplitz_matrix():
    d = symconv.derive(symconv.max_pool((4, 4), 2))
    with pytest.raises(SymconvError, match="not linear"):
        d.toeplitz()


# ---------------------------------------------------------------------- (e) reference.backward
@grid
def test_backward_matches_reference_exact(kind, input_size, kernel_size, kw):
    d = derivation(kind, input_size, kernel_size, kw)
    x, w, b, dy = exact_inputs(d.spec, 5)  # max pool: ties included, same policy on both sides
    got = d.evaluate(x=x, w=w, b=b, dy=dy)
    dx, dw, db = reference.backward(d.spec, dy, x, w)
    assert exact_equal(got["grad_x"], dx)
    assert (got["grad_w"] is None) == (dw is None)
    if dw is not None:
        assert exact_equal(got["grad_w"], dw)
    assert (got["grad_b"] is None) == (db is None)
    if db is not None:
        assert exact_equal(got["grad_b"], db)


# ---------------------------------------------------------------------- (f) PyTorch, directly
def _torch_native(spec) -> bool:
    """Layers PyTorch's functional API takes as they are (symmetric padding it accepts)."""
    if any(lo != hi for lo, hi in spec.padding):
        return False
    if spec.is_pool:
        return all(lo <= k // 2 for (lo, _), k in zip(spec.padding, spec.kernel_size))
    return True


TORCH_CASES = [
    p for p in GRID if _torch_native(CONSTRUCTORS[p.values[0]](*p.values[1:3], **p.values[3]).spec)
]


@pytest.mark.parametrize("kind, input_size, kernel_size, kw", TORCH_CASES)
def test_pytorch_agrees(torch_or_skip, kind, input_size, kernel_size, kw):
    torch = torch_or_skip
    F = torch.nn.functional
    d = derivation(kind, input_size, kernel_size, kw)
    spec = d.spec
    nd, pad = spec.ndim, tuple(lo for lo, _ in spec.padding)
    x, w, b, dy = float_inputs(spec, 6, distinct=kind == "max_pool")

    def leaf(a, batch=False):
        return None if a is None else torch.tensor(a[None] if batch else a, requires_grad=True)

    xt, wt, bt = leaf(x, True), leaf(w), leaf(b)
    if kind == "conv":
        wk = torch.flip(wt, dims=tuple(range(2, 2 + nd))) if spec.flip else wt
        yt = getattr(F, f"conv{nd}d")(xt, wk, bt, spec.stride, pad, spec.dilation, spec.groups)
    elif kind == "conv_transpose":
        yt = getattr(F, f"conv_transpose{nd}d")(
            xt, wt, bt, spec.stride, pad, spec.output_padding, spec.groups, spec.dilation
        )
    elif kind == "max_pool":
        yt = getattr(F, f"max_pool{nd}d")(
            xt, spec.kernel_size, spec.stride, pad, spec.dilation, ceil_mode=spec.ceil_mode
        )
    else:
        yt = getattr(F, f"avg_pool{nd}d")(
            xt,
            spec.kernel_size,
            spec.stride,
            pad,
            ceil_mode=spec.ceil_mode,
            count_include_pad=spec.count_include_pad,
        )
    yt.backward(torch.tensor(dy[None]))
    got = d.evaluate(x=x, w=w, b=b, dy=dy)
    close = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["y"], yt.detach().numpy()[0], **close)
    np.testing.assert_allclose(got["grad_x"], xt.grad.numpy()[0], **close)
    if wt is not None:
        np.testing.assert_allclose(got["grad_w"], wt.grad.numpy(), **close)
    if bt is not None:
        np.testing.assert_allclose(got["grad_b"], bt.grad.numpy(), **close)


# ---------------------------------------------------------------------- (g) identities
@pytest.mark.parametrize("kind, input_size, kernel_size, kw", CONVS)
def test_identities_verify(kind, input_size, kernel_size, kw):
    d = derivation(kind, input_size, kernel_size, kw)
    results = d.verify_identities()
    expected = {"grad_x_transpose", "grad_w_correlation", "grad_x_full_correlation"}
    if d.spec.bias:
        expected.add("grad_b_sum")
    assert set(results) == expected
    assert all(results.values()), results


# ---------------------------------------------------------------------- (h) ties
TIE_LAYERS = [
    pytest.param((2, 2), 2, 1, id="maxpool2d-in2x2-k2"),
    pytest.param((4, 4), 2, 1, id="maxpool2d-in4x4-k2-s1-overlap"),
    pytest.param((5,), 3, 2, id="maxpool1d-in5-k3-s2"),
    pytest.param((3, 3, 3), 2, 1, id="maxpool3d-in3x3x3-k2-s1"),
]


@pytest.mark.parametrize("input_size, kernel_size, stride", TIE_LAYERS)
def test_max_pool_ties(input_size, kernel_size, stride):
    """'first': the whole dE/dy of a window goes to its row-major first maximum; 'split': each
    of the m tied maxima gets dE/dy / m (exact Fractions)."""
    rng = np.random.default_rng(7)
    first = symconv.derive(symconv.max_pool(input_size, kernel_size, stride=stride))
    split = symconv.derive(symconv.max_pool(input_size, kernel_size, stride=stride, ties="split"))
    spec = first.spec
    x = np.array(
        [Fraction(int(v)) for v in rng.integers(0, 2, size=math.prod(spec.x_shape))],
        dtype=object,
    ).reshape(spec.x_shape)
    x.reshape(-1)[0] = Fraction(1)  # the first window certainly ties (0/1 values)
    x.reshape(-1)[1] = Fraction(1)
    dy = np.array(
        [Fraction(int(v)) for v in rng.integers(1, 9, size=math.prod(spec.y_shape))],
        dtype=object,
    ).reshape(spec.y_shape)
    # expected routing, window by window
    want_first = np.full(spec.x_shape, Fraction(0), dtype=object)
    want_split = np.full(spec.x_shape, Fraction(0), dtype=object)
    nd = len(input_size)
    k = (kernel_size,) * nd
    for o in np.ndindex(*spec.output_size):
        window = [
            tuple(oi * stride + ti for oi, ti in zip(o, t))
            for t in np.ndindex(*k)
            if all(oi * stride + ti < n for oi, ti, n in zip(o, t, input_size))
        ]
        top = max(x[(0,) + p] for p in window)
        tied = [p for p in window if x[(0,) + p] == top]
        want_first[(0,) + tied[0]] += dy[(0,) + o]
        for p in tied:
            want_split[(0,) + p] += dy[(0,) + o] / len(tied)
    got_first = first.evaluate(x=x, dy=dy)["grad_x"]
    got_split = split.evaluate(x=x, dy=dy)["grad_x"]
    assert exact_equal(got_first, want_first)
    assert exact_equal(got_split, want_split)
    assert not exact_equal(want_first, want_split)  # the input really has ties
    assert sum(got_first.reshape(-1)) == sum(got_split.reshape(-1)) == sum(dy.reshape(-1))


def test_max_pool_split_ties_symbolic_form():
    """A 2x2 window of four equal values: each gets a quarter of dE/dy."""
    d = symconv.derive(symconv.max_pool((2, 2), 2, ties="split"))
    a = sympy.Rational(3, 2)
    subs = {s: a for s in flat(d.x)}
    (dy,) = flat(d.dy)
    assert all(sympy.simplify(g.xreplace(subs) - dy / 4) == 0 for g in flat(d.grad_x))


# ---------------------------------------------------------------------- seed 003 rules
def _by_hand_strided_grad_x(dz, w, stride, input_size):
    """dE/dx of a strided, unpadded 2-D cross-correlation, by the seed-003 recipe:
    1. insert stride-1 zeros between the entries of dz (stride-dilate);
    2. zero-pad by K-1 on every side;
    3. full correlation with the 180-degree-rotated filter;
    4. rows/columns of x no window reached (past the last one) get zero."""
    K = w.shape
    dil = np.full(
        tuple((n - 1) * s + 1 for n, s in zip(dz.shape, stride)), sympy.Integer(0), dtype=object
    )
    dil[:: stride[0], :: stride[1]] = dz
    padded = np.full(
        tuple(n + 2 * (k - 1) for n, k in zip(dil.shape, K)), sympy.Integer(0), dtype=object
    )
    padded[K[0] - 1 : K[0] - 1 + dil.shape[0], K[1] - 1 : K[1] - 1 + dil.shape[1]] = dil
    rot = w[::-1, ::-1]
    full_shape = tuple(p - k + 1 for p, k in zip(padded.shape, K))
    out = np.full(input_size, sympy.Integer(0), dtype=object)
    for i in range(full_shape[0]):
        for j in range(full_shape[1]):
            out[i, j] = sympy.Add(
                *[padded[i + a, j + c] * rot[a, c] for a in range(K[0]) for c in range(K[1])]
            )
    return out


@pytest.mark.parametrize(
    "input_size, kernel_size, stride",
    [
        pytest.param((5, 5), 3, (2, 2), id="conv2d-in5x5-k3-s2-exact-cover"),
        pytest.param((6, 6), 3, (2, 2), id="conv2d-in6x6-k3-s2-last-row-unread"),
        pytest.param((7, 5), 2, (3, 2), id="conv2d-in7x5-k2-s3x2"),
    ],
)
def test_seed003_backward_with_strides(input_size, kernel_size, stride):
    d = symconv.derive(symconv.conv(input_size, kernel_size, stride=stride))
    dz = np.array(d.dy.tolist(), dtype=object)[0]
    w = np.array(d.w.tolist(), dtype=object)[0, 0]
    want = _by_hand_strided_grad_x(dz, w, stride, input_size)
    got = np.array(d.grad_x.tolist(), dtype=object)[0]
    assert got.shape == want.shape
    for g, e in zip(got.reshape(-1), want.reshape(-1)):
        assert sympy.expand(g - e) == 0


def test_seed003_max_pool_routing_accumulates_over_overlapping_windows():
    """Stride 1 < kernel 2: the global maximum x[1, 2] wins the four windows that contain it,
    so its gradient is the sum (+=) of their four dE/dy; everything else gets nothing."""
    d = symconv.derive(symconv.max_pool((4, 4), 2, stride=1))
    values = np.arange(16).reshape(4, 4) % 5  # small values, unique maximum placed below
    values[1, 2] = 100
    subs = {s: sympy.Integer(int(v)) for s, v in zip(flat(d.x), values.reshape(-1))}
    got = np.array([g.xreplace(subs) for g in flat(d.grad_x)], dtype=object).reshape(4, 4)
    dy = sympy.symbols("dy_12 dy_13 dy_22 dy_23", real=True)
    assert sympy.expand(got[1, 2] - sum(dy)) == 0
    reference_dx = reference.backward(
        d.spec, np.ones(d.spec.y_shape, dtype=object), values[None].astype(object)
    )[0]
    ones = {s: 1 for s in flat(d.dy)}
    assert [int(g.xreplace(ones)) for g in got.reshape(-1)] == list(reference_dx.reshape(-1))


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_seed003_mean_pool_backward_spreads_one_over_k_squared(kernel_size):
    k = kernel_size
    d = symconv.derive(symconv.avg_pool((2 * k, 2 * k), k))
    dy = np.array(d.dy.tolist(), dtype=object)[0]
    got = np.array(d.grad_x.tolist(), dtype=object)[0]
    for i, j in np.ndindex(got.shape):
        assert sympy.expand(got[i, j] - dy[i // k, j // k] / k**2) == 0


def test_seed003_overlapping_mean_pool_sums_shares():
    """Stride 1, kernel 3 on 4x4: x[1, 1] is in all four windows, each giving dy/9."""
    d = symconv.derive(symconv.avg_pool((4, 4), 3, stride=1))
    assert sympy.expand(d.grad_x[0, 1, 1] - sum(flat(d.dy)) / 9) == 0
    assert sympy.expand(d.grad_x[0, 0, 0] - d.dy[0, 0, 0] / 9) == 0


# ---------------------------------------------------------------------- windows of padding only
# input 1, kernel 2, dilation 3, padding 2 is allowed (padding at most half the effective
# kernel 4), and both windows read only padding, so max pooling gives y = -inf there.
PADDING_ONLY = dict(input_size=(1,), kernel_size=2, dilation=3, padding=2, stride=1)


def test_max_pool_window_of_padding_only_float():
    layer = symconv.max_pool(**PADDING_ONLY)
    want = reference.forward(layer, np.array([[1.0]]))
    assert list(want.reshape(-1)) == [-math.inf, -math.inf]
    got = symconv.derive(layer).evaluate(x=[[1.0]], dy=[[1.0, 1.0]])
    np.testing.assert_array_equal(got["y"], want)
    np.testing.assert_array_equal(got["grad_x"], [[0.0]])


def test_max_pool_window_of_padding_only_exact():
    layer = symconv.max_pool(**PADDING_ONLY)
    got = symconv.derive(layer).evaluate(x=[[Fraction(1)]], dy=[[Fraction(1), Fraction(1)]])
    assert list(got["y"].reshape(-1)) == [-math.inf, -math.inf]
    assert list(got["grad_x"].reshape(-1)) == [0]


# ---------------------------------------------------------------------- the seed-000 loss
@pytest.mark.parametrize(
    "kind, input_size, kernel_size, kw",
    [
        case("conv", (3, 3), 2, bias=True),
        case("conv", (4,), 2, stride=2, padding=1, in_channels=2, out_channels=2, groups=2),
        case("conv_transpose", (2,), 2, stride=2, output_padding=1, bias=True),
        case("avg_pool", (3, 3), 2, stride=1, padding=1, count_include_pad=False),
    ],
)
def test_with_loss_gradients_are_diff_of_the_loss(kind, input_size, kernel_size, kw):
    """with_loss(): E = 1/2 sum (y - yhat)^2, dE/dy = y - yhat, and every gradient equals
    sympy.diff(E, p)."""
    d = derivation(kind, input_size, kernel_size, kw).with_loss()
    yhat = flat(d.target)
    assert all(
        sympy.expand(v - (y - t)) == 0 for v, y, t in zip(flat(d.dy_value), flat(d.y), yhat)
    )
    assert sympy.expand(d.loss - sum((y - t) ** 2 for y, t in zip(flat(d.y), yhat)) / 2) == 0
    pairs = list(zip(flat(d.x), flat(d.grad_x))) + list(zip(flat(d.w), flat(d.grad_w)))
    pairs += list(zip(flat(d.b), flat(d.grad_b)))
    for symbol, grad in pairs:
        assert sympy.expand(sympy.diff(d.loss, symbol) - grad) == 0, symbol
