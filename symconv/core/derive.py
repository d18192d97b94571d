"""Derivations: forward expressions and exact gradients read off a layer's index map.

The derivation is built structurally (a sparse chain rule), never by differentiating large
expressions: every (output, tap) pair of the index map contributes one product to the forward
expression and one partial derivative to the sparse Jacobians ``dy/dx`` and ``dy/dw``. The
gradients are the Jacobians' transposes applied to the upstream gradient ``dE/dy``, and the
Toeplitz matrix is the Jacobian ``dy/dx`` itself.

The linear layers' sums are assembled fast in SymPy's canonical order (:mod:`symconv.core.sums`).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import sympy
from sympy import Add

from . import budget
from . import preview as _preview
from .arrays import as_object_array, grouped, to_sympy_array
from .errors import SpecError, SymconvError
from .evaluate import evaluate
from .identities import Identity, build_identities
from . import toeplitz as _maps
from .layers import Layer
from .loss import with_l2_loss
from .sums import fast_add, max_routing, mul2, name_rank
from .symbols import symbol_array, symbol_at

__all__ = ["Derivation", "Identity", "derive"]


# ---------------------------------------------------------------------- fast sums
# ---------------------------------------------------------------------- the derivation
class Derivation:
    """Forward expressions and exact gradients of one layer.

    Attributes (SymPy ``ImmutableDenseNDimArray``): ``x`` (C_in, *input_size), ``w`` (weights,
    None for pools), ``b`` (C_out,) or None, ``y`` forward expressions, ``dy`` upstream-gradient
    symbols dE/dy (shape of ``y``), ``grad_x``, ``grad_w``, ``grad_b`` in terms of ``dy``.
    After :meth:`with_loss`, ``loss`` is E and ``dy_value`` is dE/dy = y - yhat.

    Everything is built on first use, and only within the budgets of
    :mod:`symconv.core.budget`: the whole arrays (``y``, ``grad_x``, ``grad_w``, ``grad_b``,
    :meth:`toeplitz`, :meth:`jacobian`, :meth:`evaluate`) within
    :data:`~symconv.core.budget.MAX_TERMS` product terms, a symbol array (``x``, ``w``,
    ``dy``) within :data:`~symconv.core.budget.MAX_SYMBOLS`; above them they raise one
    :class:`~symconv.core.budget.BudgetError` naming the budget. Above the budget, ``d.y``
    (and ``grad_x``, ``grad_w``, ``grad_b``) is a :class:`~symconv.core.preview.LazyEntries`:
    ``d.y[0, 0, 0]`` answers at once (:func:`symconv.core.preview.entry`), anything that
    needs the whole array raises that error.
    """

    def __init__(self, layer: Layer, *, index_base: int = 1):
        if not isinstance(layer, Layer):
            raise SpecError(
                f"derive: layer must be a symconv layer (from symconv.conv, ...), got {layer!r}"
            )
        if index_base not in (0, 1):
            raise SpecError(f"derive: index_base must be 0 or 1, got {index_base!r}")
        self.layer = layer
        self.spec = spec = layer.spec
        self.index_base = index_base
        self.loss = None
        self.target = None
        self.dy_value = None
        self._n = (spec.out_channels * math.prod(spec.output_size), math.prod(spec.x_shape))

    # ------------------------------------------------------------------ construction
    #: built together, on first use of any of them (a large layer's summary needs none)
    _LAZY = frozenset({"y", "grad_x", "grad_w", "grad_b", "_jx", "_jw"})
    #: symbol arrays, each built on first use: (kind, shape attribute, channel axes)
    _SYMBOLS = {
        "_x": ("x", "x_shape", 1),
        "_dy": ("dy", "y_shape", 1),
        "_yname": ("y", "y_shape", 1),
        "_w": ("w", "w_shape", 2),
        "_b": ("b", "b_shape", 1),
    }

    def __getattr__(self, name):
        if "_n" not in self.__dict__:  # not initialised (e.g. during unpickling)
            raise AttributeError(name)
        if name in Derivation._SYMBOLS:
            kind, shape, lead = Derivation._SYMBOLS[name]
            shape = getattr(self.spec, shape)
            value = None
            if shape is not None:
                what = f"the symbol array of {kind}"
                budget.check(
                    self.spec.op, what, math.prod(shape), "entries", "MAX_SYMBOLS", budget.WHOLE
                )
                value = symbol_array(kind, shape, index_base=self.index_base, keep_leading=lead)
            self.__dict__[name] = value
            return value
        if name not in Derivation._LAZY:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if name in _preview.QUANTITIES:
            try:
                budget.check_whole(self.spec)
            except budget.BudgetError as exc:  # single entries on demand, the rest refused
                if getattr(self.spec, _preview.QUANTITIES[name]) is None:
                    return None
                return _preview.LazyEntries(self, name, exc)
        self._build()
        return self.__dict__[name]

    def symbol(self, kind: str, index):
        """One symbol of ``'x'``, ``'w'``, ``'b'``, ``'dy'`` or ``'y'`` (the output's name) at
        a tuple or flat index, without building the whole symbol array."""
        for attr, (k, shape, lead) in Derivation._SYMBOLS.items():
            if k == kind and getattr(self.spec, shape) is not None:
                if attr in self.__dict__ or math.prod(getattr(self.spec, shape)) <= 1 << 16:
                    arr = getattr(self, attr)  # small: build (once) and index
                    return arr[index] if isinstance(index, tuple) else arr.reshape(-1)[index]
                return symbol_at(
                    kind,
                    getattr(self.spec, shape),
                    index,
                    index_base=self.index_base,
                    keep_leading=lead,
                )
        raise SymconvError(f"{self.spec.op}: no symbols named {kind!r} in this layer")

    @property
    def is_built(self) -> bool:
        """Whether the expressions of every entry exist yet (they are built on first use of
        ``y``, ``grad_x``, ``grad_w``, ``grad_b`` or the Toeplitz matrix)."""
        return "y" in self.__dict__

    def _build(self):
        spec, layer = self.spec, self.layer
        budget.check_whole(spec)
        n_in = math.prod(spec.input_size)
        n_out = math.prod(spec.output_size)
        n_y, n_x = self._n
        xf = self._x.reshape(-1)
        dyf = self._dy.reshape(-1)
        index_map = layer.index_map
        o_idx, t_idx = np.nonzero(index_map >= 0)
        i_idx = index_map[o_idx, t_idx]
        if not spec.has_weight:
            self.grad_w = self.grad_b = None
            self._jw = None
            X = self._x.reshape(spec.in_channels, n_in)
            y_flat, rows, cols, coefs = _pool_forward(self, X, o_idx, i_idx, n_out, n_in)
            self._jx = (rows, cols, coefs)
            order = np.lexsort((rows, cols))
            gx = grouped(
                [dyf[r] * c for r, c in zip(rows[order].tolist(), coefs[order])],
                cols[order],
                n_x,
                lambda ts: Add(*ts),
            )
            self.y = to_sympy_array(y_flat, spec.y_shape)
            self.grad_x = to_sympy_array(gx, spec.x_shape)
            return
        # Every (channel pair, output, tap) connection of the index map, as flat positions.
        wf = self._w.reshape(-1)
        n_taps = math.prod(spec.kernel_size)
        w_cols = self._w.shape[1]
        wt = layer.weight_tap[t_idx]
        Y, Xg, Wg = [], [], []
        for co, ci, (w0, w1) in layer.channel_pairs():
            Y.append(co * n_out + o_idx)
            Xg.append(ci * n_in + i_idx)
            Wg.append((w0 * w_cols + w1) * n_taps + wt)
        Y, Xg, Wg = (np.concatenate(a) if a else np.zeros(0, np.int64) for a in (Y, Xg, Wg))
        self._jx = (Y, Xg, wf[Wg])  # dy[Y]/dx[Xg] = w[Wg]
        self._jw = (Y, Wg, xf[Xg])  # dy[Y]/dw[Wg] = x[Xg]
        # SymPy's canonical order: products w*x, dy*w, dy*x (by name); sums by name of the
        # first factor, which is distinct within each sum.
        w_rank, dy_rank = name_rank(wf), name_rank(dyf)
        order = np.lexsort((w_rank[Wg], Y))
        terms = list(map(mul2, wf[Wg[order]], xf[Xg[order]]))
        lead = [[b] for b in self._b.reshape(-1)] if spec.bias else None
        y_flat = grouped(terms, Y[order], n_y, fast_add, lead, n_out)
        order = np.lexsort((dy_rank[Y], Xg))
        terms = list(map(mul2, dyf[Y[order]], wf[Wg[order]]))
        gx = grouped(terms, Xg[order], n_x, fast_add)
        order = np.lexsort((dy_rank[Y], Wg))
        terms = list(map(mul2, dyf[Y[order]], xf[Xg[order]]))
        gw = grouped(terms, Wg[order], wf.size, fast_add)
        self.y = to_sympy_array(y_flat, spec.y_shape)
        self.grad_x = to_sympy_array(gx, spec.x_shape)
        self.grad_w = to_sympy_array(gw, self._w.shape)
        if spec.bias:
            DY = self._dy.reshape(spec.out_channels, n_out)
            self.grad_b = to_sympy_array(
                [Add(*DY[co]) for co in range(spec.out_channels)], (spec.out_channels,)
            )
        else:
            self.grad_b = None

    # ------------------------------------------------------------------ public data
    @cached_property
    def x(self):
        return to_sympy_array(self._x.reshape(-1), self._x.shape)

    @cached_property
    def w(self):
        return None if self._w is None else to_sympy_array(self._w.reshape(-1), self._w.shape)

    @cached_property
    def b(self):
        return None if self._b is None else to_sympy_array(self._b.reshape(-1), self._b.shape)

    @cached_property
    def dy(self):
        return to_sympy_array(self._dy.reshape(-1), self._dy.shape)

    @cached_property
    def y_symbols(self):
        """Names y_ij of the outputs (the forward expressions are :attr:`y`)."""
        return to_sympy_array(self._yname.reshape(-1), self._yname.shape)

    def array(self, name: str) -> np.ndarray:
        """A quantity as a NumPy object array (a copy): ``'x'``, ``'w'``, ``'b'``, ``'dy'``,
        ``'y'``, ``'y_symbols'``, ``'grad_x'``, ``'grad_w'``, ``'grad_b'``; None if absent."""
        if name not in ("x", "w", "b", "dy", "y", "y_symbols", "grad_x", "grad_w", "grad_b"):
            raise SymconvError(f"{self.spec.op}: unknown quantity {name!r}")
        return as_object_array(getattr(self, name))

    def jacobian_terms(self, wrt: str):
        """Non-zero partial derivatives of the outputs per entry of ``wrt`` (``'x'`` or
        ``'w'``): see :func:`symconv.core.toeplitz.jacobian_terms`."""
        return _maps.jacobian_terms(self, wrt)

    def jacobian(self):
        """The sparse Jacobian dy/dx, shape (n_y, n_x), row-major vec of (C, *spatial)."""
        return _maps.jacobian(self)

    def toeplitz(self, convention: str = "column"):
        """The unrolled (Toeplitz) matrix of a linear layer as a sparse SymPy matrix:
        ``'column'`` T with vec(y) = T vec(x) (+ bias), ``'row'`` the slides' W = T^T with
        x W = y (see :func:`symconv.core.toeplitz.toeplitz`)."""
        return _maps.toeplitz(self, convention)

    def bias_vector(self):
        """vec of the bias broadcast over the output (the '+ bias' of vec(y) = T vec(x) + b)."""
        return _maps.bias_vector(self)

    # ------------------------------------------------------------------ loss
    def with_loss(self, target=None) -> "Derivation":
        """A copy with the seed-000 loss E = 1/2 sum (y - yhat)^2 substituted (``target`` is
        yhat, default symbols ``yhat_ij``): ``loss``, ``target``, ``dy_value`` = y - yhat, and
        gradients with every dE/dy_ij replaced by y_ij - yhat_ij."""
        return with_l2_loss(self, target)

    # ------------------------------------------------------------------ identities
    @cached_property
    def identities(self) -> list:
        """The identities of the seeds for this layer, stated with independent arithmetic
        (:mod:`symconv.core.identities`)."""
        return build_identities(self)

    def verify_identities(self) -> dict:
        """``{identity name: True/False}``, each checked with sympy.expand (on arrays as long
        as the padded, dilated axes: within :data:`symconv.core.budget.MAX_SYMBOLS` cells)."""
        what, size = "verifying the identities", budget.identity_cells(self.spec)
        budget.check(self.spec.op, what, size, "cells", "MAX_SYMBOLS", budget.WHOLE)
        return {ident.name: ident.verify() for ident in self.identities}

    # ------------------------------------------------------------------ numbers
    def evaluate(self, x=None, w=None, b=None, dy=None, target=None) -> dict:
        """Evaluate the symbolic results at numbers.

        Returns ``{"y", "grad_x", "grad_w", "grad_b"}`` as NumPy arrays (None where the layer
        has no such quantity, and gradients None when neither ``dy`` nor ``target`` is given).
        With ``target`` (yhat), dE/dy = y - yhat. Inputs made only of ints and
        ``fractions.Fraction`` are evaluated exactly (object arrays of Fraction); anything else
        in float64.
        """
        return evaluate(self, x=x, w=w, b=b, dy=dy, target=target)

    def __repr__(self) -> str:
        parts = ["y", "grad_x"]  # (from the spec: a repr builds nothing)
        if self.spec.has_weight:
            parts.append("grad_w")
        if self.spec.bias:
            parts.append("grad_b")
        loss = ", with L2 loss" if self.loss is not None else ""
        return f"Derivation({self.spec!r}; {', '.join(parts)}{loss})"


def _pool_forward(self, X, o_idx, i_idx, n_out, n_in):
    """Pool outputs and the Jacobian triplets (y position, x position, dy/dx)."""
    spec, layer = self.spec, self.layer
    by_out = [[] for _ in range(n_out)]
    for o, i in zip(o_idx.tolist(), i_idx.tolist()):
        by_out[o].append(i)  # taps in row-major order within each window
    y_flat, rows, cols, coefs = [], [], [], []
    sizes = layer.window_sizes
    for c in range(spec.in_channels):
        for o in range(n_out):
            window = by_out[o]
            vals = [X[c, i] for i in window]
            rows.extend([c * n_out + o] * len(window))
            cols.extend(c * n_in + i for i in window)
            if spec.kind == "avg_pool":
                share = sympy.Rational(1, int(sizes[o]))
                y_flat.append(Add(*vals) * share)
                coefs.extend([share] * len(window))
            else:
                y_flat.append(sympy.Max(*vals))
                coefs.extend(max_routing(vals, spec.ties))
    coef_arr = np.empty(len(coefs), dtype=object)
    coef_arr[:] = coefs
    return y_flat, np.array(rows, np.int64), np.array(cols, np.int64), coef_arr


def derive(layer: Layer, *, index_base: int = 1) -> Derivation:
    """Build the :class:`Derivation` of a layer: forward expressions and exact gradients.

    >>> import symconv
    >>> d = symconv.derive(symconv.conv((3, 3), 2))
    >>> d.y[0, 0, 0]
    w_11*x_11 + w_12*x_12 + w_21*x_21 + w_22*x_22
    """
    return Derivation(layer, index_base=index_base)
