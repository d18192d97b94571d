"""Layer specifications: the one place where user parameters are parsed and validated.

A :class:`LayerSpec` is frozen and fully resolved: every per-dimension parameter is a tuple of
length ``ndim`` and padding is a tuple of ``(low, high)`` pairs. Everything downstream trusts it.

Output sizes (per spatial dimension, ``L`` input, ``k`` kernel, ``s`` stride, ``d`` dilation,
``lo``/``hi`` padding, effective kernel ``e = (k - 1) d + 1``):

* conv and pools: ``floor((L + lo + hi - e) / s) + 1``; with ``ceil_mode`` (pools) the division
  rounds up, but a last window that would start inside the right padding is dropped
  (PyTorch's rule);
* conv_transpose: ``(L - 1) s - lo - hi + e + output_padding``.

Padding ``'same'`` (conv and pools) pads so that the output size is ``ceil(L / s)``: the total
``max((ceil(L / s) - 1) s + e - L, 0)`` is split with the extra pixel on the **high** side
(TensorFlow / ONNX ``SAME_UPPER``); ``'same_lower'`` puts it on the low side (ONNX
``SAME_LOWER``). ``'valid'`` means no padding. A transposed convolution takes ``'same'`` /
``'same_lower'`` (output ``L * s``, ONNX's rule) or an explicit ``output_shape``
(:mod:`symconv.core.padding` has the arithmetic).

Pool padding may exceed half the effective kernel (ONNX allows it) as long as every window reads
at least one real input; PyTorch's stricter rule (padding at most half the effective kernel) is
:meth:`LayerSpec.check_torch_pool_padding`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import SpecError
from .padding import padding_text as _padding_repr
from .padding import resolve_padding, transpose_padding

__all__ = ["LayerSpec", "KINDS", "TIE_POLICIES", "windows_overlap"]

KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
TIE_POLICIES = ("first", "split")


class SpecAxis(NamedTuple):
    """One spatial axis of a layer: input size ``n``, kernel ``k``, stride ``s``, dilation
    ``d``, padding ``lo`` and ``hi``, output padding ``op`` and output size ``o``."""

    n: int
    k: int
    s: int
    d: int
    lo: int
    hi: int
    op: int
    o: int


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def dims_text(shape, empty: str = "scalar", sep: str = "x") -> str:
    """A shape or size as text: ``3x3`` for (3, 3), ``empty`` for ()."""
    return sep.join(str(v) for v in shape) if len(shape) else empty


@dataclass(frozen=True)
class LayerSpec:
    """Resolved parameters of one layer. Build it with :meth:`LayerSpec.build` (or the public
    constructors :func:`symconv.conv` and friends), which validate every field."""

    kind: str
    input_size: tuple
    kernel_size: tuple
    in_channels: int = 1
    out_channels: int = 1
    stride: tuple = ()
    padding: tuple = ()
    dilation: tuple = ()
    groups: int = 1
    bias: bool = False
    flip: bool = False
    output_padding: tuple = ()
    ceil_mode: bool = False
    count_include_pad: bool = True
    ties: str = "first"
    padding_mode: str = field(default="explicit", compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        kind,
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
        output_padding=0,
        ceil_mode=False,
        count_include_pad=True,
        ties="first",
        output_shape=None,
    ) -> "LayerSpec":
        """Validate user parameters and return the resolved spec (raises :class:`SpecError`).
        ``output_shape`` (transposed convolutions only) fixes the output size and resolves the
        padding and output_padding from it."""
        if kind not in KINDS:
            raise SpecError(f"layer: kind must be one of {KINDS}, got {kind!r}")
        input_size = _as_size_tuple(kind, "input_size", input_size, None)
        ndim = len(input_size)
        op = f"{kind}{ndim}d"
        if ndim not in (1, 2, 3):
            raise SpecError(
                f"{kind}: input_size must have 1, 2 or 3 dimensions, got {input_size!r}"
            )
        kernel_size = _as_size_tuple(op, "kernel_size", kernel_size, ndim)
        stride = _as_size_tuple(op, "stride", stride, ndim)
        dilation = _as_size_tuple(op, "dilation", dilation, ndim)
        _check_scalars(
            op,
            in_channels,
            out_channels,
            groups,
            ties,
            bias=bias,
            flip=flip,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        if kind in ("max_pool", "avg_pool"):
            out_channels = in_channels
            groups = in_channels
        elif in_channels % groups or out_channels % groups:
            raise SpecError(
                f"{op}: groups must divide in_channels and out_channels, got groups={groups} "
                f"with in_channels={in_channels}, out_channels={out_channels}"
            )
        output_padding = _output_padding(op, kind, output_padding, stride, dilation, ndim)
        effective = tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))
        if kind == "conv_transpose":
            pads, output_padding, mode = transpose_padding(
                op, padding, output_shape, input_size, stride, dilation, effective, output_padding
            )
        elif output_shape is not None:
            raise SpecError(
                f"{op}: output_shape is an option of a transposed convolution only, "
                f"got {output_shape!r}"
            )
        else:
            pads, mode = resolve_padding(op, kind, padding, input_size, stride, effective)
            _check_window_fits(op, pads, input_size, kernel_size, dilation)
        spec = cls(
            kind=kind,
            input_size=input_size,
            kernel_size=kernel_size,
            in_channels=in_channels,
            out_channels=out_channels,
            stride=stride,
            padding=pads,
            dilation=dilation,
            groups=groups,
            bias=bias if kind in ("conv", "conv_transpose") else False,
            flip=flip,
            output_padding=output_padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            ties=ties,
            padding_mode=mode,
        )
        if any(o < 1 for o in spec.output_size):
            raise SpecError(
                f"{op}: output size must be positive, got {dims_text(spec.output_size)} "
                f"(input {dims_text(input_size)}, padding {_padding_repr(pads)})"
            )
        if spec.is_pool and _beyond_torch_padding(spec):
            # PyTorch's rule (at most half the effective kernel) allows a window of padding
            # only (max: -inf); beyond it, as ONNX allows, every window must read an input
            _check_windows_read_input(spec)
        return spec

    # ------------------------------------------------------------------ derived facts
    @property
    def ndim(self) -> int:
        return len(self.input_size)

    @property
    def op(self) -> str:
        """Operation name used in messages, e.g. ``conv2d``."""
        return f"{self.kind}{self.ndim}d"

    @property
    def is_pool(self) -> bool:
        return self.kind in ("max_pool", "avg_pool")

    @property
    def has_weight(self) -> bool:
        return self.kind in ("conv", "conv_transpose")

    @property
    def effective_kernel(self) -> tuple:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def padded_size(self) -> tuple:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.input_size, self.padding))

    @property
    def output_size(self) -> tuple:
        out = []
        for n, (lo, hi), e, s, op in zip(
            self.input_size,
            self.padding,
            self.effective_kernel,
            self.stride,
            self.output_padding,
        ):
            if self.kind == "conv_transpose":
                out.append((n - 1) * s - lo - hi + e + op)
            elif self.ceil_mode:
                o = -(-(n + lo + hi - e) // s) + 1
                if (o - 1) * s >= n + lo:
                    o -= 1
                out.append(o)
            else:
                out.append((n + lo + hi - e) // s + 1)
        return tuple(out)

    #: one :class:`SpecAxis` per spatial axis (what every per-axis loop reads)
    axes = property(lambda self: _axes(self))

    @property
    def x_shape(self) -> tuple:
        return (self.in_channels,) + self.input_size

    @property
    def y_shape(self) -> tuple:
        return (self.out_channels,) + self.output_size

    @property
    def w_shape(self):
        """(C_out, C_in/groups, *k) for conv, (C_in, C_out/groups, *k) for conv_transpose."""
        if self.kind == "conv":
            return (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        if self.kind == "conv_transpose":
            return (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        return None

    @property
    def b_shape(self):
        return (self.out_channels,) if self.bias else None

    @property
    def parameter_count(self) -> int:
        if not self.has_weight:
            return 0
        return math.prod(self.w_shape) + (self.out_channels if self.bias else 0)

    def replace(self, **changes) -> "LayerSpec":
        """A validated copy with some parameters changed (``input_size``, ``kernel_size`` and
        the keyword parameters of :meth:`build`); the padding is kept as resolved, not as the
        'same'/'valid' it may have been given as. Raises :class:`SpecError` like ``build``."""
        fields = dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias,
            flip=self.flip,
            output_padding=self.output_padding,
            ceil_mode=self.ceil_mode,
            count_include_pad=self.count_include_pad,
            ties=self.ties,
        )
        input_size = changes.pop("input_size", self.input_size)
        kernel_size = changes.pop("kernel_size", self.kernel_size)
        fields.update(changes)
        return LayerSpec.build(self.kind, input_size, kernel_size, **fields)

    def describe(self) -> str:
        """One line such as ``conv2d with input 3x3, kernel 2x2`` (context for messages)."""
        return f"{self.op} with input {dims_text(self.input_size)}, kernel {dims_text(self.kernel_size)}"

    def tap_position(self, axis: int, o, t, base: int = 0):
        """``stride*o + dilation*t - pad_lo`` along ``axis``: the input index that output ``o``
        reads through kernel tap ``t`` (for conv_transpose, the output index that input ``o``
        reaches through tap ``t``). Works on ints, NumPy arrays and SymPy symbols; with
        ``base=1`` the three indices count from 1."""
        s, d, lo = self.stride[axis], self.dilation[axis], self.padding[axis][0]
        return s * (o - base) + d * (t - base) + base - lo

    def check_torch_pool_padding(self) -> None:
        """PyTorch's rule for pools: padding at most half the effective kernel on each side
        (ONNX and symconv allow more while every window reads an input)."""
        if self.is_pool and _beyond_torch_padding(self):
            raise SpecError(
                f"{self.op}: padding {_padding_repr(self.padding)} is more than half the "
                f"effective kernel {dims_text(self.effective_kernel)}, which PyTorch refuses"
                f"{_torch_padding_note(self)}"
            )

    def extra_options(self) -> list:
        """``[(name, value), ...]``: the options that differ from their defaults, in a fixed
        order (shared by ``repr`` and the command-line spelling of a spec)."""
        return _extra_options(self)

    def __repr__(self) -> str:
        return _repr(self)


# ---------------------------------------------------------------------- text
def _extra_options(self: LayerSpec) -> list:
    """See :meth:`LayerSpec.extra_options`."""
    out = []
    if any(d != 1 for d in self.dilation):
        out.append(("dilation", self.dilation))
    if self.kind == "conv_transpose" and any(self.output_padding):
        out.append(("output_padding", self.output_padding))
    if self.has_weight and self.groups != 1:
        out.append(("groups", self.groups))
    if self.bias:
        out.append(("bias", True))
    if self.flip:
        out.append(("flip", True))
    if self.is_pool and self.ceil_mode:
        out.append(("ceil_mode", True))
    if self.kind == "avg_pool" and not self.count_include_pad:
        out.append(("count_include_pad", False))
    if self.kind == "max_pool" and self.ties != "first":
        out.append(("ties", self.ties))
    return out


def _axes(self: LayerSpec) -> tuple:
    fields = (self.input_size, self.kernel_size, self.stride, self.dilation)
    return tuple(
        SpecAxis(n, k, s, d, lo, hi, op, o)
        for n, k, s, d, (lo, hi), op, o in zip(
            *fields, self.padding, self.output_padding, self.output_size
        )
    )


def _repr(self: LayerSpec) -> str:
    """``conv2d(input_size=..., ...) -> output_size=...``: the spec in one line."""

    def short(t):
        return t[0] if len(set(t)) == 1 else t

    parts = [f"input_size={self.input_size}", f"kernel_size={short(self.kernel_size)}"]
    if self.has_weight:
        parts += [f"in_channels={self.in_channels}", f"out_channels={self.out_channels}"]
    else:
        parts.append(f"channels={self.in_channels}")
    parts.append(f"stride={short(self.stride)}")
    parts.append(f"padding={_padding_repr(self.padding)}")
    for name, value in self.extra_options():
        parts.append(f"{name}={short(value) if isinstance(value, tuple) else repr(value)}")
    return f"{self.op}({', '.join(parts)}) -> output_size={self.output_size}"


# ---------------------------------------------------------------------- parsing helpers
def _check_scalars(op, in_channels, out_channels, groups, ties, **flags) -> None:
    """Channel counts and groups are positive integers, flags are booleans, ties a policy."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not _is_int(value) or value < 1:
            raise SpecError(f"{op}: {name} must be a positive integer, got {value!r}")
    if not _is_int(groups) or groups < 1:
        raise SpecError(f"{op}: groups must be a positive integer, got {groups!r}")
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise SpecError(f"{op}: {name} must be True or False, got {value!r}")
    if ties not in TIE_POLICIES:
        raise SpecError(f"{op}: ties must be one of {TIE_POLICIES}, got {ties!r}")


