"""Whole networks: chained layers with shape inference, summaries, backprop, code and graphs.

A network is a list of layers applied in order to an input of shape ``(C, *spatial)`` (or a
vector ``(features,)``), optionally followed by a loss::

    net = symconv.network(
        [
            {"type": "conv", "out_channels": 6, "kernel_size": 5},
            "tanh",
            {"type": "max_pool", "kernel_size": 2},
            "flatten",
            {"type": "dense", "out_features": 10},
            "softmax",
        ],
        input_size=(32, 32),
        in_channels=1,
        loss="cross_entropy",
    )
    print(net.summary())

Layer items are dicts (the same as in a JSON/TOML spec file), bare type names for layers
without parameters, :mod:`symconv.nn_layers` specs, or symconv conv/pool :class:`Layer` objects
whose input must then match. In a network, conv and dense layers have a bias by default (as
PyTorch's ``nn.Conv2d`` / ``nn.Linear``); give ``"bias": false`` to drop it.

Notation of the backprop (seed 002): layer ``l`` maps ``a^(l-1)`` to ``a^(l)`` with
``a^(0) = x``; ``delta^(l) = dL/da^(l)``. The recursion starts at the loss, with the fused
softmax + cross-entropy ``dL/dz^(n) = yhat - y`` (seed 002: ``yhat`` is the prediction, ``y``
the one-hot label), and walks the layers backwards. A ``softmax`` layer followed by the
``cross_entropy`` loss is fused the same way in generated code.

Generated code (:meth:`Network.codegen`) is one NumPy-only module. Every layer's kernels are
rendered by ``templates/numpy/network.py.jinja`` as functions named after the layer
(``conv1_forward``, ``conv1_backward``, ...). The conv and pool kernels are read off the layer's
index map: the per-axis maps (:attr:`symconv.layers.Layer.axis_maps`) are embedded and combined
at import time into the flat (output, tap) -> input index map, which drives one gather
(im2col) for the forward pass and one scatter-add (``np.bincount``) for the input gradient.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import sympy

from ..core import layers as core_layers
from . import layers as nn
from ..core.errors import CodegenError, SpecError
from ..core.spec import dims_text
from ..core.layers import Layer
from .layers import LossSpec, NNSpec
from ..templating import render

__all__ = [
    "Network",
    "NetLayer",
    "NetworkDerivation",
    "network",
    "load_network",
    "example",
    "EXAMPLES",
    "separable_parameter_counts",
    "load_generated",
    "register",
]

CONV_KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
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
REQUIRED = {
    "conv": ("out_channels", "kernel_size"),
    "conv_transpose": ("out_channels", "kernel_size"),
    "max_pool": ("kernel_size",),
    "avg_pool": ("kernel_size",),
    "dense": ("out_features",),
}
SHORT = {
    "conv": "conv",
    "conv_transpose": "convT",
    "max_pool": "maxpool",
    "avg_pool": "avgpool",
    "dense": "fc",
}
ALL_KINDS = CONV_KINDS + nn.NN_KINDS + nn.LOSS_KINDS


def _tuplify(value):
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def separable_parameter_counts(in_channels: int, out_channels: int, kernel_size) -> dict:
    """Weights of a conventional conv against a depthwise-separable one (seed 003, no bias):
    with M input channels, N output channels and a K x K kernel, ``N M K^2`` against
    ``N M + M K^2`` (M depthwise K x K filters, then N pointwise 1 x 1 x M filters)."""
    k = math.prod(kernel_size) if isinstance(kernel_size, (tuple, list)) else kernel_size**2
    m, n = in_channels, out_channels
    return {"conventional": n * m * k, "separable": n * m + m * k}


# ---------------------------------------------------------------------- the layers
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


def _normalize_item(item, index):
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
    return kind, {k: _tuplify(v) for k, v in params.items()}, None


def _build_layer(index, kind, name, params, bound, shape):
    """Bind one layer to the current shape; returns its spec and Layer (conv/pool)."""
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
        if kind in nn.LOSS_KINDS:
            return LossSpec.build(kind, shape), None
        if bound is not None:
            if bound.input_shape != tuple(shape):
                raise SpecError(
                    f"input shape must be the previous output {dims_text(shape)}, got a layer "
                    f"built for {dims_text(bound.input_shape)}"
                )
            return bound, None
        p = dict(params)
        if kind == "dense" and "in_features" in p:
            given = p.pop("in_features")
            if given != math.prod(shape):
                raise SpecError(
                    f"in_features must equal the previous output size {math.prod(shape)} "
                    f"(shape {dims_text(shape)}), got {given!r}"
                )
        return NNSpec.build(kind, shape, **p), None
    except SpecError as exc:
        raise SpecError(f"{ctx}: {exc}") from None
    except TypeError as exc:
        raise SpecError(f"{ctx}: invalid parameters: {exc}") from None


def network(
    layers,
    input_size=None,
    in_channels: int = 1,
    *,
    loss=None,
    name: str = "network",
    input_shape=None,
    description: str = "",
) -> "Network":
    """Chain ``layers`` on an input of spatial size ``input_size`` with ``in_channels`` channels
    (or give ``input_shape`` directly, e.g. ``(784,)`` for an MLP), inferring every shape.

    ``loss`` is ``'cross_entropy'`` (on probabilities, after a softmax layer),
    ``'softmax_cross_entropy'`` (fused, on logits) or ``'l2'``; it may also be the last item
    of ``layers``. Raises :class:`SpecError` naming the layer on any mismatch.
    """
    if input_shape is None:
        if input_size is None:
            raise SpecError(f"network {name!r}: input_size or input_shape is required, got None")
        if isinstance(input_size, int) and not isinstance(input_size, bool):
            input_size = (input_size,)
        input_size = _tuplify(input_size)
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
            raise SpecError(
                f"network {name!r}: in_channels must be a positive integer, got {in_channels!r}"
            )
        if not isinstance(input_size, tuple):
            raise SpecError(
                f"network {name!r}: input_size must be an int or a tuple, got {input_size!r}"
            )
        input_shape = (in_channels,) + input_size
    input_shape = _tuplify(input_shape)
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if (
        not isinstance(input_shape, tuple)
        or not input_shape
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape)
    ):
        raise SpecError(
            f"network {name!r}: input shape must be positive integers, got {input_shape!r}"
        )
    if not isinstance(layers, (list, tuple)) or not layers:
        raise SpecError(f"network {name!r}: layers must be a non-empty list, got {layers!r}")
    items = list(layers)
    if loss is not None:
        items.append(loss)
    shape = input_shape
    built, counters, names = [], {}, set()
    for index, item in enumerate(items, start=1):
        kind, params, bound = _normalize_item(item, index)
        lname = params.pop("name", None)
        if kind in nn.LOSS_KINDS and index != len(items):
            raise SpecError(
                f"layer {index} ({kind}): a loss must be the last layer, got it before "
                f"{len(items) - index} more"
            )
        counters[kind] = counters.get(kind, 0) + 1
        if lname is None:
            lname = "loss" if kind in nn.LOSS_KINDS else f"{SHORT.get(kind, kind)}{counters[kind]}"
        if not isinstance(lname, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", lname):
            raise SpecError(
                f"layer {index} ({kind}): name must be a Python identifier, got {lname!r}"
            )
        if lname in names:
            raise SpecError(f"layer {index} ({kind}): name must be unique, got {lname!r} twice")
        names.add(lname)
        spec, layer = _build_layer(index, kind, lname, params, bound, shape)
        out = spec.output_shape if kind in nn.LOSS_KINDS else spec.y_shape
        built.append(NetLayer(index, lname, kind, spec, shape, tuple(out), layer))
        shape = tuple(out)
    return Network(built, input_shape=input_shape, name=name, description=description)


# ---------------------------------------------------------------------- spec files
def _from_dict(data, source) -> "Network":
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a network spec must be an object/table, got {type(data).__name__}"
        )
    allowed = {"name", "description", "input_size", "in_channels", "input_shape", "layers", "loss"}
    for key in data:
        if key not in allowed:
            raise SpecError(
                f"{source}: key {key!r} is unknown; keys must be one of {sorted(allowed)}"
            )
    return network(
        data.get("layers"),
        data.get("input_size"),
        data.get("in_channels", 1),
        loss=data.get("loss"),
        name=data.get("name", Path(str(source)).stem),
        input_shape=data.get("input_shape"),
        description=data.get("description", ""),
    )


def load_network(path) -> "Network":
    """Read a network from a JSON file (any Python) or a TOML file (Python 3.11+, tomllib).

    The file holds ``name``, ``input_size``, ``in_channels`` (or ``input_shape``), ``layers``
    (a list of tables with a ``type``) and optionally ``loss`` and ``description``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"network spec {str(path)!r}: cannot read it: {exc.strerror}") from None
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            raise SpecError(
                f"network spec {str(path)!r}: TOML needs Python 3.11+ (tomllib), got Python "
                f"{sys.version_info.major}.{sys.version_info.minor}; use a JSON spec"
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"network spec {str(path)!r}: invalid TOML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"network spec {str(path)!r}: invalid JSON: {exc}") from None
    return _from_dict(data, path.name)


def _examples_dir():
    return resources.files("symconv.nn") / "networks"


def _example_names() -> list:
    return sorted(p.name[:-5] for p in _examples_dir().iterdir() if p.name.endswith(".json"))


EXAMPLES = ("alexnet", "lenet5", "lenet_digits", "seed002", "seed004")


def example(name: str) -> "Network":
    """A built-in network: ``seed002`` (conv-sigmoid-pool x2, FC-sigmoid, FC-softmax),
    ``lenet5`` (seed 003), ``alexnet`` (seed 003's shape table), ``seed004``
    (conv-maxpool-conv-relu-linear-softmax) and ``lenet_digits`` (LeNet-style for 8x8
    digits)."""
    names = _example_names()
    if name not in names:
        raise SpecError(f"network: example must be one of {', '.join(names)}, got {name!r}")
    data = json.loads((_examples_dir() / f"{name}.json").read_text(encoding="utf-8"))
    return _from_dict(data, f"{name}.json")


# ---------------------------------------------------------------------- the network
class Network:
    """A chain of bound layers (see :func:`network`)."""

    def __init__(self, layers, *, input_shape, name="network", description=""):
        self.all_layers = list(layers)
        self.input_shape = tuple(input_shape)
        self.name = name
        self.description = description
        self.loss = self.all_layers[-1] if self.all_layers[-1].is_loss else None
        self.layers = [lay for lay in self.all_layers if not lay.is_loss]

    # ------------------------------------------------------------------ facts
    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].output_shape

    @property
    def parameter_count(self) -> int:
        return sum(lay.parameter_count for lay in self.layers)

    @property
    def params(self) -> list:
        """``[(key, shape)]`` of every trainable parameter, in layer order."""
        return [p for lay in self.layers for p in lay.params]

    @property
    def fused_softmax(self) -> bool:
        """True when the backward pass starts with seed 002's dL/dz = yhat - y: a softmax layer
        followed by cross_entropy, or the softmax_cross_entropy loss."""
        if self.loss is None:
            return False
        if self.loss.kind == "softmax_cross_entropy":
            return True
        return self.loss.kind == "cross_entropy" and self.layers[-1].kind == "softmax"

    def __getitem__(self, key):
        for lay in self.all_layers:
            if lay.name == key:
                return lay
        raise KeyError(key)

    def __repr__(self) -> str:
        chain = " -> ".join(
            [dims_text(self.input_shape)]
            + [f"{lay.name}:{dims_text(lay.output_shape)}" for lay in self.all_layers]
        )
        return f"Network({self.name!r}: {chain})"

    def to_dict(self) -> dict:
        """The spec-file form (JSON-compatible) of this network."""
        return {
            "name": self.name,
            "description": self.description,
            "input_shape": list(self.input_shape),
            "layers": [lay.to_dict() for lay in self.layers],
            **({"loss": self.loss.kind} if self.loss is not None else {}),
        }

    # ------------------------------------------------------------------ summary
    def summary_rows(self) -> list:
        """One dict per layer: index, name, type, details, output shape, parameters and, for a
        conv with groups=1, the depthwise-separable weight count (seed 003)."""
        rows = []
        for lay in self.all_layers:
            sep = ""
            if lay.kind == "conv" and lay.spec.groups == 1:
                c = separable_parameter_counts(
                    lay.spec.in_channels, lay.spec.out_channels, lay.spec.kernel_size
                )
                sep = f"{c['separable']:,} vs {c['conventional']:,}"
            rows.append(
                {
                    "index": lay.index,
                    "name": lay.name,
                    "type": lay.kind,
                    "details": lay.describe(),
                    "output_shape": lay.output_shape,
                    "params": lay.parameter_count,
                    "separable": sep,
                }
            )
        return rows

    def summary(self) -> str:
        """A torchinfo-like table: layer, output shape (C x H x W), parameter count; for conv
        layers also the depthwise-separable weight count N M + M K^2 against N M K^2."""
        head = (
            "#",
            "layer",
            "type",
            "details",
            "output shape",
            "params",
            "weights dw-sep vs full",
        )
        rows = [("0", "input", "", "", dims_text(self.input_shape), "", "")]
        for r in self.summary_rows():
            rows.append(
                (
                    str(r["index"]),
                    r["name"],
                    r["type"],
                    r["details"],
                    dims_text(r["output_shape"])
                    + (f" ({math.prod(r['output_shape'])})" if len(r["output_shape"]) > 1 else ""),
                    f"{r['params']:,}",
                    r["separable"],
                )
            )
        widths = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
        right = {0, 5}

        def line(row):
            cells = [
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths))
            ]
            return "  ".join(cells).rstrip()

        rule = "-" * len(line(head))
        title = f"Network {self.name!r}" + (f": {self.description}" if self.description else "")
        out = [title, rule, line(head), rule] + [line(r) for r in rows] + [rule]
        neurons = sum(math.prod(lay.output_shape) for lay in self.layers)
        out.append(f"Total parameters: {self.parameter_count:,}")
        out.append(f"Output units (all layers): {neurons:,}")
        if self.loss is not None:
            fused = " (backward starts with dL/dz = yhat - y)" if self.fused_softmax else ""
            out.append(f"Loss: {self.loss.kind}{fused}")
        return "\n".join(out)

    # ------------------------------------------------------------------ backprop
    def backprop(self, *, index_base: int = 1) -> "NetworkDerivation":
        """The symbolic backprop derivation (small inputs only: expressions grow with size)."""
        return NetworkDerivation(self, index_base=index_base)

    def latex(self, *, standalone: bool = True) -> str:
        """The per-layer backprop recursions (seed 002's summary slides: "for each fully
        connected layer ..., for each convolutional layer ...") as LaTeX, instantiated with
        this network's sizes; a full document unless ``standalone=False``."""
        return _network_latex(self, standalone=standalone)

    # ------------------------------------------------------------------ code
    def codegen(self, *, kernels: str = "codegen") -> str:
        """Source of a NumPy-only module with ``forward``, ``backward``, ``step`` (SGD) and a
        ``Network`` class for this network (see ``templates/numpy/network.py.jinja``).

        ``kernels`` picks the conv/pool kernels: ``'codegen'`` (default) embeds each layer's
        module from :func:`symconv.codegen.generate_numpy` verbatim, as a string executed into
        a per-layer namespace at import (no renaming, no text substitution);
        ``'index_map'`` renders compact gather/scatter kernels from the flat index map
        instead (an independent second implementation, used to cross-check the first).
        """
        if kernels not in ("codegen", "index_map"):
            raise SpecError(
                f"network codegen: kernels must be 'codegen' or 'index_map', got {kernels!r}"
            )
        ctx = _codegen_context(self, kernels)
        source = render("numpy/network.py.jinja", **ctx)
        try:
            import black

            return black.format_str(source, mode=black.Mode(line_length=99))
        except ImportError:  # pragma: no cover - black is a dependency
            return source
        except Exception as exc:  # black.InvalidInput and friends
            raise CodegenError(f"network codegen produced invalid Python: {exc}") from None

    def module(self, *, kernels: str = "codegen"):
        """The generated module, imported (a fresh module object)."""
        return load_generated(self.codegen(kernels=kernels), f"symconv_generated_{self.name}")

    # ------------------------------------------------------------------ numbers
    def init_params(self, seed: int = 0) -> dict:
        """Random float64 parameters, PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        return self.module().init_params(seed)

    def reference_forward(self, params, x):
        """Plain-loop forward pass of one sample (no batch axis): the outputs of every layer
        (``reference.py`` for conv/pool, :mod:`symconv.nn_layers` loops otherwise)."""
        from ..core import reference

        acts = [np.asarray(x, dtype=np.float64)]
        for lay in self.layers:
            a = acts[-1]
            w, b = params.get(f"{lay.name}.w"), params.get(f"{lay.name}.b")
            if lay.kind in CONV_KINDS:
                acts.append(np.asarray(reference.forward(lay.spec, a, w, b), dtype=np.float64))
            else:
                acts.append(nn.reference_forward(lay.spec, a, w, b))
        return acts

    def reference_gradients(self, params, x, target):
        """``(loss, grads, dx)`` of one sample by the plain-loop references, chained. The loss
        gradient is the exact one (no fusion), so it also checks the fused shortcut."""
        from ..core import reference

        if self.loss is None:
            raise SpecError(f"network {self.name!r}: gradients need a loss, got none")
        acts = self.reference_forward(params, x)
        loss, g = nn.reference_loss(self.loss.spec, acts[-1], target)
        grads = {}
        for lay, a in zip(reversed(self.layers), reversed(acts[:-1])):
            w = params.get(f"{lay.name}.w")
            if lay.kind in CONV_KINDS:
                dx, dw, db = reference.backward(lay.spec, g, a, w)
            else:
                dx, dw, db = nn.reference_backward(lay.spec, g, a, w)
            if dw is not None:
                grads[f"{lay.name}.w"] = np.asarray(dw, dtype=np.float64)
            if db is not None:
                grads[f"{lay.name}.b"] = np.asarray(db, dtype=np.float64)
            g = np.asarray(dx, dtype=np.float64)
        return loss, grads, g

    def gradcheck(
        self,
        *,
        batch: int = 2,
        seed: int = 0,
        eps: float = 1e-6,
        reference=True,
        torch=True,
        fd_entries=None,
    ) -> dict:
        """Check the generated module's backward against central finite differences
        ``(L(p + eps) - L(p - eps)) / (2 eps)`` (seed 004) in float64, against the chained
        plain-loop references, and against PyTorch when installed. Returns a report dict with
        the largest relative errors and ``ok``."""
        return gradcheck(
            self,
            batch=batch,
            seed=seed,
            eps=eps,
            use_reference=reference,
            use_torch=torch,
            fd_entries=fd_entries,
        )

    # ------------------------------------------------------------------ graph
    def to_dot(self, *, backward: bool = True) -> str:
        """The computation graph (seed 004) as Graphviz DOT: tensors as ellipses, operations as
        boxes, parameters as notes; with ``backward``, the reverse-mode edges carrying
        dL/da^(l) in red, dashed."""
        return _to_dot(self, backward=backward)


# ---------------------------------------------------------------------- generated module
def load_generated(source: str, name: str = "symconv_generated_network"):
    """Execute generated source as a fresh module object (not added to sys.modules)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def _lst(arr) -> str:
    return repr(np.asarray(arr).astype(int).tolist())


