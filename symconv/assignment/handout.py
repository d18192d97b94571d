"""Handouts and printable keys as LaTeX articles (``templates/latex/assignment.tex.jinja``).

The Python side computes the data (given matrices as ``bmatrix`` bodies, answer boxes sized to fit
the text width, the figure's TikZ); the template lays it out. A handout never receives an
answer: :func:`handout_tex` does not even pass them to the template.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..templating import render
from .variants import Variant

__all__ = ["handout_tex", "key_tex", "student_tex", "latex_escape"]

TEMPLATE = "latex/assignment.tex.jinja"
#: Width of the text block in cm (A4, 2 cm margins), for the answer boxes.
TEXT_WIDTH_CM = 16.5
_NAMES = {"x": "x", "w": "w", "b": "b", "dy": r"\partial E/\partial y"}
_QUANTITY_WORDS = {
    "output": r"the output $y$",
    "grad-input": r"the gradient $\partial E/\partial x$",
    "grad-weight": r"the gradient $\partial E/\partial w$",
    "grad-bias": r"the gradient $\partial E/\partial b$",
    "toeplitz": r"the unrolled (Toeplitz) matrix $W$ with $\mathrm{vec}(x)\,W = \mathrm{vec}(y)$",
    "output-size": r"the output size (one number per spatial axis)",
}


def latex_escape(text: str) -> str:
    """Plain text made safe for LaTeX (the teacher's prompt is LaTeX and is not escaped)."""
    out = []
    for ch in str(text):
        if ch in "&%$#_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch == "~":
            out.append(r"\textasciitilde{}")
        elif ch == "^":
            out.append(r"\textasciicircum{}")
        else:
            out.append(ch)
    return "".join(out)


def layer_text(spec) -> str:
    """The layer's parameters without its output size (which may be what is asked)."""
    return repr(spec).split(" -> ")[0]


@lru_cache(maxsize=1024)
def _layer_tex(spec) -> str:
    """The layer as breakable LaTeX: its name, then one ``\\texttt`` per option."""
    text = layer_text(spec)
    name, _, rest = text.partition("(")
    items, depth, cur = [], 0, ""
    for ch in rest[:-1]:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    items.append(cur.strip())
    opts = ", ".join(f"\\texttt{{{latex_escape(i)}}}" for i in items if i)
    return f"\\texttt{{{latex_escape(name)}}} with {opts}"


def _num(v) -> str:
    if isinstance(v, int):
        return str(v)
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return f"{sign}\\tfrac{{{abs(v.numerator)}}}{{{v.denominator}}}"


def _cells(rows):
    """Rows of LaTeX numbers (``str`` for the common case of Python ints)."""
    kinds = set()
    for row in rows:
        kinds.update(map(type, row))
    if kinds <= {int}:
        return [list(map(str, row)) for row in rows]
    return [[_num(v) for v in row] for row in rows]


def planes(arr) -> list:
    """``[(subscript, 2-D rows)]``: how an array is shown as matrices. Singleton leading axes
    are dropped, a vector is one row, each index of further leading axes is one matrix
    (subscript ``"2,1"``; ``""`` for a single matrix)."""
    arr = np.asarray(arr, dtype=object)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim <= 1:
        return [("", [arr.reshape(-1).tolist()])]
    if arr.ndim == 2:
        return [("", arr.tolist())]
    return [
        (",".join(str(i + 1) for i in idx), arr[idx].tolist())
        for idx in np.ndindex(arr.shape[:-2])
    ]


def _planes(arr):
    """:func:`planes` with LaTeX numbers."""
    return [(sub, _cells(rows)) for sub, rows in planes(arr)]


def _body(rows, sep=" \\\\\n") -> str:
    """A matrix's rows as the body of a ``bmatrix`` (cells joined by ``&``, rows by ``sep``)."""
    return sep.join(" & ".join(row) for row in rows)


def matrices(name, arr, sep=" \\\\\n"):
    """A given array as LaTeX matrices: ``[{"name", "body"}]``, one per leading index beyond two
    axes (``x_{[2]}`` is channel 2), singleton leading axes dropped, a vector as a row; the
    body's rows joined by ``sep``."""
    return [
        {"name": _NAMES[name] + (f"_{{[{sub}]}}" if sub else ""), "body": _body(rows, sep)}
        for sub, rows in _planes(arr)
    ]


@lru_cache(maxsize=1024)
def _box(shape):
    """Answer grids of ``shape``: cell size in cm so that the widest grid fits (one shared,
    read-only dict per shape)."""
    shape = tuple(shape)
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) <= 1:
        grids, rows, cols = [""], 1, (shape[0] if shape else 1)
    else:
        rows, cols = shape[-2], shape[-1]
        grids = [",".join(str(i + 1) for i in idx) for idx in np.ndindex(shape[:-2])] or [""]
    cell = min(1.0, (TEXT_WIDTH_CM - 2.5) / cols)
    return {
        "grids": grids,
        "w": f"{cell:.3f}",
        "h": "0.750",
        "width": f"{cell * cols:.3f}",
        "height": f"{0.75 * rows:.3f}",
    }


