"""Layer options shared by every command: ``kind --input-size 3x3 --kernel-size 2x2 ...``.

An option that the chosen layer kind does not take is an error for every command (e.g.
``avg-pool: --groups is not an option of a pooling layer, got 2``), never silently ignored.
``--from-onnx model.onnx --node NAME`` reads the layer from a node of an ONNX model instead.
"""

from __future__ import annotations

import argparse
import re

from ..core.errors import SymconvError

__all__ = [
    "LAYER_KINDS",
    "UsageError",
    "add_budget_options",
    "add_layer_options",
    "layer_from_args",
    "parse_kind",
    "parse_padding",
    "parse_size",
]

LAYER_KINDS = {
    "conv": "conv",
    "conv-transpose": "conv_transpose",
    "max-pool": "max_pool",
    "avg-pool": "avg_pool",
}

#: A layer's name as symconv prints it (conv2d, conv_transpose1d, max_pool2d, avg_pool3d) or as
#: PyTorch and ONNX spell it (Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AveragePool):
#: the kind, and the dimension when the name carries one.
_KIND_NAME = re.compile(
    r"^(?:(conv)|(conv_?transpose)|(max_?pool)|(av(?:g|erage)_?pool))(?:_?([123])d)?$"
)


def parse_kind(text: str, input_size=None):
    """``(kind, ndim)`` of a layer kind as typed: ``conv``, ``conv-transpose``, ``max-pool``,
    ``avg-pool`` (``ndim`` None), or a layer name such as ``conv2d``, ``max_pool2d``,
    ``ConvTranspose1d`` (``ndim`` its dimension, which must match ``input_size`` when that is
    given). Anything else is a one-line :class:`UsageError` listing the kinds."""
    m = _KIND_NAME.match(str(text).strip().lower().replace("-", "_"))
    if m is None:
        raise UsageError(
            f"kind must be one of {', '.join(LAYER_KINDS)} (or a layer name such as conv2d, "
            f"conv_transpose1d, max_pool2d, avg_pool3d), got {text!r}"
        )
    kind = next(k for k, g in zip(LAYER_KINDS.values(), m.groups()) if g)
    ndim = int(m.group(5)) if m.group(5) else None
    if ndim is not None and input_size is not None:
        size = parse_size(input_size, "--input-size")
        given = len(size) if isinstance(size, tuple) else 1
        if given != ndim:
            raise UsageError(
                f"{text}: --input-size must have {ndim} dimension{'s' if ndim > 1 else ''} "
                f"for a {ndim}-D layer, got {input_size!r} ({given}-D; use "
                f"{kind.replace('_', '-')} to take the dimension from --input-size)"
            )
    return kind, ndim


_POOLS = ("max_pool", "avg_pool")
_WEIGHTED = ("conv", "conv_transpose")
_ALL = _WEIGHTED + _POOLS

#: dest -> (flag, kinds that take it, default when not given)
_LAYER_OPTIONS = {
    "input_size": ("--input-size", _ALL, "3x3"),
    "kernel_size": ("--kernel-size", _ALL, "2x2"),
    "in_channels": ("--in-channels", _ALL, 1),
    "out_channels": ("--out-channels", _WEIGHTED, 1),
    "channels": ("--channels", _POOLS, None),
    "stride": ("--stride", _ALL, None),
    "padding": ("--padding", _ALL, "0"),
    "dilation": ("--dilation", _ALL, "1"),
    "groups": ("--groups", _WEIGHTED, 1),
    "output_padding": ("--output-padding", ("conv_transpose",), "0"),
    "output_shape": ("--output-shape", ("conv_transpose",), None),
    "bias": ("--bias", _WEIGHTED, False),
    "flip": ("--flip", ("conv",), False),
    "ceil_mode": ("--ceil-mode", _POOLS, False),
    "count_include_pad": ("--no-count-include-pad", ("avg_pool",), True),
    "ties": ("--ties", ("max_pool",), "first"),
}

_NOUNS = {
    "conv": "a convolution",
    "conv_transpose": "a transposed convolution",
    "max_pool": "a max pool",
    "avg_pool": "an average pool",
}


class UsageError(SymconvError, ValueError):
    """A command-line value could not be understood."""


#: The forms ``--padding`` accepts, for its help and its error messages.
PADDING_FORMS = (
    "integers joined by 'x' (an int such as 1, or AxB such as 1x2), lo:hi per axis "
    "(0:1x1:0), same (= same_upper), same_lower or valid"
)