def _embedded_source(source: str) -> str:
    """A Python literal holding ``source``: a raw triple-quoted string when that is exact."""
    if "'''" not in source and not source.endswith("\\") and "\r" not in source:
        return "r'''" + source + "'''"
    return repr(source)


def _codegen_context(net: Network, kernels: str = "codegen") -> dict:
    layers = []
    for lay in net.layers:
        spec = lay.spec
        d = {
            "name": lay.name,
            "kind": lay.kind,
            "const": lay.name.upper(),
            "input_shape": tuple(lay.input_shape),
            "output_shape": tuple(lay.output_shape),
            "w_shape": tuple(lay.w_shape) if lay.w_shape is not None else None,
            "b_shape": tuple(lay.b_shape) if lay.b_shape is not None else None,
            "describe": f"{lay.kind} {lay.describe()}".strip(),
            "source": None,
        }
        if lay.kind in CONV_KINDS:
            layer = lay.layer
            d.update(
                c_in=spec.in_channels,
                c_out=spec.out_channels,
                groups=spec.groups,
                cin_g=spec.in_channels // spec.groups,
                cout_g=spec.out_channels // spec.groups,
                n_in=math.prod(spec.input_size),
                n_out=math.prod(spec.output_size),
                taps=math.prod(spec.kernel_size),
                input_size=tuple(spec.input_size),
                output_size=tuple(spec.output_size),
                axes=[(_lst(m.source), _lst(m.valid)) for m in layer.axis_maps],
                flip=bool(spec.flip),
                ties=spec.ties,
                fill="-np.inf" if lay.kind == "max_pool" else "0.0",
                window=_lst(layer.window_sizes) if lay.kind == "avg_pool" else None,
                fan_in=(
                    (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)
                    if lay.kind == "conv"
                    else (spec.out_channels // spec.groups) * math.prod(spec.kernel_size)
                ),
                source=None,
            )
            if kernels == "codegen":
                from ..codegen import generate_numpy

                d["source"] = _embedded_source(generate_numpy(layer))
        elif lay.kind == "dense":
            d.update(fan_in=spec.in_features)
        layers.append(d)
    loss = net.loss.kind if net.loss is not None else None
    return {
        "net_name": net.name,
        "summary": net.summary(),
        "input_shape": tuple(net.input_shape),
        "output_shape": tuple(net.output_shape),
        "layers": layers,
        "loss": loss,
        "fused": net.fused_softmax,
        "fused_softmax_layer": net.fused_softmax and net.layers[-1].kind == "softmax",
        "params": [(k, tuple(s)) for k, s in net.params],
        "kernels": kernels,
    }


# ---------------------------------------------------------------------- gradient checks
def _random_target(net, rng, batch):
    k = net.output_shape
    if net.loss.kind == "l2":
        return rng.standard_normal((batch,) + tuple(k))
    labels = rng.integers(0, k[0], size=batch)
    return np.eye(k[0])[labels]


def _rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def gradcheck(
    net,
    *,
    batch=2,
    seed=0,
    eps=1e-6,
    use_reference=True,
    use_torch=True,
    fd_entries=None,
    fd_tol=1e-5,
    tol=1e-9,
) -> dict:
    """See :meth:`Network.gradcheck`. Finite differences are held to ``fd_tol`` (their own
    truncation and rounding error), exact comparisons to ``tol``; ``fd_entries`` limits the
    finite differences to that many randomly chosen entries per array (None: all)."""
    if net.loss is None:
        raise SpecError(f"network {net.name!r}: gradcheck needs a loss, got none")
    mod = net.module()
    rng = np.random.default_rng(seed)
    params = mod.init_params(seed)
    x = rng.standard_normal((batch,) + net.input_shape)
    target = _random_target(net, rng, batch)
    loss, grads, dx = mod.loss_and_gradients(params, x, target)
    report = {"network": net.name, "loss": float(loss), "batch": batch, "checks": {}}

    def fd_err(arr, grad):
        flat = arr.reshape(-1)
        picked = np.arange(flat.size)
        if fd_entries is not None and flat.size > fd_entries:
            picked = np.sort(rng.choice(flat.size, fd_entries, replace=False))
        num = np.empty(picked.size)
        for j, i in enumerate(picked):
            old = flat[i]
            flat[i] = old + eps
            lp = mod.loss_and_gradients(params, x, target, need_grad=False)[0]
            flat[i] = old - eps
            lm = mod.loss_and_gradients(params, x, target, need_grad=False)[0]
            flat[i] = old
            num[j] = (lp - lm) / (2 * eps)
        return _rel_err(num, grad.reshape(-1)[picked])

    fd = {key: fd_err(params[key], grads[key]) for key in grads}
    fd["input"] = fd_err(x, dx)
    report["checks"]["finite_differences"] = fd
    if use_reference:
        ref = {}
        for n in range(batch):
            rl, rg, rdx = net.reference_gradients(params, x[n], target[n])
            ref.setdefault("input", 0.0)
            ref["input"] = max(ref["input"], _rel_err(rdx / batch, dx[n]))
            for key, g in rg.items():
                ref[key] = ref.get(key, 0.0) + 0.0
                ref.setdefault("_sum_" + key, np.zeros_like(g))
                ref["_sum_" + key] = ref["_sum_" + key] + g / batch
        for key in list(ref):
            if key.startswith("_sum_"):
                k = key[5:]
                ref[k] = _rel_err(ref.pop(key), grads[k])
        report["checks"]["reference"] = ref
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            report["checks"]["torch"] = "skipped: PyTorch is not installed"
        else:
            report["checks"]["torch"] = _torch_check(net, params, x, target, loss, grads, dx)
    ok, worst = True, 0.0
    for name, check in report["checks"].items():
        if isinstance(check, dict):
            errs = [v for v in check.values() if isinstance(v, float)]
            worst = max([worst] + errs)
            ok = ok and all(e < (fd_tol if name == "finite_differences" else tol) for e in errs)
    report["max_rel_error"] = worst
    report["ok"] = ok
    return report


def _torch_check(net, params, x, target, loss, grads, dx) -> dict:
    """The same network in PyTorch (float64, autograd): relative errors of loss and grads."""
    import torch
    import torch.nn.functional as F

    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    a = tx
    for lay in net.layers:
        spec, kind = lay.spec, lay.kind
        w, b = tp.get(f"{lay.name}.w"), tp.get(f"{lay.name}.b")
        if kind in CONV_KINDS:
            nd = spec.ndim
            pads = [p for lo_hi in reversed(spec.padding) for p in lo_hi]
            if kind == "conv":
                fill = 0.0
            elif kind == "max_pool":
                fill = float("-inf")
            else:
                fill = None
            if kind == "conv":
                a = F.pad(a, pads, value=fill)
                ww = torch.flip(w, dims=tuple(range(2, 2 + nd))) if spec.flip else w
                conv = [F.conv1d, F.conv2d, F.conv3d][nd - 1]
                a = conv(a, ww, b, stride=spec.stride, dilation=spec.dilation, groups=spec.groups)
            elif kind == "conv_transpose":
                if any(lo != hi for lo, hi in spec.padding):
                    return {"skipped": "asymmetric transposed padding"}
                convt = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1]
                a = convt(
                    a,
                    w,
                    b,
                    stride=spec.stride,
                    padding=tuple(lo for lo, _ in spec.padding),
                    output_padding=spec.output_padding,
                    groups=spec.groups,
                    dilation=spec.dilation,
                )
            elif kind == "max_pool":
                sym = all(lo == hi for lo, hi in spec.padding)
                if spec.ties != "first" or not sym:
                    return {"skipped": "max pool with split ties or asymmetric padding"}
                pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][nd - 1]
                a = pool(
                    a,
                    spec.kernel_size,
                    spec.stride,
                    tuple(lo for lo, _ in spec.padding),
                    spec.dilation,
                    ceil_mode=spec.ceil_mode,
                )
            else:
                if not all(lo == hi for lo, hi in spec.padding):
                    return {"skipped": "avg pool with asymmetric padding"}
                pool = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][nd - 1]
                a = pool(
                    a,
                    spec.kernel_size,
                    spec.stride,
                    tuple(lo for lo, _ in spec.padding),
                    ceil_mode=spec.ceil_mode,
                    count_include_pad=spec.count_include_pad,
                )
        elif kind == "sigmoid":
            a = torch.sigmoid(a)
        elif kind == "tanh":
            a = torch.tanh(a)
        elif kind == "relu":
            a = torch.relu(a)
        elif kind == "flatten":
            a = a.reshape(a.shape[0], -1)
        elif kind == "softmax":
            a = torch.softmax(a, dim=1)
        elif kind == "dense":
            a = F.linear(a.reshape(a.shape[0], -1), w, b)
    tt = torch.tensor(target, dtype=torch.float64)
    n = x.shape[0]
    if net.loss.kind == "cross_entropy":
        tl = -(tt * torch.log(a)).sum() / n
    elif net.loss.kind == "softmax_cross_entropy":
        tl = -(tt * torch.log_softmax(a, dim=1)).sum() / n
    else:
        tl = 0.5 * ((a - tt) ** 2).sum() / n
    tl.backward()
    out = {"loss": _rel_err(tl.item(), loss), "input": _rel_err(tx.grad.numpy(), dx)}
    for k, v in tp.items():
        out[k] = _rel_err(v.grad.numpy(), grads[k])
    return out


