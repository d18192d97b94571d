"""Whole-layer and whole-network pictures: the unrolled (Toeplitz) matrix W with every
non-zero coloured by the kernel weight it holds (``toeplitz``), and a network's feature maps
(``network``, LeNet-5: 1@32x32 -> 6@28x28 -> ...).

W is read off the index map: entry (x_i, y_o) holds the weight of tap t when
``index_map[o, t] == i``, for every channel pair the layer connects.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import SpecError
from ..core.spec import dims_text
from .reading import describe
from .palette import DISTINCT_TAPS, TAP_COLOURS
from .scene import Block, Cell, Grid, Text, compose

__all__ = ["toeplitz_scene", "network_scene", "MAX_MATRIX"]

#: Largest W drawn (rows or columns).
MAX_MATRIX = 400


def toeplitz_scene(reading, convention: str = "row"):
    """W (``row``: x W = y as seed 000, rows x and columns y) or T = W^T (``column``)."""
    spec, layer = reading.spec, reading.layer
    n_in, n_out = math.prod(spec.input_size), math.prod(spec.output_size)
    n_x, n_y = spec.in_channels * n_in, spec.out_channels * n_out
    if max(n_x, n_y) > MAX_MATRIX:
        raise SpecError(
            f"{spec.op}: a toeplitz figure must have at most {MAX_MATRIX} rows and columns, "
            f"got {n_x}x{n_y}"
        )
    entries = {}
    o_idx, t_idx = np.nonzero(layer.index_map >= 0)
    i_idx = layer.index_map[o_idx, t_idx]
    n_taps = math.prod(spec.kernel_size)
    for co, ci, w_index in layer.channel_pairs():
        for o, t, i in zip(o_idx.tolist(), t_idx.tolist(), i_idx.tolist()):
            if spec.has_weight:
                w_flat = int(np.ravel_multi_index(w_index, spec.w_shape[:2])) * n_taps
                entries[(ci * n_in + i, co * n_out + o)] = w_flat + int(layer.weight_tap[t])
            else:
                entries[(ci * n_in + i, co * n_out + o)] = -1 - o
    x_names = [_flat_name(reading, "x", k, n_in) for k in range(n_x)]
    y_names = [_flat_name(reading, "y", k, n_out) for k in range(n_y)]
    labelled = reading.show_labels(n_x, n_y) if reading.labels == "auto" else reading.labels
    labelled = labelled and max(n_x, n_y) <= 24
    w_names = _weight_names(reading) if spec.has_weight else None
    cells = []
    legend = {}
    for (r, c), w in sorted(entries.items()):
        if convention == "column":
            r, c = c, r
        if w >= 0:
            role, name = f"tap{w}", w_names[w]
        else:
            size = int(layer.window_sizes[-1 - w])
            role, name = "tap0", f"1/{size}"
        legend.setdefault(role if spec.has_weight else name, (role, name))
        cells.append(Cell(r, c, role, name if labelled else "", (r, c), w))
    filled = {(c.row, c.col) for c in cells}
    rows, cols = (n_x, n_y) if convention == "row" else (n_y, n_x)
    for r in range(rows):
        for c in range(cols):
            if (r, c) not in filled:
                cells.append(Cell(r, c, "zero", "", (r, c), -1))
    cells.sort(key=lambda cell: (cell.row, cell.col))
    row_names, col_names = (x_names, y_names) if convention == "row" else (y_names, x_names)
    show_names = max(rows, cols) <= 40
    title = "W (x W = y)" if convention == "row" else "T = W^T (y = T x)"
    grid = Grid(
        "W",
        rows,
        cols,
        cells,
        title,
        row_labels=tuple(f"${n}$" for n in row_names) if show_names else (),
        col_labels=tuple(f"${n}$" for n in col_names) if show_names else (),
    )
    if spec.has_weight:  # w11, w12, ... in the kernel's order, not in order of appearance
        legend = dict(sorted(legend.items(), key=lambda item: int(item[0][3:])))
    legend_grid = _legend(list(legend.values()))
    grid.x, grid.y = grid.margin_left, grid.margin_top
    texts = []
    if legend_grid is not None:
        legend_grid.x = grid.x + grid.cols + 1.5
        legend_grid.y = grid.y
        for k, (_, name) in enumerate(legend.values()):
            texts.append(
                Text(legend_grid.x + 1.3, legend_grid.y + k + 0.5, f"${name}$", anchor="start")
            )
    grids = [grid] + ([legend_grid] if legend_grid is not None else [])
    nonzero = len(entries)
    colours = "each colour is one weight"
    if spec.has_weight and len(legend) > DISTINCT_TAPS:
        colours = (
            f"colours and hatches repeat after {DISTINCT_TAPS} weights: the legend names them"
        )
    elif spec.has_weight and len(legend) > len(TAP_COLOURS):
        colours = "each colour and hatch is one weight (the legend names them)"
    captions = [f"{nonzero} non-zeros of {rows * cols} entries; {colours}"]
    return compose(grids, heading=reading.titled(describe(spec)), captions=captions, texts=texts)


def _legend(items):
    if not items:
        return None
    cells = [Cell(k, 0, role, "", (k,), k) for k, (role, _) in enumerate(items)]
    return Grid("legend", len(items), 1, cells, "")


def _flat_name(reading, kind, k, n_spatial) -> str:
    spec = reading.spec
    channel, pos = divmod(k, n_spatial)
    shape = spec.input_size if kind == "x" else spec.output_size
    names = reading._names[kind]
    return _math(names[(channel,) + tuple(np.unravel_index(pos, shape))].name)


def _weight_names(reading) -> list:
    return [_math(s.name) for s in reading._names["w"].reshape(-1)]


def _math(name: str) -> str:
    kind, _, label = name.partition("_")
    return f"{kind}_{{{label}}}" if label else kind


# ---------------------------------------------------------------------- network
def network_scene(net, *, max_side: float = 4.0):
    """Feature maps of a network left to right: a sheet stack per conv/pool output (side
    proportional to the square root of the spatial size), a bar per dense layer, the shape
    under each (``6@28x28``) and the layer name above."""
    shapes = [("input", "input", tuple(net.input_shape))]
    for lay in net.layers:
        if lay.kind in ("conv", "conv_transpose", "max_pool", "avg_pool", "dense", "flatten"):
            shapes.append((lay.name, lay.kind, tuple(lay.output_shape)))
        elif shapes:
            name, kind, shape = shapes[-1]
            shapes[-1] = (f"{name}+{lay.kind}", kind, shape)
    largest = max(max(s[1:]) if len(s) > 1 else 1 for _, _, s in shapes)
    blocks, texts = [], []
    x = 0.0
    for name, kind, shape in shapes:
        if len(shape) >= 2:
            h = max_side * math.sqrt(shape[-2] / largest) if largest else 1
            w = max_side * math.sqrt(shape[-1] / largest) if largest else 1
            stack = min(shape[0], 6)
            blocks.append(Block(x, -h / 2, w, h, "layer", stack))
            label = f"{shape[0]}@{dims_text(shape[1:])}"
            right = x + w + 0.25 * (stack - 1)
        else:
            units = shape[0] if shape else 1
            h = max(1.0, max_side * min(1.0, units / 400))
            w = 0.6
            blocks.append(Block(x, -h / 2, w, h, "dense", 1))
            label = str(units)
            right = x + w
        centre = x + w / 2
        texts.append(Text(centre, max_side / 2 + 0.6, label, size=0.8))
        texts.append(Text(centre, max_side / 2 + 1.3, name, size=0.8))
        width = max(len(label), len(name)) * 0.2
        x = right + max(1.0, width - w / 2 + 0.3)
    heading = f"network {net.name!r}"
    return compose([], heading=heading, blocks=blocks, texts=texts)
