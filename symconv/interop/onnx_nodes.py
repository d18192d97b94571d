"""``from_onnx``: a symconv layer from an ONNX Conv, ConvTranspose, MaxPool or AveragePool node.

Every attribute of the four operators is read (opset 22): ``auto_pad`` (NOTSET, SAME_UPPER ->
``padding='same'``, SAME_LOWER -> ``'same_lower'``, VALID), ``pads`` (begin values of every axis,
then end values), ``strides``, ``dilations``, ``group``, ``kernel_shape`` (from the weight when
absent), ``output_padding`` and ``output_shape`` (ConvTranspose; with output_shape the pads are
computed from it, the odd pixel low unless SAME_UPPER, as the operator text says), ``ceil_mode``,
``count_include_pad`` and ``storage_order`` (MaxPool: it only numbers the Indices output, see
:func:`symconv.core.argmax.max_pool_indices`). The ``onnx`` package is imported only to read
attributes and files.
"""

from __future__ import annotations

from ..core import layers
from ..core.errors import SpecError
from ._optional import require

__all__ = ["from_onnx", "load_onnx_node", "onnx_input_shape", "OPS"]

OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool")
_ATTRIBUTES = {
    "Conv": {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
    "ConvTranspose": {
        "auto_pad",
        "dilations",
        "group",
        "kernel_shape",
        "output_padding",
        "output_shape",
        "pads",
        "strides",
    },
    "MaxPool": {
        "auto_pad",
        "ceil_mode",
        "dilations",
        "kernel_shape",
        "pads",
        "storage_order",
        "strides",
    },
    "AveragePool": {
        "auto_pad",
        "ceil_mode",
        "count_include_pad",
        "dilations",
        "kernel_shape",
        "pads",
        "strides",
    },
}
_AUTO_PAD = {"SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}


def from_onnx(node, input_shape=None, *, model=None, weight_shape=None):
    """The symconv layer of ONNX ``node`` on an input of shape ``input_shape`` = ``(N, C,
    D1, ..., Dn)`` (the batch size is ignored).

    A Conv / ConvTranspose needs its weight's shape: ``weight_shape``, or ``model`` (an
    ``onnx.ModelProto`` holding the weight as an initializer or with a known shape), which also
    supplies ``input_shape`` when it is None.
    """
    onnx = require("onnx", "onnx", "symconv.from_onnx")
    op = node.op_type
    where = f"from_onnx: node {node.name!r} ({op})" if node.name else f"from_onnx: {op} node"
    if op not in OPS:
        raise SpecError(f"{where}: operator must be one of {', '.join(OPS)}")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    unknown = sorted(set(attrs) - _ATTRIBUTES[op])
    if unknown:
        raise SpecError(f"{where}: unknown attribute(s) {', '.join(unknown)}")
    if input_shape is None:
        input_shape = onnx_input_shape(model, node.input[0]) if model is not None else None
        if input_shape is None:
            raise SpecError(f"{where}: give input_shape (N, C, D1, ...); the model has none")
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) not in (3, 4, 5):
        raise SpecError(f"{where}: input_shape must be (N, C, D1[, D2[, D3]]), got {input_shape}")
    channels, spatial = input_shape[1], input_shape[2:]
    ndim = len(spatial)
    if op in ("Conv", "ConvTranspose"):
        w_shape = tuple(weight_shape) if weight_shape is not None else None
        if w_shape is None and model is not None and len(node.input) > 1:
            w_shape = onnx_input_shape(model, node.input[1])
        if w_shape is None:
            raise SpecError(f"{where}: give weight_shape or the model holding the weight")
        kernel = tuple(attrs.get("kernel_shape", w_shape[2:]))
        if kernel != tuple(w_shape[2:]):
            raise SpecError(f"{where}: kernel_shape {kernel} differs from the weight {w_shape}")
    elif "kernel_shape" not in attrs:
        raise SpecError(f"{where}: kernel_shape is required")
    else:
        kernel = tuple(attrs["kernel_shape"])
    padding = _padding(where, attrs, ndim)
    common = dict(
        stride=tuple(attrs.get("strides", (1,) * ndim)),
        dilation=tuple(attrs.get("dilations", (1,) * ndim)),
    )
    if op == "Conv":
        group = attrs.get("group", 1)
        return layers.conv(
            spatial,
            kernel,
            in_channels=channels,
            out_channels=w_shape[0],
            groups=group,
            bias=len(node.input) > 2 and bool(node.input[2]),
            padding=padding,
            **common,
        )
    if op == "ConvTranspose":
        group = attrs.get("group", 1)
        output_shape = attrs.get("output_shape")
        if output_shape is not None:
            output_shape = tuple(output_shape)[-ndim:]
            padding = "same" if padding == "same" else "same_lower"
        return layers.conv_transpose(
            spatial,
            kernel,
            in_channels=channels,
            out_channels=w_shape[1] * group,
            groups=group,
            bias=len(node.input) > 2 and bool(node.input[2]),
            padding=padding,
            output_padding=tuple(attrs.get("output_padding", (0,) * ndim)),
            output_shape=output_shape,
            **common,
        )
    if attrs.get("storage_order", 0) not in (0, 1):
        raise SpecError(f"{where}: storage_order must be 0 or 1, got {attrs['storage_order']}")
    pool = dict(channels=channels, padding=padding, ceil_mode=bool(attrs.get("ceil_mode", 0)))
    if op == "MaxPool":
        return layers.max_pool(spatial, kernel, **pool, **common)
    return layers.avg_pool(
        spatial,
        kernel,
        count_include_pad=bool(attrs.get("count_include_pad", 0)),
        **pool,
        **common,
    )


def _padding(where, attrs, ndim):
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in _AUTO_PAD:
        return _AUTO_PAD[auto_pad]
    if auto_pad != "NOTSET":
        raise SpecError(
            f"{where}: auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {auto_pad!r}"
        )
    pads = tuple(attrs.get("pads", (0,) * 2 * ndim))
    if len(pads) != 2 * ndim:
        raise SpecError(f"{where}: pads must have {2 * ndim} entries, got {list(pads)}")
    return tuple((pads[i], pads[i + ndim]) for i in range(ndim))


def onnx_input_shape(model, name):
    """The static shape of tensor ``name`` in ``model`` (an initializer, a graph input or
    output, or found by ONNX shape inference), or None when unknown."""
    onnx = require("onnx", "onnx", "symconv.from_onnx")
    graph = model.graph
    for init in graph.initializer:
        if init.name == name:
            return tuple(init.dims)

    def lookup(g):
        for info in list(g.input) + list(g.value_info) + list(g.output):
            if info.name == name and info.type.HasField("tensor_type"):
                dims = info.type.tensor_type.shape.dim
                if dims and all(d.HasField("dim_value") for d in dims):
                    return tuple(d.dim_value for d in dims)
        return None

    found = lookup(graph)
    if found is None:
        try:
            found = lookup(onnx.shape_inference.infer_shapes(model).graph)
        except Exception:  # inference failing only means the shape stays unknown
            found = None
    return found


def load_onnx_node(path, name):
    """``(node, model)``: the node called ``name`` in the ONNX model file ``path`` (for
    ``symconv ... --from-onnx model.onnx --node NAME``)."""
    onnx = require("onnx", "onnx", "reading an ONNX model")
    model = onnx.load(str(path))
    for node in model.graph.node:
        if node.name == name:
            return node, model
    names = [n.name for n in model.graph.node if n.op_type in OPS]
    raise SpecError(
        f"from_onnx: {path} has no node named {name!r}; its Conv/ConvTranspose/pool nodes are "
        f"{', '.join(repr(n) for n in names) or 'none'}"
    )