# ---------------------------------------------------------------------- symbolic backprop
def _rename(arr, prefix, index_base):
    """Symbols named ``{prefix}_{indices}`` of arr's shape (object ndarray)."""
    from ..core.symbols import symbol_array

    shape = arr.shape if hasattr(arr, "shape") else ()
    return symbol_array(prefix, shape, index_base=index_base)


def _np(arr):
    """A SymPy N-d array as an object ndarray."""
    if arr is None:
        return None
    return np.array(arr.tolist(), dtype=object).reshape(arr.shape)


class NetworkDerivation:
    """Symbolic backprop through a whole network (seed 002/004), for small inputs.

    For every layer ``l`` (1-based) it holds SymPy object arrays: ``a[l]`` the output symbols
    ``a{l}_...`` (``a[0]`` is the input, named ``x``), ``params[key]`` the parameter symbols
    (``w{l}_...``, ``b{l}_...``), ``delta[l]`` the symbols ``d{l}_...`` of ``dL/da^(l)``,
    ``forward[l]`` the expressions of ``a[l]`` in terms of ``a[l-1]``, ``backward[l]`` the
    expressions of ``dL/da^(l-1)`` in terms of ``delta[l]`` and ``a[l-1]``, ``param_grads[key]``
    the expressions of dL/dparam in terms of ``delta[l]`` and ``a[l-1]``. The loss adds
    ``target`` symbols ``t_...``, ``loss`` and ``delta_n`` (dL/da^(n), the start of the
    recursion; yhat - y for the fused softmax + cross-entropy, kept exact here).
    """

    def __init__(self, net: Network, *, index_base: int = 1):
        from ..core.derive import derive

        self.net = net
        self.index_base = index_base
        ib = index_base
        self.a = {0: _rename(np.empty(net.input_shape), "x", ib)}
        self.delta, self.forward, self.backward = {}, {}, {}
        self.params, self.param_grads = {}, {}
        for lay in net.layers:
            l = lay.index
            if lay.kind in CONV_KINDS:
                d = derive(lay.layer, index_base=ib)
            else:
                d = nn.derive_nn(lay.spec, index_base=ib)
            a_in = self.a[l - 1]
            a_out = _rename(np.empty(lay.output_shape), f"a{l}", ib)
            dl = _rename(np.empty(lay.output_shape), f"d{l}", ib)
            subs = dict(zip(_np(d.x).reshape(-1), a_in.reshape(-1)))
            subs.update(zip(_np(d.dy).reshape(-1), dl.reshape(-1)))
            for attr, letter in (("w", "w"), ("b", "b")):
                sym = getattr(d, attr)
                if sym is not None:
                    new = _rename(_np(sym), f"{letter}{l}", ib)
                    self.params[f"{lay.name}.{attr}"] = new
                    subs.update(zip(_np(sym).reshape(-1), new.reshape(-1)))
            fw = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])
            self.a[l] = a_out
            self.delta[l] = dl
            self.forward[l] = fw(_np(d.y))
            self.backward[l] = fw(_np(d.grad_x))
            for attr in ("w", "b"):
                g = getattr(d, f"grad_{attr}")
                if g is not None:
                    self.param_grads[f"{lay.name}.{attr}"] = fw(_np(g))
        n = len(net.layers)
        self.target = self.loss = self.delta_n = None
        if net.loss is not None:
            ld = nn.derive_nn(net.loss.spec, index_base=ib)
            t = _rename(_np(ld.target), "t", ib)
            subs = dict(zip(_np(ld.x).reshape(-1), self.a[n].reshape(-1)))
            subs.update(zip(_np(ld.target).reshape(-1), t.reshape(-1)))
            self.target = t
            self.loss = ld.loss.xreplace(subs)
            self.delta_n = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])(
                _np(ld.grad_x)
            )

    def composed(self):
        """Closed forms: ``(loss, {a-level: expressions in x and parameters})`` by substituting
        each layer's forward into the next. Small networks only."""
        n = len(self.net.layers)
        values = {}
        outs = {0: self.a[0]}
        for l in range(1, n + 1):
            subs = dict(zip(self.a[l - 1].reshape(-1), outs[l - 1].reshape(-1))) if l > 1 else {}
            outs[l] = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])(self.forward[l])
            values[l] = outs[l]
        loss = None
        if self.loss is not None:
            loss = self.loss.xreplace(dict(zip(self.a[n].reshape(-1), outs[n].reshape(-1))))
        return loss, values

    def numeric_gradients(self, params: dict, x, target):
        """Evaluate the recursion at float64 numbers for one sample: ``(loss, grads, dx)``."""
        n = len(self.net.layers)
        vals = {}
        vals.update(zip(self.a[0].reshape(-1), np.asarray(x, dtype=float).reshape(-1)))
        for key, sym in self.params.items():
            vals.update(zip(sym.reshape(-1), np.asarray(params[key], dtype=float).reshape(-1)))

        def ev(arr):
            flat = [sympy.sympify(e) for e in arr.reshape(-1)]
            fn = sympy.lambdify(
                list(vals),
                flat,
                modules=[{"Heaviside": lambda v, h=0.0: np.heaviside(v, h)}, "numpy"],
            )
            return np.asarray(fn(*vals.values()), dtype=float).reshape(arr.shape)

        for l in range(1, n + 1):
            vals.update(zip(self.a[l].reshape(-1), ev(self.forward[l]).reshape(-1)))
        vals.update(zip(self.target.reshape(-1), np.asarray(target, dtype=float).reshape(-1)))
        loss = float(ev(np.array([self.loss], dtype=object))[0])
        g = ev(self.delta_n)
        grads = {}
        for lay in reversed(self.net.layers):
            l = lay.index
            vals.update(zip(self.delta[l].reshape(-1), g.reshape(-1)))
            for attr in ("w", "b"):
                key = f"{lay.name}.{attr}"
                if key in self.param_grads:
                    grads[key] = ev(self.param_grads[key])
            g = ev(self.backward[l])
        return loss, grads, g


