"""Layer options shared by every command: ``kind --input-size 3x3 --kernel-size 2x2 ...``."""

from __future__ import annotations

import argparse

from ..core.errors import SymconvError

__all__ = [
    "LAYER_KINDS",
    "UsageError",
    "add_layer_options",
    "layer_from_args",
    "parse_padding",
    "parse_size",
]

LAYER_KINDS = {
    "conv": "conv",
    "conv-transpose": "conv_transpose",
    "max-pool": "max_pool",
    "avg-pool": "avg_pool",
}


class UsageError(SymconvError, ValueError):
    """A command-line value could not be understood."""


def parse_size(text: str, option: str):
    """``'3x3' -> (3, 3)``, ``'3' -> 3``, ``'2,3' -> (2, 3)``."""
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
    """``'1'``, ``'1x2'``, ``'same'``, ``'valid'`` or per-side ``'0:1x1:0'`` (lo:hi per axis)."""
    low = text.strip().lower()
    if low in ("same", "valid"):
        return low
    if ":" in low:
        pairs = []
        for part in low.replace(",", "x").split("x"):
            lo, sep, hi = part.partition(":")
            try:
                pairs.append((int(lo), int(hi)) if sep else (int(lo), int(lo)))
            except ValueError:
                raise UsageError(
                    f"{option} must be an int, AxB, lo:hi per axis, 'same' or 'valid', "
                    f"got {text!r}"
                ) from None
        return tuple(pairs)
    return parse_size(text, option)


def add_layer_options(parser: argparse.ArgumentParser, *, default_kind: str = "conv") -> None:
    """Add the layer positional argument and its options to a subcommand parser."""
    parser.add_argument(
        "kind",
        nargs="?",
        default=default_kind.replace("_", "-"),
        choices=sorted(LAYER_KINDS),
        help="layer kind (default: %(default)s)",
    )
    g = parser.add_argument_group("layer")
    g.add_argument("--input-size", default="3x3", help="spatial input size, e.g. 3x3 (1-3 dims)")
    g.add_argument("--kernel-size", default="2x2", help="kernel size, e.g. 2x2")
    g.add_argument("--in-channels", type=int, default=1, help="input channels (conv)")
    g.add_argument("--out-channels", type=int, default=1, help="output channels (conv)")
    g.add_argument("--channels", type=int, default=None, help="channels (pools)")
    g.add_argument("--stride", default=None, help="stride (default 1; pools: kernel size)")
    g.add_argument("--padding", default="0", help="int, AxB, lo:hi per axis, same, valid")
    g.add_argument("--dilation", default="1", help="dilation (1 = none)")
    g.add_argument("--groups", type=int, default=1, help="groups (conv)")
    g.add_argument("--output-padding", default="0", help="output padding (conv-transpose)")
    g.add_argument("--bias", action="store_true", help="add a bias per output channel")
    g.add_argument("--flip", action="store_true", help="true convolution (rotated kernel)")
    g.add_argument("--ceil-mode", action="store_true", help="pools: ceil output size")
    g.add_argument(
        "--no-count-include-pad",
        dest="count_include_pad",
        action="store_false",
        help="avg-pool: divide by the number of real inputs only",
    )
    g.add_argument("--ties", default="first", choices=["first", "split"], help="max-pool ties")
    g.add_argument("--index-base", type=int, default=1, choices=[0, 1], help="symbol indices")


def layer_from_args(args):
    """Build the layer described by :func:`add_layer_options` values."""
    from ..core import layers

    kind = LAYER_KINDS[args.kind]
    input_size = parse_size(args.input_size, "--input-size")
    kernel = parse_size(args.kernel_size, "--kernel-size")
    padding = parse_padding(args.padding)
    dilation = parse_size(args.dilation, "--dilation")
    stride = None if args.stride is None else parse_size(args.stride, "--stride")
    if kind in ("conv", "conv_transpose"):
        kwargs = dict(
            in_channels=args.in_channels,
            out_channels=args.out_channels,
            stride=1 if stride is None else stride,
            padding=padding,
            dilation=dilation,
            groups=args.groups,
            bias=args.bias,
        )
        if kind == "conv":
            return layers.conv(input_size, kernel, flip=args.flip, **kwargs)
        return layers.conv_transpose(
            input_size,
            kernel,
            output_padding=parse_size(args.output_padding, "--output-padding"),
            **kwargs,
        )
    channels = args.channels if args.channels is not None else args.in_channels
    if kind == "max_pool":
        return layers.max_pool(
            input_size,
            kernel,
            channels=channels,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=args.ceil_mode,
            ties=args.ties,
        )
    return layers.avg_pool(
        input_size,
        kernel,
        channels=channels,
        stride=stride,
        padding=padding,
        ceil_mode=args.ceil_mode,
        count_include_pad=args.count_include_pad,
    )