def _output_padding(op, kind, output_padding, stride, dilation, ndim) -> tuple:
    """A transposed convolution's output_padding, smaller than stride or dilation; zeros for
    every other kind."""
    if kind != "conv_transpose":
        return (0,) * ndim
    output_padding = _as_size_tuple(op, "output_padding", output_padding, ndim, zero=True)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise SpecError(
                f"{op}: output_padding must be smaller than stride or dilation, got "
                f"output_padding={output_padding} with stride={stride}, dilation={dilation}"
            )
    return output_padding


def _beyond_torch_padding(spec: LayerSpec) -> bool:
    """Whether a pool's padding exceeds half the effective kernel on some side."""
    return any(max(lo, hi) > e // 2 for (lo, hi), e in zip(spec.padding, spec.effective_kernel))


def _check_windows_read_input(self: LayerSpec) -> None:
    """Pools: every window reads at least one real input (a window of padding only has no
    maximum and no average). Names the first window that does not."""
    from .lazymap import AxisRule  # (the arithmetic in closed form: any size)

    for axis, (n, k, (lo, _), o_len) in enumerate(
        zip(self.input_size, self.kernel_size, self.padding, self.output_size)
    ):
        s, d = self.stride[axis], self.dilation[axis]
        rule = AxisRule(o_len, k, n, s, d, lo)
        # with taps no further apart than the input is long, the windows that read an input
        # are contiguous: the end windows decide (else every window, up to 10^5 of them)
        ends = d <= n or o_len > 100_000
        for o in (0, o_len - 1) if ends else range(o_len):
            if not len(rule.k_for_a(o)):
                first, last = self.tap_position(axis, o, 0), self.tap_position(axis, o, k - 1)
                taps = [first + d * t for t in range(k)] if k <= 8 else f"{first}..{last}"
                raise SpecError(
                    f"{self.op}: the window of output {o} along axis {axis} reads only "
                    f"padding (input positions {taps}, input length {n}); a pool's padding "
                    f"may exceed half the effective kernel (ONNX) only while every window "
                    f"reads an input, got padding {_padding_repr(self.padding)}"
                    f"{_torch_padding_note(self)}"
                )


def _torch_padding_note(self: LayerSpec) -> str:
    limit = tuple(e // 2 for e in self.effective_kernel)
    return f" (PyTorch allows at most half the effective kernel: {limit})"


def _check_window_fits(op, pads, input_size, kernel_size, dilation) -> None:
    """Convs and pools: the effective kernel fits in the padded input (transposed convs have no
    such limit)."""
    effective = tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(input_size, pads))
    if any(e > p for e, p in zip(effective, padded)):
        dil = f", dilation {dims_text(dilation)}" if any(d > 1 for d in dilation) else ""
        raise SpecError(
            f"{op}: effective kernel {dims_text(effective)} (kernel {dims_text(kernel_size)}{dil}) "
            f"is larger than the padded input {dims_text(padded)}"
        )


def _as_size_tuple(op, name, value, ndim, zero=False):
    """Broadcast an int to ``ndim`` dimensions and check every entry."""
    rule = "non-negative integers" if zero else "positive integers"
    if _is_int(value):
        if ndim is None:
            values = (int(value),)
        else:
            values = (int(value),) * ndim
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        values = tuple(int(v) for v in value)
        if ndim is not None and len(values) != ndim:
            raise SpecError(
                f"{op}: {name} must have {ndim} entries (one per spatial dimension), "
                f"got {value!r}"
            )
    else:
        raise SpecError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    if any(v < (0 if zero else 1) for v in values) or not values:
        raise SpecError(f"{op}: {name} must be {rule}, got {value!r}")
    return values


def windows_overlap(spec: LayerSpec) -> bool:
    """Whether neighbouring windows of ``spec`` share inputs along some axis (a stride below
    the effective kernel), so that their gradients add up there."""
    return any(s < e for s, e in zip(spec.stride, spec.effective_kernel))
