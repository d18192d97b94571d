"""Gather plans: how every kernel tap of a layer reads its source, read off the index map.

Per axis, the valid entries of ``AxisMap.source[o, k]`` of every tap ``k`` form arithmetic
progressions in ``o`` (step ``q``) and in the source coordinate (step ``s``): for a
convolution ``q = 1`` and ``s`` is the stride; for a transposed convolution, and for the input
gradient of a strided convolution (the inverse map, also read off the forward map), ``q`` is the
stride and the outputs split into ``q`` *phases* (residues ``o mod q``), each an ordinary
gather. When the taps of a phase are affine (tap ``m`` at grid position ``j`` reads
``start + m*tap_step + j*out_step``, checked against the map entry by entry) the whole phase is
one strided *window view* of a zero-bordered copy of the source; otherwise each tap is one
unrolled strided copy with zero strips. The per-axis plans combine into an N-d
:class:`GatherPlan`; every slice, offset, step, phase and tap list in the generated code comes
from one, and nothing here redoes the convolution arithmetic.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import CodegenError
from ..core.layers import Layer

__all__ = [
    "AxisTap",
    "AxisPhase",
    "AxisWindow",
    "TapCopy",
    "Phase",
    "GatherPlan",
    "axis_phases",
    "axis_window",
    "invert_axis_map",
    "gather_plan",
    "forward_plan",
    "inverse_plan",
    "check_against_index_map",
]


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
    def unit_window(self) -> bool:
        """One phase, the whole grid, read through an affine window with unit output steps:
        every tap is then one contiguous run of the flattened, zero-bordered source."""
        if not self.single or self.phases[0].window is None:
            return False
        return all(w.out_step == 1 for w in self.phases[0].window)

    @property
    def padded_shape(self) -> tuple:
        """The shape of the zero-bordered source (:attr:`pad` added on every axis)."""
        return tuple(lo + n + hi for (lo, hi), n in zip(self.pad, self.src_shape))

    @property
    def wide_length(self) -> int:
        """A :attr:`unit_window` plan laid out "wide": the outputs computed per channel, the
        output grid's first axis times the padded source's other axes (the extra columns
        are cropped)."""
        return self.phases[0].shape[0] * math.prod(self.padded_shape[1:])

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


def check_against_index_map(layer: Layer, plan: GatherPlan) -> None:
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
