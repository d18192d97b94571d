"""Command-line interface: ``symconv <command> ...`` (also ``python -m symconv``).

Every command takes the same layer options (see :func:`add_layer_options`). Errors print
``error: <message>`` on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from ..core.errors import SymconvError

__all__ = ["main", "add_layer_options", "layer_from_args", "parse_size", "parse_padding"]

LAYER_KINDS = {
    "conv": "conv",
    "conv-transpose": "conv_transpose",
    "max-pool": "max_pool",
    "avg-pool": "avg_pool",
}

#: Modules that add subcommands: each defines ``register(subparsers)`` whose parsers call
#: ``set_defaults(func=...)``; ``func(args)`` returns the exit status.
COMMAND_MODULES = [
    "symconv.cli.derive",
    "symconv.codegen",
    "symconv.latex",
    "symconv.grading",
    "symconv.nn.network",
]


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


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="symconv",
        description="Symbolic convolution and pooling layers: forward expressions, exact "
        "gradients, Toeplitz matrices, LaTeX, generated NumPy code and a homework checker. "
        "Without a command, runs 'derive' on the seed-000 example (3x3 input, 2x2 kernel).",
    )
    parser.add_argument("--version", action="version", version=f"symconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``symconv`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("--") and argv[0] not in ("--help", "--version"):
        argv = ["derive"] + argv
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SymconvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RecursionError, MemoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))
