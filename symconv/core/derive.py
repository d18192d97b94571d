"""Derivations: forward expressions and exact gradients read off a layer's index map.

The derivation is built structurally (a sparse chain rule), never by differentiating large
expressions: every (output, tap) pair of the index map contributes one product to the forward
expression and one partial derivative to the sparse Jacobians ``dy/dx`` and ``dy/dw``. The
gradients are the Jacobians' transposes applied to the upstream gradient ``dE/dy``, and the
Toeplitz matrix is the Jacobian ``dy/dx`` itself.

For linear layers the SymPy sums are assembled with ``Add._from_args`` and
``Mul._from_args`` in SymPy's canonical argument order: the terms are known to be distinct
products of two symbols, so SymPy's canonicalizing constructors (which would re-check and
re-sort every term) are not needed, and the result still compares equal to what
``sympy.Add(*terms)`` builds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import sympy
from sympy import Add, Mul

from .errors import SpecError, SymconvError
from .layers import Layer
from .symbols import symbol_array

__all__ = ["Derivation", "Identity", "derive"]


# ---------------------------------------------------------------------- fast sums
def flat_entries(arr) -> list:
    """Entries of a SymPy N-d array, SymPy Matrix or NumPy array (or nested list) in row-major
    order."""
    if isinstance(arr, sympy.MatrixBase):
        return list(arr)
    if not isinstance(arr, sympy.NDimArray):
        return list(np.asarray(arr, dtype=object).reshape(-1))
    if arr.rank() == 0:
        return [arr[()]]
    flat = getattr(arr, "_array", None)  # dense SymPy arrays keep their entries row-major
    if isinstance(flat, list) and len(flat) == len(arr):
        return list(flat)
    return sympy.flatten(arr.tolist()) if arr.rank() > 1 else list(arr)


def as_object_array(arr):
    """A SymPy N-d array or Matrix as a NumPy object array of the same shape (None stays None,
    a NumPy array is returned as it is)."""
    if arr is None or isinstance(arr, np.ndarray):
        return arr
    out = np.empty(tuple(arr.shape), dtype=object)
    out.reshape(-1)[:] = flat_entries(arr)
    return out


_new = object.__new__
_MUL_ASSUMPTIONS = Mul.default_assumptions
_ADD_ASSUMPTIONS = Add.default_assumptions


def _mul2(a, b):
    """``a*b`` for two distinct commutative symbols already in canonical order (a's name first):
    what ``Mul._from_args((a, b))`` builds, minus the call overhead (this is the hot loop)."""
    obj = _new(Mul)
    obj._assumptions = _MUL_ASSUMPTIONS
    obj._mhash = None
    obj._args = (a, b)
    obj.is_commutative = True
    return obj


def _fast_add(terms):
    """Sum of distinct terms given in canonical order (see the module docstring)."""
    if not terms:
        return sympy.Integer(0)
    if len(terms) == 1:
        return terms[0]
    obj = _new(Add)
    obj._assumptions = _ADD_ASSUMPTIONS
    obj._mhash = None
    obj._args = tuple(terms)
    obj.is_commutative = True
    return obj


def _name_rank(symbols) -> np.ndarray:
    """Position of each symbol in SymPy's order of symbols (by name)."""
    names = [s.name for s in symbols]
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return rank


def _grouped(terms, keys, n, combine, lead=None, lead_every=1):
    """Combine ``terms`` (sorted by ``keys``) into ``n`` sums, one per key value; ``lead[k //
    lead_every]`` terms (a bias) go first."""
    bounds = np.concatenate(([0], np.cumsum(np.bincount(keys, minlength=n)))).tolist()
    if lead is None:
        return [combine(terms[bounds[k] : bounds[k + 1]]) for k in range(n)]
    return [combine(lead[k // lead_every] + terms[bounds[k] : bounds[k + 1]]) for k in range(n)]


def _max_routing(vals, ties):
    """dy/dx of ``Max(*vals)`` for each argument under a tie policy, as Piecewise indicators."""
    wins = []
    for t, v in enumerate(vals):
        if ties == "first":
            conds = [v > u for u in vals[:t]] + [v >= u for u in vals[t + 1 :]]
        else:
            conds = [v >= u for u in vals[:t] + vals[t + 1 :]]
        wins.append(sympy.Piecewise((1, sympy.And(*conds)), (0, True)))
    if ties == "split" and len(wins) > 1:
        total = Add(*wins)
        return [win / total for win in wins]
    return wins


def _to_array(flat, shape):
    return sympy.ImmutableDenseNDimArray(list(flat), shape)


# ---------------------------------------------------------------------- tensor helpers
# Small N-d helpers on object arrays, used to state the identities independently of the index
# map (they recompute the arithmetic on purpose: that is what an identity checks).
# identity_operands builds both identities' operands from them, for the checks here and for
# the LaTeX printer, which draws them.
def zero_pad(a, pads):
    return np.pad(a, list(pads), mode="constant", constant_values=sympy.Integer(0))


def dilate(a, factors):
    shape = tuple((n - 1) * f + 1 for n, f in zip(a.shape, factors))
    out = np.full(shape, sympy.Integer(0), dtype=object)
    out[tuple(slice(None, None, f) for f in factors)] = a
    return out


def rotate180(a):
    return a[(slice(None, None, -1),) * a.ndim]


def correlation_size(a_shape, k_shape, stride) -> tuple:
    """Size of the valid cross-correlation of ``a`` with ``k`` taken every ``stride``."""
    return tuple((na - nk) // s + 1 for na, nk, s in zip(a_shape, k_shape, stride))


def identity_operands(spec, x, dy, kern) -> dict:
    """The operands of the two identities for one channel pair, ``{"w": (a, k, step), "x": (a,
    k, step)}``: dE/dw and dE/dx are the valid correlations of ``a`` with ``k`` taken every
    ``step`` (before the crop to the kernel or input, and the kernel flip of ``flip=True``).

    conv: dE/dw from x zero-padded and dE/dy stride-dilated, at the kernel dilation; dE/dx
    from dE/dy stride-dilated and fully padded with the rotated (dilated) kernel.
    conv_transpose: both from dE/dy zero-padded, with x stride-dilated (at the dilation) and
    with the dilated kernel (at the stride)."""
    s, d = spec.stride, spec.dilation
    if spec.kind == "conv":
        weff = rotate180(kern) if spec.flip else kern
        full = [(e - 1, e - 1) for e in spec.effective_kernel]
        return {
            "w": (zero_pad(x, spec.padding), dilate(dy, s), d),
            "x": (zero_pad(dilate(dy, s), full), dilate(rotate180(weff), d), (1,) * spec.ndim),
        }
    dyp = zero_pad(dy, spec.padding)
    return {"w": (dyp, dilate(x, s), d), "x": (dyp, dilate(kern, d), s)}


def _correlate(a, k, stride):
    """Valid cross-correlation ``out[n] = sum_m a[n*stride + m] k[m]`` of object arrays."""
    out_shape = correlation_size(a.shape, k.shape, stride)
    out = np.full(out_shape, sympy.Integer(0), dtype=object)
    for m in np.ndindex(*k.shape):
        if k[m] == 0:
            continue
        sl = tuple(slice(mi, mi + (no - 1) * s + 1, s) for mi, no, s in zip(m, out_shape, stride))
        out = out + a[sl] * k[m]
    return out


def _fit(a, start, size):
    """``a`` cropped from ``start`` to ``size`` per axis, zero-filled past its end."""
    out = np.full(size, sympy.Integer(0), dtype=object)
    src = tuple(slice(s0, min(s0 + n, dim)) for s0, n, dim in zip(start, size, a.shape))
    dst = tuple(slice(0, sl.stop - sl.start) for sl in src)
    out[dst] = a[src]
    return out


@dataclass(frozen=True)
class Identity:
    """A stated identity ``lhs == rhs`` with its wording; :meth:`verify` checks it with SymPy."""

    name: str
    statement: str
    latex: str
    lhs: object
    rhs: object

    def verify(self) -> bool:
        lhs = np.asarray(self.lhs.tolist() if hasattr(self.lhs, "tolist") else self.lhs, object)
        rhs = np.asarray(self.rhs.tolist() if hasattr(self.rhs, "tolist") else self.rhs, object)
        if lhs.shape != rhs.shape:
            return False
        return all(sympy.expand(l - r) == 0 for l, r in zip(lhs.flat, rhs.flat))


# ---------------------------------------------------------------------- the derivation
class Derivation:
    """Forward expressions and exact gradients of one layer.

    Attributes (SymPy ``ImmutableDenseNDimArray``): ``x`` (C_in, *input_size), ``w`` (weights,
    None for pools), ``b`` (C_out,) or None, ``y`` forward expressions, ``dy`` upstream-gradient
    symbols dE/dy (shape of ``y``), ``grad_x``, ``grad_w``, ``grad_b`` in terms of ``dy``.
    After :meth:`with_loss`, ``loss`` is E and ``dy_value`` is dE/dy = y - yhat.
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
        self._x = symbol_array("x", spec.x_shape, index_base=index_base, keep_leading=1)
        self._dy = symbol_array("dy", spec.y_shape, index_base=index_base, keep_leading=1)
        self._yname = symbol_array("y", spec.y_shape, index_base=index_base, keep_leading=1)
        self._w = (
            symbol_array("w", spec.w_shape, index_base=index_base, keep_leading=2)
            if spec.has_weight
            else None
        )
        self._b = (
            symbol_array("b", spec.b_shape, index_base=index_base, keep_leading=1)
            if spec.bias
            else None
        )
        self._build()

    # ------------------------------------------------------------------ construction
    def _build(self):
        spec, layer = self.spec, self.layer
        n_in = math.prod(spec.input_size)
        n_out = math.prod(spec.output_size)
        n_y = spec.out_channels * n_out
        n_x = spec.in_channels * n_in
        xf = self._x.reshape(-1)
        dyf = self._dy.reshape(-1)
        index_map = layer.index_map
        o_idx, t_idx = np.nonzero(index_map >= 0)
        i_idx = index_map[o_idx, t_idx]
        self._n = (n_y, n_x)
        if not spec.has_weight:
            self.grad_w = self.grad_b = None
            self._jw = None
            X = self._x.reshape(spec.in_channels, n_in)
            y_flat, rows, cols, coefs = self._pool_forward(X, o_idx, i_idx, n_out, n_in)
            self._jx = (rows, cols, coefs)
            order = np.lexsort((rows, cols))
            gx = _grouped(
                [dyf[r] * c for r, c in zip(rows[order].tolist(), coefs[order])],
                cols[order],
                n_x,
                lambda ts: Add(*ts),
            )
            self.y = _to_array(y_flat, spec.y_shape)
            self.grad_x = _to_array(gx, spec.x_shape)
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
        w_rank, dy_rank = _name_rank(wf), _name_rank(dyf)
        order = np.lexsort((w_rank[Wg], Y))
        terms = list(map(_mul2, wf[Wg[order]], xf[Xg[order]]))
        lead = [[b] for b in self._b.reshape(-1)] if spec.bias else None
        y_flat = _grouped(terms, Y[order], n_y, _fast_add, lead, n_out)
        order = np.lexsort((dy_rank[Y], Xg))
        terms = list(map(_mul2, dyf[Y[order]], wf[Wg[order]]))
        gx = _grouped(terms, Xg[order], n_x, _fast_add)
        order = np.lexsort((dy_rank[Y], Wg))
        terms = list(map(_mul2, dyf[Y[order]], xf[Xg[order]]))
        gw = _grouped(terms, Wg[order], wf.size, _fast_add)
        self.y = _to_array(y_flat, spec.y_shape)
        self.grad_x = _to_array(gx, spec.x_shape)
        self.grad_w = _to_array(gw, self._w.shape)
        if spec.bias:
            DY = self._dy.reshape(spec.out_channels, n_out)
            self.grad_b = _to_array(
                [Add(*DY[co]) for co in range(spec.out_channels)], (spec.out_channels,)
            )
        else:
            self.grad_b = None

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
                    coefs.extend(_max_routing(vals, spec.ties))
        coef_arr = np.empty(len(coefs), dtype=object)
        coef_arr[:] = coefs
        return y_flat, np.array(rows, np.int64), np.array(cols, np.int64), coef_arr

    # ------------------------------------------------------------------ public data
    @cached_property
    def x(self):
        return _to_array(self._x.reshape(-1), self._x.shape)

    @cached_property
    def w(self):
        return None if self._w is None else _to_array(self._w.reshape(-1), self._w.shape)

    @cached_property
    def b(self):
        return None if self._b is None else _to_array(self._b.reshape(-1), self._b.shape)

    @cached_property
    def dy(self):
        return _to_array(self._dy.reshape(-1), self._dy.shape)

    @cached_property
    def y_symbols(self):
        """Names y_ij of the outputs (the forward expressions are :attr:`y`)."""
        return _to_array(self._yname.reshape(-1), self._yname.shape)

    def array(self, name: str) -> np.ndarray:
        """A quantity as a NumPy object array (a copy): ``'x'``, ``'w'``, ``'b'``, ``'dy'``,
        ``'y'``, ``'y_symbols'``, ``'grad_x'``, ``'grad_w'``, ``'grad_b'``; None if absent."""
        if name not in ("x", "w", "b", "dy", "y", "y_symbols", "grad_x", "grad_w", "grad_b"):
            raise SymconvError(f"{self.spec.op}: unknown quantity {name!r}")
        return as_object_array(getattr(self, name))

    def jacobian_terms(self, wrt: str):
        """Non-zero partial derivatives of the outputs, per parameter entry.

        ``wrt`` is ``'x'`` or ``'w'``; returns a list (row-major over that parameter) whose
        entries are lists of ``(flat output index, dy_o / d param)`` in output order: the
        total-derivative sum dE/dp = sum_o dE/dy_o dy_o/dp with its zero terms left out.
        """
        if wrt == "x":
            rows, cols, coefs = self._jx
            n = self._n[1]
        elif wrt == "w" and self._jw is not None:
            rows, cols, coefs = self._jw
            n = self._w.size
        else:
            raise SymconvError(
                f"{self.spec.op}: jacobian_terms wrt must be 'x' or 'w' (weights only for "
                f"conv layers), got {wrt!r}"
            )
        order = np.lexsort((rows, cols))
        pairs = list(zip(rows[order].tolist(), coefs[order]))
        return _grouped(pairs, cols[order], n, list)

    def jacobian(self):
        """The sparse Jacobian dy/dx, shape (n_y, n_x), row-major vec of (C, *spatial)."""
        rows, cols, coefs = self._jx
        entries = dict(zip(zip(rows.tolist(), cols.tolist()), coefs))
        return sympy.SparseMatrix(self._n[0], self._n[1], entries)

    def toeplitz(self, convention: str = "column"):
        """The unrolled (Toeplitz) matrix of a linear layer as a sparse SymPy matrix.

        ``convention='column'`` gives T with vec(y) = T vec(x) (+ bias); ``'row'`` gives the
        slides' form x W = y with W = T^T (for seed 000, the 9x4 matrix). It equals the
        Jacobian dy/dx and is built without any dense intermediate. Max pooling is not
        linear: use :meth:`jacobian`.
        """
        if convention not in ("column", "row"):
            raise SpecError(
                f"{self.spec.op}: convention must be 'column' or 'row', got {convention!r}"
            )
        if self.spec.kind == "max_pool":
            raise SymconvError(
                f"{self.spec.op}: max pooling is not linear, so it has no Toeplitz matrix; "
                "use Derivation.jacobian() for its (input-dependent) Jacobian"
            )
        rows, cols, coefs = self._jx
        n_y, n_x = self._n
        if convention == "row":
            rows, cols, n_y, n_x = cols, rows, n_x, n_y
        entries = dict(zip(zip(rows.tolist(), cols.tolist()), coefs))
        return sympy.SparseMatrix(n_y, n_x, entries)

    def bias_vector(self):
        """vec of the bias broadcast over the output (the '+ bias' of vec(y) = T vec(x) + b)."""
        n_out = math.prod(self.spec.output_size)
        if self._b is None:
            return sympy.zeros(self._n[0], 1)
        return sympy.Matrix(
            [self._b[co] for co in range(self.spec.out_channels) for _ in range(n_out)]
        )

    # ------------------------------------------------------------------ loss
    def with_loss(self, target=None) -> "Derivation":
        """A copy with the seed-000 loss E = 1/2 sum (y - yhat)^2 substituted.

        ``target`` is yhat: numbers or expressions shaped like ``y``; default symbols
        ``yhat_ij``. The copy has ``loss`` (E), ``target``, ``dy_value`` (dE/dy = y - yhat) and
        gradients in which every dE/dy_ij is replaced by y_ij - yhat_ij.
        """
        spec = self.spec
        if target is None:
            tgt = symbol_array("yhat", spec.y_shape, index_base=self.index_base, keep_leading=1)
        else:
            tgt = _object_array(target, spec.y_shape, "target", spec.op)
        new = object.__new__(Derivation)
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("identities", None)
        new._base = getattr(self, "_base", self)
        yv = np.array(self.y.tolist(), dtype=object).reshape(spec.y_shape)
        diff = yv - tgt
        new.target = _to_array(tgt.reshape(-1), spec.y_shape)
        new.dy_value = _to_array(diff.reshape(-1), spec.y_shape)
        new.loss = sympy.Rational(1, 2) * Add(*[d**2 for d in diff.reshape(-1)])
        subs = dict(zip(self._dy.reshape(-1), diff.reshape(-1)))
        new.grad_x = self.grad_x.xreplace(subs)
        new.grad_w = None if self.grad_w is None else self.grad_w.xreplace(subs)
        new.grad_b = None if self.grad_b is None else self.grad_b.xreplace(subs)
        return new

    # ------------------------------------------------------------------ identities
    @cached_property
    def identities(self) -> list:
        """The identities of the seeds for this layer, stated with independent arithmetic."""
        spec = self.spec
        dy = self._dy
        T = None
        out = []
        if spec.kind != "max_pool":
            T = self.toeplitz("column")
            vec = sympy.Matrix(list(dy.reshape(-1)))
            gx = (T.T * vec).reshape(1, T.shape[1])
            out.append(
                Identity(
                    "grad_x_transpose",
                    "dE/dx = W^T dE/dy (vec form: the transposed convolution)",
                    r"\frac{\partial E}{\partial x} = \frac{\partial E}{\partial y}\, W^{T}",
                    self.grad_x,
                    _to_array(list(gx), spec.x_shape),
                )
            )
        if spec.has_weight:
            out.extend(self._conv_identities())
        if spec.bias:
            out.append(
                Identity(
                    "grad_b_sum",
                    "dE/db_c = sum of dE/dy over output channel c",
                    r"\frac{\partial E}{\partial b_c} = \sum_{o} \frac{\partial E}{\partial y_{c,o}}",
                    self.grad_b,
                    _to_array(
                        [Add(*dy[c].reshape(-1)) for c in range(spec.out_channels)],
                        (spec.out_channels,),
                    ),
                )
            )
        return out

    def _conv_identities(self):
        spec, layer = self.spec, self.layer
        nd = spec.ndim
        x, dy, w = self._x, self._dy, self._w
        gw = np.empty(w.shape, dtype=object)
        gx = np.full(x.shape, sympy.Integer(0), dtype=object)
        # dE/dx of a conv is cropped at the padding; everything else starts at index 0
        x_start = [lo for lo, _ in spec.padding] if spec.kind == "conv" else (0,) * nd
        for co, ci, (w0, w1) in layer.channel_pairs():
            ops = identity_operands(spec, x[ci], dy[co], w[w0, w1])
            g = _fit(_correlate(*ops["w"]), (0,) * nd, spec.kernel_size)
            gw[w0, w1] = rotate180(g) if spec.kind == "conv" and spec.flip else g
            gx[ci] = gx[ci] + _fit(_correlate(*ops["x"]), x_start, spec.input_size)
        if spec.kind == "conv":
            texts = (
                "dE/dw = x (zero-padded) cross-correlated with dE/dy (stride-dilated), "
                "sampled at the kernel dilation",
                r"\frac{\partial E}{\partial w} = x \star \frac{\partial E}{\partial y}",
                "dE/dx = full correlation of the zero-padded, stride-dilated dE/dy with the "
                "180-degree-rotated kernel",
                r"\frac{\partial E}{\partial x} = \operatorname{pad}\!\left("
                r"\frac{\partial E}{\partial y}\right) \star \operatorname{rot}_{180}(w)",
            )
        else:
            texts = (
                "dE/dw = dE/dy (cropping undone by padding) cross-correlated with x "
                "(stride-dilated)",
                r"\frac{\partial E}{\partial w} = \frac{\partial E}{\partial y} \star x",
                "dE/dx = the forward convolution of dE/dy with w (stride s, dilation d)",
                r"\frac{\partial E}{\partial x} = \frac{\partial E}{\partial y} \star w",
            )
        return [
            Identity(
                "grad_w_correlation",
                texts[0],
                texts[1],
                self.grad_w,
                _to_array(gw.reshape(-1), w.shape),
            ),
            Identity(
                "grad_x_full_correlation",
                texts[2],
                texts[3],
                self.grad_x,
                _to_array(gx.reshape(-1), x.shape),
            ),
        ]

    def verify_identities(self) -> dict:
        """``{identity name: True/False}``, each checked with sympy.expand."""
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
        spec, op = self.spec, self.spec.op
        if x is None:
            raise SpecError(f"{op}: evaluate needs x, got None")
        arrays = {"x": _object_array(x, spec.x_shape, "x", op)}
        if spec.has_weight:
            if w is None:
                raise SpecError(f"{op}: evaluate needs w of shape {spec.w_shape}, got None")
            arrays["w"] = _object_array(w, spec.w_shape, "w", op)
        if spec.bias:
            arrays["b"] = (
                _object_array(b, spec.b_shape, "b", op)
                if b is not None
                else np.zeros(spec.b_shape, dtype=object) + 0
            )
        if dy is not None and target is not None:
            raise SpecError(f"{op}: give dy or target, not both")
        exact = all(_is_exact(v) for v in arrays.values())
        if dy is not None:
            arrays["dy"] = _object_array(dy, spec.y_shape, "dy", op)
            exact = exact and _is_exact(arrays["dy"])
        if target is not None:
            tgt = _object_array(target, spec.y_shape, "target", op)
            exact = exact and _is_exact(tgt)
        conv = _to_fraction if exact else float
        result = {"y": None, "grad_x": None, "grad_w": None, "grad_b": None}
        values = {}
        for name, sym in (("x", self._x), ("w", self._w), ("b", self._b)):
            if name in arrays:
                values.update(zip(sym.reshape(-1), arrays[name].reshape(-1)))
        y = self._numeric(self.y, values, exact)
        result["y"] = y
        if target is not None:
            dyv = y - np.vectorize(conv, otypes=[object if exact else float])(tgt)
        elif dy is not None:
            dyv = arrays["dy"]
        else:
            return result
        values.update(zip(self._dy.reshape(-1), np.asarray(dyv, dtype=object).reshape(-1)))
        base = getattr(self, "_base", self)
        result["grad_x"] = self._numeric(base.grad_x, values, exact)
        if base.grad_w is not None:
            result["grad_w"] = self._numeric(base.grad_w, values, exact)
        if base.grad_b is not None:
            result["grad_b"] = self._numeric(base.grad_b, values, exact)
        return result

    def _numeric(self, arr, values, exact):
        shape = arr.shape
        if exact:
            subs = {
                k: (
                    sympy.Rational(v.numerator, v.denominator)
                    if isinstance(v, Fraction)
                    else sympy.Integer(v)
                )
                for k, v in values.items()
            }
            out = [_to_fraction(e.xreplace(subs)) for e in flat_entries(arr)]
            return np.array(out, dtype=object).reshape(shape)
        syms = list(values)
        fn = sympy.lambdify(syms, flat_entries(arr), modules="numpy")
        vals = [float(values[s]) for s in syms]
        return np.asarray(fn(*vals), dtype=np.float64).reshape(shape)

    def __repr__(self) -> str:
        parts = ["y", "grad_x"]
        if self.grad_w is not None:
            parts.append("grad_w")
        if self.grad_b is not None:
            parts.append("grad_b")
        loss = ", with L2 loss" if self.loss is not None else ""
        return f"Derivation({self.spec!r}; {', '.join(parts)}{loss})"


def _is_exact(arr) -> bool:
    return all(
        isinstance(v, (int, Fraction, sympy.Rational)) and not isinstance(v, bool)
        for v in np.asarray(arr, dtype=object).reshape(-1)
    )


def _to_fraction(v):
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int):
        return Fraction(v)
    if v in (sympy.oo, -sympy.oo):  # a max-pool window that reads only padding
        return float(v)
    v = sympy.nsimplify(v) if not isinstance(v, sympy.Rational) else v
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    raise SymconvError(f"exact evaluation left a non-rational value {v!r}")


def _object_array(value, shape, name, op):
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{op}: {name} must be an array of shape {shape}, got {exc}") from None
    if arr.shape != tuple(shape):
        squeezed = tuple(n for n in shape if n != 1)
        if tuple(n for n in arr.shape if n != 1) == squeezed:
            arr = arr.reshape(shape)
        else:
            raise SpecError(f"{op}: {name} must have shape {tuple(shape)}, got shape {arr.shape}")
    for v in arr.reshape(-1):
        if isinstance(v, bool) or not isinstance(
            v, (int, float, Fraction, np.integer, np.floating, sympy.Basic)
        ):
            raise SpecError(f"{op}: {name} must hold numbers, got {v!r}")
    return (
        np.vectorize(
            lambda v: (
                int(v)
                if isinstance(v, np.integer)
                else (float(v) if isinstance(v, np.floating) else v)
            ),
            otypes=[object],
        )(arr)
        if arr.size
        else arr
    )


def derive(layer: Layer, *, index_base: int = 1) -> Derivation:
    """Build the :class:`Derivation` of a layer: forward expressions and exact gradients.

    >>> import symconv
    >>> d = symconv.derive(symconv.conv((3, 3), 2))
    >>> d.y[0, 0, 0]
    w_11*x_11 + w_12*x_12 + w_21*x_21 + w_22*x_22
    """
    return Derivation(layer, index_base=index_base)
