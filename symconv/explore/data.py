"""What the explorer page embeds: one layer's index map, its inverse, the names and the worked
numbers, read off :attr:`Layer.index_map`, :attr:`Layer.pad_mask`, :attr:`Layer.axis_maps` and
the :class:`~symconv.core.derive.Derivation`. The page's script only joins these tables (which
cells to light, which names to print); it never computes a position or a number.

All indices are 0-based and row-major; a channel-carrying quantity is flattened channel first.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy

from ..core.derive import derive
from ..core.errors import SpecError
from ..core.sums import max_routing
from ..core.symbols import symbol_array
from ..figures.reading import LayerReading, describe

__all__ = ["LIMITS", "check_size", "layer_data", "value_text"]

#: The largest layer a page shows whole: spatial input positions (16x16), spatial output
#: positions (a transposed convolution's output may be larger than its input), channels in
#: and out, and the cells of W drawn (larger W: its top-left corner, said on the page).
LIMITS = {"input": 256, "output": 1024, "channels": 4, "W": 1024}


def check_size(layer) -> None:
    """Refuse a layer larger than :data:`LIMITS`, naming the limit and the layer's size."""
    spec = layer.spec
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    channels = max(spec.in_channels, spec.out_channels)
    for what, n, limit in (
        ("input positions", n_in, LIMITS["input"]),
        ("output positions", n_out, LIMITS["output"]),
        ("channels", channels, LIMITS["channels"]),
    ):
        if n > limit:
            raise SpecError(
                f"explore: the layer must have at most {limit} {what} (16x16 inputs, "
                f"4 channels), got {n} ({describe(spec)}); explore a smaller layer"
            )


def value_text(v) -> str:
    """A worked number as plain text: ints, ``p/q``, floats to 4 significant digits."""
    if v is None:
        return ""
    if isinstance(v, (Fraction, sympy.Rational)):
        q = Fraction(int(sympy.Rational(v).p), int(sympy.Rational(v).q))
        text = str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
        return text.replace("-", "\u2212")
    f = float(v)
    if math.isinf(f):
        return "\u2212\u221e" if f < 0 else "\u221e"
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.4g}".replace("-", "\u2212")


def _names(kind, shape, base, lead) -> list:
    """Subscripts of a quantity's symbols (``'11'``, ``'1,10'``), flat, channel first."""
    if shape is None:
        return None
    arr = symbol_array(kind, shape, index_base=base, keep_leading=lead).reshape(-1)
    return [s.name.partition("_")[2] for s in arr]


def _flat_text(arr) -> list:
    return None if arr is None else [value_text(v) for v in np.asarray(arr).reshape(-1)]


def _displayed(reading, layer):
    """Roles of the drawn input cells (``i`` input, ``p`` padding, ``o`` outside) with their
    input index (-1 when none), and the drawn cell each (output, tap) reads (-1 when none)."""
    spec = layer.spec
    first, count = reading.first, reading.count
    roles, index = [], []
    for coord in np.ndindex(*count):
        c = tuple(f + k for f, k in zip(first, coord))
        role = reading.input_role(c)
        roles.append(role[0])
        index.append(int(np.ravel_multi_index(c, spec.input_size)) if role == "input" else -1)
    n_out = math.prod(spec.output_size)
    win = []
    for o in range(n_out):
        row = []
        for _, coord, _, _ in reading.taps(o):
            if coord is None:
                row.append(-1)
            else:
                rel = tuple(c - f for c, f in zip(coord, first))
                row.append(int(np.ravel_multi_index(rel, count)))
        win.append(row)
    return "".join(roles), index, win


def _inverse(index_map, n_in) -> list:
    """For every input position, the (output, tap) pairs that read it (output order)."""
    inv = [[] for _ in range(n_in)]
    for o, row in enumerate(index_map.tolist()):
        for t, i in enumerate(row):
            if i >= 0:
                inv[i].append([o, t])
    return inv


