"""Non-convolutional layers of a CNN: activations, flatten, dense, softmax and the losses.

Each layer sits next to its derivative (as in micrograd): a frozen spec, the symbolic forward
expressions, the exact gradient built structurally from the known derivative (sympy.diff is
only the test oracle) and a slow plain-loop reference.

Layers (input ``x``, output ``y``, upstream gradient ``dy`` = dE/dy):

* ``sigmoid``: ``y = 1 / (1 + exp(-x))``, ``dx = dy * y (1 - y)`` (seed 002: f (1 - f));
* ``tanh``: ``y = tanh(x)``, ``dx = dy * (1 - y^2)``;
* ``relu``: ``y = max(0, x)``, ``dx = dy`` where ``x > 0`` and ``0`` otherwise. At ``x = 0`` the
  ReLU is not differentiable; symconv uses the **subgradient 0** (seed 004's subderivative
  "1 if x > 0, 0 otherwise", as PyTorch);
* ``flatten``: a tensor ``(C, *spatial)`` to a vector, row-major (C order, seed 004's
  "stretch out into a long vector");
* ``dense`` (fully connected, seed 002): ``z_i = sum_j W_ij x_j + b_i`` with ``W`` of shape
  ``(out_features, in_features)`` (``W_ij`` joins input unit ``j`` to output unit ``i``, as
  PyTorch's ``Linear``; seed 004's ``alpha`` is its transpose). A tensor input is flattened
  first. ``dx_j = sum_i W_ij dy_i``, ``dW_ij = dy_i x_j``, ``db_i = dy_i``;
* ``softmax``: ``y_i = exp(x_i) / sum_k exp(x_k)``, Jacobian ``dy_i/dx_j = y_i (delta_ij - y_j)``
  (``y_i (1 - y_i)`` on the diagonal, ``-y_i y_j`` off it), so ``dx_j = y_j (dy_j - sum_i dy_i
  y_i)``.

Losses (a scalar ``L`` of the prediction and a target; no upstream gradient):

* ``cross_entropy`` (seed 002's notation: ``yhat`` is the **prediction**, ``y`` the true label):
  ``L = -sum_i y_i log yhat_i``, ``dL/dyhat_i = -y_i / yhat_i``;
* ``softmax_cross_entropy`` (fused, input the logits ``z``): ``L = -sum_i y_i log softmax(z)_i``,
  exactly ``dL/dz_j = yhat_j sum_i y_i - y_j``, which is seed 002's ``yhat - y`` whenever the
  target sums to 1 (one-hot labels or probabilities) - the form generated code uses;
* ``l2`` (seed 000's notation: ``y`` is the **prediction**, ``yhat`` the target):
  ``E = 1/2 sum_i (y_i - yhat_i)^2``, ``dE/dy_i = y_i - yhat_i``.

Mind the two seeds' opposite use of the hat: seed 002 puts it on the prediction, seed 000 on the
target. symconv keeps each seed's letters for its loss.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import sympy

from ..core.errors import SpecError
from ..core.spec import dims_text
from ..core.symbols import symbol_array

__all__ = [
    "NNSpec",
    "LossSpec",
    "NNDerivation",
    "LossDerivation",
    "NN_KINDS",
    "LOSS_KINDS",
    "sigmoid",
    "tanh",
    "relu",
    "flatten",
    "dense",
    "softmax",
    "cross_entropy",
    "softmax_cross_entropy",
    "l2_loss",
    "derive_nn",
    "reference_forward",
    "reference_backward",
    "reference_loss",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu")
NN_KINDS = ACTIVATIONS + ("flatten", "dense", "softmax")
LOSS_KINDS = ("cross_entropy", "softmax_cross_entropy", "l2")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_shape(op, value):
    if value is None:
        return None
    if _is_int(value):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value or not all(_is_int(v) for v in value):
        raise SpecError(f"{op}: input_shape must be a tuple of positive integers, got {value!r}")
    if any(v < 1 for v in value):
        raise SpecError(f"{op}: input_shape must be positive integers, got {tuple(value)!r}")
    return tuple(int(v) for v in value)


# ---------------------------------------------------------------------- specs
@dataclass(frozen=True)
class NNSpec:
    """An activation, flatten, dense or softmax layer. ``input_shape`` is None while unbound
    (inside a network description); :meth:`bind` fixes it."""

    kind: str
    input_shape: tuple = None
    out_features: int = None
    bias: bool = True

    @classmethod
    def build(cls, kind, input_shape=None, *, out_features=None, bias=True) -> "NNSpec":
        if kind not in NN_KINDS:
            raise SpecError(f"layer: kind must be one of {NN_KINDS}, got {kind!r}")
        input_shape = _as_shape(kind, input_shape)
        if kind == "dense":
            if not _is_int(out_features) or out_features < 1:
                raise SpecError(
                    f"dense: out_features must be a positive integer, got {out_features!r}"
                )
            if not isinstance(bias, bool):
                raise SpecError(f"dense: bias must be True or False, got {bias!r}")
            out_features = int(out_features)
        else:
            out_features, bias = None, False
        if kind == "softmax" and input_shape is not None and len(input_shape) != 1:
            raise SpecError(
                f"softmax: input must be a vector (features,), got shape {input_shape!r}; "
                "insert a flatten or dense layer before it"
            )
        return cls(kind, input_shape, out_features, bias)

    def bind(self, input_shape) -> "NNSpec":
        """The same layer with its input shape fixed (validated)."""
        return NNSpec.build(self.kind, input_shape, out_features=self.out_features, bias=self.bias)

    @property
    def op(self) -> str:
        return self.kind

    @property
    def bound(self) -> bool:
        return self.input_shape is not None

    @property
    def has_weight(self) -> bool:
        return self.kind == "dense"

    @property
    def in_features(self) -> int:
        return math.prod(self.input_shape)

    @property
    def output_shape(self) -> tuple:
        if self.kind == "dense":
            return (self.out_features,)
        if self.kind == "flatten":
            return (self.in_features,)
        return self.input_shape

    x_shape = property(lambda self: self.input_shape)
    y_shape = property(lambda self: self.output_shape)

    @property
    def w_shape(self):
        return (self.out_features, self.in_features) if self.kind == "dense" else None

    @property
    def b_shape(self):
        return (self.out_features,) if self.kind == "dense" and self.bias else None

    @property
    def parameter_count(self) -> int:
        if self.kind != "dense":
            return 0
        return self.out_features * self.in_features + (self.out_features if self.bias else 0)

    def __repr__(self) -> str:
        inp = dims_text(self.input_shape) if self.bound else "?"
        if self.kind == "dense":
            bias = "" if self.bias else ", bias=False"
            return f"dense({inp} -> {self.out_features}{bias})"
        return f"{self.kind}({inp})"


@dataclass(frozen=True)
class LossSpec:
    """A loss: ``cross_entropy`` (on probabilities), ``softmax_cross_entropy`` (on logits,
    fused) or ``l2``. ``input_shape`` is the prediction's shape (None while unbound)."""

    kind: str
    input_shape: tuple = None

    @classmethod
    def build(cls, kind, input_shape=None) -> "LossSpec":
        if kind not in LOSS_KINDS:
            raise SpecError(f"loss: kind must be one of {LOSS_KINDS}, got {kind!r}")
        input_shape = _as_shape(kind, input_shape)
        if kind != "l2" and input_shape is not None and len(input_shape) != 1:
            raise SpecError(
                f"{kind}: prediction must be a vector (classes,), got shape {input_shape!r}"
            )
        return cls(kind, input_shape)

    def bind(self, input_shape) -> "LossSpec":
        return LossSpec.build(self.kind, input_shape)

    op = property(lambda self: self.kind)
    bound = property(lambda self: self.input_shape is not None)
    output_shape = property(lambda self: ())
    parameter_count = property(lambda self: 0)
    has_weight = property(lambda self: False)

    def __repr__(self) -> str:
        return f"{self.kind}({dims_text(self.input_shape) if self.bound else '?'})"


