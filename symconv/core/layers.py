"""Symbolic layers: a spec plus its index map.

The index map is the single source of truth for the convolution arithmetic. For every output
position ``o`` (row-major over the output's spatial size) and every kernel tap ``t`` (row-major
over the kernel), it records which input position the tap reads:

* ``index_map[o, t]`` - the flat input position (row-major over ``input_size``), or ``-1``
  when the tap reads padding or (transposed convolution) nothing;
* ``pad_mask[o, t]`` - the tap lies inside the padded extent but outside the input
  (it reads a padding value: 0 for conv/avg, -inf for max);
* ``weight_tap[t]`` - the kernel tap whose weight multiplies it (reversed when ``flip=True``).

It is the product of one small map per axis (:attr:`Layer.axis_maps`), from which generated
code reads its slices. Forward expressions, gradients, the Toeplitz matrix, LaTeX and
generated code are all read off these arrays.

The whole arrays are built only within the budgets of :mod:`symconv.core.budget`
(:data:`~symconv.core.budget.MAX_MAP_ENTRIES`, :data:`~symconv.core.budget.MAX_AXIS_ENTRIES`);
single rows, columns, counts and window sizes are read lazily, in closed form per axis
(:meth:`Layer.forward_row`, :meth:`Layer.input_row`, :meth:`Layer.tap_column`,
:meth:`Layer.window_size`, :mod:`symconv.core.lazymap`), on a layer of any size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import budget, lazymap
from .errors import SpecError
from .spec import LayerSpec

__all__ = ["Layer", "AxisMap", "conv", "conv_transpose", "max_pool", "avg_pool"]


@dataclass(frozen=True)
class AxisMap:
    """Index map of one spatial axis.

    ``source[o, k]`` is the input coordinate read by output ``o`` through kernel tap ``k``
    (unpadded coordinates, may be negative or past the end when it falls in padding);
    ``valid[o, k]`` says it is a real input element; ``in_padded[o, k]`` says it lies inside the
    padded extent (input or padding, not the ceil_mode overhang). For a transposed
    convolution ``source`` is the input coordinate ``i`` with ``i*s + k*d - lo == o`` and
    ``valid`` is False where no such ``i`` exists.
    """

    source: np.ndarray
    valid: np.ndarray
    in_padded: np.ndarray


class Layer:
    """A layer spec and its index map. Build one with :func:`conv`, :func:`conv_transpose`,
    :func:`max_pool` or :func:`avg_pool`; pass it to :func:`symconv.derive`."""

    def __init__(self, spec: LayerSpec):
        self.spec = spec

    # convenient views of the spec
    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def ndim(self) -> int:
        return self.spec.ndim

    @property
    def input_size(self) -> tuple:
        return self.spec.input_size

    @property
    def output_size(self) -> tuple:
        return self.spec.output_size

    def __repr__(self) -> str:
        return repr(self.spec)

    def __eq__(self, other) -> bool:
        return isinstance(other, Layer) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    # ------------------------------------------------------------------ the index map
    @cached_property
    def axis_maps(self) -> tuple:
        """One :class:`AxisMap` per spatial axis (within :data:`budget.MAX_AXIS_ENTRIES`)."""
        spec = self.spec
        budget.check_axes(spec)
        maps = []
        for axis, (n, k, s, d, lo, hi, _, o_len) in enumerate(spec.axes):
            o = np.arange(o_len)[:, None]
            t = np.arange(k)[None, :]
            if spec.kind == "conv_transpose":
                num = o + lo - t * d  # tap_position(axis, src, t) == o, solved for src
                src = np.floor_divide(num, s)
                valid = (num % s == 0) & (src >= 0) & (src < n)
                in_padded = np.zeros_like(valid)
            else:
                src = spec.tap_position(axis, o, t)
                valid = (src >= 0) & (src < n)
                in_padded = (src >= -lo) & (src < n + hi)
            maps.append(AxisMap(src.astype(np.int64), valid, in_padded))
        return tuple(maps)

    @cached_property
    def _flat_maps(self):
        spec = self.spec
        size = math.prod(spec.output_size) * math.prod(spec.kernel_size)
        budget.check(
            spec.op, "the whole index map", size, "entries", "MAX_MAP_ENTRIES", budget.WHOLE
        )
        nd = spec.ndim
        index = np.zeros((1, 1), dtype=np.int64)
        valid = np.ones((1, 1), dtype=bool)
        in_padded = np.ones((1, 1), dtype=bool)
        for axis, amap in enumerate(self.axis_maps):
            o_len, k_len = amap.source.shape
            stride = math.prod(spec.input_size[axis + 1 :]) if axis < nd - 1 else 1
            contrib = np.where(amap.valid, amap.source, 0) * stride
            index = (index[:, None, :, None] + contrib[None, :, None, :]).reshape(
                index.shape[0] * o_len, index.shape[1] * k_len
            )
            valid = (valid[:, None, :, None] & amap.valid[None, :, None, :]).reshape(index.shape)
            in_padded = (in_padded[:, None, :, None] & amap.in_padded[None, :, None, :]).reshape(
                index.shape
            )
        index = np.where(valid, index, -1)
        pad_mask = in_padded & ~valid
        index.setflags(write=False)
        pad_mask.setflags(write=False)
        return index, pad_mask

    @property
    def index_map(self) -> np.ndarray:
        """(n_out, n_taps) flat input position read by each (output, tap), -1 for none.
        Whole, so only within :data:`budget.MAX_MAP_ENTRIES`; the lazy readings below work on
        any size."""
        return self._flat_maps[0]

    @property
    def pad_mask(self) -> np.ndarray:
        """(n_out, n_taps) True where the tap reads a padding value."""
        return self._flat_maps[1]

    @cached_property
    def weight_tap(self) -> np.ndarray:
        """(n_taps,) kernel tap whose weight tap ``t`` uses (reversed for true convolution)."""
        n = math.prod(self.spec.kernel_size)
        taps = np.arange(n)[::-1] if self.spec.flip else np.arange(n)
        taps = taps.copy()
        taps.setflags(write=False)
        return taps

    @cached_property
    def window_sizes(self) -> np.ndarray:
        """(n_out,) number of taps per output counted by an average pool's divisor
        (taps inside the padded extent when count_include_pad, real inputs otherwise): the
        product of its axes' counts, within :data:`budget.MAX_MAP_ENTRIES` outputs."""
        spec = self.spec
        n_out = math.prod(spec.output_size)
        budget.check(
            spec.op, "the window sizes", n_out, "entries", "MAX_MAP_ENTRIES", budget.WHOLE
        )
        rules = lazymap.padded_rules(spec) if spec.count_include_pad else self.rules
        sizes = np.ones((), dtype=np.int64)
        for rule in rules:
            sizes = np.multiply.outer(sizes, rule.counts_for_a(np))
        return sizes.reshape(n_out)

    # ------------------------------------------------------------------ lazy readings
    @cached_property
    def rules(self) -> tuple:
        """One :class:`~symconv.core.lazymap.AxisRule` per axis (closed-form arithmetic)."""
        return lazymap.axis_rules(self.spec)

    def forward_row(self, o: int, by_position: bool = False):
        """Row ``o`` of the index map without building it: the ``(tap, input)`` pairs of
        output ``o`` that read an input, lazily, in tap order (``by_position``: input order)."""
        return lazymap.forward_row(self.spec, self.rules, o, by_position)

    def input_row(self, i: int):
        """The ``(tap, output)`` pairs whose entry of the index map is ``i``, in output order."""
        return lazymap.input_row(self.spec, self.rules, i)

    def tap_column(self, t: int):
        """Column ``t`` of the index map: ``(output, input)`` pairs that read an input."""
        return lazymap.tap_column(self.spec, self.rules, t)

    def window_size(self, o: int) -> int:
        """``window_sizes[o]`` computed from the axes alone."""
        return lazymap.window_size(self.spec, self.rules, lazymap.padded_rules(self.spec), o)

    def pairs_of(self, *, c_out=None, c_in=None, w_index=None) -> list:
        """The ``(c_out, c_in, w_index)`` triples of :meth:`channel_pairs` with the given
        output channel, input channel or weight index, as a lazy sequence (``len``, indexing,
        iteration), without listing the others."""
        spec = self.spec
        g = spec.groups
        cin_g, cout_g = spec.in_channels // g, spec.out_channels // g
        if spec.is_pool:
            c = c_out if c_out is not None else c_in
            same = c_in is None or c_out is None or c_in == c_out
            return lazymap.AxisPairs(range(c, c + 1 if same else c), lambda c: (c, c, None))
        conv = spec.kind == "conv"
        if w_index is not None:
            w0, w1 = w_index
            grp = w0 // (cout_g if conv else cin_g)
            pair = (w0, grp * cin_g + w1) if conv else (grp * cout_g + w1, w0)
            return [(pair[0], pair[1], (w0, w1))]
        if c_out is not None:
            grp = c_out // cout_g
            if conv:
                return lazymap.AxisPairs(
                    range(cin_g), lambda cl: (c_out, grp * cin_g + cl, (c_out, cl))
                )
            cl = c_out - grp * cout_g
            cis = range(grp * cin_g, (grp + 1) * cin_g)
            return lazymap.AxisPairs(cis, lambda ci: (c_out, ci, (ci, cl)))
        grp = c_in // cin_g
        if conv:
            cl = c_in - grp * cin_g
            cos = range(grp * cout_g, (grp + 1) * cout_g)
            return lazymap.AxisPairs(cos, lambda co: (co, c_in, (co, cl)))
        return lazymap.AxisPairs(range(cout_g), lambda cl: (grp * cout_g + cl, c_in, (c_in, cl)))

    def channel_pairs(self):
        """Yield ``(c_out, c_in, w_index)``: every (output channel, input channel) pair the
        layer connects, with the leading weight indices that join them."""
        spec = self.spec
        g = spec.groups
        cin_g = spec.in_channels // g
        cout_g = spec.out_channels // g
        if spec.is_pool:
            for c in range(spec.in_channels):
                yield c, c, None
        elif spec.kind == "conv":
            for co in range(spec.out_channels):
                grp = co // cout_g
                for cl in range(cin_g):
                    yield co, grp * cin_g + cl, (co, cl)
        else:
            for ci in range(spec.in_channels):
                grp = ci // cin_g
                for cl in range(cout_g):
                    yield grp * cout_g + cl, ci, (ci, cl)


