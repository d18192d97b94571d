"""``symconv explore``: an interactive HTML page of a layer (forward window, dE/dx, dE/dw,
dE/db, W, pooling routes, transposed stamps), self-contained, opened from ``file://``."""

from __future__ import annotations

import argparse

from .options import UsageError, add_layer_options, layer_from_args, parse_padding, parse_size

__all__ = ["register", "run", "parse_sweep"]

_SIZES = ("input_size", "kernel_size", "stride", "dilation", "output_padding")
_INTS = ("in_channels", "out_channels", "groups")
_FLAGS = ("bias", "flip", "ceil_mode", "count_include_pad")


def register(sub) -> None:
    p = sub.add_parser(
        "explore",
        help="write an interactive HTML page of a layer (hover cells, step, sweep parameters)",
        description="Write one self-contained HTML page (no network, opens from file://) "
        "where hovering or focusing a cell lights what it reads and shows its formula: the "
        "forward window, dE/dx, dE/dw, dE/db, the unrolled matrix W, a max pool's routing, a "
        "transposed convolution's stamps. Layers up to 16x16 inputs and 4 channels.",
        epilog="example: symconv explore conv --input-size 5x5 --kernel-size 3x3 "
        "--sweep stride=1,2 padding=0,1,same -o layer.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_layer_options(p)
    p.add_argument("--x", default=None, help="worked numbers for x, e.g. '[[1,2],[3,4]]'")
    p.add_argument("--w", default=None, help="worked numbers for w")
    p.add_argument("--b", default=None, help="worked numbers for b")
    p.add_argument("--dy", default=None, help="worked numbers for dE/dy")
    p.add_argument(
        "--sweep",
        nargs="+",
        default=None,
        metavar="NAME=V1,V2",
        help="layer parameters to offer as selectors, each with its values, e.g. "
        "stride=1,2 padding=0,1,same (at most 16 combinations; every one precomputed)",
    )
    p.add_argument("-o", "--output", required=True, help="output file (.html)")
    p.set_defaults(func=run)


def _one(name: str, text: str):
    if name == "padding":
        return parse_padding(text, "--sweep padding")
    if name in _SIZES:
        return parse_size(text, f"--sweep {name}")
    if name in _INTS:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"--sweep {name} values must be integers, got {text!r}") from None
    if name in _FLAGS:
        low = text.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise UsageError(f"--sweep {name} values must be true or false, got {text!r}")
        return low in ("true", "1", "yes")
    return text.strip()


def parse_sweep(items) -> dict:
    """``['stride=1,2', 'padding=0,same']`` -> ``{'stride': [1, 2], 'padding': [0, 'same']}``.
    Sizes inside one value use 'x' (``input_size=4x4,5x5``)."""
    from ..explore import SWEEPABLE

    out = {}
    for item in items or ():
        name, sep, values = item.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not values.strip():
            raise UsageError(f"--sweep must be NAME=V1,V2,..., got {item!r}")
        if name not in SWEEPABLE:
            raise UsageError(
                f"--sweep parameter must be one of {', '.join(SWEEPABLE)}, got {name!r}"
            )
        if name in out:
            raise UsageError(f"--sweep names {name} twice, got {item!r}")
        out[name] = [_one(name, v) for v in values.split(",")]
    return out


def _values(args):
    from ..core.answers import parse_answer

    values = {}
    for key in ("x", "w", "b", "dy"):
        text = getattr(args, key)
        if text is not None:
            values[key] = parse_answer(text)
    return values or None


def run(args) -> int:
    from ..explore import explore

    if not args.output.lower().endswith((".html", ".htm")):
        raise UsageError(f"-o must name an .html file, got {args.output!r}")
    layer = layer_from_args(args)
    page = explore(
        layer, _values(args), sweep=parse_sweep(args.sweep) or None, index_base=args.index_base
    )
    path = page.save(args.output)
    n = len(page.combos)
    print(f"wrote {path} ({n} layer{'s' if n != 1 else ''}, {len(page.html) // 1024} kB)")
    return 0
