"""``symconv toeplitz``: the unrolled (Toeplitz) matrix of a linear layer."""

from __future__ import annotations

import json

import sympy

from ..core.derive import derive
from .options import add_layer_options, layer_from_args
from .text import latex_names, matrix_rows, matrix_text

__all__ = ["register", "format_toeplitz"]


def format_toeplitz(deriv, convention: str, fmt: str) -> str:
    m = deriv.toeplitz(convention)
    if fmt == "json":
        return json.dumps(
            {
                "layer": repr(deriv.spec),
                "convention": convention,
                "shape": list(m.shape),
                "matrix": matrix_rows(m),
            },
            indent=2,
        )
    if fmt == "latex":
        return sympy.latex(m, symbol_names=latex_names(deriv), mat_str="bmatrix", mat_delim="")
    eq = "x W = y" if convention == "row" else "vec(y) = T vec(x)"
    return f"{deriv.spec!r}\n{eq}, shape {m.shape[0]}x{m.shape[1]}:\n{matrix_text(m)}\n"


def _run_toeplitz(args) -> int:
    deriv = derive(layer_from_args(args), index_base=args.index_base)
    out = format_toeplitz(deriv, args.convention, args.format)
    print(out, end="" if out.endswith("\n") else "\n")
    return 0


def register(sub) -> None:
    """Add ``symconv toeplitz`` to the CLI."""
    p = sub.add_parser(
        "toeplitz",
        help="the unrolled (Toeplitz) matrix of a linear layer",
        description="Print the Toeplitz matrix: row convention x W = y (the slides), or "
        "column convention vec(y) = T vec(x).",
    )
    add_layer_options(p)
    p.add_argument("--convention", choices=["row", "column"], default="row")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.set_defaults(func=_run_toeplitz)
