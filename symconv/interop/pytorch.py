"""``from_torch``: a symconv layer (or network) from a ``torch.nn`` module.

Supported: ConvNd, ConvTransposeNd (output_padding, groups, dilation; ``padding_mode='zeros'``
only), MaxPoolNd, AvgPoolNd (ceil_mode, count_include_pad; ``divisor_override`` is refused),
N = 1, 2, 3; and a ``torch.nn.Sequential`` of those plus ReLU, Sigmoid, Tanh, Flatten and
Linear, which becomes a :class:`symconv.Network`. PyTorch is imported only when called.
"""

from __future__ import annotations

import math

from ..core import layers
from ..core.errors import SpecError
from ._optional import require

__all__ = ["from_torch"]

_CONV = {"Conv1d": 1, "Conv2d": 2, "Conv3d": 3}
_CONV_T = {"ConvTranspose1d": 1, "ConvTranspose2d": 2, "ConvTranspose3d": 3}
_MAX = {"MaxPool1d": 1, "MaxPool2d": 2, "MaxPool3d": 3}
_AVG = {"AvgPool1d": 1, "AvgPool2d": 2, "AvgPool3d": 3}
_DIMS = {**_CONV, **_CONV_T, **_MAX, **_AVG}
_ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


def from_torch(module, input_size):
    """The symconv layer computing what ``module`` computes on an input of ``input_size``.

    ``input_size`` is the spatial size (e.g. ``(28, 28)``), or the shape with channels
    ``(C, *spatial)`` or with batch ``(N, C, *spatial)`` (the channels are checked against the
    module). A ``torch.nn.Sequential`` returns a :class:`symconv.Network`.

    >>> import torch, symconv
    >>> symconv.from_torch(torch.nn.Conv2d(1, 2, 3, padding=1), (5, 5)).output_size
    (5, 5)
    """
    torch = require("torch", "torch", "symconv.from_torch")
    if isinstance(module, torch.nn.Sequential):
        return _sequential(module, input_size)
    name = type(module).__name__
    if name not in _DIMS:
        raise SpecError(
            f"from_torch: {name} is not supported; supported modules are "
            f"{', '.join(sorted(_DIMS))} and a torch.nn.Sequential of them"
        )
    channels, spatial = _split_input(name, module, input_size, _DIMS[name])
    return _layer(name, module, channels, spatial)


def _split_input(name, module, input_size, ndim):
    """``(channels or None, spatial)`` from a spatial size, ``(C, *s)`` or ``(N, C, *s)``."""
    size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    if len(size) == ndim:
        return None, size
    if len(size) in (ndim + 1, ndim + 2):
        channels = size[-ndim - 1]
        expected = getattr(module, "in_channels", channels)
        if channels != expected:
            raise SpecError(
                f"from_torch: {name} takes {expected} input channels, got input_size "
                f"{size} with {channels}"
            )
        return channels, size[-ndim:]
    raise SpecError(
        f"from_torch: input_size of a {name} must be the {ndim}-d spatial size, (C, *spatial) "
        f"or (N, C, *spatial), got {input_size!r}"
    )


def _layer(name, m, channels, spatial):
    if name in _CONV or name in _CONV_T:
        if m.padding_mode != "zeros":
            raise SpecError(
                f"from_torch: {name} with padding_mode={m.padding_mode!r} is not supported "
                f"(symconv pads with zeros only: padding_mode='zeros')"
            )
        common = dict(
            in_channels=m.in_channels,
            out_channels=m.out_channels,
            stride=tuple(m.stride),
            dilation=tuple(m.dilation),
            groups=m.groups,
            bias=m.bias is not None,
        )
        padding = m.padding if isinstance(m.padding, str) else tuple(m.padding)
        if name in _CONV:
            return layers.conv(spatial, tuple(m.kernel_size), padding=padding, **common)
        return layers.conv_transpose(
            spatial,
            tuple(m.kernel_size),
            padding=padding,
            output_padding=tuple(m.output_padding),
            **common,
        )
    ndim = _DIMS[name]
    kernel = _per_axis(m.kernel_size, ndim)
    stride = _per_axis(m.stride if m.stride else m.kernel_size, ndim)
    padding = _per_axis(m.padding, ndim)
    channels = channels or 1
    if name in _MAX:
        layer = layers.max_pool(
            spatial,
            kernel,
            channels=channels,
            stride=stride,
            padding=padding,
            dilation=_per_axis(m.dilation, ndim),
            ceil_mode=bool(m.ceil_mode),
        )
    else:
        if getattr(m, "divisor_override", None) is not None:
            raise SpecError(
                f"from_torch: {name} with divisor_override={m.divisor_override} is not "
                f"supported (symconv divides by the window count, see count_include_pad)"
            )
        layer = layers.avg_pool(
            spatial,
            kernel,
            channels=channels,
            stride=stride,
            padding=padding,
            ceil_mode=bool(m.ceil_mode),
            count_include_pad=bool(m.count_include_pad),
        )
    layer.spec.check_torch_pool_padding()
    return layer


def _per_axis(value, ndim):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * ndim


def _sequential(seq, input_size):
    """A :class:`symconv.Network` from a Sequential: each conv/pool layer is bound to the shape
    the previous module produces."""
    from ..nn import layers as nn_layers
    from ..nn.network import network

    modules = list(seq)
    first = next((m for m in modules if type(m).__name__ in _DIMS), None)
    if first is None:
        raise SpecError("from_torch: a Sequential needs at least one conv or pool module")
    ndim = _DIMS[type(first).__name__]
    size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    if len(size) == ndim:
        size = (getattr(first, "in_channels", 1),) + size
    shape = size[-ndim - 1 :]
    items = []
    for index, m in enumerate(modules):
        name = type(m).__name__
        if name in _DIMS:
            if len(shape) != _DIMS[name] + 1:
                raise SpecError(
                    f"from_torch: module {index} ({name}) needs a {_DIMS[name]}-d input with "
                    f"channels, got shape {shape}"
                )
            layer = _layer(name, m, shape[0], shape[1:])
            shape = layer.spec.y_shape
        elif name in _ACTIVATIONS:
            layer = getattr(nn_layers, _ACTIVATIONS[name])()
        elif name == "Flatten":
            if (m.start_dim, m.end_dim) != (1, -1):
                raise SpecError(
                    f"from_torch: module {index}: only Flatten() (dims 1..-1) is supported"
                )
            layer = nn_layers.flatten()
            shape = (math.prod(shape),)
        elif name == "Linear":
            layer = nn_layers.dense(m.out_features, bias=m.bias is not None)
            shape = (m.out_features,)
        else:
            raise SpecError(
                f"from_torch: module {index} ({name}) is not supported in a Sequential; "
                f"supported: {', '.join(sorted(_DIMS))}, {', '.join(sorted(_ACTIVATIONS))}, "
                f"Flatten, Linear"
            )
        items.append(layer)
    return network(items, input_shape=size[-ndim - 1 :], name="from_torch")
