"""Whole networks: chained layers with shape inference, summaries and parameter counts.

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
whose input must then match (see :mod:`symconv.nn.netlayer`). In a network, conv and dense
layers have a bias by default (as PyTorch's ``nn.Conv2d`` / ``nn.Linear``); give
``"bias": false`` to drop it.

Notation of the backprop (seed 002): layer ``l`` maps ``a^(l-1)`` to ``a^(l)`` with
``a^(0) = x``; ``delta^(l) = dL/da^(l)``. The recursion starts at the loss, with the fused
softmax + cross-entropy ``dL/dz^(n) = yhat - y`` (seed 002: ``yhat`` is the prediction, ``y``
the one-hot label), and walks the layers backwards. A ``softmax`` layer followed by the
``cross_entropy`` loss is fused the same way in generated code.

What a network does beyond its shapes lives next to it, and :class:`Network`'s methods hand
over to it: the symbolic backprop (:mod:`.derivation`) and its index-notation recursions
(:mod:`.recursions`), the gradient checks (:mod:`.gradcheck`), the computation graph
(:mod:`.graph`); and, in the later pipeline stages, the LaTeX (:mod:`symconv.latex.network`) and
the generated NumPy module (:mod:`symconv.codegen.network`), imported when first asked for.
"""

from __future__ import annotations

import json
import math
import re
import sys
from importlib import resources
from pathlib import Path

from .._hooks import printer
from ..core.errors import SpecError
from ..core.spec import dims_text
from . import layers as nn
from .derivation import NetworkDerivation
from .gradcheck import gradcheck, reference_forward, reference_gradients
from .graph import to_dot, write_graph  # noqa: F401  (write_graph: importable here, as before)
from .netlayer import NetLayer, bind_layer, default_name, normalize_item, tuplify

__all__ = [
    "Network",
    "NetLayer",
    "NetworkDerivation",
    "network",
    "load_network",
    "example",
    "example_names",
    "EXAMPLES",
    "separable_parameter_counts",
    "load_generated",
]


def __getattr__(name):
    """``load_generated`` (now :func:`symconv.codegen.network.load_generated`), still
    importable from here through the printers the facade registers."""
    if name != "load_generated":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return printer("load_generated")


def separable_parameter_counts(in_channels: int, out_channels: int, kernel_size) -> dict:
    """Weights of a conventional conv against a depthwise-separable one (seed 003, no bias):
    with M input channels, N output channels and a K x K kernel, ``N M K^2`` against
    ``N M + M K^2`` (M depthwise K x K filters, then N pointwise 1 x 1 x M filters)."""
    k = math.prod(kernel_size) if isinstance(kernel_size, (tuple, list)) else kernel_size**2
    m, n = in_channels, out_channels
    return {"conventional": n * m * k, "separable": n * m + m * k}


