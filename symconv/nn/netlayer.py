"""One layer of a network: the layer-item vocabulary and its binding to the incoming shape.

A network is written as a list of items (dicts as in a JSON/TOML spec file, bare type names,
:mod:`symconv.nn.layers` specs or conv/pool :class:`~symconv.core.layers.Layer` objects).
:func:`normalize_item` reads one item as ``(kind, parameters, bound object)``;
:func:`bind_layer` validates its parameters and builds its spec for the shape the previous
layer produces; :class:`NetLayer` is the result, a layer with its place in the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core import layers as core_layers
from ..core.errors import SpecError
from ..core.layers import Layer
from ..core.spec import dims_text
from . import layers as nn
from .layers import LossSpec, NNSpec

__all__ = [
    "CONV_KINDS",
    "ALL_KINDS",
    "NetLayer",
    "bind_layer",
    "default_name",
    "normalize_item",
    "tuplify",
]

#: kinds bound to a conv/pool :class:`Layer` (the index-map layers)
CONV_KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
#: other spellings of a type accepted in spec files
ALIASES = {
    "linear": "dense",
    "fc": "dense",
    "fully_connected": "dense",
    "maxpool": "max_pool",
    "avgpool": "avg_pool",
    "mean_pool": "avg_pool",
    "convtranspose": "conv_transpose",
    "deconv": "conv_transpose",
    "ce": "cross_entropy",
    "mse": "l2",
    "softmax_ce": "softmax_cross_entropy",
}
#: the parameters each kind takes (kinds without parameters are absent)
PARAMS = {
    "conv": (
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "bias",
        "flip",
        "in_channels",
    ),
    "conv_transpose": (
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "groups",
        "bias",
        "in_channels",
    ),
    "max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "ties"),
    "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "dense": ("out_features", "bias", "in_features"),
}
#: the parameters a kind cannot do without
REQUIRED = {
    "conv": ("out_channels", "kernel_size"),
    "conv_transpose": ("out_channels", "kernel_size"),
    "max_pool": ("kernel_size",),
    "avg_pool": ("kernel_size",),
    "dense": ("out_features",),
}
#: prefix of the default layer names (``conv1``, ``fc2``, ...)
SHORT = {
    "conv": "conv",
    "conv_transpose": "convT",
    "max_pool": "maxpool",
    "avg_pool": "avgpool",
    "dense": "fc",
}
#: every layer type a network item may name
ALL_KINDS = CONV_KINDS + nn.NN_KINDS + nn.LOSS_KINDS


def tuplify(value):
    """JSON lists (nested) as tuples."""
    if isinstance(value, list):
        return tuple(tuplify(v) for v in value)
    return value


def default_name(kind: str, count: int) -> str:
    """The name of the ``count``-th layer of ``kind`` when the spec gives none: ``conv1``,
    ``maxpool2``, ``fc1``, ... and ``loss``."""
    return "loss" if kind in nn.LOSS_KINDS else f"{SHORT.get(kind, kind)}{count}"


@dataclass(frozen=True)
class NetLayer:
    """One bound layer of a network. ``index`` is 1-based (the l of a^(l)); ``spec`` is a
    :class:`~symconv.spec.LayerSpec` (conv/pool, with ``layer`` its :class:`Layer`), an
    :class:`~symconv.nn_layers.NNSpec` or a :class:`~symconv.nn_layers.LossSpec`."""

    index: int
    name: str
    kind: str
    spec: object
    input_shape: tuple
    output_shape: tuple
    layer: Layer = field(default=None, compare=False)

    @property
    def is_loss(self) -> bool:
        return isinstance(self.spec, LossSpec)

    @property
    def w_shape(self):
        return getattr(self.spec, "w_shape", None)

    @property
    def b_shape(self):
        return getattr(self.spec, "b_shape", None)

    @property
    def parameter_count(self) -> int:
        return self.spec.parameter_count

    @property
    def params(self) -> list:
        """``[(key, shape)]`` of the trainable parameters, e.g. ``('conv1.w', (6, 1, 5, 5))``."""
        out = []
        if self.w_shape is not None:
            out.append((f"{self.name}.w", tuple(self.w_shape)))
        if self.b_shape is not None:
            out.append((f"{self.name}.b", tuple(self.b_shape)))
        return out

    def describe(self) -> str:
        spec = self.spec
        if self.kind in ("conv", "conv_transpose"):
            k = dims_text(spec.kernel_size)
            extra = []
            if any(s != 1 for s in spec.stride):
                extra.append(f"stride {dims_text(spec.stride)}")
            if any(lo or hi for lo, hi in spec.padding):
                pads = {p for pair in spec.padding for p in pair}
                extra.append(f"pad {pads.pop() if len(pads) == 1 else spec.padding}")
            if any(d != 1 for d in spec.dilation):
                extra.append(f"dilation {dims_text(spec.dilation)}")
            if spec.groups != 1:
                extra.append(f"groups {spec.groups}")
            if spec.flip:
                extra.append("flipped")
            tail = (", " + ", ".join(extra)) if extra else ""
            return f"{spec.out_channels} filters {k}{tail}"
        if self.kind in ("max_pool", "avg_pool"):
            tail = f", stride {dims_text(spec.stride)}" if spec.stride != spec.kernel_size else ""
            return f"{dims_text(spec.kernel_size)}{tail}"
        if self.kind == "dense":
            return f"{spec.in_features} -> {spec.out_features}"
        return ""

    def to_dict(self) -> dict:
        """This layer as a spec-file entry."""
        spec = self.spec
        d = {"type": self.kind, "name": self.name}
        if self.kind in CONV_KINDS:
            d["kernel_size"] = list(spec.kernel_size)
            if spec.has_weight:
                d["out_channels"] = spec.out_channels
                d["bias"] = spec.bias
                if spec.groups != 1:
                    d["groups"] = spec.groups
                if spec.flip:
                    d["flip"] = True
            d["stride"] = list(spec.stride)
            d["padding"] = [list(p) for p in spec.padding]
            if any(v != 1 for v in spec.dilation):
                d["dilation"] = list(spec.dilation)
            if self.kind == "conv_transpose" and any(spec.output_padding):
                d["output_padding"] = list(spec.output_padding)
            if spec.is_pool and spec.ceil_mode:
                d["ceil_mode"] = True
            if self.kind == "avg_pool" and not spec.count_include_pad:
                d["count_include_pad"] = False
            if self.kind == "max_pool" and spec.ties != "first":
                d["ties"] = spec.ties
        elif self.kind == "dense":
            d["out_features"] = spec.out_features
            d["bias"] = spec.bias
        return d


def _context(index, kind, name) -> str:
    return f"layer {index} ({kind} {name!r})"


def normalize_item(item, index):
    """A layer item as ``(kind, params dict, bound object or None)``."""
    if isinstance(item, str):
        item = {"type": item}
    if isinstance(item, Layer):
        return item.kind, {}, item
    if isinstance(item, NNSpec):
        params = {}
        if item.kind == "dense":
            params = {"out_features": item.out_features, "bias": item.bias}
        return item.kind, params, item if item.bound else None
    if isinstance(item, LossSpec):
        return item.kind, {}, None
    if not isinstance(item, dict):
        raise SpecError(
            f"layer {index}: must be a dict with a 'type', a type name or a symconv layer, "
            f"got {item!r}"
        )
    params = dict(item)
    kind = params.pop("type", params.pop("kind", None))
    if not isinstance(kind, str):
        raise SpecError(f"layer {index}: 'type' must be one of {ALL_KINDS}, got {kind!r}")
    kind = kind.strip().lower().replace("-", "_")
    kind = ALIASES.get(kind, kind)
    if kind not in ALL_KINDS:
        raise SpecError(
            f"layer {index}: type must be one of {', '.join(ALL_KINDS)}, got {item.get('type', item.get('kind'))!r}"
        )
    return kind, {k: tuplify(v) for k, v in params.items()}, None


def bind_layer(index, kind, name, params, bound, shape):
    """Bind one layer to the current shape; returns its spec and Layer (conv/pool, else None).
    Errors name the layer (``layer 3 (conv 'conv2'): ...``)."""
    ctx = _context(index, kind, name)
    allowed = PARAMS.get(kind, ())
    for key in params:
        if key not in allowed:
            rule = f"one of {', '.join(allowed)}" if allowed else "absent (it has none)"
            raise SpecError(f"{ctx}: parameter {key!r} is unknown; parameters must be {rule}")
    for key in REQUIRED.get(kind, ()):
        if key not in params and bound is None:
            raise SpecError(f"{ctx}: parameter {key!r} is required, got nothing")
    try:
        if kind in CONV_KINDS:
            return _bind_conv(kind, params, bound, shape)
        if kind in nn.LOSS_KINDS:
            return LossSpec.build(kind, shape), None
        return _bind_nn(kind, params, bound, shape), None
    except SpecError as exc:
        raise SpecError(f"{ctx}: {exc}") from None
    except TypeError as exc:
        raise SpecError(f"{ctx}: invalid parameters: {exc}") from None


def _bind_conv(kind, params, bound, shape):
    """``(spec, Layer)`` of a conv or pool layer on the input shape ``(C, *spatial)``."""
    if len(shape) < 2:
        raise SpecError(
            f"input must be (channels, *spatial), got the vector shape {shape!r} "
            "(a conv or pool layer cannot follow flatten or dense)"
        )
    channels, spatial = shape[0], shape[1:]
    if bound is not None:
        if bound.spec.x_shape != tuple(shape):
            raise SpecError(
                f"input shape must be the previous output {dims_text(shape)}, got a layer "
                f"built for {dims_text(bound.spec.x_shape)}"
            )
        return bound.spec, bound
    p = dict(params)
    if "in_channels" in p and p.pop("in_channels") != channels:
        raise SpecError(
            f"in_channels must equal the previous output's channels {channels} "
            f"(shape {dims_text(shape)}), got {params['in_channels']!r}"
        )
    if kind == "conv":
        p.setdefault("bias", True)
        layer = core_layers.conv(spatial, p.pop("kernel_size"), in_channels=channels, **p)
    elif kind == "conv_transpose":
        p.setdefault("bias", True)
        layer = core_layers.conv_transpose(
            spatial, p.pop("kernel_size"), in_channels=channels, **p
        )
    elif kind == "max_pool":
        layer = core_layers.max_pool(spatial, p.pop("kernel_size"), channels=channels, **p)
    else:
        layer = core_layers.avg_pool(spatial, p.pop("kernel_size"), channels=channels, **p)
    return layer.spec, layer


def _bind_nn(kind, params, bound, shape):
    """The :class:`NNSpec` of an activation, flatten, dense or softmax layer."""
    if bound is not None:
        if bound.input_shape != tuple(shape):
            raise SpecError(
                f"input shape must be the previous output {dims_text(shape)}, got a layer "
                f"built for {dims_text(bound.input_shape)}"
            )
        return bound
    p = dict(params)
    if kind == "dense" and "in_features" in p:
        given = p.pop("in_features")
        if given != math.prod(shape):
            raise SpecError(
                f"in_features must equal the previous output size {math.prod(shape)} "
                f"(shape {dims_text(shape)}), got {given!r}"
            )
    return NNSpec.build(kind, shape, **p)
