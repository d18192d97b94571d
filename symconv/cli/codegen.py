"""``symconv codegen``: write a layer's standalone NumPy module (forward and backward)."""

from __future__ import annotations

import sys

from ..fileio import check_folder, write_atomic
from .options import add_layer_options, layer_from_args

__all__ = ["register"]


def _run_codegen(args) -> int:
    from ..codegen import generate_numpy

    if args.output not in (None, "-"):
        check_folder(args.output, "codegen")
    source = generate_numpy(layer_from_args(args), implicit=args.implicit, winograd=args.winograd)
    if args.output in (None, "-"):
        sys.stdout.write(source)
    else:
        write_atomic(args.output, source)
    return 0


def register(sub) -> None:
    """Add ``symconv codegen`` to the CLI."""
    p = sub.add_parser(
        "codegen",
        help="write a standalone NumPy module (forward/backward) for a layer",
        description="Generate a standalone NumPy module with forward() and backward() for the "
        "layer: vectorized kernels read off the index map, the derived formulas in its "
        "docstring. It needs only NumPy (and the standard library).",
    )
    add_layer_options(p)
    p.add_argument(
        "--implicit",
        action="store_true",
        help="run a stride-1 dense convolution as an implicit GEMM (taps accumulated over a "
        "zero-bordered copy, no column buffer) instead of the strategy chosen per layer",
    )
    p.add_argument(
        "--winograd",
        action="store_true",
        help="run a 2-D stride-1 3x3 convolution (dilation 1, one group) as Winograd F(2x2, 3x3) "
        "(transformed 4x4 tiles, one batched GEMM) whatever the strategy chosen per layer",
    )
    p.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    p.set_defaults(func=_run_codegen)
