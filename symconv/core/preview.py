"""A few entries of a derivation, read off the index map without building the rest.

A real-size layer (64x64, 64 -> 64 channels) has hundreds of thousands of forward and gradient
expressions and a Toeplitz matrix with over 10^8 non-zeros; a preview needs a handful. The
functions here build single entries (and the top-left corner of W) from the layer's lazy
readings of its index map (:meth:`Layer.forward_row`, :meth:`~Layer.input_row`,
:meth:`~Layer.tap_column`, :meth:`~Layer.pairs_of`: closed-form arithmetic per axis, never the
whole map, never an array as long as a padded axis): the same terms
:meth:`Derivation._build` would produce for that entry, summed in SymPy's canonical order, so
that they compare equal to the full build. A long sum is clipped lazily (its first terms and
its last), so a preview of a layer with a billion outputs or a million channels costs what it
shows. When the derivation is built already, they simply index it. What a preview may build is
budgeted by :func:`symconv.core.budget.check_preview`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from sympy import Add

from . import budget
from .errors import SymconvError
from .sums import fast_add, max_routing, mul2

__all__ = ["QUANTITIES", "clipped_entry", "counts", "elide", "entry", "toeplitz_corner"]

#: quantity -> (shape attribute of the spec, symbol kind it is the gradient of)
QUANTITIES = {
    "y": "y_shape",
    "grad_x": "x_shape",
    "grad_w": "w_shape",
    "grad_b": "b_shape",
}


def elide(n: int, limit: int, keep=()) -> list:
    """Indices to show out of ``n``: all, or the first ``limit - 2``, ``None`` (dots), the
    last. Indices in ``keep`` (the entries that carry the lesson) are always shown, with dots
    wherever entries are left out."""
    limit = max(int(limit), 3)
    if n <= limit:
        return list(range(n))
    shown = sorted(set(range(limit - 2)) | {i for i in keep if 0 <= i < n} | {n - 1})
    out = []
    for k, i in enumerate(shown):
        if k and i > shown[k - 1] + 1:
            out.append(None)
        out.append(i)
    return out


def counts(deriv) -> dict:
    """``{quantity: number of entries}`` (absent quantities left out), ``"connections"`` (the
    (channel pair, output, tap) links that read an input: the terms of the sparse chain rule)
    and ``"toeplitz_nnz"``, the non-zeros of W (None for max pooling), in closed form per axis
    (:func:`symconv.core.budget.connections`): nothing as large as the layer is built."""
    spec = deriv.spec
    out = {q: math.prod(getattr(spec, a)) for q, a in QUANTITIES.items() if getattr(spec, a)}
    out["connections"] = budget.connections(spec)
    out["toeplitz_nnz"] = None if spec.kind == "max_pool" else out["connections"]
    return out


def _flat_index(deriv, quantity, index) -> int:
    if quantity not in QUANTITIES:
        raise SymconvError(
            f"{deriv.spec.op}: quantity must be one of {tuple(QUANTITIES)}, got {quantity!r}"
        )
    shape = getattr(deriv.spec, QUANTITIES[quantity])
    if shape is None:
        raise SymconvError(f"{deriv.spec.op}: this layer has no {quantity}")
    return int(np.ravel_multi_index(index, shape)) if isinstance(index, tuple) else int(index)


def entry(deriv, quantity: str, index):
    """The expression of ``quantity`` (``'y'``, ``'grad_x'``, ``'grad_w'``, ``'grad_b'``) at a
    tuple or flat row-major ``index``. Only that entry's terms are built (all of them: see
    :func:`clipped_entry` for a long sum)."""
    flat = _flat_index(deriv, quantity, index)
    if deriv.is_built:
        return getattr(deriv, quantity)[
            np.unravel_index(flat, getattr(deriv.spec, QUANTITIES[quantity]))
        ]
    if deriv.spec.is_pool:
        return _pool_entry(deriv, quantity, flat)
    lead, n, items, _ = _terms(deriv, quantity, flat)
    if quantity == "grad_b":
        return Add(*[deriv.symbol(*f) for (f,) in items])
    pairs = [(deriv.symbol(*a), deriv.symbol(*b)) for a, b in items]
    return _sum_of_products(pairs, [deriv.symbol(*f) for f in lead])


def clipped_entry(deriv, quantity: str, index, max_terms: int):
    """``(terms, n)`` for an entry that sums more than ``max_terms`` terms: its first
    ``max_terms - 1`` terms and its last in index order, with None for the gap, and the number
    of terms; None for a shorter entry (use :func:`entry`). Only the terms shown are built,
    read lazily off the axes (a sum of a billion terms costs as much as one of ``max_terms``).
    A max pool's forward entry (a Max, not a sum) is never clipped."""
    flat = _flat_index(deriv, quantity, index)
    if deriv.is_built:
        expr = entry(deriv, quantity, flat)
        if not isinstance(expr, Add) or len(expr.args) <= max_terms:
            return None
        return list(expr.args[: max_terms - 1]) + [None, expr.args[-1]], len(expr.args)
    if deriv.spec.is_pool:
        return _pool_clipped(deriv, quantity, flat, max_terms)
    lead, n, items, last = _terms(deriv, quantity, flat)
    if len(lead) + n <= max_terms:
        return None
    head = [(f,) for f in lead]
    shown = head[: max_terms - 1] + list(itertools.islice(items, max_terms - 1 - len(head)))
    shown += [None, last() if n else head[-1]]
    terms = [None if t is None else sympy.Mul(*[deriv.symbol(*f) for f in t]) for t in shown]
    return terms, len(lead) + n


