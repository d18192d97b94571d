"""Scenes of the backward pass: which dE/dy cells and kernel taps make one dE/dx entry
(``grad-input``), which x cells pair with the dE/dy cells in one dE/dw entry (``grad-weight``)
and how a pool routes the gradient back (``pool``).

The pairs come from the index map: dE/dx_i collects every (output o, tap t) whose entry is i;
dE/dw_t collects every output o with the input its tap t reads. The numbers come from
:meth:`Derivation.evaluate`.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import SpecError
from .forward import caption_width, footprint, kernel_grids, sum_caption
from .reading import array_grids, describe, number_text
from .scene import compose, place_row
from ..core.spec import windows_overlap

__all__ = ["grad_input_scene", "grad_weight_scene", "pool_scene", "example_values"]

#: Most windows a ``pool`` picture evaluates (one routing per window).
MAX_POOL_WINDOWS = 100


def _where(coord, base) -> str:
    return ", ".join(str(v + base) for v in coord)


def _dy_label(reading, coord, labelled) -> str:
    if not labelled:
        return ""
    value = reading.value("dy", coord)
    return reading.name("y", coord, grad=True) if value is None else number_text(value)


def _dx_grids(reading, current, title="{dx}"):
    spec = reading.spec
    labelled = reading.show_labels(*spec.input_size)

    def cell_info(coord):
        flat = int(np.ravel_multi_index(coord, spec.input_size))
        label = ""
        if labelled:
            value = reading.value("grad_x", coord) if "dy" in (reading.values or {}) else None
            label = reading.name("x", coord, grad=True) if value is None else number_text(value)
        return ("gradient_current" if flat == current else "gradient"), label, flat

    return array_grids("dx", reading.say(title), (0,) * spec.ndim, spec.input_size, cell_info)


def grad_input_scene(reading, i_flat: int):
    """dE/dx at input ``i_flat``: for a convolution, the rotated kernel over the zero-padded,
    stride-dilated dE/dy (seeds 001 and 003); otherwise the dE/dy cells it collects."""
    spec, layer = reading.spec, reading.layer
    outs, taps = np.nonzero(layer.index_map == i_flat)
    pairs = sorted(zip(outs.tolist(), taps.tolist()))
    i = tuple(int(v) for v in np.unravel_index(i_flat, spec.input_size))
    labelled = reading.show_labels(*spec.output_size)
    weight = layer.weight_tap
    window = set()
    if spec.kind == "conv":
        grids, window = _dilated_dy(reading, i, pairs, labelled)
    else:
        hot = {o: t for o, t in pairs}

        def cell_info(coord):
            flat = int(np.ravel_multi_index(coord, spec.output_size))
            role = "gradient_current" if flat in hot else "gradient"
            return role, _dy_label(reading, coord, labelled), flat

        grids = array_grids(
            "dy", reading.say("{dy}"), (0,) * spec.ndim, spec.output_size, cell_info
        )
        if spec.has_weight:
            grids += kernel_grids(reading, set(hot.values()))
    dx = _dx_grids(reading, i_flat)
    place_row(grids + dx)
    outlines = footprint([g for g in grids if g.name.startswith("dy")], window, "footprint")
    lhs = reading.name("x", i, grad=True)
    terms = []
    # every output channel that reads this input channel adds its share (one sum, written
    # whole up to max_terms terms)
    for p in reading.partners("in"):
        for o, t in pairs:
            dy = reading.name("y", np.unravel_index(o, spec.output_size), grad=True, pair=p)
            if spec.has_weight:
                terms.append(f"{dy}\\,{reading.name('w', int(weight[t]), pair=p)}")
            else:
                terms.append(f"{dy}/{int(layer.window_sizes[o])}")
    captions = sum_caption(lhs, terms, limit=reading.max_terms, width=caption_width(grids + dx))
    if spec.kind == "conv":
        caption = reading.say("the kernel rotated by 180 degrees over {dy}, zero-padded")
        gaps = sorted({s - 1 for s in spec.stride})
        if gaps != [0]:
            zeros = "/".join(str(g) for g in gaps)
            plural = "zero" if gaps == [1] else "zeros"
            stride = "x".join(str(s) for s in spec.stride)
            caption += f", with {zeros} {plural} between its entries (stride {stride})"
        if any(d > 1 for d in spec.dilation):
            apart = "x".join(str(d) for d in spec.dilation)
            caption += f"; the taps read every {apart} cells (dilation {apart})"
        captions.append(caption)
    heading = f"{describe(spec)}; dE/dx at ({_where(i, reading.base)})"
    return compose(
        grids + dx, heading=reading.titled(heading), captions=captions, outlines=outlines
    )


def _dilated_dy(reading, i, pairs, labelled):
    """dE/dy with stride - 1 zeros between entries and a border of zeros, and the rotated
    kernel over it at input ``i``: dy_o sits at ``o * stride``; tap t of the window of x_i
    sits at ``i + pad_lo - dilation * t`` (the index map's relation solved for ``o``)."""
    spec = reading.spec
    first, count = [], []
    for n, k, s, d, lo, _, _, o_len in spec.axes:
        lo_d = min(0, lo - d * (k - 1))
        hi_d = max((o_len - 1) * s, n - 1 + lo)
        first.append(lo_d)
        count.append(hi_d - lo_d + 1)
    hot = {}
    for o_flat, t_flat in pairs:
        o = np.unravel_index(o_flat, spec.output_size)
        hot[tuple(int(v) * s for v, s in zip(o, spec.stride))] = t_flat
    window = set()
    for t in np.ndindex(*spec.kernel_size):
        window.add(
            tuple(c + lo - d * tv for c, (lo, _), d, tv in zip(i, spec.padding, spec.dilation, t))
        )

    def cell_info(coord):
        on_grid = all(
            c % s == 0 and 0 <= c // s < n for c, s, n in zip(coord, spec.stride, spec.output_size)
        )
        inside = all(
            0 <= c <= (n - 1) * s for c, s, n in zip(coord, spec.stride, spec.output_size)
        )
        if on_grid:
            o = tuple(c // s for c, s in zip(coord, spec.stride))
            flat = int(np.ravel_multi_index(o, spec.output_size))
            role = "gradient_current" if coord in hot else "gradient"
            return role, _dy_label(reading, o, labelled), flat
        role = "stride_zero" if inside else "padding"
        if coord in window:
            role = "window_pad"
        return role, ("0" if labelled else ""), -1

    strided = any(s > 1 for s in spec.stride)
    title = reading.say("{dy}, ") + ("stride-dilated and padded" if strided else "padded")
    grids = array_grids("dy", title, first, count, cell_info)
    rotated = kernel_grids(reading, title=reading.say("{w} rotated by 180 degrees"))
    for g in rotated:
        n = len(g.cells)
        labels = [c.label for c in g.cells][::-1]
        g.cells = [
            type(c)(c.row, c.col, c.role, labels[k], c.coord, n - 1 - c.index)
            for k, c in enumerate(g.cells)
        ]
    return grids + rotated, window


def grad_weight_scene(reading, w_flat: int):
    """dE/dw for kernel weight ``w_flat``: the input cells its tap reads (index map column)
    paired with every dE/dy cell, and the sum."""
    spec, layer = reading.spec, reading.layer
    taps = np.nonzero(layer.weight_tap == w_flat)[0]
    t_flat = int(taps[0])
    column = layer.index_map[:, t_flat]
    pad = layer.pad_mask[:, t_flat]
    highlight = {}
    pairs = []
    for o_flat in range(column.size):
        taps_o = reading.taps(o_flat)
        _, coord, index, reads_pad = taps_o[t_flat]
        if index >= 0:
            highlight[coord] = "window"
            pairs.append((o_flat, coord))
        elif pad[o_flat]:
            highlight[coord] = "window_pad"
    padded = spec.kind != "conv_transpose" and any(lo or hi for lo, hi in spec.padding)
    inputs = reading.input_grids(highlight, reading.say("{x} (padded)" if padded else "{x}"))
    kernel = kernel_grids(reading, {t_flat})
    labelled = reading.show_labels(*spec.output_size)
    read_outs = {o for o, _ in pairs}

    def cell_info(coord):
        flat = int(np.ravel_multi_index(coord, spec.output_size))
        role = "gradient_current" if flat in read_outs else "gradient"
        return role, _dy_label(reading, coord, labelled), flat

    dy = array_grids("dy", reading.say("{dy}"), (0,) * spec.ndim, spec.output_size, cell_info)
    grids = inputs + kernel + dy
    place_row(grids)
    outlines = footprint(inputs, set(highlight), "footprint")
    lhs = reading.name("w", w_flat, grad=True)
    terms = [
        f"{reading.name('y', np.unravel_index(o, spec.output_size), grad=True)}\\,"
        f"{reading.name('x', c)}"
        for o, c in pairs
    ]
    captions = sum_caption(lhs, terms, limit=reading.max_terms, width=caption_width(grids))
    if spec.kind == "conv":
        captions.append(
            reading.say(
                "the {x} cells this tap reads, one per {dy} cell: "
                "{dw} is {x} correlated with {dy}"
            )
        )
    where = _where(np.unravel_index(w_flat, spec.kernel_size), reading.base)
    heading = f"{describe(spec)}; dE/dw at ({where})"
    return compose(grids, heading=reading.titled(heading), captions=captions, outlines=outlines)


def example_values(spec) -> dict:
    """Worked numbers for a pool picture when none are given: x a fixed pattern of small
    integers (with some ties), dE/dy = 1, 2, 3, ..."""
    n_x, n_y = math.prod(spec.x_shape), math.prod(spec.y_shape)
    x = np.array([(7 * k + 3) % 10 for k in range(n_x)], dtype=object).reshape(spec.x_shape)
    dy = np.array(list(range(1, n_y + 1)), dtype=object).reshape(spec.y_shape)
    return {"x": x, "dy": dy}


def pool_scene(reading, example: bool = False):
    """A pool on worked numbers: each window's winners (max pool, by the layer's tie policy)
    or its 1/|window| share (avg pool), dE/dy and the routed dE/dx (``+=`` where windows
    overlap)."""
    spec, layer = reading.spec, reading.layer
    n_out = math.prod(spec.output_size)
    if n_out > MAX_POOL_WINDOWS:
        raise SpecError(
            f"{spec.op}: a pool figure must have at most {MAX_POOL_WINDOWS} windows, got "
            f"{n_out} (output {spec.output_size})"
        )
    from ..core.derive import derive

    deriv = derive(layer, index_base=reading.base)
    c = reading.pair[1]
    winners = set()
    if spec.kind == "max_pool":
        for o in range(n_out):
            one_hot = np.zeros(spec.y_shape, dtype=object) + 0
            one_hot[(c,) + tuple(np.unravel_index(o, spec.output_size))] = 1
            routed = deriv.evaluate(x=reading.values["x"], dy=one_hot)["grad_x"][c]
            winners.update(tuple(int(v) for v in k) for k in zip(*np.nonzero(routed != 0)))
    highlight = {w: "winner" for w in winners}
    inputs = reading.input_grids(highlight, reading.say("{x}"))
    labelled = reading.show_labels(*spec.output_size)

    def out_info(kind):
        def cell_info(coord):
            flat = int(np.ravel_multi_index(coord, spec.output_size))
            value = reading.value(kind, coord)
            role = "output" if kind == "y" else "gradient"
            return role, (number_text(value) if labelled else ""), flat

        return cell_info

    zero = (0,) * spec.ndim
    y = array_grids("y", reading.say("{y}"), zero, spec.output_size, out_info("y"))
    dy = array_grids("dy", reading.say("{dy}"), zero, spec.output_size, out_info("dy"))
    dx_labelled = reading.show_labels(*spec.input_size)

    def dx_info(coord):
        value = reading.value("grad_x", coord)
        flat = int(np.ravel_multi_index(coord, spec.input_size))
        role = "gradient" if value == 0 else "gradient_current"
        if spec.kind == "max_pool" and value != 0:
            role = "winner"
        return role, (number_text(value) if dx_labelled else ""), flat

    dx = array_grids("dx", reading.say("{dx}"), zero, spec.input_size, dx_info)
    grids = inputs + y + dy + dx
    place_row(grids)
    outlines = []
    overlap = windows_overlap(spec)
    # overlapping windows would outline every cell: then outline one window (the middle
    # output's) in x and dE/dx, and its dE/dy entry
    shown = [n_out // 2] if overlap else range(n_out)
    for o in shown:
        coords = {coord for _, coord, index, _ in reading.taps(o) if index >= 0}
        outlines += footprint(inputs, coords, "footprint")
        if overlap:
            outlines += footprint(dx, coords, "footprint")
            out_coord = tuple(int(v) for v in np.unravel_index(o, spec.output_size))
            outlines += footprint(dy, {out_coord}, "footprint")
    if spec.kind == "max_pool":
        captions = [
            reading.say("each window's maximum (vermilion) receives its {dy}")
            + ("; where windows overlap, the shares add up" if windows_overlap(spec) else ""),
            f"ties: {spec.ties} ("
            + (
                "the first maximum in reading order wins"
                if spec.ties == "first"
                else "an equal share to each maximum"
            )
            + ")",
        ]
    else:
        captions = [
            reading.say(
                "each {dy} entry spreads evenly over its window: {dy} divided by the window size"
            )
            + ("" if spec.count_include_pad else " (real inputs only)")
        ]
    if overlap:
        o = tuple(int(v) for v in np.unravel_index(n_out // 2, spec.output_size))
        name = reading.name("y", o)
        captions.append(
            f"outlined: the window of ${name}$; an input in several windows sums their shares"
        )
    heading = describe(spec) + (" (example numbers)" if example else "")
    return compose(grids, heading=reading.titled(heading), captions=captions, outlines=outlines)