def _routes(deriv, xvals):
    """Max pool with worked numbers: per channel and output, ``[[tap, share], ...]`` of the
    taps dE/dy is routed to, by the layer's tie rule (:func:`symconv.core.sums.max_routing`)."""
    spec, layer = deriv.spec, deriv.layer
    n_in = math.prod(spec.input_size)
    xs = np.asarray(xvals, dtype=object).reshape(spec.in_channels, n_in)
    out = []
    for c in range(spec.in_channels):
        per = []
        for row in layer.index_map.tolist():
            taps = [t for t, i in enumerate(row) if i >= 0]
            vals = [sympy.nsimplify(xs[c, row[t]]) for t in taps]
            shares = max_routing(vals, spec.ties)
            per.append(
                [[t, value_text(sympy.nsimplify(s))] for t, s in zip(taps, shares) if s != 0]
            )
        out.append(per)
    return out


def layer_data(layer, values=None, index_base: int = 1) -> dict:
    """The JSON-ready data of one layer (see the module docstring)."""
    check_size(layer)
    spec = layer.spec
    reading = LayerReading(layer, index_base=index_base, values=values)
    roles, xindex, win = _displayed(reading, layer)
    n_in = math.prod(spec.input_size)
    wt = layer.weight_tap.tolist()
    wtaps = [[] for _ in wt]
    for o, row in enumerate(layer.index_map.tolist()):
        for t, i in enumerate(row):
            if i >= 0:
                wtaps[wt[t]].append([o, t])
    data = {
        "title": describe(spec)
        + ("" if spec.padding_mode == "explicit" else f" (padding '{spec.padding_mode}')")
        + ("" if spec.count_include_pad or spec.kind != "avg_pool" else ", padding not counted")
        + (f", ties {spec.ties}" if spec.kind == "max_pool" and spec.ties != "first" else ""),
        "countpad": spec.count_include_pad,
        "groups": spec.groups if spec.has_weight else 1,
        "kind": spec.kind,
        "op": spec.op,
        "ties": spec.ties,
        "base": index_base,
        "input": list(spec.input_size),
        "output": list(spec.output_size),
        "kernel": list(spec.kernel_size),
        "cin": spec.in_channels,
        "cout": spec.out_channels,
        "bias": spec.bias,
        "rotated": spec.kind == "conv" and not spec.flip,
        "shown": {"first": list(reading.first), "count": list(reading.count)},
        "roles": roles,
        "xindex": xindex,
        "win": win,
        "map": layer.index_map.tolist(),
        "inv": _inverse(layer.index_map, n_in),
        "wt": wt,
        "wcols": spec.w_shape[1] if spec.has_weight else 1,
        "wtaps": wtaps,
        "pairs": [
            [co, ci] + (list(w) if w is not None else [0, 0])
            for co, ci, w in layer.channel_pairs()
        ],
        "div": layer.window_sizes.tolist() if spec.kind == "avg_pool" else None,
        "names": {
            "x": _names("x", spec.x_shape, index_base, 1),
            "y": _names("y", spec.y_shape, index_base, 1),
            "w": _names("w", spec.w_shape, index_base, 2),
            "b": _names("b", spec.b_shape, index_base, 1),
        },
        "vals": None,
        "routes": None,
    }
    if reading.values is not None:
        v = reading.values
        deriv = derive(layer, index_base=index_base)
        res = deriv.evaluate(**{k: v.get(k) for k in ("x", "w", "b", "dy")})
        data["vals"] = {
            "x": _flat_text(v["x"]),
            "w": _flat_text(v.get("w")),
            "b": _flat_text(v.get("b")) or (["0"] * spec.out_channels if spec.bias else None),
            "dy": _flat_text(v.get("dy")),
            "y": _flat_text(res["y"]),
            "dx": _flat_text(res["grad_x"]),
            "dw": _flat_text(res["grad_w"]),
            "db": _flat_text(res["grad_b"]),
        }
        if spec.kind == "max_pool":
            data["routes"] = _routes(deriv, v["x"])
    return data
