"""Jupyter display: ``$$...$$`` LaTeX (MathJax-safe) of a derivation, a SymPy array or matrix,
or one expression; long lists and large arrays are elided. ``symconv`` registers
:func:`derivation_repr_latex` as ``Derivation._repr_latex_``."""

from __future__ import annotations

import numpy as np
import sympy

from ..core.arrays import flat_entries
from ..core.derive import Derivation
from ..core.errors import SpecError
from ..templating import render
from .frames import FrameContext
from .layout import elide
from .options import document_options
from .printer import SlidePrinter

__all__ = ["derivation_repr_latex", "repr_latex"]


def derivation_repr_latex(deriv, *, notation="seed000", max_entries: int = 8) -> str:
    """``$$...$$`` for Jupyter (MathJax-safe): forward expansion and gradients, elided."""
    ctx = FrameContext(
        deriv, document_options("snippet", notation, "row", "169", max_entries, 8, 8), None
    )
    rows = []
    for o in elide(len(ctx.ys), max_entries):
        rows.append(None if o is None else (ctx.tex(ctx.ys[o]), ctx.tex(ctx.y_expr(o))))
    groups = [{"title": "forward", "rows": rows}]
    for name, syms, grad in (
        ("x", ctx.xs, deriv.grad_x),
        ("w", ctx.ws, deriv.grad_w),
        ("b", ctx.bs, deriv.grad_b),
    ):
        if grad is None:
            continue
        flat = flat_entries(grad)
        rows = []
        for i in elide(len(syms), max_entries):
            rows.append(None if i is None else (ctx.dloss(syms[i]), ctx.tex(flat[i])))
        groups.append({"title": f"d{ctx.nt.loss}/d{name}", "rows": rows})
    return render("latex/repr.tex.jinja", groups=groups).strip()


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
