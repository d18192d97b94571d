"""Plain-text and LaTeX pieces shared by the ``derive`` and ``toeplitz`` commands."""

from __future__ import annotations

import sympy

from ..core.symbols import latex_name

__all__ = ["latex_names", "matrix_rows", "matrix_text"]


def latex_names(deriv) -> dict:
    """``{symbol: LaTeX name}`` for every symbol of a derivation (x, w, b, dE/dy, y)."""
    names = {}
    for arr in (deriv.x, deriv.w, deriv.b, deriv.dy, deriv.y_symbols):
        if arr is not None:
            for s in sympy.flatten(arr.tolist()):
                names[s] = latex_name(s)
    return names


def matrix_rows(m) -> list:
    """A matrix's entries as strings, row by row."""
    return [[str(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])]


def matrix_text(m) -> str:
    """A matrix as right-aligned text rows."""
    rows = matrix_rows(m)
    width = max((len(c) for r in rows for c in r), default=1)
    return "\n".join("  [" + "  ".join(c.rjust(width) for c in r) + "]" for r in rows)
