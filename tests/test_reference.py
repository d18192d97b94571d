"""symconv.reference (the slow loop oracle) against PyTorch, hand-worked numbers, adjointness and
finite differences.

PyTorch is the outside authority: ``torch.nn.functional`` conv / conv_transpose / max_pool /
avg_pool in float64 with autograd, batch of one. Per-side (asymmetric) padding, which PyTorch
layers do not take, goes through ``F.pad`` (zeros for conv, -inf for max pool) and, for the
transposed convolution, through cropping the unpadded output. Tests needing PyTorch skip
cleanly without it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import symconv
from symconv import reference

CONSTRUCTORS = {
    "conv": symconv.conv,
    "conv_transpose": symconv.conv_transpose,
    "max_pool": symconv.max_pool,
    "avg_pool": symconv.avg_pool,
}
SHORT = {"conv": "conv", "conv_transpose": "convT", "max_pool": "maxpool", "avg_pool": "avgpool"}
ABBREV = {
    "in_channels": "ci",
    "out_channels": "co",
    "channels": "c",
    "stride": "s",
    "padding": "p",
    "dilation": "d",
    "groups": "g",
    "output_padding": "op",
    "output_shape": "os",
}


def _fmt(value) -> str:
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, int) for v in value):
            return "x".join(str(v) for v in value)
        return "x".join("(" + _fmt(v).replace("x", ",") + ")" for v in value)
    return str(value)


def case_id(kind, input_size, kernel_size, kw) -> str:
    nd = len(input_size) if isinstance(input_size, tuple) else 1
    parts = [f"{SHORT[kind]}{nd}d", "in" + _fmt(input_size), "k" + _fmt(kernel_size)]
    for key, value in kw.items():
        if key in ABBREV:
            parts.append(ABBREV[key] + _fmt(value))
        elif key in ("bias", "flip", "ceil_mode") and value:
            parts.append({"ceil_mode": "ceil"}.get(key, key))
        elif key == "count_include_pad" and not value:
            parts.append("excl")
        elif key == "ties":
            parts.append(f"ties_{value}")
    return "-".join(parts)


def case(kind, input_size, kernel_size, **kw):
    return pytest.param(
        kind, input_size, kernel_size, kw, id=case_id(kind, input_size, kernel_size, kw)
    )


def build(kind, input_size, kernel_size, kw):
    return CONSTRUCTORS[kind](input_size, kernel_size, **kw)


# ---------------------------------------------------------------------- the grid
GRID = [
    # conv 1-D
    case("conv", (7,), 3),
    case("conv", (8,), 3, stride=2, padding=1),
    case("conv", (7,), 2, padding=((2, 0),)),
    case("conv", (9,), 3, dilation=2, padding=1),
    case("conv", (6,), 3, in_channels=2, out_channels=4, groups=2, bias=True),
    case("conv", (6,), 4, flip=True, bias=True),
    case("conv", (7,), 4, stride=2, padding="same"),
    case("conv", (7,), 5, stride=3, padding="valid"),
    # conv 2-D
    case("conv", (3, 3), 2),
    case("conv", (5, 5), 3, stride=2, padding=1),
    case("conv", (6, 5), (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    case("conv", (5, 4), 2, padding=((1, 0), (2, 1)), bias=True),
    case("conv", (4, 4), 3, in_channels=3, out_channels=3, groups=3, bias=True, padding=1),
    case("conv", (4, 5), 2, in_channels=2, out_channels=3, bias=True, flip=True),
    case("conv", (5, 5), 3, in_channels=4, out_channels=2, groups=2, stride=2, padding="same"),
    case("conv", (7, 6), 2, dilation=3, padding=2),
    case("conv", (5, 5), 5, padding=2, stride=3),
    # conv 3-D
    case("conv", (4, 4, 3), 2),
    case("conv", (5, 4, 4), 3, in_channels=2, out_channels=2, groups=2, stride=2, padding=1),
    case("conv", (4, 5, 4), 2, dilation=(1, 2, 1), flip=True, bias=True),
    case("conv", (3, 3, 4), 2, padding=((1, 0), (0, 1), (1, 1)), in_channels=2, out_channels=1),
    # conv_transpose
    case("conv_transpose", (4,), 3, stride=2),
    case("conv_transpose", (4,), 3, stride=2, output_padding=1, bias=True),
    case("conv_transpose", (5,), 3, padding=1, output_padding=1, dilation=2),
    case("conv_transpose", (3,), 2, in_channels=2, out_channels=4, groups=2, stride=3),
    case("conv_transpose", (3,), 4, stride=2, padding=((2, 1),), output_padding=1),
    case("conv_transpose", (3, 3), 3, stride=2, padding=1, output_padding=1),
    case("conv_transpose", (3, 4), (2, 3), stride=(3, 1), padding=((1, 2), (0, 1))),
    case(
        "conv_transpose",
        (3, 4),
        (2, 3),
        stride=(3, 1),
        padding=((1, 0), (0, 1)),
        output_padding=(2, 0),
        bias=True,
    ),
    case("conv_transpose", (3, 3), 2, dilation=2, in_channels=2, out_channels=2, bias=True),
    case("conv_transpose", (3, 2), 3, in_channels=4, out_channels=2, groups=2, stride=2),
    case("conv_transpose", (2, 3, 2), 2, stride=2, output_padding=1, bias=True),
    case("conv_transpose", (2, 2, 2), 3, padding=1, in_channels=2, out_channels=2, groups=2),
    # max pool
    case("max_pool", (7,), 2),
    case("max_pool", (7,), 3, stride=2, padding=1),
    case("max_pool", (8,), 3, stride=2, ceil_mode=True),
    case("max_pool", (5,), 2, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (7,), 2, stride=1, dilation=2, padding=1),
    case("max_pool", (4, 4), 2),
    case("max_pool", (6, 6), 3, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (6, 5), (2, 3), stride=1, dilation=2),
    case("max_pool", (5, 5), 2, channels=2, ceil_mode=True),
    case("max_pool", (6, 6), 3, stride=2, padding=2, dilation=2),
    case("max_pool", (4, 5), 2, stride=1, padding=((1, 0), (0, 1))),
    case("max_pool", (4, 4, 4), 2),
    case("max_pool", (5, 5, 4), 3, stride=2, padding=1, ceil_mode=True, channels=2),
    # avg pool
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
    case("avg_pool", (5, 5), 2, ceil_mode=True, channels=2),
    case("avg_pool", (4, 5), 2, stride=1, padding=((1, 0), (0, 1))),
    case("avg_pool", (4, 5), 3, stride=2, padding=((1, 0), (1, 1)), count_include_pad=False),
    case("avg_pool", (4, 4, 4), 2),
    case("avg_pool", (5, 5, 5), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    # issue 15: ONNX semantics (same_lower, pool padding beyond half the kernel, avg_pool
    # dilation, conv_transpose 'same' and output_shape)
    case("conv", (7,), 4, stride=2, padding="same_lower"),
    case("conv", (5, 6), (2, 3), dilation=(2, 1), padding="same_lower", bias=True),
    case("max_pool", (5,), 3, stride=1, padding=2),
    case("max_pool", (6, 6), 3, stride=2, padding="same_lower"),
    case("max_pool", (6, 7), 2, stride=(1, 2), padding=((0, 1), (1, 1)), dilation=(2, 3)),
    case("avg_pool", (7,), 3, stride=1, dilation=2, padding=1),
    case("avg_pool", (5,), 3, stride=1, padding=2, count_include_pad=False),
    case(
        "avg_pool", (6, 5), 2, stride=1, dilation=(2, 1), padding=(2, 1), count_include_pad=False
    ),
    case("avg_pool", (7, 6), (2, 3), stride=2, padding="same_lower"),
    case("conv_transpose", (4,), 3, stride=2, padding="same", bias=True),
    case("conv_transpose", (3, 4), (3, 2), stride=(2, 3), padding="same_lower"),
    case("conv_transpose", (3,), 3, stride=2, padding="same_lower", output_shape=6),
    case("conv_transpose", (3, 3), 2, stride=(3, 2), output_shape=(8, 7), in_channels=2),
]


# ---------------------------------------------------------------------- numbers
def random_inputs(spec, rng, *, exact=False, distinct=False):
    """x, w, b, dy for a spec: small integers as Fractions (exact) or float64."""

    def draw(shape):
        if shape is None:
            return None
        if exact:
            values = rng.integers(-4, 5, size=shape)
            return np.vectorize(Fraction, otypes=[object])(values)
        return rng.standard_normal(shape)

    x = draw(spec.x_shape)
    if distinct and not exact:  # no ties anywhere (max pool against autograd)
        x = rng.permutation(np.arange(x.size, dtype=np.float64)).reshape(x.shape) / 7.0
    return x, draw(spec.w_shape), draw(spec.b_shape), draw(spec.y_shape)


# ---------------------------------------------------------------------- PyTorch
def torch_forward(torch, spec, x, w, b):
    """The layer in PyTorch on tensors with a batch axis of one."""
    F = torch.nn.functional
    nd = spec.ndim
    symmetric = all(lo == hi for lo, hi in spec.padding)
    sym_pad = tuple(lo for lo, _ in spec.padding)
    # F.pad takes (lo, hi) pairs starting from the last axis
    pad_arg = [v for lo, hi in reversed(spec.padding) for v in (lo, hi)]
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    if spec.kind == "conv":
        fn = getattr(F, f"conv{nd}d")
        wk = torch.flip(w, dims=tuple(range(2, 2 + nd))) if spec.flip else w
        if symmetric:
            return fn(x, wk, b, stride=s, padding=sym_pad, dilation=d, groups=spec.groups)
        return fn(F.pad(x, pad_arg), wk, b, stride=s, padding=0, dilation=d, groups=spec.groups)
    if spec.kind == "conv_transpose":
        fn = getattr(F, f"conv_transpose{nd}d")
        if symmetric:
            return fn(
                x,
                w,
                b,
                stride=s,
                padding=sym_pad,
                output_padding=spec.output_padding,
                groups=spec.groups,
                dilation=d,
            )
        # padding crops the full (unpadded) output: lo entries in front, hi at the back;
        # output_padding appends zeros at the back before cropping
        full = fn(x, w, None, stride=s, padding=0, groups=spec.groups, dilation=d)
        full = F.pad(full, [v for op in reversed(spec.output_padding) for v in (0, op)])
        crop = [slice(None), slice(None)] + [
            slice(lo, lo + n) for (lo, _), n in zip(spec.padding, spec.output_size)
        ]
        y = full[tuple(crop)]
        return y if b is None else y + b.reshape((1, -1) + (1,) * nd)
    if spec.kind == "max_pool":
        fn = getattr(F, f"max_pool{nd}d")
        # PyTorch wants padding <= kernel // 2; symconv allows up to half the *effective*
        # kernel, which F.pad with -inf expresses just as well
        if symmetric and all(p <= kk // 2 for p, kk in zip(sym_pad, k)):
            return fn(x, k, s, padding=sym_pad, dilation=d, ceil_mode=spec.ceil_mode)
        assert not spec.ceil_mode, "grid: PyTorch has no asymmetric padding with ceil_mode"
        return fn(F.pad(x, pad_arg, value=-math.inf), k, s, padding=0, dilation=d)
    if any(dd > 1 for dd in d):  # ONNX's dilated average: a dilated convolution of ones
        assert not spec.ceil_mode, "grid: no dilated average pool with ceil_mode"
        conv = getattr(F, f"conv{nd}d")
        ones = torch.ones((spec.in_channels, 1) + tuple(k), dtype=x.dtype)
        total = conv(F.pad(x, pad_arg), ones, stride=s, dilation=d, groups=spec.in_channels)
        if spec.count_include_pad:
            return total / math.prod(k)
        count = conv(
            F.pad(torch.ones_like(x), pad_arg), ones, stride=s, dilation=d, groups=spec.in_channels
        )
        return total / count
    fn = getattr(F, f"avg_pool{nd}d")
    if symmetric and all(p <= kk // 2 for p, kk in zip(sym_pad, k)):
        return fn(
            x,
            k,
            s,
            padding=sym_pad,
            ceil_mode=spec.ceil_mode,
            count_include_pad=spec.count_include_pad,
        )
    assert not spec.ceil_mode, "grid: PyTorch has no asymmetric padding with ceil_mode"
    # padding beyond half the kernel (ONNX) goes through F.pad as well
    mean = fn(F.pad(x, pad_arg), k, s)  # every window lies inside input + padding
    if spec.count_include_pad:
        return mean
    return mean / fn(F.pad(torch.ones_like(x), pad_arg), k, s)  # share of real inputs


def torch_results(torch, spec, x, w, b, dy):
    """y, dx, dw, db from PyTorch autograd (numpy float64, batch axis dropped)."""

    def tensor(a, batch=False):
        if a is None:
            return None
        t = torch.tensor(
            np.asarray(a, dtype=np.float64)[None] if batch else a, dtype=torch.float64
        )
        return t.requires_grad_(True)

    xt, wt, bt = tensor(x, batch=True), tensor(w), tensor(b)
    y = torch_forward(torch, spec, xt, wt, bt)
    y.backward(torch.tensor(np.asarray(dy, dtype=np.float64)[None]))

    def grad(t):
        return None if t is None else t.grad.numpy()

    return y.detach().numpy()[0], grad(xt)[0], grad(wt), grad(bt)


def assert_close(actual, expected, what):
    if expected is None:
        assert actual is None, what
        return
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, err_msg=what)


# ---------------------------------------------------------------------- tests: PyTorch
@pytest.mark.parametrize("kind, input_size, kernel_size, kw", GRID)
def test_reference_matches_torch(torch_or_skip, rng, kind, input_size, kernel_size, kw):
    torch = torch_or_skip
    spec = build(kind, input_size, kernel_size, kw).spec
    x, w, b, dy = random_inputs(spec, rng, distinct=kind == "max_pool")
    y_t, dx_t, dw_t, db_t = torch_results(torch, spec, x, w, b, dy)
    assert reference.output_size(spec) == spec.output_size == y_t.shape[1:]
    assert_close(reference.forward(spec, x, w, b), y_t, "forward")
    dx, dw, db = reference.backward(spec, dy, x, w)
    assert_close(dx, dx_t, "dx")
    assert_close(dw, dw_t, "dw")
    assert_close(db, db_t, "db")


TIE_CASES = [
    case("max_pool", (6,), 3, stride=1),
    case("max_pool", (6,), 2, stride=1, padding=1),
    case("max_pool", (4, 4), 2),
    case("max_pool", (5, 5), 3, stride=1),
    case("max_pool", (5, 5), 3, stride=2, padding=1, ceil_mode=True),
    case("max_pool", (6, 5), 2, stride=1, dilation=2, channels=2),
    case("max_pool", (3, 4, 4), 2, stride=1),
]


@pytest.mark.parametrize("kind, input_size, kernel_size, kw", TIE_CASES)
@pytest.mark.parametrize("pattern", ["constant", "two-levels"])
def test_max_pool_ties_first_matches_torch_cpu(
    torch_or_skip, rng, pattern, kind, input_size, kernel_size, kw
):
    """PyTorch's CPU kernel sends a tied window's gradient to the row-major first maximum."""
    torch = torch_or_skip
    spec = build(kind, input_size, kernel_size, kw).spec
    assert spec.ties == "first"
    if pattern == "constant":
        x = np.full(spec.x_shape, 2.0)
    else:
        x = rng.integers(0, 2, size=spec.x_shape).astype(np.float64)
    dy = rng.integers(1, 9, size=spec.y_shape).astype(np.float64)  # exact in float64
    y_t, dx_t, _, _ = torch_results(torch, spec, x, None, None, dy)
    np.testing.assert_array_equal(reference.forward(spec, x), y_t)
    dx, dw, db = reference.backward(spec, dy, x)
    np.testing.assert_array_equal(dx, dx_t)
    assert dw is None and db is None


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize(
    "input_size, kernel_size, dilation",
    [((7,), 4, 1), ((7,), 3, 2), ((6, 5), (2, 3), 1), ((5, 6), (4, 3), (1, 2)), ((4, 4, 3), 2, 1)],
    ids=["conv1d-k4", "conv1d-k3-d2", "conv2d-k2x3", "conv2d-k4x3-d1x2", "conv3d-k2"],
)
def test_same_padding_matches_torch(torch_or_skip, rng, input_size, kernel_size, dilation):
    """padding='same' (stride 1) puts the extra pixel on the high side, as PyTorch does."""
    torch = torch_or_skip
    spec = symconv.conv(
        input_size, kernel_size, padding="same", dilation=dilation, in_channels=2, out_channels=3
    ).spec
    assert spec.output_size == spec.input_size
    x, w, _, _ = random_inputs(spec, rng)
    fn = getattr(torch.nn.functional, f"conv{spec.ndim}d")
    y_t = fn(torch.tensor(x[None]), torch.tensor(w), padding="same", dilation=spec.dilation)
    assert_close(reference.forward(spec, x, w), y_t.numpy()[0], "forward")


# ---------------------------------------------------------------------- tests: no PyTorch
def test_seed000_numbers_by_hand():
    """3x3 input, 2x2 kernel, stride 1: y_ij = sum_ab w_ab x_(i+a)(j+b), worked by hand."""
    layer = symconv.conv((3, 3), 2)
    x = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], dtype=object)
    w = np.array([[[[1, 0], [0, -1]]]], dtype=object)
    y = reference.forward(layer, x, w)
    assert y.tolist() == [[[1 - 5, 2 - 6], [4 - 8, 5 - 9]]]
    assert all(isinstance(v, Fraction) for v in y.reshape(-1))
    dy = np.array([[[1, 0], [0, 0]]], dtype=object)
    dx, dw, db = reference.backward(layer, dy, x, w)
    assert dx.tolist() == [[[1, 0, 0], [0, -1, 0], [0, 0, 0]]]
    assert dw.tolist() == [[[[1, 2], [4, 5]]]]  # x window of y_11
    assert db is None


def test_avg_pool_ceil_mode_divisor_by_hand():
    """Input 1..6 (1-D), kernel 3, stride 2, padding 1, ceil_mode: windows over padded
    coordinates [-1, 1], [1, 3], [3, 5], [5, 7]; the last reaches one past the padding."""
    x = np.array([[1, 2, 3, 4, 5, 6]], dtype=object)
    incl = reference.forward(symconv.avg_pool((6,), 3, stride=2, padding=1, ceil_mode=True), x)
    excl = reference.forward(
        symconv.avg_pool((6,), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        x,
    )
    # window 0: pad, 1, 2; window 3: 6, pad, (overhang, not counted)
    assert incl.tolist() == [[Fraction(3, 3), Fraction(9, 3), Fraction(15, 3), Fraction(6, 2)]]
    assert excl.tolist() == [[Fraction(3, 2), Fraction(9, 3), Fraction(15, 3), Fraction(6, 1)]]


def test_max_pool_ties_policies_by_hand():
    x = np.array([[[3, 3], [1, 3]]], dtype=object)
    dy = np.array([[[6]]], dtype=object)
    first = reference.backward(symconv.max_pool((2, 2), 2), dy, x)[0]
    split = reference.backward(symconv.max_pool((2, 2), 2, ties="split"), dy, x)[0]
    assert first.tolist() == [[[6, 0], [0, 0]]]
    assert split.tolist() == [[[2, 2], [0, 2]]]


@pytest.mark.parametrize("kind, input_size, kernel_size, kw", GRID)
def test_exact_and_float_modes_agree(rng, kind, input_size, kernel_size, kw):
    spec = build(kind, input_size, kernel_size, kw).spec
    x, w, b, dy = random_inputs(spec, rng, exact=True)
    y = reference.forward(spec, x, w, b)
    assert y.dtype == object and all(isinstance(v, Fraction) for v in y.reshape(-1))

    def as_float(a):
        return None if a is None else np.asarray(a, dtype=np.float64)

    assert_close(reference.forward(spec, *map(as_float, (x, w, b))), as_float(y), "forward")
    exact_grads = reference.backward(spec, dy, x, w)
    float_grads = reference.backward(spec, as_float(dy), as_float(x), as_float(w))
    if kind == "max_pool":  # integer inputs tie: both modes follow the same policy
        assert np.array_equal(as_float(exact_grads[0]), float_grads[0])
    for name, exact, flt in zip(("dx", "dw", "db"), exact_grads, float_grads):
        assert_close(flt, as_float(exact), name)


LINEAR = [p for p in GRID if p.values[0] in ("conv", "conv_transpose")]


@pytest.mark.parametrize("kind, input_size, kernel_size, kw", LINEAR)
def test_conv_transpose_is_the_adjoint(rng, kind, input_size, kernel_size, kw):
    """<conv(x), dy> == <x, dx> exactly: backward's dx is the adjoint applied to dy; and a
    transposed convolution's forward is the matching convolution's backward."""
    spec = build(kind, input_size, kernel_size, kw).spec
    x, w, _, dy = random_inputs(spec, rng, exact=True)
    y = reference.forward(spec, x, w)
    dx, dw, _ = reference.backward(spec, dy, x, w)
    assert np.sum(y * dy) == np.sum(x * dx) == np.sum(w * dw)
    if kind == "conv_transpose" and spec.output_padding == (0,) * spec.ndim:
        adjoint = symconv.conv(
            spec.output_size,
            spec.kernel_size,
            in_channels=spec.out_channels,
            out_channels=spec.in_channels,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            groups=spec.groups,
        ).spec
        if adjoint.output_size == spec.input_size:
            conv_dx, _, _ = reference.backward(adjoint, x, dy, w)
            assert np.array_equal(reference.forward(spec, x, w), conv_dx)


@pytest.mark.parametrize("kind, input_size, kernel_size, kw", GRID[::3])
def test_backward_matches_finite_differences(rng, kind, input_size, kernel_size, kw):
    """Central differences of L = sum(dy * forward(x, w, b)) in float64."""
    spec = build(kind, input_size, kernel_size, kw).spec
    x, w, b, dy = random_inputs(spec, rng, distinct=True)
    dx, dw, db = reference.backward(spec, dy, x, w)
    h = 1e-6
    arrays = {"x": x, "w": w, "b": b}
    grads = {"x": dx, "w": dw, "b": db}
    for name, arr in arrays.items():
        if arr is None:
            continue
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            loss = []
            for sign in (1, -1):
                moved = dict(arrays)
                moved[name] = arr.copy()
                moved[name][idx] += sign * h
                loss.append(np.sum(dy * reference.forward(spec, **moved)))
            numeric[idx] = (loss[0] - loss[1]) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-6, err_msg=name)


def test_accepts_layer_or_spec_and_lists():
    layer = symconv.conv((3,), 2)
    x = [[Fraction(1, 2), 1, 2]]
    w = [[[1, 1]]]
    assert reference.forward(layer, x, w).tolist() == reference.forward(layer.spec, x, w).tolist()
    assert reference.forward(layer, x, w).tolist() == [[Fraction(3, 2), 3]]
    assert reference.forward(layer, [[1.0, 2.0, 3.0]], w).dtype == np.float64


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: reference.forward(
                symconv.conv((3, 3), 2), np.zeros((3, 3)), np.zeros((1, 1, 2, 2))
            ),
            r"x .*\(1, 3, 3\)",
        ),
        (
            lambda: reference.forward(
                symconv.conv((3, 3), 2), np.zeros((1, 3, 3)), np.zeros((2, 2))
            ),
            r"w must have shape \(1, 1, 2, 2\)",
        ),
        (lambda: reference.forward(symconv.conv((3, 3), 2), np.zeros((1, 3, 3))), "needs w"),
        (
            lambda: reference.forward(
                symconv.conv((3,), 2), np.zeros((1, 3)), np.zeros((1, 1, 2)), np.zeros(1)
            ),
            "no bias",
        ),
        (
            lambda: reference.forward(
                symconv.max_pool((4,), 2), np.zeros((1, 4)), np.zeros((1, 1, 2))
            ),
            "no weights",
        ),
        (
            lambda: reference.backward(
                symconv.avg_pool((4,), 2), np.zeros((1, 3)), np.zeros((1, 4))
            ),
            r"dy .*\(1, 2\)",
        ),
        (lambda: reference.forward("conv", np.zeros((1, 4))), "LayerSpec"),
        (lambda: reference.forward(symconv.max_pool((2,), 2), [[1, "a"]]), "numbers"),
    ],
    ids=[
        "x-shape",
        "w-shape",
        "missing-w",
        "bias-absent",
        "pool-weights",
        "dy-shape",
        "not-a-spec",
        "not-numbers",
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------- auto padding (ONNX text)
AUTO_PAD = [
    (kind, size, kernel, stride, dilation, mode)
    for kind in ("conv", "max_pool", "avg_pool", "conv_transpose")
    for size, kernel, stride, dilation in [
        ((7,), (4,), (2,), (1,)),
        ((6, 5), (2, 3), (1, 2), (1, 1)),
        ((5, 8), (3, 2), (3, 2), (2, 1)),
        ((4, 3, 5), (2, 2, 3), (2, 3, 1), (1, 2, 1)),
    ]
    for mode in ("same", "same_lower")
]


@pytest.mark.parametrize("kind, size, kernel, stride, dilation, mode", AUTO_PAD)
def test_same_paddings_follow_the_onnx_formulas(kind, size, kernel, stride, dilation, mode):
    kw = dict(stride=stride, padding=mode, dilation=dilation)
    layer = CONSTRUCTORS[kind](size, kernel, **kw)
    pads, extra = reference.auto_padding(kind, size, kernel, stride, dilation, mode)
    assert layer.spec.padding == pads
    if kind == "conv_transpose":
        assert layer.spec.output_padding == extra
        assert reference.output_size(layer) == tuple(n * s for n, s in zip(size, stride))
    else:
        assert reference.output_size(layer) == tuple(-(-n // s) for n, s in zip(size, stride))


@pytest.mark.parametrize(
    "size, kernel, stride, target",
    [
        ((3,), (3,), (2,), (6,)),
        ((3, 3), (3, 3), (3, 2), (10, 8)),
        ((4, 2), (2, 4), (2, 1), (7, 3)),
    ],
)
def test_output_shape_follows_the_onnx_formula(size, kernel, stride, target):
    layer = symconv.conv_transpose(
        size, kernel, stride=stride, padding="same_lower", output_shape=target
    )
    pads, extra = reference.auto_padding(
        "conv_transpose", size, kernel, stride, (1,) * len(size), "same_lower", target
    )
    assert (layer.spec.padding, layer.spec.output_padding) == (pads, extra)
    assert reference.output_size(layer) == target