#: Option values argparse must hand to the option rather than read as an option: negative
#: numbers, sizes and per-side paddings (``-1``, ``-3x3``, ``-1:0``), so that a negative size
#: gets a message about the size.
_NEGATIVE_VALUE = re.compile(r"^-\d+([x*,:]-?\d+)*$|^-\d*\.\d+$", re.IGNORECASE)


def parse_size(text: str, option: str):
    """``'3x3' -> (3, 3)``, ``'3' -> 3``, ``'2,3' -> (2, 3)`` (the layer checks the values)."""
    raw = text.strip().lower().replace(",", "x").replace("*", "x")
    parts = [p.strip() for p in raw.split("x")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"{option} must be integers joined by 'x' (e.g. 3x3), got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def parse_padding(text: str, option: str = "--padding"):
    """``'1'``, ``'1x2'``, ``'same'`` (= ``same_upper``), ``'same_lower'``, ``'valid'`` or
    per-side ``'0:1x1:0'`` (lo:hi per axis). A value of none of these forms is a
    :class:`UsageError` listing them."""
    low = text.strip().lower().replace("-", "_")
    if low in ("same", "same_upper", "same_lower", "valid"):
        return low
    bad = UsageError(f"{option} must be {PADDING_FORMS}; got {text!r}")
    try:
        if ":" not in low:
            return parse_size(text, option)
        pairs = []
        for part in low.replace(",", "x").split("x"):
            lo, sep, hi = part.partition(":")
            pairs.append((int(lo), int(hi)) if sep else (int(lo), int(lo)))
    except (UsageError, ValueError):
        raise bad from None
    return tuple(pairs)


def add_layer_options(parser: argparse.ArgumentParser, *, default_kind: str = "conv") -> None:
    """Add the layer positional argument and its options to a subcommand parser. Every layer
    option defaults to None (not given); :func:`layer_from_args` fills in the defaults."""
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = _NEGATIVE_VALUE
    parser.add_argument(
        "kind",
        nargs="?",
        default=default_kind.replace("_", "-"),
        help=f"layer kind: {', '.join(LAYER_KINDS)}, or a layer name as symconv prints it "
        "(conv2d, conv_transpose1d, max_pool2d, avg_pool3d: the dimension is checked against "
        "--input-size, and sets the default sizes) (default: %(default)s)",
    )
    g = parser.add_argument_group("layer")
    g.add_argument("--input-size", help="spatial input size, e.g. 3x3 (1-3 dims; default 3x3)")
    g.add_argument("--kernel-size", help="kernel size, e.g. 2x2 (default 2x2)")
    g.add_argument("--in-channels", type=int, help="input channels (default 1)")
    g.add_argument("--out-channels", type=int, help="output channels (conv; default 1)")
    g.add_argument("--channels", type=int, help="channels (pools; default 1)")
    g.add_argument("--stride", help="stride (default 1; pools: kernel size)")
    g.add_argument("--padding", help=f"padding: {PADDING_FORMS} (default 0)")
    g.add_argument("--dilation", help="dilation, e.g. 2 or 2x1 (default 1 = none)")
    g.add_argument("--groups", type=int, help="groups (conv; default 1)")
    g.add_argument(
        "--output-padding", help="extra output rows/columns of a conv-transpose (default 0)"
    )
    g.add_argument(
        "--output-shape",
        help="spatial output size of a conv-transpose, e.g. 10x8 (pads computed as ONNX)",
    )
    g.add_argument("--bias", action="store_true", default=None, help="a bias per output channel")
    g.add_argument(
        "--flip", action="store_true", default=None, help="true convolution (rotated kernel)"
    )
    g.add_argument(
        "--ceil-mode", action="store_true", default=None, help="pools: ceil output size"
    )
    g.add_argument(
        "--no-count-include-pad",
        dest="count_include_pad",
        action="store_false",
        default=None,
        help="avg-pool: divide by the number of real inputs only",
    )
    g.add_argument("--ties", choices=["first", "split"], help="max-pool ties (default first)")
    g.add_argument(
        "--index-base",
        type=int,
        default=1,
        choices=[0, 1],
        help="first index of the symbols: 1 gives x_11 as on the slides, 0 gives x_00",
    )
    g.add_argument(
        "--from-onnx",
        metavar="MODEL",
        help="read the layer from a Conv/ConvTranspose/MaxPool/AveragePool node of an ONNX "
        "model (needs --node; the input shape comes from the model or --input-size and "
        "--in-channels)",
    )
    g.add_argument("--node", help="name of the node to read with --from-onnx")
    add_budget_options(parser)


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    """``--allow-large``: lift the budgets of :mod:`symconv.core.budget` (what a command may
    build is estimated from the spec first; above a budget it refuses in one line)."""
    parser.add_argument(
        "--allow-large",
        action="store_true",
        default=False,
        help="build even what is above symconv's budgets (whole derivations above 10^6 terms, "
        "figures above 40,000 cells, ...; with --full, every entry of a huge layer): may take "
        "minutes and gigabytes",
    )


def _layer_values(args, kind: str, ndim=None) -> dict:
    """The layer options of ``args`` with defaults filled in; an option given for a kind that
    does not take it is a :class:`UsageError`. With ``ndim`` (from a kind named with its
    dimension, or from ``--input-size``) the default sizes have that dimension (conv1d: input
    3, kernel 2; ``--input-size 5``: kernel 2)."""
    values = {}
    for dest, (flag, kinds, default) in _LAYER_OPTIONS.items():
        value = getattr(args, dest, None)
        if ndim is not None and dest in ("input_size", "kernel_size"):
            default = "x".join([default.split("x")[0]] * ndim)
        if value is not None and kind not in kinds:
            noun = "a pooling layer" if kind in _POOLS and not set(kinds) & set(_POOLS) else None
            got = "" if isinstance(value, bool) else f", got {value}"
            raise UsageError(
                f"{args.kind}: {flag} is not an option of {noun or _NOUNS[kind]}{got}"
            )
        values[dest] = default if value is None else value
    return values


def layer_from_args(args):
    """Build the layer described by :func:`add_layer_options` values."""
    from ..core import layers

    if getattr(args, "from_onnx", None) or getattr(args, "node", None):
        return _layer_from_onnx(args)
    kind, ndim = parse_kind(args.kind, args.input_size)
    if ndim is None and args.input_size is not None:  # the default kernel follows the input
        size = parse_size(args.input_size, "--input-size")
        ndim = len(size) if isinstance(size, tuple) else 1
    v = _layer_values(args, kind, ndim)
    input_size = parse_size(v["input_size"], "--input-size")
    kernel = parse_size(v["kernel_size"], "--kernel-size")
    padding = parse_padding(v["padding"])
    dilation = parse_size(v["dilation"], "--dilation")
    stride = None if v["stride"] is None else parse_size(v["stride"], "--stride")
    if kind in _WEIGHTED:
        kwargs = dict(
            in_channels=v["in_channels"],
            out_channels=v["out_channels"],
            stride=1 if stride is None else stride,
            padding=padding,
            dilation=dilation,
            groups=v["groups"],
            bias=v["bias"],
        )
        if kind == "conv":
            return layers.conv(input_size, kernel, flip=v["flip"], **kwargs)
        shape = v["output_shape"]
        return layers.conv_transpose(
            input_size,
            kernel,
            output_padding=parse_size(v["output_padding"], "--output-padding"),
            output_shape=None if shape is None else parse_size(shape, "--output-shape"),
            **kwargs,
        )
    channels = v["channels"] if v["channels"] is not None else v["in_channels"]
    common = dict(channels=channels, stride=stride, padding=padding, dilation=dilation)
    if kind == "max_pool":
        return layers.max_pool(
            input_size, kernel, ceil_mode=v["ceil_mode"], ties=v["ties"], **common
        )
    return layers.avg_pool(
        input_size,
        kernel,
        ceil_mode=v["ceil_mode"],
        count_include_pad=v["count_include_pad"],
        **common,
    )


def _layer_from_onnx(args):
    """``--from-onnx MODEL --node NAME``: the node's layer. Only ``--input-size`` and
    ``--in-channels`` (the input shape, when the model does not record it) may be added."""
    from ..interop import from_onnx, load_onnx_node

    if not args.from_onnx or not args.node:
        raise UsageError("--from-onnx MODEL and --node NAME go together")
    allowed = ("input_size", "in_channels")
    for dest, (flag, _, _) in _LAYER_OPTIONS.items():
        if dest not in allowed and getattr(args, dest, None) is not None:
            raise UsageError(f"{flag} cannot be combined with --from-onnx (the node sets it)")
    node, model = load_onnx_node(args.from_onnx, args.node)
    input_shape = None
    if args.input_size is not None:
        size = parse_size(args.input_size, "--input-size")
        size = size if isinstance(size, tuple) else (size,)
        input_shape = (1, args.in_channels or 1) + size
    return from_onnx(node, input_shape, model=model)