@lru_cache(maxsize=256)
def _figure(layer):
    """The layer's window figure as TikZ (it depends on the layer only)."""
    from ..figures import figure

    return figure(layer, "window", heading=False, labels=True).tikz(standalone=False)


@lru_cache(maxsize=1)
def _picture_preamble():
    from ..figures import Figure

    return Figure.tikz_preamble()


def _questions(variant: Variant, figures: bool, with_key: bool = True):
    """The template's questions for the handout and (``with_key``) for the key, computed
    together: the key's parts hold an ``answer`` and no figure; the handout's hold no answer
    anywhere."""
    handout, key = [], []
    for i, qv in enumerate(variant.questions, start=1):
        q = qv.question
        parts, key_parts = [], []
        for label, qty in zip(q.labels, q.quantities):
            part = {
                "label": latex_escape(label),
                "what": _QUANTITY_WORDS[qty],
                "box": _box(tuple(qv.answers[qty].shape)),
            }
            parts.append(part)
            if with_key:
                key_parts.append(dict(part, answer=_matrices_answer(qv.answers[qty])))
        question = {
            "number": i,
            "id": latex_escape(q.id),
            "points": _num(q.points),
            "prompt": q.prompt,
            "layer": _layer_tex(qv.layer.spec),
            "givens": [m for name, arr in qv.givens.items() for m in matrices(name, arr)],
            "figure": _figure(qv.layer) if (figures and q.figure) else "",
            "parts": parts,
        }
        handout.append(question)
        key.append(dict(question, figure="", parts=key_parts))
    return handout, key


def _matrices_answer(arr):
    return [{"name": f"[{sub}]" if sub else "", "body": _body(rows)} for sub, rows in _planes(arr)]


def _context(assignment, variant, info, qs, with_answers):
    preamble = _picture_preamble() if any(q["figure"] for q in qs) else ""
    return dict(
        title=latex_escape(assignment.title),
        course=latex_escape(assignment.course),
        student=latex_escape(variant.student),
        student_name=latex_escape(" ".join(v for v in info.values() if v and "@" not in v)),
        total=_num(assignment.points),
        questions=qs,
        key=with_answers,
        picture_preamble=preamble,
    )


def student_tex(assignment, variant: Variant, info=None, figures=True) -> tuple:
    """``(handout, key)``: :func:`handout_tex` and :func:`key_tex` of one student, sharing
    the work common to both."""
    handout_qs, key_qs = _questions(variant, figures)
    info = info or {}
    handout = _context(assignment, variant, info, handout_qs, False)
    key = _context(assignment, variant, info, key_qs, True)
    return render(TEMPLATE, **handout), render(TEMPLATE, **key)


def handout_tex(assignment, variant: Variant, info=None, figures=True) -> str:
    """The student's handout: prompts, given matrices, figures where asked, one empty box per
    answer. Never an answer."""
    qs, _ = _questions(variant, figures, with_key=False)
    return render(TEMPLATE, **_context(assignment, variant, info or {}, qs, False))


def key_tex(assignment, variant: Variant, info=None) -> str:
    """The printable answer key of one student's variant (no figures)."""
    return student_tex(assignment, variant, info, False)[1]
