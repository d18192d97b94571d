"""A few entries of a derivation, read off the index map without building the rest.

A real-size layer (64x64, 64 -> 64 channels) has hundreds of thousands of forward and gradient
expressions and a Toeplitz matrix with over 10^8 non-zeros; a preview needs a handful. The
functions here build single entries (and the top-left corner of W) from ``layer.index_map`` and
``layer.channel_pairs()`` directly: the same terms :meth:`Derivation._build` would produce for
that entry, summed in SymPy's canonical order, so that they compare equal to the full build.
When the derivation is built already, they simply index it.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
from sympy import Add

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
    and ``"toeplitz_nnz"``, the non-zeros of W (None for max pooling), from the index map."""
    spec, layer = deriv.spec, deriv.layer
    out = {q: math.prod(getattr(spec, a)) for q, a in QUANTITIES.items() if getattr(spec, a)}
    pairs = sum(1 for _ in layer.channel_pairs())
    out["connections"] = pairs * int(np.count_nonzero(layer.index_map >= 0))
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
    tuple or flat row-major ``index``."""
    flat = _flat_index(deriv, quantity, index)
    if deriv.is_built:
        return getattr(deriv, quantity)[
            np.unravel_index(flat, getattr(deriv.spec, QUANTITIES[quantity]))
        ]
    if deriv.spec.is_pool:
        return _pool_entry(deriv, quantity, flat)
    lead, items = _terms(deriv, quantity, flat)
    if quantity == "grad_b":
        return Add(*[deriv.symbol(*f) for (f,) in items])
    pairs = [(deriv.symbol(*a), deriv.symbol(*b)) for a, b in items]
    return _sum_of_products(pairs, [deriv.symbol(*f) for f in lead])


def clipped_entry(deriv, quantity: str, index, max_terms: int):
    """``(terms, n)`` for an entry that sums more than ``max_terms`` terms: its first
    ``max_terms - 1`` terms and its last in index order, with None for the gap, and the number
    of terms; None for a shorter entry (use :func:`entry`). Only the terms shown are built."""
    flat = _flat_index(deriv, quantity, index)
    if deriv.spec.is_pool or deriv.is_built:
        expr = entry(deriv, quantity, flat)
        if not isinstance(expr, Add) or len(expr.args) <= max_terms:
            return None
        return list(expr.args[: max_terms - 1]) + [None, expr.args[-1]], len(expr.args)
    lead, items = _terms(deriv, quantity, flat)
    factors = [(f,) for f in lead] + items
    if len(factors) <= max_terms:
        return None
    shown = factors[: max_terms - 1] + [None, factors[-1]]
    terms = [None if t is None else sympy.Mul(*[deriv.symbol(*f) for f in t]) for t in shown]
    return terms, len(factors)


# ---------------------------------------------------------------------- single entries
def _terms(deriv, quantity, flat):
    """A conv entry's terms without building them: ``(lead, items)``, ``lead`` the bias
    ``(kind, flat)`` factors, ``items`` one tuple of ``(kind, flat)`` factors per product,
    in index order (output channel, position, tap)."""
    spec, layer = deriv.spec, deriv.layer
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    n_taps = math.prod(spec.kernel_size)

    def w_flat(w_index, t):
        return (w_index[0] * spec.w_shape[1] + w_index[1]) * n_taps + int(layer.weight_tap[t])

    items = []
    if quantity == "y":
        co, o = divmod(flat, n_out)
        row = layer.index_map[o].tolist()
        for c_out, ci, w_index in layer.channel_pairs():
            if c_out == co:
                items += [
                    (("w", w_flat(w_index, t)), ("x", ci * n_in + i))
                    for t, i in enumerate(row)
                    if i >= 0
                ]
        return ([("b", co)] if spec.bias else []), items
    if quantity == "grad_x":
        ci, i = divmod(flat, n_in)
        outs, taps = np.nonzero(layer.index_map == i)
        for c_out, c_in, w_index in layer.channel_pairs():
            if c_in == ci:
                items += [
                    (("dy", c_out * n_out + o), ("w", w_flat(w_index, t)))
                    for o, t in zip(outs.tolist(), taps.tolist())
                ]
        return [], items
    if quantity == "grad_w":
        w01, tap = divmod(flat, n_taps)
        w_index = divmod(w01, spec.w_shape[1])
        taps = np.nonzero(layer.weight_tap == tap)[0].tolist()
        for c_out, ci, pair in layer.channel_pairs():
            if pair == w_index:
                for t in taps:
                    column = layer.index_map[:, t]
                    items += [
                        (("dy", c_out * n_out + o), ("x", ci * n_in + int(column[o])))
                        for o in np.nonzero(column >= 0)[0].tolist()
                    ]
        return [], items
    return [], [(("dy", flat * n_out + o),) for o in range(n_out)]  # grad_b


def _x_at(deriv, channel, position):
    return deriv.symbol("x", channel * math.prod(deriv.spec.input_size) + position)


def _w_at(deriv, w_index, tap):
    n_taps = math.prod(deriv.spec.kernel_size)
    return deriv.symbol("w", (w_index[0] * deriv.spec.w_shape[1] + w_index[1]) * n_taps + tap)


def _window(deriv, channel, o):
    """The taps of output ``o``'s window that read an input: (tap, input symbol) pairs."""
    row = deriv.layer.index_map[o]
    return [(t, _x_at(deriv, channel, int(i))) for t, i in enumerate(row) if i >= 0]


def _pool_entry(deriv, quantity, flat):
    """A pooling layer's entry (windows are small: built whole)."""
    spec, layer = deriv.spec, deriv.layer
    n_out = math.prod(spec.output_size)
    if quantity == "y":
        c, o = divmod(flat, n_out)
        xs = [x for _, x in _window(deriv, c, o)]
        if spec.kind == "max_pool":
            return sympy.Max(*xs)
        return Add(*xs) * sympy.Rational(1, int(layer.window_sizes[o]))
    c, i = divmod(flat, math.prod(spec.input_size))
    outs, taps = np.nonzero(layer.index_map == i)
    terms = []
    for o, t in zip(outs.tolist(), taps.tolist()):
        dy = deriv.symbol("dy", c * n_out + o)
        if spec.kind == "avg_pool":
            terms.append(dy * sympy.Rational(1, int(layer.window_sizes[o])))
        else:
            window = _window(deriv, c, o)
            shares = max_routing([x for _, x in window], spec.ties)
            terms.append(dy * shares[[tt for tt, _ in window].index(t)])
    return Add(*terms)


def _sum_of_products(pairs, lead=()):
    """``lead + sum(a*b)`` for distinct products of two symbols, assembled the way the full
    build assembles them (canonical order, SymPy's fast constructors)."""
    terms = sorted(pairs, key=lambda p: p[0].name)
    return fast_add(list(lead) + [mul2(a, b) for a, b in terms])


# ---------------------------------------------------------------------- W's corner
def toeplitz_corner(deriv, convention: str, rows: int, cols: int):
    """The top-left ``rows`` x ``cols`` block of :meth:`Derivation.toeplitz` (a dense SymPy
    Matrix), from the forward entries of the first outputs only."""
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
        for c_out, ci, w_index in layer.channel_pairs():
            if c_out != co:
                continue
            for t, i in enumerate(layer.index_map[o].tolist()):
                if i >= 0 and ci * n_in + i < n_inputs:
                    block[ci * n_in + i, j] = (
                        sympy.Rational(1, int(layer.window_sizes[o]))
                        if spec.kind == "avg_pool"
                        else _w_at(deriv, w_index, int(layer.weight_tap[t]))
                    )
    return block if convention == "row" else block.T
