"""A network's backprop recursions in index notation (seed 002's summary slides), as data.

For every layer ``l`` the forward rule ``a^(l) = f(a^(l-1))`` and the backward rules (dL/d of
the input and of the parameters in terms of dL/da^(l)) are described by their index names,
index expressions, sums and sizes, instantiated with the network's shapes and valid for any
size (unlike the SymPy expressions of :mod:`.derivation`). One dataclass per kind of layer;
:func:`layer_recursions` and :func:`loss_start` read them off a network. Indices are 1-based:
``i, j, k`` run over outputs, ``m, n, q`` over kernel taps, ``u, v, r`` over inputs, ``s`` over
output channels and ``p`` (or ``c`` for pools and activations) over input channels.

:mod:`symconv.latex.network` lays the recursions out with ``templates/latex/network*.jinja``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from . import layers as nn

__all__ = [
    "Affine",
    "Sum",
    "Recursion",
    "ConvRecursion",
    "ConvTransposeRecursion",
    "PoolRecursion",
    "ElementwiseRecursion",
    "FlattenRecursion",
    "SoftmaxRecursion",
    "DenseRecursion",
    "LossStart",
    "layer_recursions",
    "loss_start",
]

OUT_LETTERS = ("i", "j", "k")
TAP_LETTERS = ("m", "n", "q")
IN_LETTERS = ("u", "v", "r")


@dataclass(frozen=True)
class Affine:
    """An index expression ``sum(coef * var) + const``; ``str`` gives the compact form of the
    slides, ``2i+m-2`` for ``((2, 'i'), (1, 'm')), -2`` (zero terms left out)."""

    terms: tuple
    const: int = 0

    def __str__(self) -> str:
        out = ""
        for coef, var in self.terms:
            if coef == 0:
                continue
            sign = "-" if coef < 0 else ("+" if out else "")
            mag = abs(coef)
            out += f"{sign}{'' if mag == 1 else mag}{var}"
        if self.const or not out:
            out += f"{'-' if self.const < 0 else ('+' if out else '')}{abs(self.const)}"
        return out


@dataclass(frozen=True)
class Sum:
    """A sum over the index ``var``: from 1 to ``upper``, or, with ``group_of``, over the
    channels of the group of that channel (grouped convolution)."""

    var: str
    upper: Optional[int] = None
    group_of: Optional[str] = None


def _sums(variables, uppers) -> tuple:
    return tuple(Sum(var, upper) for var, upper in zip(variables, uppers))


@dataclass(frozen=True)
class Recursion:
    """What every layer's recursion has: ``l`` (1-based), the layer's name and kind, and a
    plain-text ``title`` (kind and details, e.g. ``conv 6 filters 5x5``)."""

    l: int
    name: str
    kind: str
    title: str


@dataclass(frozen=True)
class ConvRecursion(Recursion):
    """A convolution (seed 002): ``a^(l)_{s,i} = sum_p sum_m w_{s,p,m} a^(l-1)_{p,x_index}``.

    ``y_channel``/``x_channel`` are ``'s'``/``'p'`` when there is more than one output/input
    channel (else None), ``w_channels`` the channel indices of the weight. ``channel_sum`` runs
    over the input channels in the forward pass and ``back_channel_sum`` over the output
    channels in the input gradient (both None with one channel). With stride 1, the input
    gradient reads the upstream gradient at ``dy_index`` (the forward index solved for the
    output index); strided, it sums over the outputs ``out`` whose ``x_index`` equals ``ins``.
    """

    out: tuple
    taps: tuple
    ins: tuple
    y_channel: Optional[str]
    x_channel: Optional[str]
    w_channels: tuple
    x_index: tuple
    tap_sums: tuple
    out_sums: tuple
    channel_sum: Optional[Sum]
    back_channel_sum: Optional[Sum]
    dy_index: Optional[tuple]
    bias: bool
    flip: bool
    groups: int


@dataclass(frozen=True)
class ConvTransposeRecursion(Recursion):
    """A transposed convolution, by name: its input gradient is a convolution."""

    bias: bool


@dataclass(frozen=True)
class PoolRecursion(Recursion):
    """A max or mean pool over the window taps ``taps``; ``channel`` is ``'c'`` with more than
    one channel. ``window`` is the number of taps of every window when all are equal (else
    None: ``N_{i,j}``, ceil mode or padding left out); ``taps_per_window`` the kernel's size;
    ``ties`` the max pool's tie policy."""

    channel: Optional[str]
    out: tuple
    taps: tuple
    ins: tuple
    x_index: tuple
    tap_sums: tuple
    window: Optional[int]
    taps_per_window: int
    ties: str


