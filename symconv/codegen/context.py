"""Template contexts: the printed pieces (slices, offsets, shapes, tap lists) a template in
``templates/numpy/`` lays out, one builder per template, all read off the strategy's plans.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.errors import CodegenError
from ..core.layers import Layer
from .plans import GatherPlan, axis_phases
from .printing import index, py
from .strategies import (
    DEPTHWISE_BLOCK_BYTES,
    GROUP_BLOCK_BYTES,
    IMPLICIT_BLOCK_BYTES,
    POOL_BLOCK_BYTES,
    WINOGRAD_BLOCK_BYTES,
    Strategy,
    weight_flip,
)

__all__ = [
    "conv_context",
    "depthwise_context",
    "implicit_context",
    "pool_context",
    "winograd_context",
]

_ALL = slice(None)


def _idx(lead: int, *parts) -> str:
    """``[:, :, <parts>]`` with ``lead`` full leading slices; parts are ints/slices/tuples."""
    items = [_ALL] * lead
    for p in parts:
        if isinstance(p, tuple):
            items.extend(p)
        else:
            items.append(p)
    return index(items)


def _gather_ctx(plan: GatherPlan, lead: int):
    """Printed pieces of an unrolled gather (im2col) of every phase of ``plan``.

    The column buffer of a phase is viewed as ``(n, groups, channels, T, *grid)``; ``lead`` is
    the number of leading axes before the tap axis (batch + channel axes).
    """
    phases = []
    slot = 0
    for p, ph in enumerate(plan.phases):
        if not ph.identity and ph.n_taps:
            slot += 1
        copies = []
        for t in ph.taps:
            copies.append(
                dict(
                    tap=t.tap,
                    dst=_idx(lead, t.slot, t.dst),
                    src_index=_idx(lead, t.src),
                    zeros=[_idx(lead, t.slot, z) for z in t.zero],
                )
            )
        win = None
        if ph.window is not None and not ph.identity:
            pad = plan.pad
            win = dict(
                start=py(tuple(w.start + lo for w, (lo, _) in zip(ph.window, pad))),
                tap_step=py(tuple(w.tap_step for w in ph.window)),
                out_step=py(tuple(w.out_step for w in ph.window)),
                taps=py(tuple(w.n_taps for w in ph.window)),
            )
        phases.append(
            dict(
                number=p,
                slot=slot,
                window=win,
                out=_idx(lead, ph.out),
                whole=ph.whole,
                shape=ph.shape,
                size=ph.size,
                n_taps=ph.n_taps,
                taps=ph.tap_ids,
                all_taps=ph.tap_ids == tuple(range(plan.n_taps)),
                identity=ph.identity,
                copies=copies,
                grid=py(ph.shape),
            )
        )
    return phases


def _pad_ctx(plan: GatherPlan, lead: int, name: str) -> dict:
    """The zero-bordered copy of a gather's source that its windowed phases read."""
    pad = plan.pad
    windowed = any(ph.window is not None and not ph.identity for ph in plan.phases)
    padded = windowed and any(lo or hi for lo, hi in pad)
    size = tuple(lo + n + hi for (lo, hi), n in zip(pad, plan.src_shape))
    interior = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, plan.src_shape))
    return dict(
        windowed=windowed,
        padded=padded,
        name=name,
        shape=py(size),
        interior=_idx(lead, interior),
    )


def _grouped_weights(layer: Layer) -> dict:
    """The weights as ``W'[g, og, cg, t]`` (``wprime``: the expression reading them off ``w``)
    and ``dw_back``: the expression turning ``dwp``, laid out like ``W'``, into ``dE/dw``."""
    spec = layer.spec
    nd = spec.ndim
    flip = weight_flip(layer)
    G = spec.groups
    cin_g = spec.in_channels // G
    cout_g = spec.out_channels // G
    T = math.prod(spec.kernel_size)
    flip_index = _idx(2, (slice(None, None, -1),) * nd) if flip else ""
    if spec.kind == "conv":
        # W'[g, og, cg, t] = w[g*Og + og, cg, t] (flip: the rotated kernel)
        wprime = f"w{flip_index}.reshape({G}, {cout_g}, {cin_g}, {T})"
        dw_back = f"dwp.reshape({py(spec.w_shape)})"
        if flip:
            dw_back += flip_index
    else:
        # W'[g, og, cg, t] = w[g*Cg + cg, og, t]
        wprime = f"w.reshape({G}, {cin_g}, {cout_g}, {T}).transpose(0, 2, 1, 3)"
        dw_back = f"dwp.transpose(0, 2, 1, 3).reshape({py(spec.w_shape)})"
    return dict(G=G, cin_g=cin_g, cout_g=cout_g, T=T, wprime=wprime, dw_back=dw_back)


