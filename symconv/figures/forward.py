"""Scenes of the forward pass: the window at one output position (``window``) and every
position in order (``windows``); a transposed convolution's stamps are in :mod:`.transposed`.

The window's cells are the index map's row for that output position (real inputs) and the pad
mask's row (padding); the arrow runs from the kernel (or the input) to the current output
cell's row.
"""

from __future__ import annotations

import numpy as np

from .reading import array_grids, describe, number_text
from .scene import CHAR_WIDTH, Arrow, Outline, compose, place_row, text_width

__all__ = [
    "window_scene",
    "footprint",
    "kernel_grids",
    "sum_caption",
    "caption_width",
    "factor",
    "arrow_from",
]

#: Terms of a sum written out before the caption elides the middle (``max_terms``): a
#: window's sum of at most 25 terms (a 5x5 kernel) is never cut.
MAX_TERMS = 25
#: Terms on one caption line; a longer sum continues on the next.
TERMS_PER_LINE = 9
#: The narrowest a caption's lines wrap to, in cell units (a picture's row of grids if wider).
MIN_CAPTION_WIDTH = 16.0


def footprint(grids, coords, role) -> list:
    """Outlines around the bounding box of ``coords`` on each grid that holds some of them."""
    out = []
    for g in grids:
        cells = [c for c in g.cells if c.coord in coords]
        if cells:
            rows = [c.row for c in cells]
            cols = [c.col for c in cells]
            out.append(Outline(*g.box(min(rows), min(cols), max(rows), max(cols)), role))
    return out


def kernel_grids(reading, used=None, title="{w}") -> list:
    """The kernel (one grid per depth plane for 3-D) with the weight each tap multiplies
    (:attr:`Layer.weight_tap`, so a flipped kernel shows rotated); taps not in ``used`` are
    drawn idle."""
    spec, layer = reading.spec, reading.layer
    shape = spec.kernel_size
    labelled = reading.show_labels(*shape)

    def cell_info(t):
        flat = int(np.ravel_multi_index(t, shape))
        weight = int(layer.weight_tap[flat])
        value = reading.value("w", weight)
        label = ""
        if labelled:
            label = reading.name("w", weight) if value is None else number_text(value)
        role = "kernel" if used is None or flat in used else "kernel_idle"
        return role, label, flat

    stack = 1 if reading.channel_given else len(list(reading.layer.channel_pairs()))
    return array_grids("w", reading.say(title), (0,) * spec.ndim, shape, cell_info, stack=stack)


def arrow_from(source, y: float) -> tuple:
    """Where an arrow towards height ``y`` leaves ``source``: its right edge, past the sheets
    of a channel stack, at ``y`` moved inside the grid's rows."""
    sheets = source.sheets
    top, bottom = source.y - sheets, source.y + source.rows
    return (source.x + source.cols + sheets + 0.15, min(max(y, top + 0.5), bottom - 0.5))


def caption_width(grids) -> float:
    """The width a picture's caption lines may take, in cell units: the row of grids, but at
    least :data:`MIN_CAPTION_WIDTH` (a small picture's short sum stays on one line)."""
    left = min(g.x for g in grids)
    right = max(g.x + g.width + g.sheets for g in grids)
    return max(MIN_CAPTION_WIDTH, right - left)


def _chunks(terms, op, per_line, width, lead) -> list:
    """Terms split into caption lines: at most ``per_line`` terms a line and, with ``width``,
    no line wider than it (at least one term a line); ``lead`` is the width of the first
    line's start (``lhs = head``)."""
    if width is None:
        return [terms[k : k + per_line] for k in range(0, len(terms), per_line)]
    sep = text_width(f" {op} ") * CHAR_WIDTH
    chunks, line, used = [], [], lead
    for term in terms:
        w = text_width(term) * CHAR_WIDTH
        if line and (len(line) == per_line or used + sep + w > width):
            chunks.append(line)
            line, used = [], text_width(r"\quad + ") * CHAR_WIDTH
        used += (sep if line else 0.0) + w
        line.append(term)
    return chunks + [line]


def sum_caption(
    lhs: str,
    terms,
    *,
    op: str = "+",
    head: str = "",
    tail: str = "",
    limit: int = MAX_TERMS,
    per_line: int = TERMS_PER_LINE,
    width: float | None = None,
) -> list:
    """``$lhs = head t1 + t2 + ... + tn tail$`` as caption lines: whole up to ``limit`` terms
    (the middle elided past it), wrapped after every ``per_line`` terms or, with ``width``
    (cell units, see :func:`caption_width`), before a line grows wider than the picture (the
    next line continues with ``+``)."""
    terms = list(terms)
    if len(terms) > limit:
        terms = terms[: limit - 2] + [r"\cdots"] + terms[-1:]
    if not terms:
        return [f"${lhs} = {head}0{tail}$"]
    chunks = _chunks(terms, op, per_line, width, text_width(f"{lhs} = {head}") * CHAR_WIDTH)
    lines = []
    for k, chunk in enumerate(chunks):
        body = f" {op} ".join(chunk)
        start = f"{lhs} = {head}" if k == 0 else (r"\quad " + (f"{op} " if op != "," else ""))
        end = tail if k == len(chunks) - 1 else ("," if op == "," else "")
        lines.append(f"${start}{body}{end}$")
    return lines


def factor(value) -> str:
    """A number as a factor of a product: negative numbers in parentheses."""
    text = number_text(value)
    return f"({text})" if text.startswith("-") else text