# ---------------------------------------------------------------------- single entries
def _terms(deriv, quantity, flat):
    """A conv entry's terms without building them: ``(lead, n, items, last)``, ``lead`` the
    bias ``(kind, flat)`` factors, ``n`` the number of products, ``items`` a lazy iterator of
    one tuple of ``(kind, flat)`` factors per product in index order (channel, position, tap)
    and ``last()`` the last of them. Read off the layer's axes (:meth:`Layer.forward_row`,
    :meth:`~Layer.input_row`, :meth:`~Layer.tap_column`), never off the whole index map."""
    spec, layer = deriv.spec, deriv.layer
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    n_taps = math.prod(spec.kernel_size)

    def w_flat(w_index, t):
        return (w_index[0] * spec.w_shape[1] + w_index[1]) * n_taps + _weight_tap(spec, t)

    if quantity == "y":
        co, o = divmod(flat, n_out)
        pairs, row = layer.pairs_of(c_out=co), layer.forward_row(o)

        def make(pair, ti):
            (_, ci, w_index), (t, i) = pair, ti
            return (("w", w_flat(w_index, t)), ("x", ci * n_in + i))

        lead = [("b", co)] if spec.bias else []
    elif quantity == "grad_x":
        ci, i = divmod(flat, n_in)
        pairs, row = layer.pairs_of(c_in=ci), layer.input_row(i)

        def make(pair, to):
            (c_out, _, w_index), (t, o) = pair, to
            return (("dy", c_out * n_out + o), ("w", w_flat(w_index, t)))

        lead = []
    elif quantity == "grad_w":
        w01, tap = divmod(flat, n_taps)
        pairs = layer.pairs_of(w_index=divmod(w01, spec.w_shape[1]))
        row = layer.tap_column(_weight_tap(spec, tap))

        def make(pair, oi):
            (c_out, ci, _), (o, i) = pair, oi
            return (("dy", c_out * n_out + o), ("x", ci * n_in + i))

        lead = []
    else:  # grad_b
        items = ((("dy", flat * n_out + o),) for o in range(n_out))
        return [], n_out, items, lambda: (("dy", flat * n_out + n_out - 1),)
    n = len(pairs) * len(row)
    items = (make(p, r) for p in pairs for r in row)
    return lead, n, items, lambda: make(pairs[-1], row.last())


def _weight_tap(spec, t: int) -> int:
    """``layer.weight_tap[t]`` without building the array (reversed for a true convolution)."""
    return math.prod(spec.kernel_size) - 1 - t if spec.flip else t


def _x_at(deriv, channel, position):
    return deriv.symbol("x", channel * math.prod(deriv.spec.input_size) + position)


def _w_at(deriv, w_index, tap):
    n_taps = math.prod(deriv.spec.kernel_size)
    return deriv.symbol("w", (w_index[0] * deriv.spec.w_shape[1] + w_index[1]) * n_taps + tap)


def _window(deriv, channel, o):
    """The taps of output ``o``'s window that read an input: (tap, input symbol) pairs."""
    return [(t, _x_at(deriv, channel, i)) for t, i in deriv.layer.forward_row(o)]


def _pool_terms(deriv, quantity, flat):
    """A pool entry as ``(n, make, index)``: ``n`` terms, ``make(j)`` builds term ``j`` of
    the sum (forward: ``x`` times 1/window for an average pool; gradient: ``dy`` times its
    share), lazily."""
    spec, layer = deriv.spec, deriv.layer
    n_out = math.prod(spec.output_size)
    if quantity == "y":
        c, o = divmod(flat, n_out)
        row = layer.forward_row(o)
        share = sympy.Rational(1, layer.window_size(o)) if spec.kind == "avg_pool" else 1
        return len(row), row, lambda ti: _x_at(deriv, c, ti[1]) * share
    c, i = divmod(flat, math.prod(spec.input_size))
    row = layer.input_row(i)

    def make(to):
        t, o = to
        dy = deriv.symbol("dy", c * n_out + o)
        if spec.kind == "avg_pool":
            return dy * sympy.Rational(1, layer.window_size(o))
        window = _window(deriv, c, o)
        taps = [tt for tt, _ in window]
        return dy * _max_share([x for _, x in window], taps.index(t), spec.ties)

    return len(row), row, make


