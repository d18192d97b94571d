"""``symconv derive``: forward expansion, W, exact gradients and identities of a layer."""

from __future__ import annotations

import json

import sympy

from .options import add_layer_options, layer_from_args
from .text import (
    Limits,
    entry_text,
    join_terms,
    add_preview_options,
    latex_names,
    limits,
    matrix_preview,
    matrix_rows,
    matrix_text,
    shown_indices,
)
from ..core import budget, preview
from ..core.derive import derive
from ..core.symbols import latex_name

__all__ = ["register", "format_derivation"]


def _latex(expr, names) -> str:
    return sympy.latex(expr, symbol_names=names)


#: (title, label kind, quantity, symbols of the left-hand side)
_SECTIONS = [
    ("forward", "y", "y", "y"),
    ("dE/dx", "dx", "grad_x", "x"),
    ("dE/dw", "dw", "grad_w", "w"),
    ("dE/db", "db", "grad_b", "b"),
]


def _sections(deriv, limits):
    """``(title, label kind, [(lhs symbol, entry)], left out)`` for every quantity of a
    derivation; beyond ``limits.entries`` only the first entries and the last are built, and
    a sum longer than ``limits.terms`` is a clipped ``(terms, n)``."""
    counts = preview.counts(deriv)
    out = []
    for title, kind, quantity, symbols in _SECTIONS:
        if quantity not in counts:
            continue
        n = counts[quantity]
        entries = [
            (deriv.symbol(symbols, i), _entry(deriv, quantity, i, limits.terms))
            for i in shown_indices(n, limits.entries)
        ]
        out.append((title, kind, entries, n - len(entries)))
    return out


def _entry(deriv, quantity, index, max_terms):
    clipped = (
        None if max_terms is None else preview.clipped_entry(deriv, quantity, index, max_terms)
    )
    return preview.entry(deriv, quantity, index) if clipped is None else clipped


def _omitted(n: int, limit) -> str:
    return (
        f"... {n:,} more entries not shown (--max-entries N shows N per quantity, --full "
        f"all; for real-size layers use 'symconv codegen')"
    )


def format_derivation(deriv, fmt: str = "text", limits: Limits = Limits()) -> str:
    """The derivation as text, LaTeX (an align* block per quantity) or JSON, within the
    preview ``limits`` (expressions per quantity, rows/columns of W, terms per sum; the
    default has none). Only the entries shown are built."""
    sections = _sections(deriv, limits)
    if fmt == "json":
        return _json(deriv, sections, limits)
    if fmt == "latex":
        return _latex_blocks(deriv, sections, limits)
    max_entries, max_matrix = limits.entries, limits.matrix
    lines = [repr(deriv.spec), ""]
    for title, kind, entries, left_out in sections:
        lines.append(f"{title}:")
        for i, (name, expr) in enumerate(entries):
            if left_out and i == len(entries) - 1:
                lines.append(f"  {_omitted(left_out, max_entries)}")
            lhs = str(name) if kind == "y" else f"dE/d{name}"
            lines.append(f"  {lhs} = {entry_text(expr)}")
        lines.append("")
        if kind == "y" and deriv.spec.kind != "max_pool":
            m, shape, note = matrix_preview(deriv, "row", max_matrix)
            lines.append("W (row convention, x W = y):")
            if note:
                lines.append(f"  {note}")
            lines.append(matrix_text(m))
            lines.append("")
    if deriv.identities:
        lines.append("identities:")
    verified = deriv.verify_identities() if _small(deriv) else {}
    for ident in deriv.identities:
        mark = {True: "[verified] ", False: "[FAILED] "}.get(verified.get(ident.name), "")
        lines.append(f"  {mark}{ident.statement}")
    return "\n".join(lines).rstrip() + "\n"