# ---------------------------------------------------------------------- constructors
def sigmoid(input_shape=None) -> NNSpec:
    """Logistic sigmoid, derivative f (1 - f)."""
    return NNSpec.build("sigmoid", input_shape)


def tanh(input_shape=None) -> NNSpec:
    """Hyperbolic tangent, derivative 1 - f^2."""
    return NNSpec.build("tanh", input_shape)


def relu(input_shape=None) -> NNSpec:
    """max(0, x); subgradient 0 at x = 0."""
    return NNSpec.build("relu", input_shape)


def flatten(input_shape=None) -> NNSpec:
    """(C, *spatial) -> (C * prod(spatial),), row-major."""
    return NNSpec.build("flatten", input_shape)


def dense(out_features, input_shape=None, *, bias=True) -> NNSpec:
    """Fully connected z = W x + b, W of shape (out_features, in_features)."""
    return NNSpec.build("dense", input_shape, out_features=out_features, bias=bias)


def softmax(input_shape=None) -> NNSpec:
    """exp(x_i) / sum_k exp(x_k) over a vector."""
    return NNSpec.build("softmax", input_shape)


def cross_entropy(input_shape=None) -> LossSpec:
    """L = -sum y_i log yhat_i on probabilities yhat (seed 002 notation)."""
    return LossSpec.build("cross_entropy", input_shape)


