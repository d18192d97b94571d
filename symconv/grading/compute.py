"""The expected quantities of a check: a layer, the values given for it, and any quantity
computed for that layer or a variant of it (another spec, other inputs, another dE/dy).

Every value not given stays symbolic. Everything is read off the derivation of the (variant)
layer, exactly; the mistakes of the catalogue are built with :meth:`Computation.compute`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy

from ..core import budget
from ..core.arrays import as_object_array
from ..core.derive import derive
from ..core.errors import SpecError, SymconvError
from ..core.layers import Layer
from ..core.spec import LayerSpec
from ..core.symbols import symbol_array
from . import fast
from .values import align, object_array, substitute, to_values

__all__ = ["QUANTITIES", "GRADIENTS", "checked_layer", "spec_variant", "Computation"]

#: The quantities a student can be asked for.
QUANTITIES = ("output", "grad-input", "grad-weight", "grad-bias", "toeplitz", "output-size")

#: Gradient quantities -> the derivation's array holding them.
GRADIENTS = {"grad-input": "grad_x", "grad-weight": "grad_w", "grad-bias": "grad_b"}

_SHAPE_NAMES = {
    "output": "(C_out, *output_size)",
    "grad-input": "(C_in, *input_size), like x",
    "grad-weight": "like w",
    "grad-bias": "(C_out,), like b",
    "toeplitz": "rows x columns",
    "output-size": "one size per spatial axis",
}


def checked_layer(layer, quantity, convention, index_base) -> Layer:
    """The layer of a check request after validating the request's options."""
    if isinstance(layer, LayerSpec):
        layer = Layer(layer)
    if not isinstance(layer, Layer):
        raise SpecError(f"check: layer must be a symconv Layer or LayerSpec, got {layer!r}")
    if quantity not in QUANTITIES:
        raise SpecError(f"check: quantity must be one of {QUANTITIES}, got {quantity!r}")
    if convention not in ("row", "column"):
        raise SpecError(f"check: convention must be 'row' or 'column', got {convention!r}")
    if index_base not in (0, 1):
        raise SpecError(f"check: index_base must be 0 or 1, got {index_base!r}")
    return layer


def spec_variant(spec: LayerSpec, **changes):
    """A validated copy of ``spec`` with some fields changed, or None if it is not a layer, is
    the same layer, or is too much larger to build (:func:`symconv.core.budget.mistake_fits`)."""
    try:
        new = spec.replace(**changes)
    except SymconvError:
        return None
    if new == spec or not budget.mistake_fits(new, spec):
        return None
    return new


class DerivationArrays:
    """A derivation's arrays as object ndarrays (:meth:`Derivation.array`), converted once."""

    _NAMES = ("x", "w", "b", "dy", "y", "y_symbols", "grad_x", "grad_w", "grad_b")

    def __init__(self, deriv):
        self.deriv = deriv
        self._cache = {}
        self._toeplitz = {}

    def __getattr__(self, name):
        if name not in self._NAMES:
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self.deriv.array(name)
        return self._cache[name]

    def toeplitz(self, convention):
        if convention not in self._toeplitz:
            self._toeplitz[convention] = as_object_array(self.deriv.toeplitz(convention))
        return self._toeplitz[convention]