# ---------------------------------------------------------------------- LaTeX
OUT_LETTERS = ("i", "j", "k")
TAP_LETTERS = ("m", "n", "q")
IN_LETTERS = ("u", "v", "r")


def _affine(terms, const) -> str:
    """``[(2, 'i'), (1, 'm')], -2 -> '2i+m-2'``."""
    out = ""
    for coef, var in terms:
        if coef == 0:
            continue
        sign = "-" if coef < 0 else ("+" if out else "")
        mag = abs(coef)
        out += f"{sign}{'' if mag == 1 else mag}{var}"
    if const or not out:
        out += f"{'-' if const < 0 else ('+' if out else '')}{abs(const)}"
    return out


def _dl(what: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {what}}}"


def _act(l: int, sub: str) -> str:
    return f"a^{{({l})}}_{{{sub}}}"


def _elem_sub(shape) -> str:
    """Subscript of a generic element: ``c,i,j`` for (C, H, W) (channel shown when C > 1)."""
    if len(shape) == 1:
        return "i"
    spatial = ",".join(OUT_LETTERS[: len(shape) - 1])
    return f"c,{spatial}" if shape[0] > 1 else spatial


def _sum(var: str, upper: int) -> str:
    return rf"\sum_{{{var}=1}}^{{{upper}}}"


