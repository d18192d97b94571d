"""Jupyter display: ``$$...$$`` LaTeX (MathJax-safe) of a derivation, a SymPy array or matrix,
or one expression; long lists and large arrays are elided. ``symconv`` registers
:func:`derivation_repr_latex` as ``Derivation._repr_latex_``."""

from __future__ import annotations

import numpy as np
import sympy

from ..core import budget, preview
from ..core.derive import Derivation
from ..core.errors import SpecError
from ..templating import render
from .options import escape_text
from .layout import elide, make_term, pack, tex_width
from .printer import SlidePrinter, index_commas

__all__ = ["derivation_repr_latex", "repr_latex"]


#: The width a Jupyter display keeps to (em of the display font): a notebook column.
DISPLAY_WIDTH = 80.0


def derivation_repr_latex(
    deriv, *, notation="seed000", max_entries: int = 8, max_terms: int = 12
) -> str:
    """``$$...$$`` for Jupyter (MathJax-safe): forward expansion and gradients, with at most
    ``max_entries`` entries per quantity and ``max_terms`` terms per sum shown. A long sum
    wraps onto aligned rows so that every row fits :data:`DISPLAY_WIDTH` em (the layout
    model's estimate, :func:`symconv.latex.layout.tex_width`). Only the entries shown are
    built (:mod:`symconv.core.preview`), so a real-size layer displays at once and stays
    small."""
    try:  # (a max over a million taps is never clipped: say so instead of building it)
        budget.check_preview(deriv.spec, max_entries, max_terms, None, corner=False)
    except budget.BudgetError as exc:
        return rf"$$\text{{{escape_text(str(exc))}}}$$"
    printer = SlidePrinter(notation, commas=index_commas(deriv))
    loss = printer.notation.loss
    counts = preview.counts(deriv)
    groups = []
    for quantity, kind, title in (
        ("y", "y", "forward"),
        ("grad_x", "x", f"d{loss}/dx"),
        ("grad_w", "w", f"d{loss}/dw"),
        ("grad_b", "b", f"d{loss}/db"),
    ):
        if quantity not in counts:
            continue
        rows = []
        for i in elide(counts[quantity], max_entries):
            if i is None:
                rows.append(None)
                continue
            sym = printer.doprint(deriv.symbol(kind, i))
            lhs = sym if kind == "y" else rf"\frac{{\partial {loss}}}{{\partial {sym}}}"
            terms = _entry_terms(deriv, quantity, i, max_terms, printer)
            room = max(DISPLAY_WIDTH - tex_width(lhs) - 1.3 - 2.0, 20.0)
            lines = [
                "".join((f" {t.op} " if t.op else "") + t.tex for t in line)
                for line in pack(terms, room)
            ]
            rows.append((lhs, lines))
        groups.append({"title": title, "rows": rows})
    return render("latex/repr.tex.jinja", groups=groups).strip()


def _entry_terms(deriv, quantity, i, max_terms, printer) -> list:
    """The terms of one entry as layout terms (``+``/``-`` in front), dots where a sum longer
    than ``max_terms`` is cut, and the number of terms after it."""
    clipped = preview.clipped_entry(deriv, quantity, i, max_terms)
    if clipped is None:
        expr = preview.entry(deriv, quantity, i)
        parts = [printer.doprint(t) for t in printer._as_ordered_terms(expr)]
        if not isinstance(expr, sympy.Add):
            parts = [printer.doprint(expr)]
        note = ""
    else:
        terms, n = clipped
        parts = [r"\cdots" if t is None else printer.doprint(t) for t in terms]
        note = rf"\quad \text{{({n:,} terms)}}"
    out = []
    for k, p in enumerate(parts):
        op = "-" if p.startswith("-") else ("+" if k else "")
        out.append(make_term(op, p[1:] if p.startswith("-") else p))
    if note:
        out.append(make_term("", note))
    return out


def _array_mats(arr, printer) -> list:
    """A 2-D or higher array as up to 4 matrices (the leading axes flattened) of at most
    10 x 10 entries, as rows of printed entries (``None``: a row of dots)."""
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    mats = []
    lead = arr.reshape((-1,) + arr.shape[-2:]) if arr.ndim > 2 else arr[None]
    for k in elide(lead.shape[0], 4):
        if k is None:
            mats.append(None)
            continue
        m = lead[k]
        rows = []
        for i in elide(m.shape[0], 10):
            if i is None:
                rows.append(None)
                continue
            rows.append(
                [
                    r"\cdots" if j is None else printer.doprint(m[i, j])
                    for j in elide(m.shape[1], 10)
                ]
            )
        mats.append(rows)
    return mats


def repr_latex(obj, *, notation="seed000") -> str:
    """``$$...$$`` LaTeX of a Derivation, a SymPy array/matrix or expression (for Jupyter)."""
    if isinstance(obj, Derivation):
        return derivation_repr_latex(obj, notation=notation)
    p = SlidePrinter(notation)
    if isinstance(obj, (sympy.NDimArray, sympy.MatrixBase, np.ndarray)):
        arr = np.array(obj.tolist(), dtype=object)
        if arr.ndim == 0:
            return f"$${p.doprint(arr.item())}$$"
        mats = _array_mats(arr, p)
        return render("latex/repr_array.tex.jinja", mats=mats).strip()
    if isinstance(obj, sympy.Basic):
        return f"$${p.doprint(obj)}$$"
    raise SpecError(f"repr_latex: expected a Derivation or SymPy object, got {type(obj).__name__}")
