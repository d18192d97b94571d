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
from .layout import elide
from .printer import SlidePrinter

__all__ = ["derivation_repr_latex", "repr_latex"]


def derivation_repr_latex(
    deriv, *, notation="seed000", max_entries: int = 8, max_terms: int = 12
) -> str:
    """``$$...$$`` for Jupyter (MathJax-safe): forward expansion and gradients, with at most
    ``max_entries`` entries per quantity and ``max_terms`` terms per sum shown. Only the
    entries shown are built (:mod:`symconv.core.preview`), so a real-size layer displays at
    once and stays small."""
    try:  # (a max over a million taps is never clipped: say so instead of building it)
        budget.check_preview(deriv.spec, max_entries, max_terms, None, corner=False)
    except budget.BudgetError as exc:
        return rf"$$\text{{{_text_escape(str(exc))}}}$$"
    printer = SlidePrinter(notation)
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
            rows.append((lhs, _entry_tex(deriv, quantity, i, max_terms, printer)))
        groups.append({"title": title, "rows": rows})
    return render("latex/repr.tex.jinja", groups=groups).strip()


def _text_escape(text: str) -> str:
    for ch in "\\{}_^&%$#~":
        text = text.replace(ch, " " if ch in "\\^~" else "\\" + ch)
    return text


def _entry_tex(deriv, quantity, i, max_terms, printer) -> str:
    clipped = preview.clipped_entry(deriv, quantity, i, max_terms)
    if clipped is None:
        return printer.doprint(preview.entry(deriv, quantity, i))
    terms, n = clipped
    parts = [r"\cdots" if t is None else printer.doprint(t) for t in terms]
    out = parts[0]
    for p in parts[1:]:
        out += f" - {p[1:]}" if p.startswith("-") else f" + {p}"
    return rf"{out} \quad \text{{({n:,} terms)}}"


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
