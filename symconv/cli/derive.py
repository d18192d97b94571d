"""``symconv derive``: forward expansion, W, exact gradients and identities of a layer."""

from __future__ import annotations

import json

import sympy

from .options import add_layer_options, layer_from_args
from .text import latex_names, matrix_rows, matrix_text
from ..core.derive import derive
from ..core.symbols import latex_name

__all__ = ["register", "format_derivation"]


def _latex(expr, names) -> str:
    return sympy.latex(expr, symbol_names=names)


def _entries(arr, sym_arr):
    """(name symbol, expression) pairs, row-major."""
    return list(zip(sympy.flatten(sym_arr.tolist()), sympy.flatten(arr.tolist())))


def _sections(deriv):
    """(title, label kind, [(lhs symbol, expression)]) for every quantity of a derivation."""
    out = [("forward", "y", _entries(deriv.y, deriv.y_symbols))]
    out.append(("dE/dx", "dx", _entries(deriv.grad_x, deriv.x)))
    if deriv.grad_w is not None:
        out.append(("dE/dw", "dw", _entries(deriv.grad_w, deriv.w)))
    if deriv.grad_b is not None:
        out.append(("dE/db", "db", _entries(deriv.grad_b, deriv.b)))
    return out


def format_derivation(deriv, fmt: str = "text") -> str:
    """The derivation as text, LaTeX (an align* block per quantity) or JSON."""
    sections = _sections(deriv)
    if fmt == "json":
        data = {
            "layer": repr(deriv.spec),
            "output_size": list(deriv.spec.output_size),
            "identities": {i.name: i.statement for i in deriv.identities},
        }
        if _small(deriv):
            data["identities_verified"] = deriv.verify_identities()
        for title, kind, entries in sections:
            data[kind] = {str(name): str(expr) for name, expr in entries}
        if deriv.spec.kind != "max_pool":
            data["toeplitz_row"] = matrix_rows(deriv.toeplitz("row"))
        return json.dumps(data, indent=2)
    if fmt == "latex":
        names = latex_names(deriv)
        lines = []
        for title, kind, entries in sections:
            lines.append(f"% {title}")
            lines.append(r"\begin{align*}")
            rows = []
            for name, expr in entries:
                lhs = latex_name(name) if kind == "y" else _dlatex(name)
                rows.append(f"  {lhs} &= {_latex(expr, names)}")
            lines.append(" \\\\\n".join(rows))
            lines.append(r"\end{align*}")
        return "\n".join(lines)
    lines = [repr(deriv.spec), ""]
    for title, kind, entries in sections:
        lines.append(f"{title}:")
        for name, expr in entries:
            lhs = str(name) if kind == "y" else f"dE/d{name}"
            lines.append(f"  {lhs} = {expr}")
        lines.append("")
        if kind == "y" and deriv.spec.kind != "max_pool":
            lines.append("W (row convention, x W = y):")
            lines.append(matrix_text(deriv.toeplitz("row")))
            lines.append("")
    if deriv.identities:
        lines.append("identities:")
    verified = deriv.verify_identities() if _small(deriv) else {}
    for ident in deriv.identities:
        mark = {True: "[verified] ", False: "[FAILED] "}.get(verified.get(ident.name), "")
        lines.append(f"  {mark}{ident.statement}")
    return "\n".join(lines).rstrip() + "\n"


def _small(deriv, limit: int = 400) -> bool:
    """Whether verifying the identities with sympy.expand is quick (a few hundred entries)."""
    return deriv.spec.parameter_count + len(deriv._jx[0]) <= limit


def _dlatex(sym) -> str:
    return rf"\frac{{\partial E}}{{\partial {latex_name(sym)}}}"


def _run_derive(args) -> int:
    deriv = derive(layer_from_args(args), index_base=args.index_base)
    print(format_derivation(deriv, args.format), end="" if args.format == "text" else "\n")
    return 0


def register(sub) -> None:
    """Add ``symconv derive`` to the CLI."""
    p = sub.add_parser(
        "derive",
        help="forward expansion, Toeplitz matrix and exact gradients of a layer",
        description="Print the forward expansion, the matrix W (row convention), dE/dx, "
        "dE/dw, dE/db and the identities behind them. Default layer: seed 000's 3x3 input "
        "with a 2x2 kernel.",
    )
    add_layer_options(p)
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    p.set_defaults(func=_run_derive)