def conv_context(layer: Layer, strat: Strategy) -> dict:
    """The context of ``conv.py.jinja`` (im2col / direct / polyphase GEMMs)."""
    spec = layer.spec
    nd = spec.ndim
    plan, inv = strat.plan, strat.inverse
    weights = _grouped_weights(layer)
    G, cin_g, cout_g, T = (weights[k] for k in ("G", "cin_g", "cout_g", "T"))
    K = cin_g * T
    fwd = _gather_ctx(plan, 3)
    bwd = _gather_ctx(inv, 3)
    # groups are processed in blocks whose column buffers stay in cache
    per_group = max(
        sum((cin_g * ph.n_taps + 1) * ph.size for ph in plan.phases),
        sum(cout_g * ph.n_taps * ph.size for ph in inv.phases),
    )
    return dict(
        weights,
        nd=nd,
        K=K,
        in_size=py(spec.input_size),
        out_size=py(spec.output_size),
        fwd=fwd,
        fwd_pad=_pad_ctx(plan, 3, "xp"),
        bwd_pad=_pad_ctx(inv, 3, "dypad"),
        windows=any(ph["window"] for ph in fwd + bwd),
        fwd_single=plan.single,
        fwd_covers=plan.covers_output,
        fwd_all_taps=plan.used_taps == tuple(range(T)),
        bwd=bwd,
        bwd_single=inv.single,
        bwd_covers=inv.covers_output,
        fold_bias=strat.fold_bias,
        dx_scatter=strat.dx_scatter,
        fold=strat.fold_batch,
        blocked=strat.threads and G > 1,
        memo=strat.reuse_columns and not strat.fold_batch,
        fold_memo=strat.reuse_columns and strat.fold_batch,
        wide=_wide_scatter_ctx(plan) if strat.wide_scatter else None,
        per_group=per_group,
        block_bytes=GROUP_BLOCK_BYTES,
        sum_axes=py(tuple(range(2, 2 + nd))),
    )


def _wide_ctx(plan: GatherPlan) -> dict:
    """A single stride-1 phase (:attr:`GatherPlan.unit_window`) laid out "wide": the
    zero-bordered source flattened per channel (row length of the padded source), every tap
    one contiguous run at a constant offset read off the phase's window; the output is
    computed on the wide grid and cropped."""
    ph = plan.phases[0]
    pad = plan.pad
    padded = plan.padded_shape
    strides = [math.prod(padded[a + 1 :]) for a in range(len(padded))]
    grid = ph.shape
    length = plan.wide_length
    taps = []
    slots = itertools.product(*(range(w.n_taps) for w in ph.window))
    for t, m in zip(ph.taps, slots):
        offset = sum(
            (w.start + lo + ma * w.tap_step) * st
            for w, (lo, _), ma, st in zip(ph.window, pad, m, strides)
        )
        taps.append(dict(tap=t.tap, offset=int(offset)))
    size = math.prod(padded)
    flat = max(size, max(t["offset"] for t in taps) + length)
    return dict(
        taps=taps,
        length=length,
        flat=flat,
        padded=py(padded),
        padded_size=size,
        interior=_idx(2, tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, plan.src_shape))),
        wide=py((grid[0],) + padded[1:]),
        crop=_idx(2, (slice(None),) + tuple(slice(0, j) for j in grid[1:])),
    )


def _wide_scatter_ctx(plan: GatherPlan) -> dict:
    """The wide layout of a folded module's dE/dx scatter (:attr:`Strategy.wide_scatter`):
    the wide pieces of :func:`_wide_ctx`, each tap with its row in the GEMM's output (the
    phase's tap order) and the zero-bordered input's interior read with three leading axes
    (group, channel, sample)."""
    wide = _wide_ctx(plan)
    pad = plan.pad
    for row, tap in enumerate(wide["taps"]):
        tap["row"] = row
    wide["interior3"] = _idx(
        3, tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, plan.src_shape))
    )
    return wide


def depthwise_context(layer: Layer, strat: Strategy) -> dict:
    """The context of ``depthwise.py.jinja`` (stride-1 depthwise taps)."""
    spec = layer.spec
    nd = spec.ndim
    plan = strat.plan
    flip_index = _idx(2, (slice(None, None, -1),) * nd) if weight_flip(layer) else ""
    return dict(
        C=spec.in_channels,
        T=plan.n_taps,
        fwd=_wide_ctx(plan),
        bwd=_wide_ctx(strat.inverse),
        wprime=f"w{flip_index}.reshape({spec.in_channels}, {plan.n_taps})",
        dw_back=f"dwt.reshape({py(spec.w_shape)})" + flip_index,
        out_size=py(spec.output_size),
        sum_axes=py(tuple(range(2, 2 + nd))),
        block_bytes=DEPTHWISE_BLOCK_BYTES,
    )


