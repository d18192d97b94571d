"""Scenes of a transposed convolution, the two classic views.

* ``transpose`` (:func:`stamp_scene`): input entry ``i`` stamps ``x_i`` times the kernel onto
  the output. The stamp is every (output o, tap t) whose index map entry is ``i``; each product
  is printed with its operator (``(-1) \\cdot 2``) and the output shows the running sum of the
  stamps so far, so that overlapping stamps add up cell by cell and the last frame is y.
* ``transpose-conv`` (:func:`direct_scene`): the same y as a plain convolution with stride 1:
  the kernel rotated by 180 degrees slides over the input with ``stride - 1`` zeros inserted
  between its entries and ``dilation * (kernel - 1) - padding`` zeros around it (plus the output
  padding on the high side). Output o's window reads the zero-inserted cell
  ``o + dilation * t'`` with rotated tap ``t' = kernel - 1 - t``; the cells holding inputs are
  the index map's row of o.

Without worked numbers both use small example integers (the heading says so), because a
running sum of symbols does not fit a cell.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .forward import caption_width, factor, footprint, sum_caption
from .reading import LABEL_LIMIT, array_grids, describe, number_text
from .scene import CHAR_WIDTH, LABEL_SIZE, Arrow, Outline, compose, place_row, text_width

__all__ = ["stamp_scenes", "direct_scenes", "example_values"]


def example_values(spec) -> dict:
    """Small non-zero integers (some negative) for x and w, when a picture needs numbers and
    has none: a fixed pseudo-random sequence, so that no row repeats another whatever the
    width, and no stamp adds nothing."""

    def numbers(count, seed, span):
        out, v = [], seed
        for _ in range(count):
            v = (v * 1103515245 + 12345) % 2**31
            value = (v >> 16) % (2 * span) - span
            out.append(value + 1 if value >= 0 else value)  # -span..-1, 1..span: no zeros
        return np.array(out, dtype=object)

    out = {
        "x": numbers(math.prod(spec.x_shape), 21, 3).reshape(spec.x_shape),
        "w": numbers(math.prod(spec.w_shape), 5, 2).reshape(spec.w_shape),
    }
    if spec.bias:
        out["b"] = np.array([1] * spec.out_channels, dtype=object)
    return out


def _bias(reading):
    spec = reading.spec
    if not spec.bias:
        return 0
    return reading.values["b"][reading.pair[0]]


def _groups_note(reading) -> str:
    spec = reading.spec
    if spec.in_channels // spec.groups == 1:
        return ""
    ci = reading.pair[1] + reading.base
    return f"; only input channel {ci}'s stamps are drawn, the other input channels add theirs"


def _kernel_grid(reading, used, title, labels):
    spec = reading.spec
    shape = spec.kernel_size

    def cell_info(t):
        flat = int(np.ravel_multi_index(t, shape))
        role = "kernel" if flat in used else "kernel_idle"
        return role, labels(flat), flat

    return array_grids("w", title, (0,) * spec.ndim, shape, cell_info)


def stamp_scenes(reading, inputs, *, example=False) -> list:
    """One frame per flat input entry in ``inputs`` (ascending): its stamp, the products and
    the output's running sum after it (the stamps of every input up to it, in reading order)."""
    spec, layer = reading.spec, reading.layer
    weight = layer.weight_tap
    n_out = math.prod(spec.output_size)
    running = np.array([_bias(reading)] * n_out, dtype=object)
    done = -1
    scenes = []
    for i_flat in inputs:
        for j in range(done + 1, i_flat + 1):
            outs, taps = np.nonzero(layer.index_map == j)
            xj = reading.value("x", np.unravel_index(j, spec.input_size))
            for o, t in zip(outs.tolist(), taps.tolist()):
                running[o] = running[o] + reading.value("w", int(weight[t])) * xj
        done = i_flat
        scenes.append(_stamp_scene(reading, i_flat, running, example))
    return scenes


