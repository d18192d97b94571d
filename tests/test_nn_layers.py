"""symconv.nn_layers: activations, flatten, dense, softmax and the losses.

Oracles: sympy.diff of the forward expressions (small sizes), the plain-loop references,
central finite differences in float64 and PyTorch when installed.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from symconv import nn_layers as nn
from symconv.errors import SpecError

LAYERS = [
    pytest.param(nn.sigmoid((2, 2)), id="sigmoid-2x2"),
    pytest.param(nn.tanh((3,)), id="tanh-3"),
    pytest.param(nn.relu((2, 3)), id="relu-2x3"),
    pytest.param(nn.flatten((2, 1, 2)), id="flatten-2x1x2"),
    pytest.param(nn.dense(2, (3,)), id="dense-3to2"),
    pytest.param(nn.dense(2, (2, 2), bias=False), id="dense-2x2to2-nobias"),
    pytest.param(nn.softmax((3,)), id="softmax-3"),
]
LOSSES = [
    pytest.param(nn.cross_entropy((3,)), id="cross_entropy-3"),
    pytest.param(nn.softmax_cross_entropy((3,)), id="softmax_cross_entropy-3"),
    pytest.param(nn.l2_loss((2, 2)), id="l2-2x2"),
]


def _values(rng, spec):
    x = rng.standard_normal(spec.input_shape)
    if spec.kind == "relu":
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # keep away from the kink for sympy.diff
    w = rng.standard_normal(spec.w_shape) if spec.w_shape else None
    b = rng.standard_normal(spec.b_shape) if spec.b_shape else None
    dy = rng.standard_normal(spec.output_shape)
    return x, w, b, dy


def _subs(d, x, w, b, dy):
    vals = dict(zip(sympy.flatten(d.x.tolist()), x.reshape(-1)))
    if w is not None:
        vals.update(zip(sympy.flatten(d.w.tolist()), w.reshape(-1)))
    if b is not None:
        vals.update(zip(sympy.flatten(d.b.tolist()), b.reshape(-1)))
    vals.update(zip(sympy.flatten(d.dy.tolist()), dy.reshape(-1)))
    return vals


@pytest.mark.parametrize("spec", LAYERS)
def test_gradient_matches_sympy_diff(spec, rng):
    """grad_x (and grad_w, grad_b) equal sum_o dy_o d y_o / d p, by sympy.diff."""
    d = nn.derive_nn(spec)
    ys = sympy.flatten(d.y.tolist())
    dys = sympy.flatten(d.dy.tolist())
    x, w, b, dy = _values(rng, spec)
    vals = _subs(d, x, w, b, dy)
    for arr, grads in ((d.x, d.grad_x), (d.w, d.grad_w), (d.b, d.grad_b)):
        if arr is None:
            assert grads is None
            continue
        for p, g in zip(sympy.flatten(arr.tolist()), sympy.flatten(grads.tolist())):
            oracle = sum(dyo * sympy.diff(yo, p) for dyo, yo in zip(dys, ys))
            got = complex(sympy.N(g.subs(vals))).real
            want = complex(sympy.N(sympy.sympify(oracle).subs(vals))).real
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), p


def test_softmax_jacobian_entries_exact():
    """dy_i/dx_j = y_i (delta_ij - y_j): y_i(1-y_i) on the diagonal, -y_i y_j off it."""
    d = nn.derive_nn(nn.softmax((3,)))
    ys = sympy.flatten(d.y.tolist())
    xs = sympy.flatten(d.x.tolist())
    jac = d.jacobian()
    for i in range(3):
        for j in range(3):
            assert sympy.simplify(sympy.diff(ys[i], xs[j]) - jac[i, j]) == 0
    assert sympy.simplify(jac[0, 0] - ys[0] * (1 - ys[0])) == 0
    assert sympy.simplify(jac[0, 1] + ys[0] * ys[1]) == 0


def test_sigmoid_derivative_is_f_times_one_minus_f():
    d = nn.derive_nn(nn.sigmoid((1,)))
    (x,) = sympy.flatten(d.x.tolist())
    (f,) = sympy.flatten(d.y.tolist())
    assert sympy.simplify(sympy.diff(f, x) - f * (1 - f)) == 0


def test_relu_subgradient_is_zero_at_zero():
    spec = nn.relu((3,))
    x = np.array([-1.0, 0.0, 2.0])
    dy = np.ones(3)
    assert nn.derive_nn(spec).evaluate(x, dy=dy)["grad_x"].tolist() == [0.0, 0.0, 1.0]
    assert nn.reference_backward(spec, dy, x)[0].tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("spec", LAYERS)
def test_symbolic_equals_reference(spec, rng):
    x, w, b, dy = _values(rng, spec)
    got = nn.derive_nn(spec).evaluate(x, w, b, dy)
    y_ref = nn.reference_forward(spec, x, w, b)
    dx, dw, db = nn.reference_backward(spec, dy, x, w)
    np.testing.assert_allclose(got["y"], y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["grad_x"], dx, rtol=1e-12, atol=1e-12)
    if dw is not None:
        np.testing.assert_allclose(got["grad_w"], dw, rtol=1e-12, atol=1e-12)
    if db is not None:
        np.testing.assert_allclose(got["grad_b"], db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", LAYERS)
def test_reference_matches_central_differences(spec, rng):
    x, w, b, dy = _values(rng, spec)
    eps = 1e-6

    def energy(xv, wv):
        return float(np.sum(dy * nn.reference_forward(spec, xv, wv, b)))

    dx, dw, _ = nn.reference_backward(spec, dy, x, w)
    for arr, grad, which in ((x, dx, "x"), (w, dw, "w")):
        if arr is None:
            continue
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = (plus, w) if which == "x" else (x, plus)
            args_m = (minus, w) if which == "x" else (x, minus)
            num[idx] = (energy(*args_p) - energy(*args_m)) / (2 * eps)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("spec", LOSSES)
def test_loss_gradient_matches_sympy_diff_and_reference(spec, rng):
    d = nn.derive_nn(spec)
    xs = sympy.flatten(d.x.tolist())
    ts = sympy.flatten(d.target.tolist())
    x = rng.uniform(0.1, 1.0, spec.input_shape)
    t = rng.uniform(0.0, 1.0, spec.input_shape)
    vals = dict(zip(xs, x.reshape(-1)))
    vals.update(zip(ts, t.reshape(-1)))
    for p, g in zip(xs, sympy.flatten(d.grad_x.tolist())):
        want = float(sympy.diff(d.loss, p).subs(vals))
        assert float(g.subs(vals)) == pytest.approx(want, rel=1e-12)
    loss, grad = nn.reference_loss(spec, x, t)
    got = d.evaluate(x, t)
    assert got["loss"] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(got["grad_x"], grad, rtol=1e-12)


def test_fused_softmax_cross_entropy_is_yhat_minus_y_for_one_hot():
    """Seed 002: dL/dz = yhat - y (yhat the prediction, y the one-hot label)."""
    d = nn.derive_nn(nn.softmax_cross_entropy((4,)))
    z = np.array([0.3, -1.0, 2.0, 0.5])
    y = np.array([0.0, 0.0, 1.0, 0.0])
    yhat = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(d.evaluate(z, y)["grad_x"], yhat - y, rtol=1e-12)


def test_l2_loss_gradient_is_y_minus_yhat():
    """Seed 000: E = 1/2 sum (y - yhat)^2 with y the prediction, dE/dy = y - yhat."""
    d = nn.derive_nn(nn.l2_loss((2,)))
    assert [str(e) for e in d.grad_x] == ["y_1 - yhat_1", "y_2 - yhat_2"]


@pytest.mark.parametrize("spec", LAYERS)
def test_against_pytorch(spec, rng, torch_or_skip):
    torch = torch_or_skip
    x, w, b, dy = _values(rng, spec)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True) if w is not None else None
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    fn = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "flatten": lambda v: v.reshape(-1),
        "softmax": lambda v: torch.softmax(v, 0),
        "dense": lambda v: torch.nn.functional.linear(v.reshape(-1), tw, tb),
    }[spec.kind]
    ty = fn(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(nn.reference_forward(spec, x, w, b), ty.detach().numpy())
    dx, dw, db = nn.reference_backward(spec, dy, x, w)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    if tw is not None:
        np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-12, atol=1e-14)
    if tb is not None:
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "build, message",
    [
        pytest.param(lambda: nn.dense(0), "dense: out_features must be a positive integer, got 0"),
        pytest.param(lambda: nn.dense(3, bias="yes"), "dense: bias must be True or False"),
        pytest.param(lambda: nn.softmax((2, 3)), "softmax: input must be a vector"),
        pytest.param(lambda: nn.NNSpec.build("swish"), "kind must be one of"),
        pytest.param(lambda: nn.relu((0, 2)), "relu: input_shape must be positive"),
        pytest.param(lambda: nn.cross_entropy((2, 2)), "cross_entropy: prediction must be"),
        pytest.param(lambda: nn.derive_nn(nn.relu()), "relu: input_shape is needed"),
    ],
    ids=[
        "dense-zero",
        "dense-bias",
        "softmax-tensor",
        "unknown",
        "relu-shape",
        "ce-2d",
        "unbound",
    ],
)
def test_errors(build, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()
