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

__all__ = ["counts", "entry", "toeplitz_corner", "QUANTITIES"]

#: quantity -> (shape attribute of the spec, symbol kind it is the gradient of)
QUANTITIES = {
    "y": "y_shape",
    "grad_x": "x_shape",
    "grad_w": "w_shape",
    "grad_b": "b_shape",
}


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


def entry(deriv, quantity: str, index):
    """The expression of ``quantity`` (``'y'``, ``'grad_x'``, ``'grad_w'``, ``'grad_b'``) at a
    tuple or flat row-major ``index``."""
    if quantity not in QUANTITIES:
        raise SymconvError(
            f"{deriv.spec.op}: quantity must be one of {tuple(QUANTITIES)}, got {quantity!r}"
        )
    shape = getattr(deriv.spec, QUANTITIES[quantity])
    if shape is None:
        raise SymconvError(f"{deriv.spec.op}: this layer has no {quantity}")
    flat = int(np.ravel_multi_index(index, shape)) if isinstance(index, tuple) else int(index)
    if deriv.is_built:
        return list(getattr(deriv, quantity).reshape(math.prod(shape)))[flat]
    return {"y": _y, "grad_x": _grad_x, "grad_w": _grad_w, "grad_b": _grad_b}[quantity](
        deriv, flat
    )


# ---------------------------------------------------------------------- single entries
def _split(deriv, flat_y):
    n_out = math.prod(deriv.spec.output_size)
    return divmod(flat_y, n_out)


def _x_at(deriv, channel, position):
    return deriv.symbol("x", channel * math.prod(deriv.spec.input_size) + position)


def _w_at(deriv, w_index, tap):
    n_taps = math.prod(deriv.spec.kernel_size)
    w0, w1 = w_index
    return deriv.symbol("w", (w0 * deriv.spec.w_shape[1] + w1) * n_taps + tap)


def _window(deriv, channel, o):
    """The taps of output ``o``'s window that read an input: (tap, input symbol) pairs."""
    row = deriv.layer.index_map[o]
    return [(t, _x_at(deriv, channel, int(i))) for t, i in enumerate(row) if i >= 0]


def _y(deriv, flat):
    spec, layer = deriv.spec, deriv.layer
    co, o = _split(deriv, flat)
    if spec.kind == "avg_pool":
        share = sympy.Rational(1, int(layer.window_sizes[o]))
        return Add(*[x for _, x in _window(deriv, co, o)]) * share
    if spec.kind == "max_pool":
        return sympy.Max(*[x for _, x in _window(deriv, co, o)])
    pairs = []
    for c_out, ci, w_index in layer.channel_pairs():
        if c_out == co:
            for t, x in _window(deriv, ci, o):
                pairs.append((_w_at(deriv, w_index, int(layer.weight_tap[t])), x))
    return _sum_of_products(pairs, [deriv.symbol("b", co)] if spec.bias else [])


def _grad_x(deriv, flat):
    from .derive import _max_routing  # the routing rule lives with the full build

    spec, layer = deriv.spec, deriv.layer
    ci, i = divmod(flat, math.prod(spec.input_size))
    n_out = math.prod(spec.output_size)
    outs, taps = np.nonzero(layer.index_map == i)
    terms, pairs = [], []
    for c_out, c_in, w_index in layer.channel_pairs():
        if c_in != ci:
            continue
        for o, t in zip(outs.tolist(), taps.tolist()):
            dy = deriv.symbol("dy", c_out * n_out + o)
            if spec.kind == "conv" or spec.kind == "conv_transpose":
                pairs.append((dy, _w_at(deriv, w_index, int(layer.weight_tap[t]))))
            elif spec.kind == "avg_pool":
                terms.append(dy * sympy.Rational(1, int(layer.window_sizes[o])))
            else:
                window = _window(deriv, c_in, o)
                shares = _max_routing([x for _, x in window], spec.ties)
                terms.append(dy * shares[[tt for tt, _ in window].index(t)])
    return _sum_of_products(pairs) if spec.has_weight else Add(*terms)


def _grad_w(deriv, flat):
    spec, layer = deriv.spec, deriv.layer
    n_taps = math.prod(spec.kernel_size)
    w01, tap = divmod(flat, n_taps)
    w_index = divmod(w01, spec.w_shape[1])
    n_out = math.prod(spec.output_size)
    taps = np.nonzero(layer.weight_tap == tap)[0]
    pairs = []
    for c_out, ci, pair in layer.channel_pairs():
        if pair != w_index:
            continue
        for t in taps.tolist():
            outs = np.nonzero(layer.index_map[:, t] >= 0)[0]
            for o in outs.tolist():
                i = int(layer.index_map[o, t])
                pairs.append((deriv.symbol("dy", c_out * n_out + o), _x_at(deriv, ci, i)))
    return _sum_of_products(pairs)


def _sum_of_products(pairs, lead=()):
    """``lead + sum(a*b)`` for distinct products of two symbols, assembled the way the full
    build assembles them (canonical order, SymPy's fast constructors)."""
    from .derive import _fast_add, _mul2

    terms = sorted(pairs, key=lambda p: p[0].name)
    return _fast_add(list(lead) + [_mul2(a, b) for a, b in terms])


def _grad_b(deriv, flat):
    n_out = math.prod(deriv.spec.output_size)
    return Add(*[deriv.symbol("dy", flat * n_out + o) for o in range(n_out)])


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