def _stamp_scene(reading, i_flat, running, example):
    spec, layer = reading.spec, reading.layer
    outs, taps = np.nonzero(layer.index_map == i_flat)
    stamp = {int(o): int(t) for o, t in zip(outs, taps)}
    weight = layer.weight_tap
    i = tuple(int(v) for v in np.unravel_index(i_flat, spec.input_size))
    x_value = reading.value("x", i)
    x_grids = reading.input_grids({i: "window"}, reading.say("{x}"))
    products = _kernel_grid(
        reading,
        set(stamp.values()),
        f"${reading.name('x', i)}$ times " + reading.say("{w}"),
        lambda t: rf"{factor(reading.value('w', int(weight[t])))} \cdot {factor(x_value)}",
    )
    # the running sums are the picture's point: numbers stay up to twice the usual grid side
    labelled = reading.labels is True or (
        reading.labels == "auto" and max(spec.output_size) <= 2 * LABEL_LIMIT
    )
    extra_from = [n - p for n, p in zip(spec.output_size, spec.output_padding)]

    def cell_info(coord):
        flat = int(np.ravel_multi_index(coord, spec.output_size))
        label = number_text(running[flat]) if labelled else ""
        if flat in stamp:
            return "window", label, flat
        extra = any(c >= e for c, e in zip(coord, extra_from))
        return ("output_extra" if extra else "output"), label, flat

    planes = None
    if spec.ndim == 3:
        planes = sorted({int(np.unravel_index(o, spec.output_size)[0]) for o in stamp}) or [0]
    last = i_flat == math.prod(spec.input_size) - 1
    y_title = reading.say("{y} (complete)" if last else "{y} so far")
    outputs = array_grids("y", y_title, (0,) * spec.ndim, spec.output_size, cell_info, planes)
    for g in products:  # a product is wider than a number: cells wide enough to read it
        longest = max(text_width(c.label) for c in g.cells)
        g.cell_width = min(2.0, max(1.0, longest * CHAR_WIDTH * LABEL_SIZE / 0.86 / 0.8))
    grids = x_grids + products + outputs
    place_row(grids)
    outlines = []
    for g in outputs:
        mine = [c for c in g.cells if c.index in stamp]
        if mine:
            rows, cols = [c.row for c in mine], [c.col for c in mine]
            outlines.append(
                Outline(*g.box(min(rows), min(cols), max(rows), max(cols)), "footprint")
            )
    arrows = []
    src = products[-1]
    if outlines:
        box = outlines[0]
        end = box.y + box.h / 2
        mid = min(max(end, src.y + 0.5), src.y + src.rows - 0.5)
        arrows.append(Arrow(src.x + src.width + 0.15, mid, outputs[0].x - 0.15, end))
    where = ", ".join(str(v + reading.base) for v in i)
    n_taps = math.prod(spec.kernel_size)
    x, w, y = (reading.letter(k) for k in "xwy")
    captions = [
        f"input ({where}) adds ${reading.name('x', i)} = {number_text(x_value)}$ times the "
        f"kernel onto the {len(stamp)} outlined outputs (${y} \\leftarrow {y} + {w} \\cdot {x}$)"
        + (
            reading.say(f"; {n_taps - len(stamp)} taps fall outside {{y}}")
            if len(stamp) < n_taps
            else ""
        ),
        "each output cell shows the sum of the stamps so far"
        + (f", starting from the bias {number_text(_bias(reading))}" if spec.bias else "")
        + (reading.say("; this is the last stamp, so {y} is complete") if last else "")
        + _groups_note(reading),
    ]
    if any(spec.output_padding):
        captions.append("hatched, dashed cells: the output padding rows/columns")
    heading = f"{describe(spec)}; input ({where})" + (" (example numbers)" if example else "")
    return compose(
        grids, heading=reading.titled(heading), captions=captions, outlines=outlines, arrows=arrows
    )


def direct_layout(spec) -> list:
    """Per axis ``(lo, first, count)``: input entry ``i`` sits at zero-inserted cell
    ``lo + i * stride`` (``lo = dilation * (kernel - 1) - padding_lo``); the drawn cells are
    ``first .. first + count - 1``, reaching every cell an output's window reads."""
    out = []
    for n, k, s, d, p_lo, _, _, o_len in spec.axes:
        lo = d * (k - 1) - p_lo
        first = min(0, lo)
        last = max(o_len - 1 + d * (k - 1), lo + (n - 1) * s)
        out.append((lo, first, last - first + 1))
    return out


def direct_scenes(reading, outputs, *, example=False) -> list:
    """One frame per flat output position in ``outputs``: the rotated kernel over the
    zero-inserted, padded input at that position, and y with the current cell."""
    return [_direct_scene(reading, o, example) for o in outputs]