# ---------------------------------------------------------------------- public constructors
def _build(kind, input_size, kernel_size, **kwargs) -> Layer:
    try:
        return Layer(LayerSpec.build(kind, input_size, kernel_size, **kwargs))
    except SpecError:
        raise
    except TypeError as exc:  # e.g. unhashable or non-comparable parameter types
        raise SpecError(f"{kind}: invalid parameter: {exc}") from None


def conv(
    input_size,
    kernel_size,
    *,
    in_channels=1,
    out_channels=1,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    bias=False,
    flip=False,
) -> Layer:
    """A convolution layer (cross-correlation by default, as deep-learning libraries do and as
    seed 000 computes; ``flip=True`` gives the true convolution of seed 002, i.e. the kernel
    rotated by 180 degrees).

    ``input_size`` is the spatial size; its length (1, 2 or 3) selects 1-D, 2-D or 3-D and an
    int means 1-D. ``kernel_size``, ``stride``, ``dilation`` broadcast from ints. ``padding`` is
    an int, a per-dimension tuple, per-side pairs ``((lo, hi), ...)``, ``'valid'``, ``'same'``
    (extra pixel on the high side, as TensorFlow 'SAME' and ONNX SAME_UPPER) or
    ``'same_lower'`` (extra pixel on the low side, as ONNX SAME_LOWER).

    >>> conv((3, 3), 2).output_size
    (2, 2)
    """
    return _build(
        "conv",
        input_size,
        kernel_size,
        in_channels=in_channels,
        out_channels=out_channels,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        flip=flip,
    )