def _latex_blocks(deriv, sections, limits) -> str:
    lines = []
    for title, kind, entries, left_out in sections:
        shown = [n for n, _ in entries]
        for _, e in entries:
            shown.extend([t for t in e[0] if t is not None] if isinstance(e, tuple) else [e])
        names = latex_names(deriv, shown)
        lines.append(f"% {title}")
        lines.append(r"\begin{align*}")
        rows = []
        for i, (name, expr) in enumerate(entries):
            if left_out and i == len(entries) - 1:
                rows.append(f"  &\\vdots && \\text{{{left_out:,} more entries}}")
            lhs = latex_name(name) if kind == "y" else _dlatex(name)
            rows.append(f"  {lhs} &= {_latex_sum(expr, names)}")
        lines.append(" \\\\\n".join(rows))
        lines.append(r"\end{align*}")
        if left_out:
            lines.append(f"% {_omitted(left_out, limits.entries)}")
    return "\n".join(lines)


def _latex_sum(expr, names) -> str:
    if not isinstance(expr, tuple):
        return _latex(expr, names)
    terms, n = expr
    out = join_terms([r"\dots" if t is None else _latex(t, names) for t in terms])
    return rf"{out} \quad \text{{({n:,} terms)}}"


def _json(deriv, sections, limits) -> str:
    data = {
        "layer": repr(deriv.spec),
        "output_size": list(deriv.spec.output_size),
        "identities": {i.name: i.statement for i in deriv.identities},
    }
    if _small(deriv):
        data["identities_verified"] = deriv.verify_identities()
    left, clipped = {}, 0
    for title, kind, entries, left_out in sections:
        data[kind] = {str(name): entry_text(expr) for name, expr in entries}
        clipped += sum(isinstance(expr, tuple) for _, expr in entries)
        if left_out:
            left[kind] = left_out
    if deriv.spec.kind != "max_pool":
        m, shape, note = matrix_preview(deriv, "row", limits.matrix)
        if note:
            left["toeplitz_row"] = {"shape": list(shape), "corner": list(m.shape)}
        data["toeplitz_row"] = matrix_rows(m)
    if clipped:
        left["long_sums"] = f"{clipped} sums clipped to {limits.terms} terms"
    if left:
        data["elided"] = {
            "left_out": left,
            "note": "a preview: entries and W beyond the limits are left out (long sums show "
            "their first terms and the last); --full gives all of them",
        }
    return json.dumps(data, indent=2)


def _small(deriv, limit: int = 400) -> bool:
    """Whether verifying the identities with sympy.expand is quick (a few hundred entries)."""
    counts = preview.counts(deriv)
    entries = sum(counts[q] for q in preview.QUANTITIES if q in counts)  # (padding-only outputs)
    cells = budget.identity_cells(deriv.spec)  # the padded, dilated operands
    small = deriv.spec.parameter_count + counts["connections"] <= limit
    return small and entries + cells <= 50 * limit


def _dlatex(sym) -> str:
    return rf"\frac{{\partial E}}{{\partial {latex_name(sym)}}}"


def _run_derive(args) -> int:
    bounds = limits(args)
    layer = layer_from_args(args)
    budget.check_preview(layer.spec, bounds.entries, bounds.terms, bounds.matrix)
    deriv = derive(layer, index_base=args.index_base)
    out = format_derivation(deriv, args.format, bounds)
    print(out, end="" if args.format == "text" else "\n")
    return 0


def register(sub) -> None:
    """Add ``symconv derive`` to the CLI."""
    p = sub.add_parser(
        "derive",
        help="forward expansion, Toeplitz matrix and exact gradients of a layer",
        description="Print the forward expansion, the matrix W (row convention), dE/dx, "
        "dE/dw, dE/db and the identities behind them. Default layer: seed 000's 3x3 input "
        "with a 2x2 kernel. Large layers print a preview: the first entries of each "
        "quantity and the corner of W (only those are built); --full prints everything.",
    )
    add_layer_options(p)
    add_preview_options(p, format_help="output format (JSON keeps all entries only with --full)")
    p.set_defaults(func=_run_derive)