def _max_share(vals, t, ties):
    """``max_routing(vals, ties)[t]`` (the first-maximum policy builds only that one)."""
    if ties != "first":
        return max_routing(vals, ties)[t]
    v = vals[t]
    conds = [v > u for u in vals[:t]] + [v >= u for u in vals[t + 1 :]]
    return sympy.Piecewise((1, sympy.And(*conds)), (0, True))


def _pool_entry(deriv, quantity, flat):
    """A pooling layer's entry, built whole from its window (forward) or the windows that
    read it (gradient)."""
    n, row, make = _pool_terms(deriv, quantity, flat)
    if quantity == "y":
        c = flat // math.prod(deriv.spec.output_size)
        xs = [_x_at(deriv, c, i) for _, i in row]
        if deriv.spec.kind == "max_pool":
            return sympy.Max(*xs)
        o = flat % math.prod(deriv.spec.output_size)
        return Add(*xs) * sympy.Rational(1, deriv.layer.window_size(o))
    return Add(*[make(r) for r in row])


def _pool_clipped(deriv, quantity, flat, max_terms):
    """:func:`clipped_entry` of a pool: an average pool's forward sum and every gradient
    sum are clipped lazily; a max pool's forward Max is not."""
    if quantity == "y" and deriv.spec.kind == "max_pool":
        return None
    n, row, make = _pool_terms(deriv, quantity, flat)
    if n <= max_terms:
        return None
    shown = [make(r) for r in row.first(max_terms - 1)]
    return shown + [None, make(row.last())], n


def _sum_of_products(pairs, lead=()):
    """``lead + sum(a*b)`` for distinct products of two symbols, assembled the way the full
    build assembles them (canonical order, SymPy's fast constructors)."""
    terms = sorted(pairs, key=lambda p: p[0].name)
    return fast_add(list(lead) + [mul2(a, b) for a, b in terms])


# ---------------------------------------------------------------------- W's corner
def toeplitz_corner(deriv, convention: str, rows: int, cols: int):
    """The top-left ``rows`` x ``cols`` block of :meth:`Derivation.toeplitz` (a dense SymPy
    Matrix), from the forward rows of the first outputs only, each read in input order up to
    the corner's edge."""
    if deriv.spec.kind == "max_pool" or deriv.is_built:
        full = deriv.toeplitz(convention)  # (max pooling: the error that explains why not)
        return full[: min(rows, full.shape[0]), : min(cols, full.shape[1])]
    spec, layer = deriv.spec, deriv.layer
    n_y, n_x = deriv._n
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    n_outputs = min(cols if convention == "row" else rows, n_y)
    n_inputs = min(rows if convention == "row" else cols, n_x)
    block = sympy.zeros(n_inputs, n_outputs)  # (inputs, outputs): the row convention
    for j in range(n_outputs):
        co, o = divmod(j, n_out)
        for c_out, ci, w_index in layer.pairs_of(c_out=co):
            if ci * n_in >= n_inputs:
                break
            for t, i in layer.forward_row(o, by_position=True):
                if ci * n_in + i >= n_inputs:
                    break
                block[ci * n_in + i, j] = (
                    sympy.Rational(1, layer.window_size(o))
                    if spec.kind == "avg_pool"
                    else _w_at(deriv, w_index, _weight_tap(spec, t))
                )
    return block if convention == "row" else block.T


# ---------------------------------------------------------------------- lazy whole arrays
class LazyEntries:
    """A whole quantity of a derivation above the budget (``d.y`` of a huge layer): it has
    the quantity's ``shape`` and answers single entries (``d.y[0, 0, 0]``, via :func:`entry`)
    at once; anything that needs the whole array (iteration, ``tolist``, slices, ``subs``...)
    raises the :class:`~symconv.core.budget.BudgetError` that names the budget."""

    def __init__(self, deriv, quantity: str, error: Exception):
        self._deriv, self._quantity, self._error = deriv, quantity, error
        self.shape = tuple(getattr(deriv.spec, QUANTITIES[quantity]))

    def __len__(self) -> int:
        return self.shape[0]

    def rank(self) -> int:
        return len(self.shape)

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        ints = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index)
        if not ints or len(index) != len(self.shape):
            raise self._fresh()
        norm = []
        for i, n in zip(index, self.shape):
            i = int(i) + (n if i < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(
                    f"{self._deriv.spec.op}: index {index!r} is out of range for "
                    f"{self._quantity} of shape {self.shape}"
                )
            norm.append(i)
        return entry(self._deriv, self._quantity, tuple(norm))

    def _fresh(self):
        return type(self._error)(str(self._error))

    def __iter__(self):
        raise self._fresh()

    def __array__(self, *args, **kwargs):
        raise self._fresh()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._fresh()

    def __repr__(self) -> str:
        n = math.prod(self.shape)
        return (
            f"<{self._quantity} of {self._deriv.spec.op}: {n:,} entries, built one entry at a "
            f"time (above the budget for the whole array)>"
        )