def softmax_cross_entropy(input_shape=None) -> LossSpec:
    """Fused softmax + cross-entropy on logits z: dL/dz = yhat - y."""
    return LossSpec.build("softmax_cross_entropy", input_shape)


def l2_loss(input_shape=None) -> LossSpec:
    """E = 1/2 sum (y - yhat)^2, y the prediction (seed 000 notation)."""
    return LossSpec.build("l2", input_shape)


# ---------------------------------------------------------------------- symbolic
def _arr(flat, shape):
    return sympy.ImmutableDenseNDimArray(list(flat), tuple(shape))


def _sigmoid_expr(v):
    return 1 / (1 + sympy.exp(-v))


def _relu_expr(v):
    return sympy.Max(0, v)


def _relu_slope(v):
    # Subgradient 0 at 0: Heaviside with H(0) = 0.
    return sympy.Heaviside(v, 0)


class NNDerivation:
    """Forward expressions and exact gradients of an :class:`NNSpec` layer.

    Attributes (SymPy arrays, as :class:`symconv.Derivation`): ``x``, ``w`` (dense only),
    ``b`` (dense with bias), ``y`` forward expressions, ``dy`` upstream-gradient symbols,
    ``grad_x``, ``grad_w``, ``grad_b`` in terms of ``dy``.
    """

    def __init__(self, spec: NNSpec, *, index_base: int = 1):
        if not isinstance(spec, NNSpec):
            raise SpecError(f"derive_nn: spec must be an NNSpec, got {spec!r}")
        if not spec.bound:
            raise SpecError(f"{spec.kind}: input_shape is needed to derive, got None")
        self.spec = spec
        base = dict(index_base=index_base)
        xs = symbol_array("x", spec.input_shape, **base)
        dys = symbol_array("dy", spec.output_shape, **base)
        self._x, self._dy = xs, dys
        self._w = symbol_array("w", spec.w_shape, **base) if spec.has_weight else None
        self._b = symbol_array("b", spec.b_shape, **base) if spec.b_shape else None
        xf, dyf = xs.reshape(-1), dys.reshape(-1)
        self.grad_w = self.grad_b = None
        kind = spec.kind
        if kind in ACTIVATIONS:
            if kind == "sigmoid":
                yf = [_sigmoid_expr(v) for v in xf]
                gx = [d * f * (1 - f) for d, f in zip(dyf, yf)]
            elif kind == "tanh":
                yf = [sympy.tanh(v) for v in xf]
                gx = [d * (1 - f**2) for d, f in zip(dyf, yf)]
            else:
                yf = [_relu_expr(v) for v in xf]
                gx = [d * _relu_slope(v) for d, v in zip(dyf, xf)]
        elif kind == "flatten":
            yf, gx = list(xf), list(dyf)
        elif kind == "softmax":
            den = sympy.Add(*[sympy.exp(v) for v in xf])
            yf = [sympy.exp(v) / den for v in xf]
            inner = sympy.Add(*[d * f for d, f in zip(dyf, yf)])
            gx = [f * (d - inner) for d, f in zip(dyf, yf)]
        else:  # dense
            W = self._w
            n_out, n_in = spec.w_shape
            bias = self._b
            yf = [
                sympy.Add(*[W[i, j] * xf[j] for j in range(n_in)])
                + (bias[i] if bias is not None else 0)
                for i in range(n_out)
            ]
            gx = [sympy.Add(*[W[i, j] * dyf[i] for i in range(n_out)]) for j in range(n_in)]
            self.grad_w = _arr(
                [dyf[i] * xf[j] for i in range(n_out) for j in range(n_in)], spec.w_shape
            )
            if bias is not None:
                self.grad_b = _arr(list(dyf), spec.b_shape)
        self.y = _arr(yf, spec.output_shape)
        self.grad_x = _arr(gx, spec.input_shape)

    x = property(lambda self: _arr(self._x.reshape(-1), self._x.shape))
    dy = property(lambda self: _arr(self._dy.reshape(-1), self._dy.shape))
    w = property(
        lambda self: None if self._w is None else _arr(self._w.reshape(-1), self._w.shape)
    )
    b = property(
        lambda self: None if self._b is None else _arr(self._b.reshape(-1), self._b.shape)
    )

    def jacobian(self):
        """The full Jacobian dy/dx (SymPy Matrix, rows = outputs), for teaching; for softmax its
        entries are y_i (delta_ij - y_j)."""
        yf = list(sympy.flatten(self.y.tolist())) if self.y.rank() else [self.y]
        xf = list(self._x.reshape(-1))
        if self.spec.kind == "softmax":
            return sympy.Matrix(
                len(yf),
                len(xf),
                lambda i, j: yf[i] * (int(i == j) - yf[j]),
            )
        if self.spec.kind == "sigmoid":
            return sympy.diag(*[f * (1 - f) for f in yf])
        if self.spec.kind == "tanh":
            return sympy.diag(*[1 - f**2 for f in yf])
        if self.spec.kind == "relu":
            return sympy.diag(*[_relu_slope(v) for v in xf])
        if self.spec.kind == "flatten":
            return sympy.eye(len(xf))
        W = self._w
        return sympy.Matrix(W.shape[0], W.shape[1], lambda i, j: W[i, j])

    def evaluate(self, x, w=None, b=None, dy=None) -> dict:
        """Evaluate at float64 numbers: ``{"y", "grad_x", "grad_w", "grad_b"}`` (gradients None
        without ``dy``)."""
        spec = self.spec
        values = {}
        values.update(_bind_values(self._x, x, "x", spec))
        if self._w is not None:
            if w is None:
                raise SpecError(f"{spec.kind}: evaluate needs w of shape {spec.w_shape}")
            values.update(_bind_values(self._w, w, "w", spec))
        if self._b is not None:
            bb = np.zeros(spec.b_shape) if b is None else b
            values.update(_bind_values(self._b, bb, "b", spec))
        out = {"y": _numeric(self.y, values), "grad_x": None, "grad_w": None, "grad_b": None}
        if dy is None:
            return out
        values.update(_bind_values(self._dy, dy, "dy", spec))
        out["grad_x"] = _numeric(self.grad_x, values)
        if self.grad_w is not None:
            out["grad_w"] = _numeric(self.grad_w, values)
        if self.grad_b is not None:
            out["grad_b"] = _numeric(self.grad_b, values)
        return out

    def __repr__(self) -> str:
        return f"NNDerivation({self.spec!r})"


