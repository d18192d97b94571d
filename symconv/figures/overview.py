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
from .scene import CHAR_WIDTH, LINE_HEIGHT, Block, Cell, Grid, Text, compose, text_width

__all__ = [
    "toeplitz_scene",
    "network_scene",
    "fit_scale",
    "smallest_text_pt",
    "MAX_MATRIX",
    "MIN_TEXT_PT",
]

#: Largest W drawn (rows or columns).
MAX_MATRIX = 400


#: Smallest text a fitted picture may print, in points.
MIN_TEXT_PT = 6.0
#: Rows or columns named one by one up to this many; beyond, the first of each group (an input
#: or output row, a channel) is named, larger.
NAME_EACH = 40


def fit_scale(scene, fit) -> float:
    """The factor a document applies to a scene of natural size ``UNIT_CM`` per cell when it
    fits it into ``fit = (width_cm, height_cm, grow)``: down to the box, up to ``grow``."""
    from .tikz import UNIT_CM

    width_cm, height_cm, grow = fit
    return min(grow, width_cm / (scene.width * UNIT_CM), height_cm / (scene.height * UNIT_CM))


def smallest_text_pt(scene, fit=None) -> float:
    """The smallest text (cell labels, names, titles, captions) of a scene in points, at its
    natural TikZ size or, with ``fit``, after the document fits it into the box."""
    from .drawables import drawables
    from .tikz import FONT_PT

    d = drawables(scene)
    sizes = [t.size for t in d["labels"] + d["texts"]]
    scale = 1.0 if fit is None else fit_scale(scene, fit)
    return FONT_PT * min(sizes, default=1.0) * scale


#: The most a fitted W's texts grow against its cells.
MAX_TEXT_GROWTH = 8.0


def toeplitz_scene(reading, convention: str = "row", fit=None):
    """W (``row``: x W = y as seed 000, rows x and columns y) or T = W^T (``column``).

    ``fit = (width_cm, height_cm, grow)`` is the box a document fits the picture into: the
    texts then grow against the cells until the smallest is :data:`MIN_TEXT_PT` points after
    fitting (a large W's cells shrink, its names and legend stay readable)."""
    scene = _toeplitz(reading, convention, 1.0)
    if fit is None:
        return scene
    text = 1.0
    best, best_pt = scene, smallest_text_pt(scene, fit)
    smallest = best_pt
    for _ in range(12):
        if best_pt >= MIN_TEXT_PT - 1e-6:
            break
        text *= MIN_TEXT_PT / smallest * 1.02
        if text > MAX_TEXT_GROWTH:
            # the picture widens as fast as its texts grow (a long legend), so fitting
            # shrinks them back: keep the best size reached
            break
        scene = _toeplitz(reading, convention, text)
        smallest = smallest_text_pt(scene, fit)
        if smallest > best_pt:
            best, best_pt = scene, smallest
    return best


def _groups(names, shape) -> list:
    """``[(first index, count, name of the first)]``: runs of rows that share a channel and all
    but the last spatial index (one input or output row)."""
    run = shape[-1] if shape else 1
    return [(k, min(run, len(names) - k), names[k]) for k in range(0, len(names), run)]


def _toeplitz(reading, convention, text):
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
    labelled = labelled and max(n_x, n_y) <= 24 and text <= 1.0
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
    row_shape, col_shape = (
        (spec.input_size, spec.output_size)
        if convention == "row"
        else (spec.output_size, spec.input_size)
    )
    title = reading.say("W ({x} W = {y})" if convention == "row" else "T = W^T ({y} = T {x})")
    grid = Grid("W", rows, cols, cells, title)
    texts, notes = [], []
    name_size = 0.8 * text
    # an axis names every row (column) while there are few and a name fits in a cell's height
    fits = LINE_HEIGHT * name_size <= 1.05
    each_row, each_col = rows <= NAME_EACH and fits, cols <= NAME_EACH and fits
    row_groups = (
        [(k, 1, n) for k, n in enumerate(row_names)] if each_row else _groups(row_names, row_shape)
    )
    col_groups = (
        [(k, 1, n) for k, n in enumerate(col_names)] if each_col else _groups(col_names, col_shape)
    )
    margin_left = (
        max((text_width(f"${n}$") * CHAR_WIDTH * name_size for _, _, n in row_groups), default=0)
        + 0.15
    )
    margin_top = (
        max((text_width(f"${n}$") * CHAR_WIDTH * name_size for _, _, n in col_groups), default=0)
        + 0.15
    )
    grid.x, grid.y = margin_left, margin_top + LINE_HEIGHT * 1.2 * text
    for k, _, name in row_groups:
        y = grid.y + k + max(0.5, LINE_HEIGHT * name_size / 2)
        texts.append(Text(grid.x - 0.15, y, f"${name}$", "end", name_size))
    for k, _, name in col_groups:
        texts.append(
            Text(grid.x + k + 0.5, grid.y - 0.15, f"${name}$", "start", name_size, rotate=True)
        )
    texts.append(
        Text(
            grid.x + grid.cols / 2,
            grid.y - margin_top - LINE_HEIGHT * 0.7 * text,
            title,
            size=text,
        )
    )
    named = {
        "rows": (each_row, "input" if convention == "row" else "output"),
        "columns": (each_col, "output" if convention == "row" else "input"),
    }
    grouped = [
        f"{axis} named at the start of each {what} row"
        for axis, (each, what) in named.items()
        if not each
    ]
    notes += grouped
    grid.title = ""
    if spec.has_weight:  # w11, w12, ... in the kernel's order, not in order of appearance
        legend = dict(sorted(legend.items(), key=lambda item: int(item[0][3:])))
    items = list(legend.values())
    grids = [grid]
    pitch = max(1.0, LINE_HEIGHT * text * 1.25)
    per_column = max(1, min(len(items), int((rows + 0.01) // pitch) or 1))
    longest = max((text_width(f"${n}$") for _, n in items), default=0) * CHAR_WIDTH * text
    x0 = grid.x + grid.cols + 1.5
    for k, (role, name) in enumerate(items):
        column, slot = divmod(k, per_column)
        gx = x0 + column * (1.6 + longest + 0.8)
        gy = grid.y + slot * pitch
        grids.append(Grid(f"legend{k}", 1, 1, [Cell(0, 0, role, "", (k,), k)], "", x=gx, y=gy))
        texts.append(Text(gx + 1.3, gy + 0.5, f"${name}$", anchor="start", size=text))
    nonzero = len(entries)
    colours = "each colour is one weight"
    if spec.has_weight and len(legend) > DISTINCT_TAPS:
        colours = (
            f"colours and hatches repeat after {DISTINCT_TAPS} weights: the legend names them"
        )
    elif spec.has_weight and len(legend) > len(TAP_COLOURS):
        colours = "each colour and hatch is one weight (the legend names them)"
    captions = [f"{nonzero} non-zeros of {rows * cols} entries", colours] + notes
    heading = reading.titled(describe(spec))
    return compose(grids, heading=heading, captions=captions, texts=texts, text_size=text)


def _flat_name(reading, kind, k, n_spatial) -> str:
    spec = reading.spec
    channel, pos = divmod(k, n_spatial)
    shape = spec.input_size if kind == "x" else spec.output_size
    names = reading._names[kind]
    return reading.symbol_text(names[(channel,) + tuple(np.unravel_index(pos, shape))])


def _weight_names(reading) -> list:
    return [reading.symbol_text(s) for s in reading._names["w"].reshape(-1)]


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