def _tap_list(wide: dict, T: int) -> str:
    """The index picking a wide plan's taps (in its order) off a tap-major weight array: empty
    when they are all the kernel's taps in order."""
    taps = [t["tap"] for t in wide["taps"]]
    return "" if taps == list(range(T)) else py(taps)


def implicit_context(layer: Layer, strat: Strategy) -> dict:
    """The context of ``implicit.py.jinja`` (tap accumulation over wide flat copies)."""
    spec = layer.spec
    weights = _grouped_weights(layer)
    fwd, bwd = _wide_ctx(strat.plan), _wide_ctx(strat.inverse)
    fwd_pick = _tap_list(fwd, weights["T"])
    return dict(
        weights,
        C=spec.in_channels,
        O=spec.out_channels,
        fwd=fwd,
        bwd=bwd,
        fwd_pick=fwd_pick,
        bwd_pick=_tap_list(bwd, weights["T"]),
        # dE/dw starts from zeros when some kernel tap reads nothing
        dw_all_taps=not fwd_pick,
        out_size=py(spec.output_size),
        sum_axes=py(tuple(range(2, 2 + spec.ndim))),
        block_bytes=IMPLICIT_BLOCK_BYTES,
    )


def _tiling(size: int, pad: tuple, out: int) -> dict:
    """One axis of a Winograd F(2, 3) pass: a source of ``size`` entries, zero-padded by
    ``pad = (lo, hi)`` (negative: cropped), correlated with a 3-tap kernel into ``out``
    entries. The output is cut into ``tiles`` tiles of 2 (the last one ragged when ``out`` is
    odd), read from a zero buffer of ``2 * tiles + 2`` entries holding the source's kept part
    ``[src0, src1)`` at ``dst``."""
    lo = pad[0]
    tiles = -(-out // 2)
    padded = 2 * tiles + 2
    src0 = max(0, -lo)
    src1 = max(src0, min(size, padded - lo))
    return dict(tiles=tiles, src=(src0, src1), dst=src0 + lo, out=out)


def _pass(sizes, pads, outs) -> dict:
    """The 2-D arguments of one call of the Winograd module's ``_winograd`` helper."""
    axes = [_tiling(n, p, o) for n, p, o in zip(sizes, pads, outs)]
    return dict(
        crop=py(tuple(v for a in axes for v in a["src"])),
        at=py(tuple(a["dst"] for a in axes)),
        tiles=py(tuple(a["tiles"] for a in axes)),
        out=py(tuple(a["out"] for a in axes)),
    )


def winograd_context(layer: Layer, strat: Strategy) -> dict:
    """The context of ``winograd.py.jinja`` (F(2x2, 3x3) tiles, stride-1 3x3 convolutions).

    The forward correlates x, zero-padded by the layer's padding, with W' (the kernel as read:
    rotated when ``flip``). dE/dx is the stride-1 full correlation of dE/dy with W' rotated and
    its channels swapped: dE/dy padded by ``2 - lo`` / ``2 - hi`` per axis (negative: cropped),
    read into the input's size."""
    spec = layer.spec
    pads = spec.padding
    flip = weight_flip(layer)
    return dict(
        C=spec.in_channels,
        O=spec.out_channels,
        # W'[o, c, k] = the kernel tap that multiplies x at offset k of the window
        wprime="w[:, :, ::-1, ::-1]" if flip else "w",
        # the kernel of dE/dx: W' rotated, channels swapped (flip: w itself, swapped)
        wback="w.transpose(1, 0, 2, 3)" if flip else "w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)",
        flip=flip,
        fwd=_pass(spec.input_size, pads, spec.output_size),
        bwd=_pass(spec.output_size, [(2 - lo, 2 - hi) for lo, hi in pads], spec.input_size),
        dw=_tiling_dw(strat.plan),
        block_bytes=WINOGRAD_BLOCK_BYTES,
    )


def _tiling_dw(plan: GatherPlan) -> dict:
    """dE/dw by GEMM over a zero-bordered flat copy of x (layout (C, sample, row, column), the
    forward plan's padded size, which for a stride-1 3x3 window is the output's size plus 2 per
    axis): the dE/dy of each sample sits in the top-left corner of an equal-sized zero block, so
    that every tap (a, b) reads x as one contiguous run at offset ``a * cols + b`` (``slack``
    zeros after the last block for the runs' ends)."""
    rows, cols = plan.padded_shape
    return dict(
        rows=rows,
        cols=cols,
        dst=_pad_ctx(plan, 2, "xf")["interior"],
        dy=index([_ALL, _ALL, slice(0, rows - 2), slice(0, cols - 2)]),
        offsets=[a * cols + b for a in range(3) for b in range(3)],
        slack=2 * cols + 2,
    )


def pool_context(layer: Layer, strat: Strategy) -> dict:
    """The context of ``pool.py.jinja`` (max / average pool taps)."""
    spec = layer.spec
    ph = strat.plan.phases[0]
    first_full = next((t for t in ph.taps if t.full), None)
    taps = [
        dict(
            tap=t.tap,
            dst=_idx(2, t.dst),
            src=_idx(2, t.src),
            src_space=_idx(0, t.src),
            full=t.full,
            first=first_full is not None and t.tap == first_full.tap,
        )
        for t in ph.taps
    ]
    stages = _pool_stages(layer)
    ctx = dict(
        taps=taps,
        # a box window reads every input position at most once (``disjoint``: scatter without
        # accumulation) / exactly once (``covering``) when each of its axes does
        disjoint=all(st["disjoint"] for st in stages),
        covering=all(st["covering"] for st in stages),
        out_size=py(spec.output_size),
        ties=spec.ties,
        count_include_pad=spec.count_include_pad,
        channels=spec.in_channels,
        in_elems=math.prod(spec.input_size),
        block_bytes=POOL_BLOCK_BYTES,
        in_size=py(spec.input_size),
        stages=stages,
        # a max stage with no tap over its whole output starts from the dtype's lowest value
        lowest=spec.kind == "max_pool"
        and any(not any(t["first"] for t in st["taps"]) for st in stages),
    )
    if spec.kind == "avg_pool":
        ctx.update(_avg_counts(layer))
    return ctx


def _pool_stages(layer: Layer) -> list:
    """One stage per axis, the last axis first: a box window's max or sum is taken axis by
    axis. Each stage's taps (slices along its axis) are read off that axis's index map.

    The order makes the backward of a max pool with ties='first' exact stage by stage: routing
    dy back through the stages (the first axis first) to each stage's first maximal tap gives
    every window's first maximum in row-major tap order. ``disjoint`` / ``covering``: the axis's
    taps read every input position at most once / exactly once; ``pair``: two taps over the
    whole output that split the axis between them (a size-2, stride-2 window)."""
    spec = layer.spec
    stages = []
    pooled = set()
    for a in reversed(range(spec.ndim)):
        m, n, o = layer.axis_maps[a], spec.input_size[a], spec.output_size[a]
        (phase,) = axis_phases(m.source, m.valid, n, a)
        full = [t.dst == slice(0, o) for t in phase.taps]
        first = full.index(True) if any(full) else None
        taps = [
            dict(
                tap=t.tap,
                dst=_idx(2 + a, t.dst),
                src=_idx(2 + a, t.src),
                first=i == first,
                full=f,
            )
            for i, (t, f) in enumerate(zip(phase.taps, full))
        ]
        read = m.source[m.valid]
        disjoint = len(np.unique(read)) == len(read)
        covering = disjoint and len(read) == n
        in_shape = _pooled_shape(spec, pooled)
        pooled.add(a)
        out_shape = _pooled_shape(spec, pooled)
        stages.append(
            dict(
                axis=a,
                taps=taps,
                disjoint=disjoint,
                covering=covering,
                pair=covering and len(taps) == 2 and all(t["full"] for t in taps),
                fwd_in=py(in_shape),  # the array's shape before this stage and after it
                fwd_out=py(out_shape),
            )
        )
    return stages


def _pooled_shape(spec, pooled) -> tuple:
    """The spatial shape of x with the axes in ``pooled`` pooled to the output's size."""
    sizes = zip(spec.input_size, spec.output_size)
    return tuple(o if a in pooled else n for a, (n, o) in enumerate(sizes))


def _avg_counts(layer: Layer) -> dict:
    """Per-axis divisor factors of an average pool, read off the axis maps."""
    spec = layer.spec
    nd = spec.ndim
    per_axis = []
    for m in layer.axis_maps:
        counted = m.in_padded if spec.count_include_pad else m.valid
        per_axis.append(tuple(int(v) for v in counted.sum(axis=1)))
    grid = np.ones((), dtype=np.int64)
    for a, c in enumerate(per_axis):
        shape = [1] * nd
        shape[a] = -1
        grid = grid * np.asarray(c, dtype=np.int64).reshape(shape)
    if not (grid.reshape(-1) == layer.window_sizes).all():
        raise CodegenError(f"codegen: {spec.op}: window sizes are not a product per axis")
    uniform = len(set(grid.reshape(-1).tolist())) == 1
    factors = []
    for a, c in enumerate(per_axis):
        if len(set(c)) == 1:
            continue
        shape = [1] * (nd + 2)
        shape[a + 2] = -1
        factors.append(dict(vals=py(c), shape=py(tuple(shape))))
    return dict(
        uniform_count=int(grid.reshape(-1)[0]) if uniform else None,
        count_factors=factors,
        constant_count=math.prod(c[0] for c in per_axis if len(set(c)) == 1),
    )
