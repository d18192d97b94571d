"""``symconv toeplitz``: the unrolled (Toeplitz) matrix of a linear layer."""

from __future__ import annotations

import json

import sympy

from ..core import budget
from ..core.derive import derive
from .options import add_layer_options, layer_from_args
from .text import (
    add_preview_options,
    latex_names,
    limits,
    matrix_preview,
    matrix_rows,
    matrix_text,
)

__all__ = ["register", "format_toeplitz"]


def format_toeplitz(deriv, convention: str, fmt: str, max_matrix=None) -> str:
    """W (row convention, x W = y) or T (column, vec(y) = T vec(x)) as text, LaTeX or JSON:
    whole up to ``max_matrix`` rows and columns (None: any size), else its top-left corner
    with a note saying so (only the corner is built)."""
    m, shape, note = matrix_preview(deriv, convention, max_matrix)
    if fmt == "json":
        data = {
            "layer": repr(deriv.spec),
            "convention": convention,
            "shape": list(shape),
            "matrix": matrix_rows(m),
        }
        if note:
            data["elided"] = {"corner": list(m.shape), "note": note}
        return json.dumps(data, indent=2)
    if fmt == "latex":
        tex = sympy.latex(
            m, symbol_names=latex_names(deriv, list(m)), mat_str="bmatrix", mat_delim=""
        )
        return f"% {note}\n{tex}" if note else tex
    eq = "x W = y" if convention == "row" else "vec(y) = T vec(x)"
    head = f"{deriv.spec!r}\n{eq}, shape {shape[0]}x{shape[1]}:\n"
    return head + (f"  {note}\n" if note else "") + f"{matrix_text(m)}\n"


def _run_toeplitz(args) -> int:
    bounds = limits(args)
    layer = layer_from_args(args)
    budget.check_matrix(layer.spec, bounds.matrix)
    deriv = derive(layer, index_base=args.index_base)
    out = format_toeplitz(deriv, args.convention, args.format, bounds.matrix)
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
    p.add_argument(
        "--convention",
        choices=["row", "column"],
        default="row",
        help="W as in x W = y (row, the slides) or T with vec(y) = T vec(x) (column)",
    )
    add_preview_options(
        p, format_help="output format (JSON holds all of a large W only with --full)"
    )
    p.set_defaults(func=_run_toeplitz)