def _direct_scene(reading, o_flat, example):
    spec, layer = reading.spec, reading.layer
    layout = direct_layout(spec)
    k_shape = spec.kernel_size
    o = tuple(int(v) for v in np.unravel_index(o_flat, spec.output_size))
    # the window: rotated tap t' at cell o + d t'; it multiplies tap t = K - 1 - t'
    window = {}
    for t in itertools.product(*(range(k) for k in k_shape)):
        t_flat = int(np.ravel_multi_index(t, k_shape))
        q = tuple(ov + d * (k - 1 - tv) for ov, d, k, tv in zip(o, spec.dilation, k_shape, t))
        window[q] = t_flat
    # the cells that hold inputs, from the index map's row of o (and every input's place)
    reads = {}
    for t_flat in range(math.prod(k_shape)):
        i_flat = int(layer.index_map[o_flat, t_flat])
        if i_flat >= 0:
            reads[t_flat] = i_flat
    place = {}
    for i in itertools.product(*(range(n) for n in spec.input_size)):
        place[tuple(lo + s * v for (lo, _, _), s, v in zip(layout, spec.stride, i))] = i
    labelled = reading.show_labels(*(count for _, _, count in layout))

    def cell_info(q):
        i = place.get(q)
        inside = all(
            lo <= v <= lo + (n - 1) * s
            for v, (lo, _, _), s, n in zip(q, layout, spec.stride, spec.input_size)
        )
        if i is not None:
            role = "window" if q in window else "input"
            flat = int(np.ravel_multi_index(i, spec.input_size))
            return role, (reading.input_label(i) if labelled else ""), flat
        role = "stride_zero" if inside else "padding"
        if q in window:
            role = "window_pad"
        return role, ("0" if labelled else ""), -1

    strided = any(s > 1 for s in spec.stride)
    title = reading.say("{x}, ") + ("zeros inserted and padded" if strided else "padded")
    z = array_grids("z", title, [f for _, f, _ in layout], [c for _, _, c in layout], cell_info)
    weight = layer.weight_tap
    n_taps = math.prod(k_shape)

    def rotated_info(t_rot):
        t_flat = n_taps - 1 - int(np.ravel_multi_index(t_rot, k_shape))
        value = reading.value("w", int(weight[t_flat]))
        return "kernel", (number_text(value) if value is not None else ""), t_flat

    rotated = reading.say("{w} rotated by 180 degrees")
    kernel = array_grids("w", rotated, (0,) * spec.ndim, k_shape, rotated_info)
    labelled_y = reading.show_labels(*spec.output_size)

    def y_info(coord):
        flat = int(np.ravel_multi_index(coord, spec.output_size))
        label = number_text(reading.value("y", coord)) if labelled_y else ""
        return ("output_current" if flat == o_flat else "output"), label, flat

    planes = [o[0]] if spec.ndim == 3 else None
    ys = array_grids("y", reading.say("{y}"), (0,) * spec.ndim, spec.output_size, y_info, planes)
    grids = z + kernel + ys
    place_row(grids)
    outlines = footprint(z, window, "footprint")
    current = ys[0].find(role="output_current")[0]
    cy = ys[0].centre(current)[1]
    src = kernel[-1]
    sy = min(max(cy, src.y + 0.5), src.y + src.rows - 0.5)
    arrows = [Arrow(src.x + src.cols + 0.15, sy, ys[0].x - 0.15, cy)]
    lhs = reading.name("y", o)
    terms = []
    # y sums the products of every input channel of the group: all of them, in one sum
    for p in reading.partners("out"):
        for t_flat, i_flat in sorted(reads.items(), key=lambda item: -item[0]):
            i = np.unravel_index(i_flat, spec.input_size)
            w_value = reading.value("w", int(weight[t_flat]), pair=p)
            terms.append(f"{factor(w_value)} \\cdot {factor(reading.value('x', i, pair=p))}")
    total = number_text(reading.value("y", o))
    bias = f" + {factor(_bias(reading))}" if spec.bias else ""
    gaps = "x".join(str(s - 1) for s in spec.stride)
    around = "x".join(str(lo) for lo, _, _ in layout)
    captions = sum_caption(
        lhs, terms, tail=f"{bias} = {total}", limit=reading.max_terms, width=caption_width(grids)
    ) + [
        reading.say(
            "the same {y} as a stride-1 convolution: the kernel rotated by 180 degrees over {x} "
        )
        + f"with {gaps} zeros between its entries",
        f"and {around} zeros around them (dilation times (kernel - 1), minus the padding)"
        + _groups_note(reading),
    ]
    where = ", ".join(str(v + reading.base) for v in o)
    heading = f"{describe(spec)}; output position ({where})" + (
        " (example numbers)" if example else ""
    )
    return compose(
        grids, heading=reading.titled(heading), captions=captions, outlines=outlines, arrows=arrows
    )
