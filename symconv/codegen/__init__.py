"""Code generation: fast, standalone NumPy kernels read off a layer's index map.

``generate_numpy(layer)`` returns the source of a module that needs only NumPy (and the
standard library, for its worker threads) and defines

* conv / conv_transpose: ``forward(x, w, b=None) -> y`` and ``backward(dy, x, w) -> (dx, dw,
  db)``;
* max_pool / avg_pool: ``forward(x) -> y`` and ``backward(dy, x) -> dx``;

on batched arrays ``(N, C, *spatial)`` of float32, float64 or object (``fractions.Fraction``).
The pipeline reads top to bottom in :func:`generate_numpy`: the layer's per-axis index maps
become *gather plans* (which slice of the source each kernel tap reads into which region of the
output grid), the plans pick a strategy, the printer (:mod:`symconv.printing`) prints slices,
offsets and shapes, a jinja2 template in ``templates/numpy/`` lays the module out, and black
formats it.

Gather plans. Per axis, the valid entries of ``AxisMap.source[o, k]`` of every tap ``k`` form
arithmetic progressions in ``o`` (step ``q``) and in the source coordinate (step ``s``): for a
convolution ``q = 1`` and ``s`` is the stride; for a transposed convolution, and for the input
gradient of a strided convolution (the inverse map, also read off the forward map), ``q`` is the
stride and the outputs split into ``q`` *phases* (residues ``o mod q``), each an ordinary
gather. When the taps of a phase are affine (tap ``m`` at grid position ``j`` reads
``start + m*tap_step + j*out_step``, checked against the map entry by entry) the whole phase is
one strided *window view* of a zero-bordered copy of the source; otherwise each tap is one
unrolled strided copy with zero strips. Every slice, offset, step, phase and tap list in the
generated code is read off the index map; nothing here redoes the convolution arithmetic.

Strategies (chosen per spec at generation time, named in the module's docstring and STRATEGY):

* ``direct GEMM``: one tap reading the whole input (1x1, stride 1, no padding): the weights
  multiply ``x`` itself;
* ``im2col GEMM`` / ``polyphase im2col GEMM``: each phase's window is copied once into a column
  buffer (one copy keeps every image in cache while all its taps are copied) and contracted
  with the weights in one batched GEMM (``np.matmul``, BLAS), the bias folded in as a row of
  ones. ``dE/dw`` is one more GEMM over the same columns (reused from the forward when x is
  unchanged); ``dE/dx`` either gathers ``dE/dy`` through the inverse map (polyphase for strides
  > 1) into one GEMM per phase, or (when cheaper, e.g. few input channels) multiplies
  ``W'^T dE/dy`` in one GEMM and scatters it back (col2im). Grouped layers run the same code on
  blocks of groups whose columns stay in cache;
* ``depthwise taps`` (stride-1 depthwise): no channel contraction is left for a GEMM, so the
  taps are unrolled into multiply-adds over a zero-bordered "wide" flat copy of each channel
  (every tap one contiguous run at an offset read off the window), blocked over channels;
* ``pool taps``: window maxima / sums taken axis by axis (one stage per axis map), the backward
  routing dy through one strided view per window tap ('first' / 'split' ties, average), on
  blocks of channels.

Scratch buffers are kept in a small per-module workspace between calls (popped while in use,
so concurrent calls never share one); ``clear_workspace()`` frees them.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy

from ..fileio import write_atomic
from ..core.errors import CodegenError, SpecError
from ..core.layers import Layer
from .printing import formula, index, py
from ..core.spec import dims_text
from ..templating import render

__all__ = [
    "generate_numpy",
    "gather_plan",
    "strategy",
    "Manifest",
    "ManifestEntry",
    "load_manifest",
    "regenerate",
    "register",
]

#: black's line length for generated code (the project's pyproject setting, fixed here so that
#: the output does not depend on the working directory).
LINE_LENGTH = 99

#: Grouped convolutions gather and multiply blocks of groups whose column buffers take about
#: this many bytes (a depthwise layer's tiny GEMMs then read columns from cache).
GROUP_BLOCK_BYTES = 1 << 22

#: Depthwise layers work on blocks of channels whose wide rows take about this many bytes
#: (2 MiB measured 5-10% faster than 4 MiB on the benchmark's depthwise shape, both dtypes).
DEPTHWISE_BLOCK_BYTES = 1 << 21

#: Pools work on blocks of channels of about this many bytes of x (all taps of a block are
#: applied while it is in cache).
POOL_BLOCK_BYTES = 1 << 21


# ---------------------------------------------------------------------- per-axis plans
@dataclass(frozen=True)
class AxisTap:
    """One kernel tap on one axis within one phase: grid region ``dst`` reads ``src``."""

    tap: int
    dst: slice
    src: slice


@dataclass(frozen=True)
class AxisPhase:
    """The outputs ``residue, residue + modulus, ...`` of one axis and the taps reaching them."""

    residue: int
    modulus: int
    count: int
    taps: tuple

    @property
    def out(self) -> slice:
        if self.modulus == 1:
            return slice(None)
        return slice(self.residue, None, self.modulus)


def _progression(values, what):
    """The common step of an increasing arithmetic progression (None for a single value)."""
    if len(values) < 2:
        return None
    steps = np.diff(values)
    if not (steps == steps[0]).all() or steps[0] <= 0:
        raise CodegenError(f"codegen: {what} is not an increasing arithmetic progression")
    return int(steps[0])


def axis_phases(source, valid, n_src: int, axis: int = 0) -> tuple:
    """Split one axis map ``source[o, k]`` (valid where ``valid[o, k]``) into phases.

    Returns a tuple of :class:`AxisPhase`; every valid ``(o, k)`` pair is covered exactly once
    by a tap slice (checked).
    """
    source = np.asarray(source)
    valid = np.asarray(valid, dtype=bool)
    n_out, n_taps = source.shape
    runs = []
    modulus = None
    for k in range(n_taps):
        outs = np.flatnonzero(valid[:, k])
        if not len(outs):
            continue
        q = _progression(outs, f"axis {axis}, tap {k}: the outputs reading a value")
        if q is not None:
            if modulus is not None and q != modulus:
                raise CodegenError(
                    f"codegen: axis {axis}: taps step through the output by {modulus} and {q}"
                )
            modulus = q
        srcs = source[outs, k]
        step = _progression(srcs, f"axis {axis}, tap {k}: the positions read")
        if srcs.min() < 0 or srcs.max() >= n_src:
            raise CodegenError(f"codegen: axis {axis}, tap {k} reads outside the source")
        runs.append((k, outs, srcs, step))
    modulus = modulus or 1
    phases = []
    for r in range(min(modulus, n_out)):
        count = len(range(r, n_out, modulus))
        taps = []
        for k, outs, srcs, step in runs:
            if outs[0] % modulus != r:
                continue
            j0 = (int(outs[0]) - r) // modulus
            j1 = (int(outs[-1]) - r) // modulus + 1
            start = int(srcs[0])
            stop = int(srcs[-1]) + 1
            taps.append(AxisTap(k, slice(j0, j1), slice(start, stop, step or 1)))
        phases.append(AxisPhase(r, modulus, count, tuple(taps)))
    # coverage check: every valid (o, k) appears exactly once
    seen = np.zeros_like(valid)
    for ph in phases:
        for t in ph.taps:
            o = np.arange(t.dst.start, t.dst.stop) * ph.modulus + ph.residue
            src = np.arange(t.src.start, t.src.stop, t.src.step)
            if len(o) != len(src) or not (source[o, t.tap] == src).all():
                raise CodegenError(f"codegen: axis {axis}, tap {t.tap}: slice does not match")
            seen[o, t.tap] = True
    if not (seen == valid).all():
        raise CodegenError(f"codegen: axis {axis}: the phases do not cover the index map")
    return tuple(phases)


def invert_axis_map(source, valid, n_src: int):
    """The inverse of one axis map: ``(inv_source, inv_valid)`` of shape ``(n_src, K)`` with
    ``source[inv_source[i, k], k] == i`` wherever ``inv_valid[i, k]`` (the map of the input
    gradient, read off the forward map)."""
    source = np.asarray(source)
    valid = np.asarray(valid, dtype=bool)
    n_taps = source.shape[1]
    inv = np.zeros((n_src, n_taps), dtype=np.int64)
    ok = np.zeros((n_src, n_taps), dtype=bool)
    o_idx, k_idx = np.nonzero(valid)
    i_idx = source[o_idx, k_idx]
    if ok[i_idx, k_idx].any() or len(set(zip(i_idx.tolist(), k_idx.tolist()))) != len(i_idx):
        raise CodegenError("codegen: the index map is not invertible (a tap reads twice)")
    inv[i_idx, k_idx] = o_idx
    ok[i_idx, k_idx] = True
    return inv, ok


@dataclass(frozen=True)
class AxisWindow:
    """An affine view of one axis of a phase: tap slot ``m`` at grid position ``j`` reads the
    source coordinate ``start + m*tap_step + j*out_step`` (in the padding where the index map
    says the tap reads nothing); ``lo``/``hi`` is the padding that needs."""

    start: int
    tap_step: int
    out_step: int
    n_taps: int
    lo: int
    hi: int


def axis_window(phase: AxisPhase, n_src: int):
    """The :class:`AxisWindow` of a phase, or None when its taps are not affine."""
    taps = phase.taps
    if not taps:
        return None
    steps = {t.src.step for t in taps if t.dst.stop - t.dst.start >= 2}
    if len(steps) > 1:
        return None
    out_step = steps.pop() if steps else 1
    starts = [t.src.start - t.dst.start * out_step for t in taps]
    tap_step = starts[1] - starts[0] if len(starts) > 1 else 0
    j = np.arange(phase.count)
    lo = hi = 0
    for m, t in enumerate(taps):
        if starts[m] != starts[0] + m * tap_step:
            return None
        src = starts[m] + j * out_step
        inside = (src >= 0) & (src < n_src)
        expected = (j >= t.dst.start) & (j < t.dst.stop)
        if not (inside == expected).all():
            return None
        lo = max(lo, -int(src.min()))
        hi = max(hi, int(src.max()) - (n_src - 1))
    return AxisWindow(starts[0], tap_step, out_step, len(taps), lo, hi)


# ---------------------------------------------------------------------- N-d plans
@dataclass(frozen=True)
class TapCopy:
    """One kernel tap of an N-d phase: grid region ``dst`` reads source slices ``src``."""

    tap: int
    slot: int
    dst: tuple
    src: tuple
    zero: tuple  # regions of the phase grid the tap does not reach (read as zero)
    full: bool


@dataclass(frozen=True)
class Phase:
    """One N-d phase: the output positions ``out`` (a grid of ``shape``) and its taps."""

    out: tuple
    shape: tuple
    taps: tuple
    src_shape: tuple
    window: tuple = None  # per-axis AxisWindow when every axis is affine

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def n_taps(self) -> int:
        return len(self.taps)

    @property
    def tap_ids(self) -> tuple:
        return tuple(t.tap for t in self.taps)

    @property
    def whole(self) -> bool:
        """The phase is the whole output grid."""
        return all(s == slice(None) for s in self.out)

    @property
    def identity(self) -> bool:
        """A single tap reading the whole source contiguously onto the whole grid."""
        if len(self.taps) != 1 or not self.taps[0].full:
            return False
        return all(
            s.start == 0 and s.step == 1 and s.stop == n == j
            for s, n, j in zip(self.taps[0].src, self.src_shape, self.shape)
        )


@dataclass(frozen=True)
class GatherPlan:
    """How to gather a source array onto an output grid through an index map, per phase."""

    src_shape: tuple
    out_shape: tuple
    kernel: tuple
    phases: tuple

    @property
    def n_taps(self) -> int:
        return math.prod(self.kernel)

    @property
    def pad(self) -> tuple:
        """Per-axis (lo, hi) padding the windowed phases need (0 where none reads outside)."""
        pads = []
        for axis in range(len(self.src_shape)):
            wins = [ph.window[axis] for ph in self.phases if ph.window and not ph.identity]
            pads.append(
                (max((w.lo for w in wins), default=0), max((w.hi for w in wins), default=0))
            )
        return tuple(pads)

    @property
    def single(self) -> bool:
        return len(self.phases) == 1 and self.phases[0].whole

    @property
    def used_taps(self) -> tuple:
        return tuple(sorted(t for ph in self.phases for t in ph.tap_ids))

    @property
    def covers_output(self) -> bool:
        """Every output position belongs to a phase with at least one tap."""
        return all(ph.taps for ph in self.phases) and sum(
            ph.size for ph in self.phases
        ) == math.prod(self.out_shape)


def gather_plan(maps, src_shape, out_shape, kernel) -> GatherPlan:
    """Combine per-axis maps ``[(source, valid), ...]`` into an N-d :class:`GatherPlan`.

    Taps are numbered row-major over ``kernel`` (the index map's tap order).
    """
    per_axis = [
        axis_phases(src, val, n, axis) for axis, ((src, val), n) in enumerate(zip(maps, src_shape))
    ]
    phases = []
    for combo in itertools.product(*per_axis):
        shape = tuple(p.count for p in combo)
        taps = []
        for slot_taps in itertools.product(*(p.taps for p in combo)):
            tap = int(np.ravel_multi_index(tuple(t.tap for t in slot_taps), kernel))
            dst = tuple(t.dst for t in slot_taps)
            src = tuple(t.src for t in slot_taps)
            zero = []
            for axis, (t, j) in enumerate(zip(slot_taps, shape)):
                before = (slice(None),) * axis
                after = (slice(None),) * (len(shape) - axis - 1)
                if t.dst.start > 0:
                    zero.append(before + (slice(0, t.dst.start),) + after)
                if t.dst.stop < j:
                    zero.append(before + (slice(t.dst.stop, j),) + after)
            full = not zero
            taps.append(TapCopy(tap, 0, dst, src, tuple(zero), full))
        taps.sort(key=lambda t: t.tap)
        taps = tuple(
            TapCopy(t.tap, slot, t.dst, t.src, t.zero, t.full) for slot, t in enumerate(taps)
        )
        window = tuple(axis_window(p, n) for p, n in zip(combo, src_shape))
        if any(w is None for w in window):
            window = None
        phases.append(Phase(tuple(p.out for p in combo), shape, taps, tuple(src_shape), window))
    return GatherPlan(tuple(src_shape), tuple(out_shape), tuple(kernel), tuple(phases))


def forward_plan(layer: Layer) -> GatherPlan:
    """The gather plan of the forward pass, read off ``layer.axis_maps``."""
    spec = layer.spec
    maps = [(m.source, m.valid) for m in layer.axis_maps]
    return gather_plan(maps, spec.input_size, spec.output_size, spec.kernel_size)


def inverse_plan(layer: Layer) -> GatherPlan:
    """The gather plan of the input gradient: ``dE/dy`` gathered through the inverse maps."""
    spec = layer.spec
    maps = [
        invert_axis_map(m.source, m.valid, n) for m, n in zip(layer.axis_maps, spec.input_size)
    ]
    return gather_plan(maps, spec.output_size, spec.input_size, spec.kernel_size)


def _check_against_index_map(layer: Layer, plan: GatherPlan) -> None:
    """The per-axis plan reproduces the layer's flat index map (cheap, done on every run)."""
    spec = layer.spec
    n_out = math.prod(spec.output_size)
    if n_out * plan.n_taps > 4_000_000:
        return
    flat = np.full((n_out, plan.n_taps), -1, dtype=np.int64)
    out_index = np.arange(n_out).reshape(spec.output_size)
    in_index = np.arange(math.prod(spec.input_size)).reshape(spec.input_size)
    for ph in plan.phases:
        grid = out_index[ph.out]
        for t in ph.taps:
            flat[grid[t.dst].reshape(-1), t.tap] = in_index[t.src].reshape(-1)
    if not (flat == layer.index_map).all():
        raise CodegenError(f"codegen: {spec.op}: gather plan disagrees with the index map")


# ---------------------------------------------------------------------- strategy
@dataclass
class Strategy:
    """What the generated module does, decided once per spec."""

    name: str
    summary: str


def _weight_flip(layer: Layer) -> bool:
    taps = np.asarray(layer.weight_tap)
    n = len(taps)
    if (taps == np.arange(n)).all():
        return False
    if (taps == np.arange(n)[::-1]).all():
        return True
    raise CodegenError(f"codegen: {layer.spec.op}: unsupported weight tap order {taps}")


def strategy(layer: Layer) -> str:
    """The name of the strategy :func:`generate_numpy` picks for ``layer``."""
    plan = forward_plan(layer)
    if not layer.spec.is_pool and _depthwise_context(layer, plan, inverse_plan(layer)):
        return "depthwise taps"
    return _plan_strategy(layer, plan).name


def _plan_strategy(layer: Layer, plan: GatherPlan) -> Strategy:
    spec = layer.spec
    if spec.is_pool:
        return Strategy(
            "pool taps",
            f"unrolled {'maximum' if spec.kind == 'max_pool' else 'sum'} over the "
            f"{plan.n_taps} taps' strided views, blocked over channels",
        )
    blocks = (
        " per block of groups (blocked so the columns stay in cache)" if spec.groups > 1 else ""
    )
    if all(ph.identity for ph in plan.phases) and plan.single:
        return Strategy("direct GEMM", f"direct GEMM on the input (one tap, no copy){blocks}")
    if plan.single:
        return Strategy(
            "im2col GEMM",
            f"im2col + GEMM: the {plan.phases[0].n_taps} taps gathered into one column buffer, "
            f"one batched GEMM{blocks}",
        )
    return Strategy(
        "polyphase im2col GEMM",
        f"polyphase im2col + GEMM: {len(plan.phases)} output phases, each a gather and one "
        f"batched GEMM{blocks}",
    )


# ---------------------------------------------------------------------- printing helpers
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


# ---------------------------------------------------------------------- docstring formulas
def _index_symbols(prefix, n):
    return [sympy.Symbol(f"{prefix}{a + 1}" if n > 1 else prefix, integer=True) for a in range(n)]


def _formulas(layer: Layer) -> list:
    """Plain-text general index formulas of forward, dE/dx, dE/dw, dE/db."""
    spec = layer.spec
    nd = spec.ndim
    i = _index_symbols("i", nd)  # output position
    j = _index_symbols("j", nd)  # input position
    k = _index_symbols("k", nd)  # kernel tap
    x, w, y, b = (sympy.IndexedBase(s) for s in ("x", "w", "y", "b"))
    dy, dx, dw, db = (sympy.IndexedBase(s) for s in ("dy", "dx", "dw", "db"))
    n, c, f = sympy.symbols("n c f", integer=True)
    s, d = spec.stride, spec.dilation
    lo = [p[0] for p in spec.padding]
    ks = ", ".join(str(v) for v in k)
    lines = []
    if spec.kind == "conv":
        pos = [spec.tap_position(a, i[a], k[a]) for a in range(nd)]
        wk = [spec.kernel_size[a] - 1 - k[a] for a in range(nd)] if spec.flip else k
        cin_g = spec.in_channels // spec.groups
        cout_g = spec.out_channels // spec.groups
        chan = c if spec.groups == 1 else sympy.floor(f / cout_g) * cin_g + c
        term = w[(f, c, *wk)] * x[(n, chan, *pos)]
        bias = " + b[f]" if spec.bias else ""
        lines.append(
            f"y[n, f, {', '.join(map(str, i))}] = sum over c < {cin_g}, taps ({ks}) of "
            f"{formula(term)}{bias}   (x reads 0 in the padding)"
        )
        inv = [
            (
                f"({formula(j[a] + lo[a] - d[a] * k[a])})/{s[a]}"
                if s[a] > 1
                else formula(j[a] + lo[a] - d[a] * k[a])
            )
            for a in range(nd)
        ]
        lines.append(
            f"dE/dx[n, {'g*' + str(cin_g) + ' + ' if spec.groups > 1 else ''}c, "
            f"{', '.join(map(str, j))}] = sum over f (of the group), taps ({ks}) of "
            f"{formula(w[(f, c, *wk)])} * dy[n, f, {', '.join(inv)}]   (terms whose output "
            "index is an integer inside the output)"
        )
        lines.append(
            f"dE/dw[f, c, {', '.join(map(str, wk))}] = sum over n, "
            f"({', '.join(map(str, i))}) of {formula(dy[(n, f, *i)] * x[(n, chan, *pos)])}"
        )
    elif spec.kind == "conv_transpose":
        cin_g = spec.in_channels // spec.groups
        cout_g = spec.out_channels // spec.groups
        chan = f if spec.groups == 1 else sympy.floor(c / cin_g) * cout_g + f
        pos = [spec.tap_position(a, j[a], k[a]) for a in range(nd)]
        bias = " + b[f]" if spec.bias else ""
        lines.append(
            f"y[n, {formula(chan)}, {', '.join(formula(p) for p in pos)}] += "
            f"{formula(x[(n, c, *j)] * w[(c, f, *k)])} for every input position "
            f"({', '.join(map(str, j))}) and tap ({ks}) landing inside the output{bias}"
        )
        lines.append(
            f"dE/dx[n, c, {', '.join(map(str, j))}] = sum over f < {cout_g}, taps ({ks}) of "
            f"{formula(w[(c, f, *k)] * dy[(n, chan, *pos)])}   (inside the output)"
        )
        lines.append(
            f"dE/dw[c, f, {ks}] = sum over n, ({', '.join(map(str, j))}) of "
            f"{formula(x[(n, c, *j)] * dy[(n, chan, *pos)])}   (inside the output)"
        )
    else:
        pos = [spec.tap_position(a, i[a], k[a]) for a in range(nd)]
        at = formula(x[(n, c, *pos)])
        outs = ", ".join(map(str, i))
        if spec.kind == "max_pool":
            lines.append(f"y[n, c, {outs}] = max over taps ({ks}) of {at}   (padding reads -inf)")
            rule = (
                "the first maximal tap in row-major order"
                if spec.ties == "first"
                else "each of the m maximal taps, dy/m each"
            )
            lines.append(
                f"dE/dx[n, c, j] = sum over windows (n, c, {outs}) whose max is at j of "
                f"dy[n, c, {outs}]; ties: {rule}"
            )
        else:
            rule = (
                "the taps inside input + padding"
                if spec.count_include_pad
                else "the taps inside the input"
            )
            lines.append(
                f"y[n, c, {outs}] = (sum over taps ({ks}) inside the input of {at}) / "
                f"count[{outs}], count = {rule}"
            )
            lines.append(
                f"dE/dx[n, c, j] = sum over windows (n, c, {outs}) containing j of "
                f"dy[n, c, {outs}] / count[{outs}]"
            )
    if spec.bias:
        outs = ", ".join(map(str, i))
        lines.append(f"dE/db[f] = sum over n, ({outs}) of dy[n, f, {outs}]")
    return lines


def _small_derivation(layer: Layer):
    """A derivation for the docstring: the layer itself when small, else None."""
    from ..core.derive import derive

    spec = layer.spec
    terms = (
        math.prod(spec.y_shape)
        * math.prod(spec.kernel_size)
        * max(1, spec.in_channels // spec.groups)
    )
    if terms > 64:
        return None
    return derive(layer)


def _identity_statements(layer: Layer) -> list:
    """The identities symconv states for this kind of layer, from a reduced derivation."""
    from ..core.derive import derive
    from ..core.spec import LayerSpec

    spec = layer.spec
    sizes = tuple(
        max(1, e - lo - hi) + s
        for e, (lo, hi), s in zip(spec.effective_kernel, spec.padding, spec.stride)
    )
    kwargs = dict(
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
        ties=spec.ties,
        bias=spec.bias,
        flip=spec.flip,
        output_padding=spec.output_padding,
    )
    try:
        small = Layer(LayerSpec.build(spec.kind, sizes, spec.kernel_size, **kwargs))
        if math.prod(small.spec.y_shape) * math.prod(spec.kernel_size) > 400:
            return []
        return [ident.statement for ident in derive(small).identities]
    except SpecError:
        return []


def _worked_entries(deriv) -> list:
    """``name = expression`` lines of a small derivation."""
    lines = []

    def flat(arr):
        return sympy.flatten(arr.tolist()) if arr.rank() > 1 else list(arr)

    for ysym, expr in zip(flat(deriv.y_symbols), flat(deriv.y)):
        lines.append(f"{ysym} = {expr}")
    for xsym, expr in zip(flat(deriv.x), flat(deriv.grad_x)):
        lines.append(f"dE/d{xsym} = {expr}")
    if deriv.grad_w is not None:
        for wsym, expr in zip(flat(deriv.w), flat(deriv.grad_w)):
            lines.append(f"dE/d{wsym} = {expr}")
    if deriv.grad_b is not None:
        for bsym, expr in zip(flat(deriv.b), flat(deriv.grad_b)):
            lines.append(f"dE/d{bsym} = {expr}")
    return lines


# ---------------------------------------------------------------------- CLI reproduction
def cli_command(spec) -> str:
    """The ``symconv codegen`` command line that rebuilds ``spec``."""
    kind = spec.kind.replace("_", "-")
    parts = [f"symconv codegen {kind}", f"--input-size {dims_text(spec.input_size)}"]
    parts.append(f"--kernel-size {dims_text(spec.kernel_size)}")
    if spec.has_weight:
        parts.append(f"--in-channels {spec.in_channels} --out-channels {spec.out_channels}")
    else:
        parts.append(f"--channels {spec.in_channels}")
    parts.append(f"--stride {dims_text(spec.stride)}")
    if any(lo != hi for lo, hi in spec.padding):
        parts.append("--padding " + "x".join(f"{lo}:{hi}" for lo, hi in spec.padding))
    else:
        parts.append(f"--padding {dims_text([lo for lo, _ in spec.padding])}")
    for name, value in spec.extra_options():
        flag = "--" + name.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif value is False:
            parts.append("--no-" + name.replace("_", "-"))
        else:
            parts.append(f"{flag} {dims_text(value) if isinstance(value, tuple) else value}")
    return " ".join(parts)


# ---------------------------------------------------------------------- template contexts
def _gather_ctx(plan: GatherPlan, lead: int, src_name: str, channel_shape: tuple):
    """Printed pieces of an unrolled gather (im2col) of every phase of ``plan``.

    The column buffer of a phase is viewed as ``(n, *channel_shape, T, *grid)``; ``lead`` is
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
                    src=f"{src_name}{_idx(lead, t.src)}",
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


def _conv_context(layer: Layer) -> dict:
    spec = layer.spec
    nd = spec.ndim
    plan = forward_plan(layer)
    _check_against_index_map(layer, plan)
    inv = inverse_plan(layer)
    strat = _plan_strategy(layer, plan)
    flip = _weight_flip(layer)
    G = spec.groups
    cin_g = spec.in_channels // G
    cout_g = spec.out_channels // G
    T = plan.n_taps
    K = cin_g * T
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
    fold_bias = spec.bias and plan.single and not plan.phases[0].identity
    fwd = _gather_ctx(plan, 3, "xb", (G, cin_g))
    bwd = _gather_ctx(inv, 3, "dyb", (G, cout_g))
    # dE/dx: gather dE/dy through the inverse map (copies, Og*T per input position) or
    # scatter W'^T dE/dy back through the forward map (col2im: read-modify-write adds, Cg*T
    # per output position); the cheaper one is generated
    gather_cost = sum(cout_g * ph.n_taps * ph.size for ph in inv.phases if not ph.identity)
    scatter_cost = 2 * sum(cin_g * ph.n_taps * ph.size for ph in plan.phases)
    dx_scatter = scatter_cost < gather_cost
    # groups are processed in blocks whose column buffers stay in cache
    per_group = max(
        sum((cin_g * ph.n_taps + 1) * ph.size for ph in plan.phases),
        sum(cout_g * ph.n_taps * ph.size for ph in inv.phases),
    )
    ctx = dict(
        nd=nd,
        G=G,
        cin_g=cin_g,
        cout_g=cout_g,
        T=T,
        K=K,
        in_size=py(spec.input_size),
        out_size=py(spec.output_size),
        wprime=wprime,
        dw_back=dw_back,
        fwd=fwd,
        fwd_pad=_pad_ctx(plan, 3, "xp"),
        bwd_pad=_pad_ctx(inv, 3, "dyp_"),
        windows=any(ph["window"] for ph in fwd + bwd),
        fwd_single=plan.single,
        fwd_covers=plan.covers_output,
        fwd_all_taps=plan.used_taps == tuple(range(T)),
        bwd=bwd,
        bwd_single=inv.single,
        bwd_covers=inv.covers_output,
        fold_bias=fold_bias,
        dx_scatter=dx_scatter,
        blocked=G > 1,
        memo=G == 1 and any(not ph.identity and ph.n_taps for ph in plan.phases),
        fwd_unrolled=any(
            ph["window"] is None and not ph["identity"] and ph["n_taps"] for ph in fwd
        ),
        per_group=per_group,
        block_bytes=GROUP_BLOCK_BYTES,
        sum_axes=py(tuple(range(2, 2 + nd))),
    )
    return ctx, strat, plan, inv


def _wide_ctx(plan: GatherPlan):
    """A single stride-1 phase laid out "wide": the zero-bordered source flattened per channel
    (row length of the padded source), every tap one contiguous run at a constant offset read
    off the phase's window; the output is computed on the wide grid and cropped. None when the
    plan does not have that form."""
    if not plan.single:
        return None
    ph = plan.phases[0]
    if ph.window is None or any(w.out_step != 1 for w in ph.window):
        return None
    pad = plan.pad
    padded = tuple(lo + n + hi for (lo, hi), n in zip(pad, plan.src_shape))
    strides = [math.prod(padded[a + 1 :]) for a in range(len(padded))]
    grid = ph.shape
    length = grid[0] * strides[0]
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


def _depthwise_context(layer: Layer, plan: GatherPlan, inv: GatherPlan):
    """The depthwise-taps template's context, or None when the layer is not a stride-1
    depthwise convolution."""
    spec = layer.spec
    if spec.kind != "conv" or not spec.in_channels == spec.out_channels == spec.groups:
        return None
    if plan.n_taps < 2:
        return None
    fwd, bwd = _wide_ctx(plan), _wide_ctx(inv)
    if fwd is None or bwd is None:
        return None
    nd = spec.ndim
    flip = _weight_flip(layer)
    flip_index = _idx(2, (slice(None, None, -1),) * nd) if flip else ""
    dw_back = f"dwt.reshape({py(spec.w_shape)})" + flip_index
    return dict(
        C=spec.in_channels,
        T=plan.n_taps,
        fwd=fwd,
        bwd=bwd,
        wprime=f"w{flip_index}.reshape({spec.in_channels}, {plan.n_taps})",
        dw_back=dw_back,
        in_size=py(spec.input_size),
        out_size=py(spec.output_size),
        sum_axes=py(tuple(range(2, 2 + nd))),
        block_bytes=DEPTHWISE_BLOCK_BYTES,
    )


def _pool_context(layer: Layer) -> dict:
    spec = layer.spec
    nd = spec.ndim
    plan = forward_plan(layer)
    _check_against_index_map(layer, plan)
    strat = _plan_strategy(layer, plan)
    ph = plan.phases[0]
    if not plan.single:
        raise CodegenError(f"codegen: {spec.op}: a pool's index map must have one phase")
    first_full = next((t for t in ph.taps if t.full), None)
    taps = []
    for t in ph.taps:
        taps.append(
            dict(
                tap=t.tap,
                dst=_idx(2, t.dst),
                src=_idx(2, t.src),
                full=t.full,
                first=first_full is not None and t.tap == first_full.tap,
            )
        )
    # scatter without accumulation when every input position is read at most once
    flat = layer.index_map[layer.index_map >= 0]
    disjoint = len(np.unique(flat)) == len(flat)
    covering = disjoint and len(flat) == math.prod(spec.input_size)
    ctx = dict(
        nd=nd,
        taps=taps,
        first_full=first_full is not None,
        disjoint=disjoint,
        covering=covering,
        out_size=py(spec.output_size),
        sum_axes=py(tuple(range(2, 2 + nd))),
        idx_dtype="np.int8" if plan.n_taps < 127 else "np.int32",
        ties=spec.ties,
        spec_count_include_pad=spec.count_include_pad,
        channels=spec.in_channels,
        in_elems=math.prod(spec.input_size),
        block_bytes=POOL_BLOCK_BYTES,
    )
    if spec.kind == "avg_pool":
        ctx.update(_avg_counts(layer))
    ctx["stages"] = _pool_stages(layer)
    return ctx, strat, plan


def _pool_stages(layer: Layer) -> list:
    """One stage per axis: a box window's max or sum is taken axis by axis. Each stage's taps
    (slices along its axis) are read off that axis's index map."""
    spec = layer.spec
    stages = []
    for a, (m, n, o) in enumerate(zip(layer.axis_maps, spec.input_size, spec.output_size)):
        (phase,) = axis_phases(m.source, m.valid, n, a)
        full = [t for t in phase.taps if t.dst == slice(0, o)]
        first = full[0].tap if full else None
        taps = [
            dict(
                tap=t.tap,
                dst=_idx(2 + a, t.dst),
                src=_idx(2 + a, t.src),
                first=t.tap == first,
                full=t.dst == slice(0, o),
            )
            for t in phase.taps
        ]
        read = m.source[m.valid]
        disjoint = len(np.unique(read)) == len(read)
        stages.append(
            dict(
                axis=a,
                taps=taps,
                has_first=first is not None,
                disjoint=disjoint,
                covering=disjoint and len(read) == n,
                # the array's shape after this stage (axes up to this one pooled)
                fwd_out=py(
                    tuple(
                        o_ if b <= a else n_
                        for b, (n_, o_) in enumerate(zip(spec.input_size, spec.output_size))
                    )
                ),
            )
        )
    return stages


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


def _header(layer: Layer, template: str) -> dict:
    from .. import __version__

    spec = layer.spec
    return dict(
        version=__version__,
        template=f"templates/{template}",
        spec_repr=repr(spec),
        command=cli_command(spec),
        op=spec.op,
        kind=spec.kind,
        x_shape=py(spec.x_shape),
        y_shape=py(spec.y_shape),
        w_shape=py(spec.w_shape) if spec.has_weight else "None",
        b_shape=py(spec.b_shape) if spec.bias else "None",
        bias=spec.bias,
        has_weight=spec.has_weight,
        describe=spec.describe(),
    )


def _docstring(layer: Layer, strat: Strategy, extra: list) -> dict:
    lines = _formulas(layer)
    deriv = _small_derivation(layer)
    return dict(
        formulas=lines,
        worked=_worked_entries(deriv) if deriv is not None else [],
        identities=_identity_statements(layer),
        strategy=strat.summary,
        strategy_name=strat.name,
        strategy_lines=extra,
    )


# ---------------------------------------------------------------------- the pipeline
def generate_numpy(layer) -> str:
    """The source of a standalone NumPy module with ``forward`` and ``backward`` for ``layer``.

    Deterministic: the same layer gives byte-identical, black-formatted source.
    """
    if not isinstance(layer, Layer):
        raise SpecError(
            f"generate_numpy: layer must be a symconv layer (from symconv.conv, ...), "
            f"got {layer!r}"
        )
    spec = layer.spec
    if spec.is_pool:
        template = "numpy/pool.py.jinja"
        ctx, strat, plan = _pool_context(layer)
        extra = [
            f"{plan.n_taps} taps; the index map gives each tap one strided slice of x and "
            "one region of y",
        ]
    else:
        plan, inv = forward_plan(layer), inverse_plan(layer)
        dw_ctx = _depthwise_context(layer, plan, inv)
        if dw_ctx is not None:
            _check_against_index_map(layer, plan)
            template = "numpy/depthwise.py.jinja"
            ctx = dw_ctx
            strat = Strategy(
                "depthwise taps",
                "depthwise taps: one channel per group leaves no channel contraction for a "
                "GEMM, so the taps are unrolled into multiply-adds over a zero-bordered wide "
                "flat copy of each channel, blocked over channels",
            )
            extra = [
                f"{plan.n_taps} taps, each one contiguous run at a constant offset (read off "
                "the index map's windows); dE/dx runs the taps of the inverse map over dE/dy, "
                "dE/dw reduces dE/dy against each tap's run of x",
            ]
        else:
            template = "numpy/conv.py.jinja"
            ctx, strat, plan, inv = _conv_context(layer)
            extra = _conv_strategy_lines(layer, ctx, plan, inv, strat)
    source = render(
        template,
        rstrip=str.rstrip,
        **_header(layer, template),
        doc=_docstring(layer, strat, extra),
        **ctx,
    )
    return format_source(source, what=f"{spec.op} module")


def _conv_strategy_lines(layer, ctx, plan, inv, strat) -> list:
    lines = []

    def describe(p, what):
        parts = []
        for ph in p.phases:
            if ph.identity:
                kind = "direct, no copy"
            elif ph.window is not None:
                kind = f"{ph.n_taps} taps, one copy of a strided window view"
            else:
                kind = f"{ph.n_taps} unrolled tap copies"
            parts.append(f"{dims_text(ph.shape)} grid ({kind})")
        return f"{what}: " + "; ".join(parts)

    lines.append(describe(plan, "forward (and dE/dw) phases"))
    if ctx["dx_scatter"]:
        lines.append(
            "dE/dx: one GEMM W'^T dE/dy per forward phase, scattered back through the index "
            "map (col2im: fewer copies than gathering dE/dy for this spec)"
        )
    else:
        lines.append(describe(inv, "dE/dx phases (dE/dy gathered through the inverse index map)"))
    if ctx["memo"]:
        lines.append(
            "backward reuses the forward's columns of x when x is unchanged (compared with the "
            "copy the forward kept), else gathers them again"
        )
    if ctx["fold_bias"]:
        lines.append(
            "the bias is folded into the GEMM as a row of ones (dE/db falls out of dE/dw)"
        )
    return lines


def format_source(source: str, what: str = "module") -> str:
    """Format generated Python with black (line length 99)."""
    import black

    try:
        return black.format_str(source, mode=black.Mode(line_length=LINE_LENGTH))
    except Exception as exc:  # black raises several exception types for bad input
        raise CodegenError(
            f"codegen: black could not format the generated {what}: {exc}"
        ) from None


# ---------------------------------------------------------------------- manifest
MANIFEST_NAME = "manifest.toml"
_MANIFEST_KEYS = {
    "file",
    "description",
    "kind",
    "input_size",
    "kernel_size",
    "in_channels",
    "out_channels",
    "channels",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "flip",
    "output_padding",
    "ceil_mode",
    "count_include_pad",
    "ties",
}


@dataclass(frozen=True)
class ManifestEntry:
    """One generated module: the file name (inside ``generated/``) and the layer."""

    file: str
    description: str
    params: tuple

    def layer(self) -> Layer:
        from ..core import layers

        p = dict(self.params)
        kind = p.pop("kind")
        args = (_tuplify(p.pop("input_size")), _tuplify(p.pop("kernel_size")))
        p = {k: _tuplify(v) for k, v in p.items()}
        builders = {
            "conv": layers.conv,
            "conv_transpose": layers.conv_transpose,
            "max_pool": layers.max_pool,
            "avg_pool": layers.avg_pool,
        }
        if kind not in builders:
            raise CodegenError(f"manifest: {self.file}: kind must be one of {sorted(builders)}")
        try:
            return builders[kind](*args, **p)
        except TypeError as exc:
            raise CodegenError(f"manifest: {self.file}: {exc}") from None
        except SpecError as exc:
            raise CodegenError(f"manifest: {self.file}: {exc}") from None


def _tuplify(v):
    if isinstance(v, list):
        return tuple(_tuplify(e) for e in v)
    return v


@dataclass(frozen=True)
class Manifest:
    path: Path
    entries: tuple

    @property
    def folder(self) -> Path:
        return self.path.parent


def parse_manifest_text(text: str, where: str = MANIFEST_NAME) -> list:
    """The ``[[module]]`` tables of a manifest as dicts.

    Uses ``tomllib`` when available (Python 3.11+); otherwise a parser for the subset the
    manifest is written in: comments, ``[[module]]`` headers and one ``key = value`` per line
    with the value in JSON syntax (which TOML's strings, integers, booleans and arrays are).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = None
    if tomllib is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CodegenError(f"{where}: invalid TOML: {exc}") from None
        tables = data.get("module", [])
        if set(data) - {"module"}:
            raise CodegenError(f"{where}: only [[module]] tables are allowed, got {sorted(data)}")
        return tables
    tables = []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "[[module]]":
            current = {}
            tables.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise CodegenError(
                f"{where}:{number}: expected [[module]] or key = value, got {raw!r}"
            )
        try:
            current[key.strip()] = json.loads(value.strip())
        except json.JSONDecodeError as exc:
            raise CodegenError(f"{where}:{number}: bad value {value.strip()!r}: {exc}") from None
    return tables


def load_manifest(path) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodegenError(f"manifest {path}: {exc.strerror or exc}") from None
    entries = []
    names = set()
    for n, table in enumerate(parse_manifest_text(text, str(path)), 1):
        unknown = set(table) - _MANIFEST_KEYS
        if unknown:
            raise CodegenError(f"{path}: module {n}: unknown keys {sorted(unknown)}")
        if "file" not in table or "kind" not in table:
            raise CodegenError(f"{path}: module {n}: 'file' and 'kind' are required")
        name = table["file"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.py", name):
            raise CodegenError(
                f"{path}: module {n}: file must be a lowercase python file name, got {name!r}"
            )
        if name in names:
            raise CodegenError(f"{path}: module {n}: file {name!r} is listed twice")
        names.add(name)
        params = tuple((k, v) for k, v in table.items() if k not in ("file", "description"))
        entries.append(ManifestEntry(name, table.get("description", ""), params))
    return Manifest(path, tuple(entries))


def default_generated_dir() -> Path:
    """``./generated`` when it holds a manifest, else the repository's ``generated/``."""
    here = Path.cwd() / "generated"
    if (here / MANIFEST_NAME).is_file():
        return here
    repo = Path(__file__).resolve().parents[2] / "generated"
    if (repo / MANIFEST_NAME).is_file():
        return repo
    raise CodegenError(
        f"no generated/{MANIFEST_NAME} in {Path.cwd()} or {repo.parent}; pass --dir"
    )


@dataclass
class RegenerateResult:
    written: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    diffs: list = field(default_factory=list)


def regenerate(folder=None, *, check: bool = False, out=None) -> RegenerateResult:
    """Regenerate every module of ``folder/manifest.toml`` (check only with ``check=True``).

    ``out`` (a folder) writes the modules there instead of next to the manifest.
    """
    folder = Path(folder) if folder is not None else default_generated_dir()
    manifest = load_manifest(folder / MANIFEST_NAME)
    target = Path(out) if out is not None else folder
    result = RegenerateResult()
    for entry in manifest.entries:
        source = generate_numpy(entry.layer())
        path = target / entry.file
        try:
            old = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = None
        if old == source:
            continue
        result.stale.append(entry.file)
        if check:
            result.diffs.append(
                "".join(
                    difflib.unified_diff(
                        (old or "").splitlines(keepends=True),
                        source.splitlines(keepends=True),
                        fromfile=f"{entry.file} (committed)" if old is not None else "/dev/null",
                        tofile=f"{entry.file} (regenerated)",
                    )
                )
            )
        else:
            write_atomic(path, source)
            result.written.append(entry.file)
    return result


# ---------------------------------------------------------------------- CLI
def _run_codegen(args) -> int:
    from ..cli import layer_from_args

    source = generate_numpy(layer_from_args(args))
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        write_atomic(args.output, source)
    return 0


def _run_regenerate(args) -> int:
    result = regenerate(args.dir, check=args.check)
    if args.check:
        for diff in result.diffs:
            sys.stdout.write(diff)
        if result.stale:
            print(
                f"error: {len(result.stale)} generated file(s) are stale: "
                f"{', '.join(result.stale)}; run 'symconv regenerate'",
                file=sys.stderr,
            )
            return 1
        print("generated files are up to date")
        return 0
    for name in result.written:
        print(f"wrote {name}")
    if not result.written:
        print("generated files are up to date")
    return 0


def register(sub) -> None:
    """Add ``codegen`` and ``regenerate`` to the CLI."""
    from ..cli import add_layer_options

    p = sub.add_parser(
        "codegen",
        help="write a standalone NumPy module (forward/backward) for a layer",
        description="Generate a standalone NumPy module with forward() and backward() for the "
        "layer: vectorized kernels read off the index map, the derived formulas in its "
        "docstring. It needs only NumPy (and the standard library).",
    )
    add_layer_options(p)
    p.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    p.set_defaults(func=_run_codegen)
    p = sub.add_parser(
        "regenerate",
        help="rewrite the committed modules listed in generated/manifest.toml",
        description="Regenerate every module listed in generated/manifest.toml. With --check, "
        "write nothing, print a unified diff of every stale file and exit 1 if any.",
    )
    p.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    p.add_argument("--dir", default=None, help="folder holding manifest.toml (default: generated)")
    p.set_defaults(func=_run_regenerate)