def _input_shape(input_size, in_channels, input_shape, name) -> tuple:
    """The validated input shape: ``input_shape``, or ``(in_channels, *input_size)``."""
    if input_shape is None:
        if input_size is None:
            raise SpecError(f"network {name!r}: input_size or input_shape is required, got None")
        if isinstance(input_size, int) and not isinstance(input_size, bool):
            input_size = (input_size,)
        input_size = tuplify(input_size)
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
            raise SpecError(
                f"network {name!r}: in_channels must be a positive integer, got {in_channels!r}"
            )
        if not isinstance(input_size, tuple):
            raise SpecError(
                f"network {name!r}: input_size must be an int or a tuple, got {input_size!r}"
            )
        input_shape = (in_channels,) + input_size
    input_shape = tuplify(input_shape)
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
    return input_shape


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
    input_shape = _input_shape(input_size, in_channels, input_shape, name)
    if not isinstance(layers, (list, tuple)) or not layers:
        raise SpecError(f"network {name!r}: layers must be a non-empty list, got {layers!r}")
    items = list(layers)
    if loss is not None:
        items.append(loss)
    shape = input_shape
    built, counters, names = [], {}, set()
    for index, item in enumerate(items, start=1):
        kind, params, bound = normalize_item(item, index)
        lname = params.pop("name", None)
        if kind in nn.LOSS_KINDS and index != len(items):
            raise SpecError(
                f"layer {index} ({kind}): a loss must be the last layer, got it before "
                f"{len(items) - index} more"
            )
        counters[kind] = counters.get(kind, 0) + 1
        if lname is None:
            lname = default_name(kind, counters[kind])
        if not isinstance(lname, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", lname):
            raise SpecError(
                f"layer {index} ({kind}): name must be a Python identifier, got {lname!r}"
            )
        if lname in names:
            raise SpecError(f"layer {index} ({kind}): name must be unique, got {lname!r} twice")
        names.add(lname)
        spec, layer = bind_layer(index, kind, lname, params, bound, shape)
        out = spec.output_shape if kind in nn.LOSS_KINDS else spec.y_shape
        built.append(NetLayer(index, lname, kind, spec, shape, tuple(out), layer))
        shape = tuple(out)
    return Network(built, input_shape=input_shape, name=name, description=description)


def _from_dict(data, source) -> "Network":
    """A network from a parsed spec file (``source`` names it in errors)."""
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
    """The folder of the built-in networks' JSON specs, shipped with the package."""
    return resources.files("symconv.nn") / "networks"


def example_names() -> list:
    """The names of the built-in networks (their spec files), sorted."""
    return sorted(p.name[:-5] for p in _examples_dir().iterdir() if p.name.endswith(".json"))


#: the built-in networks, as listed in the CLI's help
EXAMPLES = ("alexnet", "lenet5", "lenet_digits", "seed002", "seed004")


def example(name: str) -> "Network":
    """A built-in network: ``seed002`` (conv-sigmoid-pool x2, FC-sigmoid, FC-softmax),
    ``lenet5`` (seed 003), ``alexnet`` (seed 003's shape table), ``seed004``
    (conv-maxpool-conv-relu-linear-softmax) and ``lenet_digits`` (LeNet-style for 8x8
    digits)."""
    names = example_names()
    if name not in names:
        raise SpecError(f"network: example must be one of {', '.join(names)}, got {name!r}")
    data = json.loads((_examples_dir() / f"{name}.json").read_text(encoding="utf-8"))
    return _from_dict(data, f"{name}.json")


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

    def latex(
        self,
        *,
        standalone: bool = True,
        document: str | None = None,
        aspect: str = "169",
        **texts,
    ) -> str:
        """The per-layer backprop recursions (seed 002's summary slides: "for each fully
        connected layer ..., for each convolutional layer ...") as LaTeX, instantiated with
        this network's sizes: ``document`` ``'article'``, ``'snippet'`` (the body alone) or
        ``'beamer'`` (slides, ``aspect`` ``'169'`` or ``'43'``); without ``document``, an
        article unless ``standalone=False`` (:func:`symconv.latex.network.network_latex`).
        ``texts``: ``title``, ``subtitle``, ``author``, ``institute``, ``date``, printed verbatim.
        """
        return printer("network_latex")(
            self, standalone=standalone, document=document, aspect=aspect, **texts
        )

    # ------------------------------------------------------------------ code
    def codegen(self, *, kernels: str = "codegen") -> str:
        """Source of a NumPy-only module with ``forward``, ``backward``, ``step`` (SGD) and a
        ``Network`` class for this network (:func:`symconv.codegen.network.network_source`).

        ``kernels`` picks the conv/pool kernels: ``'codegen'`` (default) embeds each layer's
        module from :func:`symconv.codegen.generate_numpy` verbatim, as a string executed into
        a per-layer namespace at import (no renaming, no text substitution);
        ``'index_map'`` renders compact gather/scatter kernels from the flat index map
        instead (an independent second implementation, used to cross-check the first).
        """
        return printer("network_source")(self, kernels=kernels)

    def module(self, *, kernels: str = "codegen"):
        """The generated module, imported (a fresh module object)."""
        load = printer("load_generated")
        return load(self.codegen(kernels=kernels), f"symconv_generated_{self.name}")

    # ------------------------------------------------------------------ numbers
    def init_params(self, seed: int = 0) -> dict:
        """Random float64 parameters, PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        return self.module().init_params(seed)

    def reference_forward(self, params, x):
        """Plain-loop forward pass of one sample (no batch axis): the outputs of every layer
        (``reference.py`` for conv/pool, :mod:`symconv.nn_layers` loops otherwise)."""
        return reference_forward(self, params, x)

    def reference_gradients(self, params, x, target):
        """``(loss, grads, dx)`` of one sample by the plain-loop references, chained. The loss
        gradient is the exact one (no fusion), so it also checks the fused shortcut."""
        return reference_gradients(self, params, x, target)

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
        return to_dot(self, backward=backward)