def conv_transpose(
    input_size,
    kernel_size,
    *,
    in_channels=1,
    out_channels=1,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    groups=1,
    bias=False,
    output_shape=None,
) -> Layer:
    """A transposed ("expanding") convolution, the adjoint of :func:`conv`, as PyTorch's
    ConvTransposeNd: output size ``(i - 1) s - 2 p + d (k - 1) + output_padding + 1``;
    weights are (C_in, C_out/groups, *kernel).

    ``padding='same'`` / ``'same_lower'`` gives the output ``i * s`` (ONNX ConvTranspose's
    auto_pad rule: the cropped total split with the odd pixel high / low). ``output_shape``
    fixes the spatial output size as ONNX ConvTranspose and TensorFlow's conv2d_transpose do:
    with padding 'same' or 'same_lower' the surplus is cropped, and a shortfall becomes
    output_padding (below stride or dilation; an unreachable shape is a :class:`SpecError`).

    >>> conv_transpose((2, 2), 3, stride=2).output_size
    (5, 5)
    """
    return _build(
        "conv_transpose",
        input_size,
        kernel_size,
        in_channels=in_channels,
        out_channels=out_channels,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        output_shape=output_shape,
    )


def max_pool(
    input_size,
    kernel_size,
    *,
    channels=1,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    ties="first",
) -> Layer:
    """Max pooling (padding reads -inf; stride defaults to the kernel size).

    ``ties`` decides where the gradient of a window goes when several inputs share the maximum:
    ``'first'`` (default, the row-major first maximum, like PyTorch's CPU kernel) or ``'split'``
    (an equal share to each). Padding may exceed half the effective kernel (ONNX allows it)
    while every window reads an input; ``padding='same_lower'`` is ONNX SAME_LOWER. The
    argmax indices (PyTorch's ``return_indices``, ONNX's second output) are
    :func:`symconv.core.argmax.max_pool_indices`.
    """
    return _build(
        "max_pool",
        input_size,
        kernel_size,
        in_channels=channels,
        out_channels=channels,
        stride=kernel_size if stride is None else stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        ties=ties,
    )


def avg_pool(
    input_size,
    kernel_size,
    *,
    channels=1,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    count_include_pad=True,
) -> Layer:
    """Average (mean) pooling, as PyTorch's AvgPoolNd and ONNX AveragePool: with
    ``count_include_pad`` the divisor counts the padding taps of a window (not the ceil_mode
    overhang past the padding); without it, only real inputs. ``dilation`` spaces the taps as
    ONNX's ``dilations`` (the divisor counts taps, not the span)."""
    return _build(
        "avg_pool",
        input_size,
        kernel_size,
        in_channels=channels,
        out_channels=channels,
        stride=kernel_size if stride is None else stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