def _conv_positions(spec, flip):
    """Per axis the affine input index read by output index i and tap m."""
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
            pos.append(_affine([(s, i), (-d, m)], d * k + 1 - s - lo))
        else:
            pos.append(_affine([(s, i), (d, m)], 1 - s - d - lo))
    return pos


def _latex_conv(lay, l):
    spec = lay.spec
    nd = spec.ndim
    c_in, c_out = spec.in_channels, spec.out_channels
    cs = "s," if c_out > 1 else ""
    cp = "p," if c_in > 1 else ""
    wsub_ch = ("s," if c_out > 1 else "") + ("p," if spec.in_channels // spec.groups > 1 else "")
    taps = ",".join(TAP_LETTERS[:nd])
    outs = ",".join(OUT_LETTERS[:nd])
    pos = _conv_positions(spec, spec.flip)
    x_sub = cp + ",".join(pos)
    w = f"w^{{({l})}}_{{{wsub_ch}{taps}}}"
    tap_sums = "".join(_sum(TAP_LETTERS[a], spec.kernel_size[a]) for a in range(nd))
    out_sums = "".join(_sum(OUT_LETTERS[a], spec.output_size[a]) for a in range(nd))
    if spec.groups == 1:
        p_sum = _sum("p", c_in) if c_in > 1 else ""
        s_sum = _sum("s", c_out) if c_out > 1 else ""
    else:
        p_sum = r"\sum_{p \in G(s)}"
        s_sum = r"\sum_{s \in G(p)}"
    bias = f" + b^{{({l})}}_{{{'s' if c_out > 1 else '1'}}}" if spec.bias else ""
    forward = [f"{_act(l, cs + outs)} &= {p_sum}{tap_sums} {w}\\, {_act(l - 1, x_sub)}{bias}"]
    up = _dl(_act(l, cs + outs))
    backward = [
        f"{_dl(w)} &= {out_sums} {up}\\, {_act(l - 1, x_sub)}",
    ]
    if spec.bias:
        backward.append(
            f"{_dl(f'b^{{({l})}}_{{{chr(115) if c_out > 1 else 1}}}')} &= {out_sums} {up}"
        )
    ins = ",".join(IN_LETTERS[:nd])
    if all(st == 1 for st in spec.stride):
        # solve u = pos(i, m) for i: i = u -/+ d m - const
        sol = []
        for ax in range(nd):
            d, (lo, _), k = spec.dilation[ax], spec.padding[ax], spec.kernel_size[ax]
            u, m = IN_LETTERS[ax], TAP_LETTERS[ax]
            if spec.flip:
                sol.append(_affine([(1, u), (d, m)], -(d * k - lo)))
            else:
                sol.append(_affine([(1, u), (-d, m)], d + lo))
        dsub = cs + ",".join(sol)
        backward.append(
            f"{_dl(_act(l - 1, cp + ins))} &= {s_sum}{tap_sums} {w}\\, " f"{_dl(_act(l, dsub))}"
        )
        text = (
            "A convolutional layer (seed 002's summary: the upstream gradient is correlated "
            "with the " + ("unflipped" if spec.flip else "180-degree rotated") + " kernel)."
        )
    else:
        cond = r",\ ".join(f"{p} = {IN_LETTERS[a]}" for a, p in enumerate(pos))
        backward.append(
            f"{_dl(_act(l - 1, cp + ins))} &= {s_sum}{tap_sums}"
            rf"\sum_{{{outs}:\ {cond}}} {w}\, {_dl(_act(l, cs + outs))}"
        )
        text = (
            "A strided convolutional layer: each input gathers the outputs whose windows read it."
        )
    if spec.groups > 1:
        text += rf" $G(\cdot)$ is the channel group ({spec.groups} groups)."
    return forward, backward, text


def _latex_conv_transpose(lay, l):
    spec = lay.spec
    forward = [
        f"a^{{({l})}} &= \\operatorname{{conv\\_transpose}}(a^{{({l - 1})}}, w^{{({l})}})"
        + (f" + b^{{({l})}}" if spec.bias else "")
    ]
    backward = [
        f"{_dl(f'a^{{({l - 1})}}')} &= \\operatorname{{conv}}"
        f"\\Bigl({_dl(f'a^{{({l})}}')}, w^{{({l})}}\\Bigr)",
        f"{_dl(f'w^{{({l})}}')} &= \\text{{correlation of }} {_dl(f'a^{{({l})}}')}"
        f"\\text{{ with }} a^{{({l - 1})}}",
    ]
    return forward, backward, "A transposed convolution: its input gradient is a convolution."


def _latex_pool(lay, l):
    spec = lay.spec
    nd = spec.ndim
    cs = "c," if spec.in_channels > 1 else ""
    outs = ",".join(OUT_LETTERS[:nd])
    ins = ",".join(IN_LETTERS[:nd])
    taps = ",".join(TAP_LETTERS[:nd])
    pos = _conv_positions(spec, False)
    x_sub = cs + ",".join(pos)
    up = _dl(_act(l, cs + outs))
    cond = r",\ ".join(f"{p} = {IN_LETTERS[a]}" for a, p in enumerate(pos))
    if lay.kind == "max_pool":
        forward = [f"{_act(l, cs + outs)} &= \\max_{{{taps}}} {_act(l - 1, x_sub)}"]
        tie = "the first maximum" if spec.ties == "first" else "an equal share of tied maxima"
        backward = [
            f"{_dl(_act(l - 1, cs + ins))} &= \\sum_{{{outs}:\\ ({ins}) = "
            f"\\operatorname{{argmax}}_{{{outs}}}}} {up}"
        ]
        text = (
            "Max pooling has no parameters; each window's gradient goes back to the input "
            f"it came from ({tie}, summed where windows overlap)."
        )
    else:
        k = math.prod(spec.kernel_size)
        uniform = len(set(lay.layer.window_sizes.tolist())) == 1
        n = str(int(lay.layer.window_sizes[0])) if uniform else f"N_{{{outs}}}"
        forward = [
            f"{_act(l, cs + outs)} &= \\frac{{1}}{{{n}}}"
            + "".join(_sum(TAP_LETTERS[a], spec.kernel_size[a]) for a in range(nd))
            + f" {_act(l - 1, x_sub)}"
        ]
        backward = [
            f"{_dl(_act(l - 1, cs + ins))} &= \\sum_{{{outs},{taps}:\\ {cond}}} "
            f"\\frac{{1}}{{{n}}} {up}"
        ]
        text = f"Mean pooling spreads each window's gradient evenly ({k} taps per window)."
    return forward, backward, text


def _latex_layer(lay, l):
    """(forward rows, backward rows, text) of one layer."""
    if lay.kind == "conv":
        return _latex_conv(lay, l)
    if lay.kind == "conv_transpose":
        return _latex_conv_transpose(lay, l)
    if lay.kind in ("max_pool", "avg_pool"):
        return _latex_pool(lay, l)
    sub = _elem_sub(lay.input_shape)
    up = _dl(_act(l, sub))
    down = _dl(_act(l - 1, sub))
    if lay.kind == "sigmoid":
        return (
            [f"{_act(l, sub)} &= \\frac{{1}}{{1 + \\exp(-{_act(l - 1, sub)})}}"],
            [f"{down} &= {up}\\, {_act(l, sub)} \\bigl(1 - {_act(l, sub)}\\bigr)"],
            "A sigmoid layer: $f'(z) = f(z)(1 - f(z))$.",
        )
    if lay.kind == "tanh":
        return (
            [f"{_act(l, sub)} &= \\tanh {_act(l - 1, sub)}"],
            [f"{down} &= {up}\\, \\bigl(1 - ({_act(l, sub)})^2\\bigr)"],
            "A tanh layer: $\\tanh'(z) = 1 - \\tanh^2 z$.",
        )
    if lay.kind == "relu":
        return (
            [f"{_act(l, sub)} &= \\max\\bigl(0, {_act(l - 1, sub)}\\bigr)"],
            [f"{down} &= {up}\\, [{_act(l - 1, sub)} > 0]"],
            "A ReLU layer; at $0$ the subgradient $0$ is used.",
        )
    if lay.kind == "flatten":
        shape = lay.input_shape
        if len(shape) == 1:
            return ([f"{_act(l, 'i')} &= {_act(l - 1, 'i')}"], [f"{down} &= {up}"], "")
        letters = ["c"] + list(OUT_LETTERS[: len(shape) - 1])
        terms, stride = [], 1
        for size, var in zip(reversed(shape), reversed(letters)):
            terms.append((stride, var))
            stride *= size
        terms.reverse()
        k = _affine(terms, 1 - sum(c for c, _ in terms))
        full = ",".join(letters)
        return (
            [f"{_act(l, k)} &= {_act(l - 1, full)}"],
            [f"{_dl(_act(l - 1, full))} &= {_dl(_act(l, k))}"],
            "Flatten (row-major): the gradient is only reshaped.",
        )
    if lay.kind == "softmax":
        n = lay.input_shape[0]
        return (
            [
                f"{_act(l, 'i')} &= \\frac{{\\exp {_act(l - 1, 'i')}}}"
                f"{{{_sum('k', n)} \\exp {_act(l - 1, 'k')}}}"
            ],
            [
                f"{_dl(_act(l - 1, 'j'))} &= {_sum('i', n)} {_dl(_act(l, 'i'))}\\, "
                f"{_act(l, 'i')} \\bigl(\\delta_{{ij}} - {_act(l, 'j')}\\bigr)"
                f" = {_act(l, 'j')} \\Bigl({_dl(_act(l, 'j'))} - {_sum('i', n)} "
                f"{_dl(_act(l, 'i'))}\\, {_act(l, 'i')}\\Bigr)"
            ],
            "Softmax: Jacobian $y_i(1 - y_i)$ on the diagonal and $-y_i y_j$ off it.",
        )
    # dense
    spec = lay.spec
    n_out, n_in = spec.w_shape
    flat = "" if len(lay.input_shape) == 1 else " (flattened row-major)"
    bias = f" + b^{{({l})}}_{{i}}" if spec.bias else ""
    rows = [
        f"{_dl(f'W^{{({l})}}_{{ij}}')} &= {_act(l - 1, 'j')}\\, {_dl(_act(l, 'i'))}",
    ]
    if spec.bias:
        rows.append(f"{_dl(f'b^{{({l})}}_{{i}}')} &= {_dl(_act(l, 'i'))}")
    rows.append(
        f"{_dl(_act(l - 1, 'j'))} &= {_sum('i', n_out)} W^{{({l})}}_{{ij}}\\, "
        f"{_dl(_act(l, 'i'))}"
    )
    return (
        [f"{_act(l, 'i')} &= {_sum('j', n_in)} W^{{({l})}}_{{ij}}\\, {_act(l - 1, 'j')}{bias}"],
        rows,
        f"A fully connected layer{flat}: $W_{{ij}}$ joins unit $j$ to unit $i$ (seed 002).",
    )


def _latex_loss(net):
    loss = net.loss
    if loss is None:
        return None
    n = len(net.layers)
    k = net.output_shape[0] if len(net.output_shape) == 1 else None
    if loss.kind == "l2":
        sub = _elem_sub(net.output_shape)
        return {
            "forward": rf"L &= \tfrac12 \sum_{{{sub}}} \bigl({_act(n, sub)} - \hat y_{{{sub}}}\bigr)^2"
            r" & & \text{(L2 loss, target } \hat y\text{, seed 000)}",
            "text": r"The L2 loss $E = \frac12 \sum (y - \hat y)^2$ of seed 000 "
            r"(prediction $y = a^{(n)}$, target $\hat y$).",
            "backward": f"{_dl(_act(n, sub))} &= {_act(n, sub)} - \\hat y_{{{sub}}}",
        }
    if net.fused_softmax and loss.kind == "cross_entropy":
        return {
            "forward": rf"L &= -{_sum('i', k)} y_i \log \hat y_i, \quad \hat y = a^{{({n})}}"
            r" & & \text{(cross-entropy, one-hot label } y\text{)}",
            "text": f"Softmax (layer {n}) and cross-entropy are fused as in seed 002: "
            r"with $\partial L/\partial \hat y_i = -y_i/\hat y_i$ and the softmax Jacobian, "
            f"the gradient at the softmax's input $a^{{({n - 1})}}$ (the logits $z$) is",
            "backward": f"{_dl(_act(n - 1, 'i'))} &= \\hat y_i - y_i",
        }
    if loss.kind == "softmax_cross_entropy":
        return {
            "forward": rf"L &= -{_sum('i', k)} y_i \log \hat y_i, \quad "
            rf"\hat y_i = \frac{{\exp {_act(n, 'i')}}}{{{_sum('k', k)} \exp {_act(n, 'k')}}}"
            r" & & \text{(softmax cross-entropy)}",
            "text": "Softmax and cross-entropy are fused (seed 002):",
            "backward": f"{_dl(_act(n, 'i'))} &= \\hat y_i - y_i",
        }
    return {
        "forward": rf"L &= -{_sum('i', k)} y_i \log {_act(n, 'i')}" r" & & \text{(cross-entropy)}",
        "text": r"Cross-entropy on the predicted probabilities $\hat y = a^{(n)}$:",
        "backward": f"{_dl(_act(n, 'i'))} &= -\\frac{{y_i}}{{{_act(n, 'i')}}}",
    }


def _tex_escape(text: str) -> str:
    text = re.sub(r"([&%$#_{}])", r"\\\1", text).replace("~", r"\textasciitilde{}")
    return text.replace("->", r"$\to$")


def _network_latex(net: Network, *, standalone: bool = True) -> str:
    sections = []
    n = len(net.layers)
    for lay in net.layers:
        forward, backward, text = _latex_layer(lay, lay.index)
        sections.append(
            {
                "index": lay.index,
                "name": lay.name,
                "kind": lay.kind.replace("_", " "),
                "title": _tex_escape(f"{lay.kind.replace('_', ' ')} {lay.describe()}".strip()),
                "forward": [f.replace("&=", "&=", 1) for f in forward],
                "backward": backward,
                "text": text,
                "skip": net.fused_softmax and net.loss.kind == "cross_entropy" and lay.index == n,
            }
        )
    rows = [
        {
            "index": r["index"],
            "name": r["name"],
            "type": r["type"].replace("_", " "),
            "shape": r"\times".join(str(v) for v in r["output_shape"]) or "1",
            "params": f"{r['params']:,}".replace(",", "{,}"),
        }
        for r in net.summary_rows()
        if r["type"] not in nn.LOSS_KINDS
    ]
    return render(
        "latex/network.tex.jinja",
        standalone=standalone,
        net_name=_tex_escape(net.name),
        description=_tex_escape(net.description),
        input_shape=r"\times".join(str(v) for v in net.input_shape),
        rows=rows,
        total=f"{net.parameter_count:,}".replace(",", "{,}"),
        sections=sections,
        loss=_latex_loss(net),
    )


# ---------------------------------------------------------------------- DOT graph
def _to_dot(net: Network, *, backward: bool = True) -> str:
    lines = [
        f"digraph {json.dumps(net.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  a0 [shape=ellipse, label="x\\n{dims_text(net.input_shape)}"];',
    ]
    for lay in net.layers:
        l = lay.index
        detail = lay.describe()
        label = f"{lay.name}\\n{lay.kind}" + (f"\\n{detail}" if detail else "")
        lines.append(f'  op{l} [shape=box, style=filled, fillcolor="#dde8f7", label="{label}"];')
        lines.append(f'  a{l} [shape=ellipse, label="a({l})\\n{dims_text(lay.output_shape)}"];')
        lines.append(f"  a{l - 1} -> op{l};")
        lines.append(f"  op{l} -> a{l};")
        for key, shape in lay.params:
            pid = key.replace(".", "_")
            lines.append(f'  {pid} [shape=note, label="{key}\\n{dims_text(shape)}"];')
            lines.append(f"  {pid} -> op{l};")
    n = len(net.layers)
    if net.loss is not None:
        lines.append('  target [shape=ellipse, label="y (target)"];')
        lines.append(
            f'  loss [shape=box, style=filled, fillcolor="#f7e0dd", label="{net.loss.kind}"];'
        )
        lines.append('  L [shape=doublecircle, label="L"];')
        lines.append(f"  a{n} -> loss;")
        lines.append("  target -> loss;")
        lines.append("  loss -> L;")
    if backward:
        red = 'color="#c0392b", fontcolor="#c0392b", style=dashed, constraint=false'
        if net.loss is not None:
            start = "yhat - y" if net.fused_softmax else f"dL/da({n})"
            lines.append(f'  L -> a{n} [{red}, label="{start}"];')
        for lay in reversed(net.layers):
            l = lay.index
            lines.append(f'  a{l} -> op{l} [{red}, label="dL/da({l})"];')
            lines.append(f'  op{l} -> a{l - 1} [{red}, label="dL/da({l - 1})"];')
            for key, _ in lay.params:
                pid = key.replace(".", "_")
                lines.append(f'  op{l} -> {pid} [{red}, label="dL/d{key}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(net: Network, path) -> list:
    """Write DOT to ``path`` (``.dot``/``.gv``) or, for ``.svg``/``.png``/``.pdf``, DOT next to
    it plus the picture when Graphviz's ``dot`` is installed. Returns the files written."""
    path = Path(path)
    dot_text = net.to_dot()
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv", ""):
        path.write_text(dot_text, encoding="utf-8")
        return [path]
    if suffix not in (".svg", ".png", ".pdf"):
        raise SpecError(
            f"--graph: file must end in .dot, .gv, .svg, .png or .pdf, got {str(path)!r}"
        )
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(dot_text, encoding="utf-8")
    exe = shutil.which("dot")
    if exe is None:
        return [dot_path]
    subprocess.run([exe, f"-T{suffix[1:]}", str(dot_path), "-o", str(path)], check=True)
    return [dot_path, path]


# ---------------------------------------------------------------------- CLI
def register(subparsers) -> None:
    p = subparsers.add_parser(
        "network",
        help="whole networks: summary, backprop LaTeX, generated NumPy code, gradcheck, graph",
        description="Load a network from a JSON/TOML SPEC file or a built-in --example and "
        "print its summary (default), backprop LaTeX, generated NumPy module, gradient check "
        "or computation graph.",
    )
    p.add_argument("spec", nargs="?", help="network spec file (.json, or .toml on Python 3.11+)")
    p.add_argument("--example", help=f"built-in network: {', '.join(EXAMPLES)}")
    p.add_argument("--list-examples", action="store_true", help="list the built-in networks")
    p.add_argument("--summary", action="store_true", help="layer table with parameter counts")
    p.add_argument("--latex", action="store_true", help="backprop recursions as LaTeX")
    p.add_argument("--codegen", action="store_true", help="generated NumPy module")
    p.add_argument(
        "--gradcheck", action="store_true", help="finite differences, references, torch"
    )
    p.add_argument(
        "--graph", metavar="FILE", help="computation graph: .dot (or .svg/.png with dot)"
    )
    p.add_argument("--json", action="store_true", help="summary/gradcheck as JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="write --latex/--codegen to FILE")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.list_examples:
        for name in _example_names():
            net = example(name)
            print(f"{name:14s} {net.description}")
        return 0
    if args.spec and args.example:
        raise SpecError("network: give a SPEC file or --example, not both")
    if args.example:
        net = example(args.example)
    elif args.spec:
        net = load_network(args.spec)
    else:
        raise SpecError("network: a SPEC file or --example NAME is required, got neither")
    did = False
    if args.graph:
        written = write_graph(net, args.graph)
        for f in written:
            print(f"wrote {f}", file=sys.stderr)
        if not shutil.which("dot") and Path(args.graph).suffix.lower() in (".svg", ".png", ".pdf"):
            print("note: Graphviz 'dot' not found; wrote DOT only", file=sys.stderr)
        did = True
    outputs = []
    if args.latex:
        outputs.append(net.latex())
    if args.codegen:
        outputs.append(net.codegen())
    if outputs:
        text = "\n".join(outputs)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        did = True
    status = 0
    if args.gradcheck:
        report = net.gradcheck()
        if args.json:
            print(json.dumps(report, indent=2, default=str))
        else:
            print(_format_gradcheck(report))
        status = 0 if report["ok"] else 1
        did = True
    if args.summary or not did:
        if args.json:
            print(
                json.dumps(
                    {"summary": net.summary_rows(), "total_params": net.parameter_count},
                    indent=2,
                    default=list,
                )
            )
        else:
            print(net.summary())
    return status


def _format_gradcheck(report) -> str:
    lines = [f"gradcheck {report['network']}: loss {report['loss']:.6g}, batch {report['batch']}"]
    for check, values in report["checks"].items():
        if isinstance(values, str):
            lines.append(f"  {check}: {values}")
            continue
        worst = max([v for v in values.values() if isinstance(v, float)], default=0.0)
        lines.append(f"  {check}: max relative error {worst:.2e} over {len(values)} arrays")
    verdict = "OK" if report["ok"] else "FAILED"
    lines.append(f"{verdict} (finite differences within 1e-5, references and PyTorch within 1e-9)")
    return "\n".join(lines)
