"""``symconv draw``: a picture of a layer (or a network) read off its index map, written as
TikZ (.tex), SVG, PNG, animated GIF or PDF according to the output file's suffix."""

from __future__ import annotations

import argparse

from ..fileio import check_folder
from .options import UsageError, add_layer_options, layer_from_args

__all__ = ["register", "run"]


def register(sub) -> None:
    from ..figures.figure import FIGURE_KINDS

    p = sub.add_parser(
        "draw",
        help="draw a layer: window, gradients, W, pooling, transposed stamps, network",
        description="Draw a picture of a layer read off its index map. The format comes from "
        "the suffix of -o: .tex (TikZ, standalone, one page per frame), .gif (animated, one "
        "frame per position), .svg, .png and .pdf (one image: a figure of several frames "
        "becomes a contact sheet, every frame tiled and numbered). PNG, GIF and PDF need "
        'matplotlib: pip install "symconv[figures]".',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_layer_options(p)
    p.add_argument(
        "--figure",
        default="window",
        choices=list(FIGURE_KINDS),
        help="figure kind (default: %(default)s)",
    )
    p.add_argument(
        "--position",
        default=None,
        help="output position (window, transpose-conv), input entry (grad-input, transpose) or "
        "kernel entry (grad-weight), e.g. 2,1, counted from --index-base",
    )
    p.add_argument("--x", default=None, help="worked numbers for x, e.g. '[[1,2],[3,4]]'")
    p.add_argument("--w", default=None, help="worked numbers for w")
    p.add_argument("--b", default=None, help="worked numbers for b")
    p.add_argument("--dy", default=None, help="worked numbers for dE/dy")
    p.add_argument("--network", default=None, help="network example name or JSON file (network)")
    p.add_argument(
        "--channel", default=None, help="draw one channel pair OUT,IN (0-based) instead of a stack"
    )
    p.add_argument("--convention", default="row", choices=["row", "column"], help="toeplitz")
    p.add_argument("--labels", default="auto", choices=["auto", "on", "off"], help="cell labels")
    p.add_argument(
        "--frame-duration",
        type=int,
        default=None,
        metavar="MS",
        help="milliseconds each frame of an animated .gif shows (default 900)",
    )
    p.add_argument(
        "--max-terms",
        type=int,
        default=None,
        metavar="N",
        help="longest sum written out in a caption before its middle is elided "
        "(default 25: a window's sum of at most 25 terms is always shown whole)",
    )
    p.add_argument("-o", "--output", required=True, help="output file (.tex .svg .png .gif .pdf)")
    p.set_defaults(func=run)


def _values(args):
    from ..core.answers import parse_answer

    values = {}
    for key in ("x", "w", "b", "dy"):
        text = getattr(args, key)
        if text is not None:
            values[key] = parse_answer(text)
    return values or None


def run(args) -> int:
    from ..figures import figure

    check_folder(args.output, "draw")
    if args.figure == "network":
        from ..nn.network import example, load_network

        name = args.network or "lenet5"
        subject = load_network(name) if name.endswith(".json") else example(name)
    else:
        subject = layer_from_args(args)
    channel = None
    if args.channel is not None:
        try:
            channel = tuple(int(v) for v in args.channel.split(","))
        except ValueError:
            raise UsageError(f"--channel must be OUT,IN integers, got {args.channel!r}") from None
    labels = {"auto": "auto", "on": True, "off": False}[args.labels]
    fig = figure(
        subject,
        args.figure,
        position=args.position,
        values=_values(args),
        channel=channel,
        labels=labels,
        index_base=args.index_base,
        convention=args.convention,
        **({} if args.max_terms is None else {"max_terms": args.max_terms}),
    )
    path = fig.save(args.output, frame_duration=args.frame_duration)
    frames = f"{len(fig)} frame{'s' if len(fig) != 1 else ''}"
    if len(fig) > 1 and path.suffix.lower() in (".png", ".svg", ".pdf"):
        tiles = len(fig.sheet_frames)
        frames = f"a contact sheet of {tiles} frames"
        if tiles < fig.total:
            frames += f": {tiles} of the {fig.total} {fig.what}, the first ones and the last"
    print(f"wrote {path} ({frames})")
    return 0