class LossDerivation:
    """A loss, symbolically. ``x`` are the input symbols (``yhat`` probabilities for
    cross_entropy, ``z`` logits for softmax_cross_entropy, ``y`` for l2), ``target`` the target
    symbols (``y`` for the cross-entropies, ``yhat`` for l2), ``loss`` the scalar expression,
    ``grad_x`` its exact gradient, ``prediction`` the predicted probabilities (softmax of z for
    the fused loss, the input otherwise) and ``identity`` a short statement of the gradient's
    textbook form."""

    def __init__(self, spec: LossSpec, *, index_base: int = 1):
        if not isinstance(spec, LossSpec):
            raise SpecError(f"derive_nn: spec must be a LossSpec, got {spec!r}")
        if not spec.bound:
            raise SpecError(f"{spec.kind}: input_shape is needed to derive, got None")
        self.spec = spec
        shape = spec.input_shape
        names = {
            "cross_entropy": ("yhat", "y"),
            "softmax_cross_entropy": ("z", "y"),
            "l2": ("y", "yhat"),
        }[spec.kind]
        self._x = symbol_array(names[0], shape, index_base=index_base)
        self._t = symbol_array(names[1], shape, index_base=index_base)
        xf, tf = list(self._x.reshape(-1)), list(self._t.reshape(-1))
        if spec.kind == "cross_entropy":
            pred = xf
            loss = -sympy.Add(*[t * sympy.log(p) for t, p in zip(tf, xf)])
            grad = [-t / p for t, p in zip(tf, xf)]
            self.identity = "dL/dyhat_i = -y_i / yhat_i"
        elif spec.kind == "softmax_cross_entropy":
            den = sympy.Add(*[sympy.exp(v) for v in xf])
            pred = [sympy.exp(v) / den for v in xf]
            loss = -sympy.Add(*[t * sympy.log(p) for t, p in zip(tf, pred)])
            total = sympy.Add(*tf)
            grad = [p * total - t for p, t in zip(pred, tf)]
            self.identity = "dL/dz_i = yhat_i - y_i when sum_i y_i = 1"
        else:
            pred = xf
            loss = sympy.Rational(1, 2) * sympy.Add(*[(v - t) ** 2 for v, t in zip(xf, tf)])
            grad = [v - t for v, t in zip(xf, tf)]
            self.identity = "dE/dy_i = y_i - yhat_i"
        self.loss = loss
        self.prediction = _arr(pred, shape)
        self.grad_x = _arr(grad, shape)

    x = property(lambda self: _arr(self._x.reshape(-1), self._x.shape))
    target = property(lambda self: _arr(self._t.reshape(-1), self._t.shape))

    def evaluate(self, x, target) -> dict:
        """``{"loss", "grad_x"}`` at float64 numbers."""
        values = _bind_values(self._x, x, "x", self.spec)
        values.update(_bind_values(self._t, target, "target", self.spec))
        loss = float(sympy.lambdify(list(values), self.loss, "numpy")(*values.values()))
        return {"loss": loss, "grad_x": _numeric(self.grad_x, values)}

    def __repr__(self) -> str:
        return f"LossDerivation({self.spec!r})"