def _output_grids(reading, current: int, title: str) -> list:
    spec = reading.spec
    labelled = reading.show_labels(*spec.output_size)

    def cell_info(coord):
        flat = int(np.ravel_multi_index(coord, spec.output_size))
        label = ""
        if labelled:
            value = reading.value("y", coord)
            label = reading.name("y", coord) if value is None else number_text(value)
        return ("output_current" if flat == current else "output"), label, flat

    planes = None
    if spec.ndim == 3:
        planes = [int(np.unravel_index(current, spec.output_size)[0])]
    stack = 1 if reading.channel_given else spec.out_channels
    return array_grids("y", title, (0,) * spec.ndim, spec.output_size, cell_info, planes, stack)


def _captions(reading, o_flat, taps, width=None) -> list:
    """The output's formula, and with worked numbers the same sum in numbers. A layer with
    several input channels (per group) sums its window over all of them: every term is
    written (over lines), up to ``reading.max_terms`` terms before the middle is elided."""
    spec = reading.spec
    o = tuple(int(v) for v in np.unravel_index(o_flat, spec.output_size))
    lhs = reading.name("y", o)
    limit = reading.max_terms
    read = [(t, coord) for t, coord, index, _ in taps if index >= 0]
    if spec.kind == "max_pool":
        names = [reading.name("x", c) for _, c in read]
        lines = sum_caption(lhs, names, op=",", head=r"\max(", tail=")", limit=limit, width=width)
        nums = [number_text(reading.value("x", c)) for _, c in read]
    elif spec.kind == "avg_pool":
        size = int(reading.layer.window_sizes[o_flat])
        names = [reading.name("x", c) for _, c in read]
        lines = sum_caption(
            lhs, names, head=r"\frac{1}{" + str(size) + "}(", tail=")", limit=limit, width=width
        )
        nums = [number_text(reading.value("x", c)) for _, c in read]
    else:
        weight = reading.layer.weight_tap
        pairs = reading.partners("out")
        names = [
            f"{reading.name('w', int(weight[t]), pair=p)}\\,{reading.name('x', c, pair=p)}"
            for p in pairs
            for t, c in read
        ]
        bias = ""
        if spec.bias:
            bias = (
                f" + b_{{{reading.pair[0] + reading.base}}}" if spec.out_channels > 1 else " + b"
            )
        lines = sum_caption(lhs, names, tail=bias, limit=limit, width=width)
        nums = [
            f"{factor(reading.value('w', int(weight[t]), pair=p))} \\cdot "
            f"{factor(reading.value('x', c, pair=p))}"
            for p in pairs
            for t, c in read
        ]
    if reading.values is not None:
        total = number_text(reading.value("y", o))
        if spec.kind == "max_pool":
            lines += sum_caption(
                lhs, nums, op=",", head=r"\max(", tail=f") = {total}", limit=limit, width=width
            )
        elif spec.kind == "avg_pool":
            size = int(reading.layer.window_sizes[o_flat])
            lines += sum_caption(
                lhs, nums, head="(", tail=f")/{size} = {total}", limit=limit, width=width
            )
        else:
            b = reading.bias_value()
            bias = "" if not spec.bias else (" + b" if b is None else f" + {factor(b)}")
            lines += sum_caption(lhs, nums, tail=f"{bias} = {total}", limit=limit, width=width)
    return lines


def window_scene(reading, o_flat: int, *, previous: bool = True):
    """The forward step at output ``o_flat``: the drawn input with the window's taps (index
    map row: real inputs; pad mask row: padding), its footprint and the previous position's,
    the kernel, and the output with the current cell."""
    spec = reading.spec
    taps = reading.taps(o_flat)
    highlight = {}
    for _, coord, index, reads_pad in taps:
        if index >= 0:
            highlight[coord] = "window"
        elif reads_pad:
            highlight[coord] = "window_pad"
    coords = {coord for _, coord, _, _ in taps if coord is not None}
    planes = None
    if spec.ndim == 3:
        planes = sorted({c[0] for c in coords})
    padded = spec.kind != "conv_transpose" and any(lo or hi for lo, hi in spec.padding)
    in_title = reading.say("{x} (padded)" if padded else "{x}")
    if spec.in_channels > 1 and not reading.channel_given:
        in_title += f", {spec.in_channels} channels"
    inputs = reading.input_grids(highlight, in_title, planes)
    grids = list(inputs)
    if spec.has_weight:
        used = {t for t, _, index, _ in taps if index >= 0}
        grids += kernel_grids(reading, used if spec.kind == "conv_transpose" else None)
    o = tuple(int(v) for v in np.unravel_index(o_flat, spec.output_size))
    out_title = reading.say("{y}")
    if spec.out_channels > 1 and not reading.channel_given:
        out_title += f", {spec.out_channels} channels"
    outputs = _output_grids(reading, o_flat, out_title)
    grids += outputs
    place_row(grids)
    outlines = []
    if previous and o_flat > 0 and spec.kind != "conv_transpose":
        prev = {c for _, c, _, _ in reading.taps(o_flat - 1)}
        outlines += footprint(inputs, prev, "previous")
    if spec.kind != "conv_transpose":
        outlines += footprint(inputs, coords, "footprint")
    current = outputs[0].find(role="output_current")[0]
    cy = outputs[0].centre(current)[1]
    source = grids[-len(outputs) - 1]
    arrow = Arrow(*arrow_from(source, cy), outputs[0].x - 0.15, cy)
    where = ", ".join(str(v + reading.base) for v in o)
    heading = f"{describe(spec)}; output position ({where})"
    return compose(
        grids,
        heading=reading.titled(heading),
        captions=_captions(reading, o_flat, taps, caption_width(grids)),
        outlines=outlines,
        arrows=[arrow],
    )
