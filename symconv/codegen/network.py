"""The generated NumPy module of a whole network, and loading generated source.

:func:`network_source` renders ``templates/numpy/network.py.jinja`` (``forward``,
``backward``, ``step`` and a ``Network`` class) from :func:`network_context`. Every layer's
kernels become functions named after the layer (``conv1_forward``, ``conv1_backward``, ...).
The conv and pool kernels are either each layer's module from :func:`generate_numpy`, embedded
verbatim, or read off the layer's index map: the per-axis maps
(:attr:`symconv.core.layers.Layer.axis_maps`) are embedded and combined at import time into
the flat (output, tap) -> input index map, which drives one gather (im2col) for the forward
pass and one scatter-add (``np.bincount``) for the input gradient.
"""

from __future__ import annotations

import math
import types

import numpy as np

from ..core.errors import SpecError
from ..nn.netlayer import CONV_KINDS
from ..templating import render
from .render import format_source, generate_numpy

__all__ = ["KERNELS", "network_source", "network_context", "load_generated"]

#: the two implementations of the conv/pool kernels (see :func:`network_source`)
KERNELS = ("codegen", "index_map")


def network_source(net, *, kernels: str = "codegen") -> str:
    """Source of a NumPy-only module for ``net``, formatted by black. ``kernels`` is
    ``'codegen'`` (each conv/pool layer's :func:`generate_numpy` module, executed into a
    per-layer namespace at import) or ``'index_map'`` (compact gather/scatter kernels from the
    flat index map, an independent second implementation used to cross-check the first)."""
    if kernels not in KERNELS:
        raise SpecError(
            f"network codegen: kernels must be 'codegen' or 'index_map', got {kernels!r}"
        )
    return format_source(
        render("numpy/network.py.jinja", **network_context(net, kernels)), "network module"
    )


def load_generated(source: str, name: str = "symconv_generated_network"):
    """Execute generated source as a fresh module object (not added to sys.modules)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def _lst(arr) -> str:
    """An integer array as the literal of a (nested) Python list."""
    return repr(np.asarray(arr).astype(int).tolist())


def _embedded_source(source: str) -> str:
    """A Python literal holding ``source``: a raw triple-quoted string when that is exact."""
    if "'''" not in source and not source.endswith("\\") and "\r" not in source:
        return "r'''" + source + "'''"
    return repr(source)


def network_context(net, kernels: str = "codegen") -> dict:
    """The template context: the network's shapes, loss, parameters and one dict per layer."""
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
            )
            if kernels == "codegen":
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