def derive_nn(spec, *, index_base: int = 1):
    """:class:`NNDerivation` of an :class:`NNSpec` or :class:`LossDerivation` of a
    :class:`LossSpec` (input_shape must be set)."""
    if isinstance(spec, LossSpec):
        return LossDerivation(spec, index_base=index_base)
    return NNDerivation(spec, index_base=index_base)


def _bind_values(symbols, value, name, spec):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{spec.kind}: {name} must hold numbers, got {exc}") from None
    if arr.size != symbols.size:
        raise SpecError(
            f"{spec.kind}: {name} must have shape {symbols.shape}, got shape {arr.shape}"
        )
    return dict(zip(symbols.reshape(-1), arr.reshape(-1).tolist()))


def _numeric(arr, values):
    shape = arr.shape
    flat = list(sympy.flatten(arr.tolist())) if arr.rank() else [arr[()]]
    fn = sympy.lambdify(list(values), flat, modules=[{"Heaviside": _heaviside}, "numpy"])
    return np.asarray(fn(*values.values()), dtype=np.float64).reshape(shape)


def _heaviside(v, h0=0.0):
    return np.heaviside(v, h0)


# ---------------------------------------------------------------------- reference loops
def _check(spec, name, arr, shape):
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape != tuple(shape):
        raise SpecError(f"{spec.kind}: {name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr


def reference_forward(spec: NNSpec, x, w=None, b=None) -> np.ndarray:
    """Plain loops, no batch axis: ``x`` has ``spec.input_shape``."""
    x = _check(spec, "x", x, spec.input_shape)
    xf = list(x.reshape(-1))
    kind = spec.kind
    if kind == "sigmoid":
        out = [1.0 / (1.0 + math.exp(-v)) for v in xf]
    elif kind == "tanh":
        out = [math.tanh(v) for v in xf]
    elif kind == "relu":
        out = [v if v > 0 else 0.0 for v in xf]
    elif kind == "flatten":
        out = xf
    elif kind == "softmax":
        m = max(xf)  # shift for stability; softmax(x) = softmax(x - m)
        e = [math.exp(v - m) for v in xf]
        s = sum(e)
        out = [v / s for v in e]
    else:
        w = _check(spec, "w", w, spec.w_shape)
        out = []
        for i in range(spec.out_features):
            acc = 0.0 if b is None or not spec.bias else float(np.asarray(b)[i])
            for j in range(spec.in_features):
                acc += w[i, j] * xf[j]
            out.append(acc)
    return np.array(out, dtype=np.float64).reshape(spec.output_shape)


def reference_backward(spec: NNSpec, dy, x, w=None):
    """``(dx, dw, db)`` by plain loops (dw, db None without parameters)."""
    x = _check(spec, "x", x, spec.input_shape)
    dy = _check(spec, "dy", dy, spec.output_shape)
    xf, dyf = list(x.reshape(-1)), list(dy.reshape(-1))
    kind = spec.kind
    dw = db = None
    if kind in ("sigmoid", "tanh", "relu", "softmax"):
        y = list(reference_forward(spec, x).reshape(-1))
    if kind == "sigmoid":
        dx = [d * f * (1 - f) for d, f in zip(dyf, y)]
    elif kind == "tanh":
        dx = [d * (1 - f * f) for d, f in zip(dyf, y)]
    elif kind == "relu":
        dx = [d if v > 0 else 0.0 for d, v in zip(dyf, xf)]
    elif kind == "flatten":
        dx = dyf
    elif kind == "softmax":
        n = len(y)
        dx = []
        for j in range(n):
            acc = 0.0
            for i in range(n):
                jac = y[i] * (1 - y[i]) if i == j else -y[i] * y[j]
                acc += dyf[i] * jac
            dx.append(acc)
    else:
        w = _check(spec, "w", w, spec.w_shape)
        n_out, n_in = spec.w_shape
        dx = [sum(w[i, j] * dyf[i] for i in range(n_out)) for j in range(n_in)]
        dw = np.array([[dyf[i] * xf[j] for j in range(n_in)] for i in range(n_out)])
        db = np.array(dyf) if spec.bias else None
    return np.array(dx, dtype=np.float64).reshape(spec.input_shape), dw, db


def reference_loss(spec: LossSpec, x, target):
    """``(L, dL/dx)`` by plain loops. For softmax_cross_entropy ``x`` are logits and the
    gradient is the exact ``yhat_j sum_i y_i - y_j``."""
    x = _check(spec, "x", x, spec.input_shape)
    t = _check(spec, "target", target, spec.input_shape)
    xf, tf = list(x.reshape(-1)), list(t.reshape(-1))
    if spec.kind == "cross_entropy":
        loss = -sum(ti * math.log(pi) for ti, pi in zip(tf, xf) if ti != 0)
        grad = [-ti / pi for ti, pi in zip(tf, xf)]
    elif spec.kind == "softmax_cross_entropy":
        m = max(xf)
        logsum = m + math.log(sum(math.exp(v - m) for v in xf))
        p = [math.exp(v - logsum) for v in xf]
        loss = -sum(ti * (v - logsum) for ti, v in zip(tf, xf))
        total = sum(tf)
        grad = [pi * total - ti for pi, ti in zip(p, tf)]
    else:
        loss = 0.5 * sum((v - ti) ** 2 for v, ti in zip(xf, tf))
        grad = [v - ti for v, ti in zip(xf, tf)]
    return loss, np.array(grad, dtype=np.float64).reshape(spec.input_shape)