class Computation:
    """A checked layer with its given values (symbols where none are given).

    ``sx, sw, sb, sdy, sy, syhat`` are the layer's symbol arrays; ``X, W, B`` the given (or
    symbolic) inputs, ``T`` the target, ``DY`` the given dE/dy (the symbols when neither dy nor
    target is given), ``Y`` the forward result and ``dy_value`` the dE/dy in use.
    """

    def __init__(self, layer: Layer, quantity, x, w, b, dy, target, convention, index_base):
        self.layer = layer
        self.spec = spec = layer.spec
        self.quantity = quantity
        self.convention = convention
        self.base = index_base
        self._derivs = {}
        op = spec.op
        if quantity == "grad-weight" and not spec.has_weight:
            raise SpecError(f"{op}: a pooling layer has no weights, so no grad-weight")
        if quantity == "grad-bias" and not spec.bias:
            raise SpecError(f"{op}: the layer has no bias (bias=False), so no grad-bias")
        if quantity == "toeplitz" and spec.kind == "max_pool":
            raise SpecError(f"{op}: max pooling is not linear, so it has no Toeplitz matrix")
        d = self.deriv(spec)
        self.sx = as_object_array(d.x)
        self.sw = as_object_array(d.w)
        self.sb = as_object_array(d.b)
        self.sdy = as_object_array(d.dy)
        self.sy = as_object_array(d.y_symbols)
        self.syhat = symbol_array("yhat", spec.y_shape, index_base=index_base, keep_leading=1)
        self.X = self._given("x", x, spec.x_shape, self.sx)
        if spec.has_weight:
            self.W = self._given("w", w, spec.w_shape, self.sw)
        elif w is not None:
            raise SpecError(f"{op}: a pooling layer has no weights, got w")
        else:
            self.W = None
        if spec.bias:
            self.B = self._given("b", b, spec.b_shape, self.sb)
        elif b is not None:
            raise SpecError(f"{op}: the layer has no bias (bias=False), got b")
        else:
            self.B = None
        if dy is not None and target is not None:
            raise SpecError(f"{op}: give dy or target, not both")
        self.T = None if target is None else self._given("target", target, spec.y_shape, None)
        if dy is not None:
            self.DY = self._given("dy", dy, spec.y_shape, None)
        elif target is None:
            self.DY = self.sdy
        else:
            self.DY = None
        self.symbolic_dy = self.DY is self.sdy

    @functools.cached_property
    def Y(self):
        """The forward result (computed on first use: a Toeplitz check never needs it)."""
        return self.forward(self.spec)

    @functools.cached_property
    def dy_value(self):
        """The dE/dy in use: the given dy, the symbols, or y - target."""
        return self.DY if self.DY is not None else self.Y - self.T

    def _given(self, name, value, shape, symbols):
        if value is None:
            return symbols
        arr = to_values(value, name)
        out = align(arr, shape)
        if out is None:
            raise SpecError(
                f"{self.spec.op}: {name} must have shape {tuple(shape)}, got shape {arr.shape}"
            )
        return out

    def deriv(self, spec) -> DerivationArrays:
        """The derivation of a (variant) spec, with its arrays as object ndarrays (cached)."""
        d = self._derivs.get(spec)
        if d is None:
            d = self._derivs[spec] = DerivationArrays(derive(Layer(spec), index_base=self.base))
        return d

    # ------------------------------------------------------------------ computing
    @staticmethod
    def _subs(d, X, W, B):
        subs = {}
        for syms, vals in ((d.x, X), (d.w, W), (d.b, B)):
            if syms is None:
                continue
            syms = as_object_array(syms)
            if vals is None or vals.shape != syms.shape:
                return None
            subs.update(zip(syms.reshape(-1), vals.reshape(-1)))
        return subs

    def forward(self, spec, X=None, W=None, B=None):
        """The output of a (variant) layer for the given (or other) inputs."""
        return self.compute(spec, X=X, W=W, B=B, quantity="output")

    def compute(self, spec=None, *, X=None, W=None, B=None, DY=None, quantity=None, pairs=None):
        """The quantity for a (variant) layer and (variant) inputs, or None if it does not
        apply. dE/dy is ``DY`` if given, else the given dy, else y(variant) - target.
        ``pairs`` replaces the layer's channel connections (see :mod:`.fast`; numbers only).

        Numbers are computed straight from the variant's index map (:func:`.fast.evaluate`);
        symbolic values through the variant's derivation."""
        spec = self.spec if spec is None else spec
        q = self.quantity if quantity is None else quantity
        if q == "output-size":
            return object_array((spec.ndim,), (sympy.Integer(n) for n in spec.output_size))
        fast_result = self._fast(spec, q, X, W, B, DY, pairs)
        if fast_result is not None or pairs is not None:
            return fast_result
        d = self.deriv(spec)
        subs = self._subs(
            d,
            self.X if X is None else X,
            self.W if W is None else W,
            self.B if B is None else B,
        )
        if subs is None:
            return None
        if q == "toeplitz":
            try:
                mat = d.toeplitz(self.convention)
            except SymconvError:
                return None
            return substitute(mat, subs)
        if q == "output":
            return substitute(d.y, subs)
        if DY is None:
            if self.DY is not None:
                DY = self.DY
            elif tuple(spec.y_shape) == self.T.shape:
                DY = substitute(d.y, subs) - self.T
        if DY is None or DY.shape != tuple(spec.y_shape):
            return None
        grad = getattr(d, GRADIENTS[q])
        if grad is None:
            return None
        subs.update(zip(as_object_array(d.dy).reshape(-1), DY.reshape(-1)))
        return substitute(grad, subs)

    def _fast(self, spec, q, X, W, B, DY, pairs):
        """:func:`.fast.evaluate` for :meth:`compute`, or None (values of the wrong shape,
        symbolic values)."""
        X = self.X if X is None else X
        W = self.W if W is None else W
        B = self.B if B is None else B
        if X.shape != spec.x_shape:
            return None
        if spec.has_weight and (W is None or W.shape != spec.w_shape):
            return None
        if spec.bias and (B is None or B.shape != spec.b_shape):
            return None
        if q in GRADIENTS:
            if DY is None and self.DY is not None:
                DY = self.DY
            elif DY is None and tuple(spec.y_shape) == self.T.shape:
                Y = self._fast(spec, "output", X, W, B, None, pairs)
                DY = None if Y is None else Y - self.T
            if DY is None or DY.shape != tuple(spec.y_shape):
                return None
        return fast.evaluate(spec, q, X, W, B, DY, self.convention, pairs)

    # ------------------------------------------------------------------ the quantity's shape
    def expected_size(self) -> int:
        """The number of entries of the quantity (the answer parser's size hint)."""
        spec = self.spec
        if self.quantity == "output-size":
            return spec.ndim + 1
        if self.quantity == "toeplitz":
            return math.prod(spec.x_shape) * math.prod(spec.y_shape)
        shape = {
            "output": spec.y_shape,
            "grad-input": spec.x_shape,
            "grad-weight": spec.w_shape or (),
            "grad-bias": spec.b_shape or (),
        }[self.quantity]
        return math.prod(shape)

    def shape_text(self, shape) -> str:
        """``shape`` with what it means for the quantity (for the wrong-shape diagnosis)."""
        return f"{tuple(shape)} {_SHAPE_NAMES[self.quantity]}"

    def labels(self, shape) -> dict:
        """Index -> entry name (``y_12``, ``dE/dw_12``, ``W[5,1]``, ``size[1]``)."""
        q = self.quantity
        out = {}
        if q == "toeplitz":
            letter = "W" if self.convention == "row" else "T"
            for i, j in np.ndindex(shape):
                out[(i, j)] = f"{letter}[{i + 1},{j + 1}]"
            return out
        if q == "output-size":
            for (i,) in np.ndindex(shape):
                out[(i,)] = f"size[{i + 1}]"
            return out
        syms, prefix = {
            "output": (self.sy, ""),
            "grad-input": (self.sx, "dE/d"),
            "grad-weight": (self.sw, "dE/d"),
            "grad-bias": (self.sb, "dE/d"),
        }[q]
        for idx in np.ndindex(syms.shape):
            out[idx] = prefix + syms[idx].name
        return out