@dataclass(frozen=True)
class ElementwiseRecursion(Recursion):
    """A sigmoid, tanh or ReLU applied entry by entry; ``index`` names a generic entry."""

    index: tuple


@dataclass(frozen=True)
class FlattenRecursion(Recursion):
    """Row-major flatten: entry ``index`` of the input is entry ``flat`` of the output;
    ``reshaped`` is False when the input is a vector already."""

    index: tuple
    flat: Affine
    reshaped: bool


@dataclass(frozen=True)
class SoftmaxRecursion(Recursion):
    """A softmax over ``size`` entries."""

    size: int


@dataclass(frozen=True)
class DenseRecursion(Recursion):
    """A fully connected layer, ``W_ij`` joins input ``j`` to output ``i`` (seed 002);
    ``flattened`` when its input is a tensor read row-major."""

    in_features: int
    out_features: int
    bias: bool
    flattened: bool


@dataclass(frozen=True)
class LossStart:
    """The loss and the start of the backward recursion at ``a^(n)``.

    ``kind`` is ``'l2'`` (seed 000, ``index`` a generic entry of the output),
    ``'fused_cross_entropy'`` (a softmax layer ``n`` and cross-entropy, started at the
    softmax's input: ``yhat - y``, seed 002), ``'softmax_cross_entropy'`` (fused loss on the
    logits) or ``'cross_entropy'`` (on probabilities). ``classes`` is the output's length;
    ``fused_layer`` the softmax layer whose backward step the start already took (or None).
    """

    kind: str
    n: int
    classes: Optional[int]
    index: tuple
    fused_layer: Optional[int]


def _entry_index(shape) -> tuple:
    """Index of a generic entry: ``('c', 'i', 'j')`` for (C, H, W), the channel shown when
    C > 1; ``('i',)`` for a vector."""
    if len(shape) == 1:
        return ("i",)
    channel = ("c",) if shape[0] > 1 else ()
    return channel + OUT_LETTERS[: len(shape) - 1]


def _tap_positions(spec, flip) -> tuple:
    """Per axis the input index read by output index i and tap m (1-based, padding offset)."""
    pos = []
    for ax in range(spec.ndim):
        s, d, (lo, _), k = (
            spec.stride[ax],
            spec.dilation[ax],
            spec.padding[ax],
            spec.kernel_size[ax],
        )
        i, m = OUT_LETTERS[ax], TAP_LETTERS[ax]
        if flip:  # w[m] multiplies the tap K + 1 - m
            pos.append(Affine(((s, i), (-d, m)), d * k + 1 - s - lo))
        else:
            pos.append(Affine(((s, i), (d, m)), 1 - s - d - lo))
    return tuple(pos)


