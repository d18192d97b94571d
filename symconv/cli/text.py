"""Plain-text and LaTeX pieces shared by the ``derive`` and ``toeplitz`` commands, and the
preview limits that keep their output bounded on real-size layers."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..core import preview
from ..core.symbols import latex_name

__all__ = [
    "Limits",
    "MAX_ENTRIES",
    "MAX_TERMS",
    "MAX_MATRIX",
    "add_preview_options",
    "entry_text",
    "join_terms",
    "latex_names",
    "limits",
    "matrix_preview",
    "matrix_rows",
    "matrix_text",
    "shown_indices",
]

#: default number of expressions printed per quantity
MAX_ENTRIES = 64
#: default largest matrix printed whole (rows and columns)
MAX_MATRIX = 40
#: default longest sum printed whole (terms)
MAX_TERMS = 32


@dataclass(frozen=True)
class Limits:
    """How much a preview prints: expressions per quantity, rows/columns of W, terms per sum
    (None: no limit)."""

    entries: int | None = None
    matrix: int | None = None
    terms: int | None = None


def add_preview_options(parser, *, format_help: str) -> None:
    """``--format`` (text, latex, json) and the size limits ``--max-entries``,
    ``--max-matrix``, ``--max-terms`` and ``--full`` on a command's parser."""
    parser.add_argument(
        "--format", choices=["text", "latex", "json"], default="text", help=format_help
    )
    g = parser.add_argument_group("size limits")
    g.add_argument(
        "--max-entries",
        type=int,
        default=MAX_ENTRIES,
        metavar="N",
        help="expressions shown per quantity before eliding (default %(default)s)",
    )
    g.add_argument(
        "--max-matrix",
        type=int,
        default=MAX_MATRIX,
        metavar="N",
        help="largest W printed whole, in rows and columns; larger ones show their "
        "top-left corner (default %(default)s)",
    )
    g.add_argument(
        "--max-terms",
        type=int,
        default=MAX_TERMS,
        metavar="N",
        help="longest sum printed whole; longer ones show their first terms and the last "
        "(default %(default)s)",
    )
    g.add_argument(
        "--full",
        action="store_true",
        help="print every entry, every term and all of W, however large",
    )


def limits(args) -> Limits:
    """The preview limits of the options (no limits with ``--full``)."""
    from .options import UsageError

    for name in ("max_entries", "max_matrix", "max_terms"):
        value = getattr(args, name)
        if value < 2:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 2, got {value}")
    if args.full:
        return Limits()
    return Limits(args.max_entries, args.max_matrix, args.max_terms)


def entry_text(value) -> str:
    """An entry as text: ``str(expr)``, or for a clipped sum ``(terms, n)`` (see
    :func:`symconv.core.preview.clipped_entry`) its first terms, ``...``, its last term and
    the number of terms."""
    if not isinstance(value, tuple):
        return str(value)
    terms, n = value
    return f"{join_terms(['...' if t is None else str(t) for t in terms])}   [{n:,} terms]"


def join_terms(parts) -> str:
    """Printed terms joined with ``+``, or ``-`` before a negative one."""
    out = parts[0]
    for p in parts[1:]:
        out += f" - {p[1:]}" if p.startswith("-") else f" + {p}"
    return out


def shown_indices(n: int, limit) -> list:
    """Which of ``n`` entries a preview shows: all within the limit, else the first
    ``limit - 1`` and the last."""
    if limit is None or n <= limit:
        return list(range(n))
    return list(range(limit - 1)) + [n - 1]


def latex_names(deriv, exprs=None) -> dict:
    """``{symbol: LaTeX name}`` for the symbols of ``exprs`` (default: every symbol of the
    derivation: x, w, b, dE/dy, y)."""
    if exprs is not None:
        symbols = set().union(*(sympy.sympify(e).free_symbols for e in exprs))
        return {s: latex_name(s) for s in symbols}
    names = {}
    for arr in (deriv.x, deriv.w, deriv.b, deriv.dy, deriv.y_symbols):
        if arr is not None:
            for s in sympy.flatten(arr.tolist()):
                names[s] = latex_name(s)
    return names


def matrix_preview(deriv, convention: str, max_matrix):
    """``(matrix, shape, note)``: W whole when it fits ``max_matrix`` (or the limit is None),
    else its top-left ``max_matrix`` x ``max_matrix`` corner with a note saying so."""
    n_y, n_x = deriv._n
    shape = (n_x, n_y) if convention == "row" else (n_y, n_x)
    if max_matrix is None or max(shape) <= max_matrix:
        return deriv.toeplitz(convention), shape, ""
    corner = preview.toeplitz_corner(deriv, convention, max_matrix, max_matrix)
    nnz = preview.counts(deriv)["toeplitz_nnz"]
    note = (
        f"W is {shape[0]}x{shape[1]} with {nnz:,} non-zeros: showing its top-left "
        f"{min(max_matrix, shape[0])}x{min(max_matrix, shape[1])} corner "
        "(--max-matrix N shows more, --full all of it; for real-size layers use "
        "'symconv codegen')"
    )
    return corner, shape, note


def matrix_rows(m) -> list:
    """A matrix's entries as strings, row by row."""
    return [[str(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])]


def matrix_text(m) -> str:
    """A matrix as right-aligned text rows."""
    rows = matrix_rows(m)
    width = max((len(c) for r in rows for c in r), default=1)
    return "\n".join("  [" + "  ".join(c.rjust(width) for c in r) + "]" for r in rows)