def _conv(lay, head) -> ConvRecursion:
    spec = lay.spec
    nd = spec.ndim
    c_in, c_out = spec.in_channels, spec.out_channels
    taps = TAP_LETTERS[:nd]
    if spec.groups == 1:
        channel_sum = Sum("p", c_in) if c_in > 1 else None
        back_channel_sum = Sum("s", c_out) if c_out > 1 else None
    else:
        channel_sum, back_channel_sum = Sum("p", group_of="s"), Sum("s", group_of="p")
    dy_index = None
    if all(st == 1 for st in spec.stride):  # solve u = x_index(i, m) for i
        dy_index = []
        for ax in range(nd):
            d, (lo, _), k = spec.dilation[ax], spec.padding[ax], spec.kernel_size[ax]
            u, m = IN_LETTERS[ax], TAP_LETTERS[ax]
            if spec.flip:
                dy_index.append(Affine(((1, u), (d, m)), -(d * k - lo)))
            else:
                dy_index.append(Affine(((1, u), (-d, m)), d + lo))
        dy_index = tuple(dy_index)
    return ConvRecursion(
        *head,
        out=OUT_LETTERS[:nd],
        taps=taps,
        ins=IN_LETTERS[:nd],
        y_channel="s" if c_out > 1 else None,
        x_channel="p" if c_in > 1 else None,
        w_channels=("s",) * (c_out > 1) + ("p",) * (c_in // spec.groups > 1),
        x_index=_tap_positions(spec, spec.flip),
        tap_sums=_sums(taps, spec.kernel_size),
        out_sums=_sums(OUT_LETTERS, spec.output_size),
        channel_sum=channel_sum,
        back_channel_sum=back_channel_sum,
        dy_index=dy_index,
        bias=spec.bias,
        flip=spec.flip,
        groups=spec.groups,
    )


def _pool(lay, head) -> PoolRecursion:
    spec = lay.spec
    nd = spec.ndim
    sizes = set(lay.layer.window_sizes.tolist())
    return PoolRecursion(
        *head,
        channel="c" if spec.in_channels > 1 else None,
        out=OUT_LETTERS[:nd],
        taps=TAP_LETTERS[:nd],
        ins=IN_LETTERS[:nd],
        x_index=_tap_positions(spec, False),
        tap_sums=_sums(TAP_LETTERS, spec.kernel_size),
        window=int(lay.layer.window_sizes[0]) if len(sizes) == 1 else None,
        taps_per_window=math.prod(spec.kernel_size),
        ties=spec.ties,
    )


def _flatten(lay, head) -> FlattenRecursion:
    shape = lay.input_shape
    if len(shape) == 1:
        return FlattenRecursion(*head, index=("i",), flat=Affine(((1, "i"),)), reshaped=False)
    letters = ("c",) + OUT_LETTERS[: len(shape) - 1]
    terms, stride = [], 1
    for size, var in zip(reversed(shape), reversed(letters)):
        terms.append((stride, var))
        stride *= size
    terms.reverse()
    flat = Affine(tuple(terms), 1 - sum(c for c, _ in terms))
    return FlattenRecursion(*head, index=letters, flat=flat, reshaped=True)


def _recursion(lay) -> Recursion:
    head = (
        lay.index,
        lay.name,
        lay.kind,
        f"{lay.kind.replace('_', ' ')} {lay.describe()}".strip(),
    )
    if lay.kind == "conv":
        return _conv(lay, head)
    if lay.kind == "conv_transpose":
        return ConvTransposeRecursion(*head, bias=lay.spec.bias)
    if lay.kind in ("max_pool", "avg_pool"):
        return _pool(lay, head)
    if lay.kind in nn.ACTIVATIONS:
        return ElementwiseRecursion(*head, index=_entry_index(lay.input_shape))
    if lay.kind == "flatten":
        return _flatten(lay, head)
    if lay.kind == "softmax":
        return SoftmaxRecursion(*head, size=lay.input_shape[0])
    n_out, n_in = lay.spec.w_shape
    return DenseRecursion(
        *head,
        in_features=n_in,
        out_features=n_out,
        bias=lay.spec.bias,
        flattened=len(lay.input_shape) > 1,
    )


def layer_recursions(net) -> list:
    """One recursion per layer of ``net`` (the loss excluded), in layer order."""
    return [_recursion(lay) for lay in net.layers]


def loss_start(net) -> Optional[LossStart]:
    """The loss of ``net`` and where its backward pass starts (None without a loss)."""
    if net.loss is None:
        return None
    shape = net.output_shape
    n = len(net.layers)
    fused = net.loss.kind == "cross_entropy" and net.fused_softmax
    return LossStart(
        kind="fused_cross_entropy" if fused else net.loss.kind,
        n=n,
        classes=shape[0] if len(shape) == 1 else None,
        index=_entry_index(shape),
        fused_layer=n if fused else None,
    )
