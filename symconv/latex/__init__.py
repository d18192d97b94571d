"""LaTeX for teaching: derivations, worked examples and Beamer slides that compile.

The pipeline reads top to bottom in :func:`render_latex`: a :class:`Derivation` is turned into a
plain data context (lists of equations, sums split into lines, matrices as rows of cells, all
already elided to a readable size) and that context is laid out by the jinja2 templates in
``templates/latex/``. Python prints single expressions and matrices only, through
:class:`SlidePrinter`, a SymPy ``LatexPrinter`` that writes the slides' notation
(``x_{11}w_{11}``, ``\\frac{\\partial E}{\\partial y_{11}} w_{11}``: inputs before weights,
dE/dy first, terms in kernel-tap or output order).

Public functions:

* :func:`render_latex` - ``document="snippet"`` (a body to paste into a document that loads
  amsmath, amssymb, graphicx and xcolor), ``"article"`` or ``"beamer"``;
* :func:`compile_pdf` - pdflatex (twice) in a temporary folder, :class:`LatexError` with the
  log's first error and its line on failure; :func:`overfull_boxes` reads a log;
* :func:`pdf_to_png` - pdftoppm;
* :func:`repr_latex` / :func:`derivation_repr_latex` - ``$$...$$`` for Jupyter (MathJax-safe);
* :func:`register` - the ``symconv latex`` subcommand.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy
from sympy import Add, Mul

from ..core.derive import (
    Derivation,
    as_object_array,
    correlation_size,
    derive,
    flat_entries,
    identity_operands,
)
from ..core.answers import parse_answer
from ..core.errors import AnswerError, SpecError, SymconvError
from ..core.layers import Layer
from ..core.spec import dims_text
from ..core.symbols import NOTATIONS, Notation
from ..templating import render
from .printer import (
    SlidePrinter,
    factor_key,
    latex_expr,
    latex_matrix,
    number_factor,
    number_tex,
    resolve_notation,
    symbol_kind,
    term_key,
    to_sympy_number,
)

#: How dims_text joins sizes in math mode, and how it names the shape () in messages.
_TIMES = r"\times"
_ONE_NUMBER = "a single number"

__all__ = [
    "DOCUMENTS",
    "PARTS",
    "LatexError",
    "LatexValueError",
    "SlidePrinter",
    "render_latex",
    "latex_expr",
    "latex_matrix",
    "compile_pdf",
    "overfull_boxes",
    "pdf_to_png",
    "wrap_snippet",
    "repr_latex",
    "derivation_repr_latex",
    "parse_values_text",
    "register",
]

DOCUMENTS = ("snippet", "article", "beamer")
#: The parts of a document, in order. Pools have no grad_w/grad_b/update; convs no routing.
PARTS = (
    "setup",
    "forward",
    "toeplitz",
    "loss",
    "grad_w",
    "grad_x",
    "grad_b",
    "update",
    "routing",
    "summary",
)
ASPECTS = ("169", "43")


class LatexError(SymconvError):
    """pdflatex/pdftoppm is missing or failed; the message quotes the log's first error."""


class LatexValueError(SymconvError, ValueError):
    """A worked-number value (x, w, b, target, dy, eta) is malformed or has the wrong shape.

    ``option`` names the value (``'x'``); the message starts with it (``'x: ...'``), and the CLI
    re-raises it as ``'--x: ...'``.
    """

    def __init__(self, option: str, detail: str):
        self.option = option
        self.detail = detail
        super().__init__(f"{option}: {detail}")


# ---------------------------------------------------------------------- widths
_CMD_WIDTH = {
    "partial": 0.6,
    "cdot": 0.8,
    "cdots": 1.4,
    "ldots": 1.4,
    "dots": 1.4,
    "vdots": 0.5,
    "ddots": 1.4,
    "geq": 1.1,
    "leq": 1.1,
    "eta": 0.55,
    "max": 1.9,
    "star": 1.0,
    "quad": 1.0,
    "qquad": 2.0,
    "infty": 1.0,
    "sum": 1.5,
    "mathit": 0.0,
    "mathbf": 0.0,
    "left": 0.0,
    "right": 0.0,
    "bigl": 0.0,
    "bigr": 0.0,
    "!": -0.17,
    ",": 0.17,
    " ": 0.3,
    "leftarrow": 1.6,
}


def _tex_width(tex: str) -> float:
    """Rough width (in em of the surrounding font) of a math-mode LaTeX string.

    Only used to decide where long sums break lines; every display is also wrapped in a
    box that scales it down if it is still too wide, so this can afford to be crude.
    """
    pos = 0

    def group():
        nonlocal pos
        # at '{': width of the group
        pos += 1
        w = seq(stop="}")
        pos += 1
        return w

    def atom():
        nonlocal pos
        c = tex[pos]
        if c == "{":
            return group()
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[pos:])
            name = m.group(1)
            pos += len(m.group(0))
            if name == "frac":
                a = arg()
                b = arg()
                return max(a, b) + 0.3
            if name in ("hat", "boxed", "mathbf", "mathit", "text", "operatorname", "textcolor"):
                if name == "textcolor":
                    arg()
                w = arg()
                if name == "boxed":
                    w += 0.7
                if name == "text":
                    w *= 0.85
                return w
            if name in _CMD_WIDTH:
                return _CMD_WIDTH[name]
            return 0.8
        pos += 1
        if c in "_^":
            return 0.7 * arg()
        if c.isdigit():
            return 0.5
        if c.isalpha():
            return 0.55
        if c in "+-=<>":
            return 1.3
        if c in "()[]|":
            return 0.4
        if c in ",;":
            return 0.45
        if c in " &~":
            return 0.0
        return 0.5

    def arg():
        nonlocal pos
        while pos < len(tex) and tex[pos] == " ":
            pos += 1
        if pos >= len(tex):
            return 0.0
        return atom()

    def seq(stop=None):
        w = 0.0
        while pos < len(tex) and tex[pos] != stop:
            w += atom()
        return w

    try:
        return seq()
    except (IndexError, AttributeError):
        return 0.6 * len(tex)


# ====================================================================== layout data
@dataclass
class Term:
    """One term of a displayed sum: ``op`` is '', '+', '-' or ',' (max arguments)."""

    op: str
    tex: str
    show: str = ""  # beamer overlay spec for \uncover, e.g. '3-'
    box: str = ""  # beamer overlay spec on which the term is boxed, or 'all'
    width: float = 0.0


@dataclass
class Sum:
    """A sum split into lines (lists of terms), optionally wrapped: ``prefix\\bigl( ... \\bigr)``
    (an average pool's 1/K, a max)."""

    lines: list
    prefix: str = ""
    elided: bool = False

    @property
    def width(self) -> float:
        return max((sum(t.width for t in line) for line in self.lines), default=0.0)


@dataclass
class Cell:
    tex: str
    hl: str = ""  # beamer overlay spec of the highlight, or 'all'
    color: str = "symconvx"


@dataclass
class MatrixData:
    rows: list  # list of lists of Cell
    env: str = "bmatrix"
    elided: bool = False
    label: str = ""  # an \underbrace label (a channel)


@dataclass
class Eq:
    """``lhs = rhs = ...``: ``sym`` are the symbolic right-hand sides in order (e.g. total
    derivative, with the partials, simplified; the last is the simplest), ``num`` the
    worked-number ones (numbers substituted, then the value). Each is a :class:`Sum`."""

    lhs: str
    sym: list = field(default_factory=list)
    num: list = field(default_factory=list)
    note: str = ""
    rel: str = "="

    @property
    def steps(self) -> list:
        return self.sym + self.num

    @property
    def simple(self):
        return self.sym[-1]


def _elide(n: int, limit: int) -> list:
    """Indices to show out of ``n``: all, or the first ``limit - 1``, ``None`` (dots), last."""
    limit = max(int(limit), 3)
    if n <= limit:
        return list(range(n))
    return list(range(limit - 2)) + [None, n - 1]


# ====================================================================== the builder
@dataclass
class _Options:
    document: str
    notation: Notation
    convention: str
    aspect: str
    max_entries: int
    max_terms: int
    max_matrix: int
    max_steps: int
    width: float  # em available for one display line
    frame_rows: int
    frame_lines: int = 6


class _Builder:
    """Turns a Derivation into the template context. One method per part."""

    def __init__(self, deriv: Derivation, opts: _Options, values):
        self.d = deriv
        self.spec = deriv.spec
        self.o = opts
        self.p = SlidePrinter(opts.notation)
        self.nt = opts.notation
        self.beamer = opts.document == "beamer"
        self.xs = flat_entries(deriv.x)
        self.ys = flat_entries(deriv.y_symbols)
        self.dys = flat_entries(deriv.dy)
        self.ws = flat_entries(deriv.w) if deriv.w is not None else None
        self.bs = flat_entries(deriv.b) if deriv.b is not None else None
        self.x_np = as_object_array(deriv.x)
        self.dy_np = as_object_array(deriv.dy)
        self.w_np = as_object_array(deriv.w) if deriv.w is not None else None
        self._T = None
        self._y_flat = None
        self.values = values
        self.num = self._evaluate(values) if values else None

    # ------------------------------------------------------------------ helpers
    def T(self, transpose=False):
        """The Toeplitz matrix in the chosen convention as ``(shape, {(i, j): entry})``.

        Equal to ``Derivation.toeplitz(convention)`` (the Jacobian dy/dx, transposed for the
        row convention); read straight from ``jacobian_terms('x')`` so that huge layers do
        not pay for building a SymPy SparseMatrix only to show a corner of it."""
        if self._T is None:
            row = self.o.convention == "row"
            entries = {}
            for i, col in enumerate(self.d.jacobian_terms("x")):
                for o, c in col:
                    entries[(i, o) if row else (o, i)] = c
            n_x, n_y = len(self.xs), len(self.ys)
            self._T = ((n_x, n_y) if row else (n_y, n_x)), entries
        shape, entries = self._T
        if transpose:
            return (shape[1], shape[0]), {(j, i): v for (i, j), v in entries.items()}
        return shape, entries

    def tex(self, expr) -> str:
        return self.p.doprint(expr)

    def pd(self, num: str, den: str) -> str:
        return rf"\frac{{\partial {num}}}{{\partial {den}}}"

    def dloss(self, sym) -> str:
        return self.pd(self.nt.loss, self.tex(sym))

    def term(self, op, tex, **kw) -> Term:
        return Term(op, tex, width=_tex_width(tex) + (1.3 if op in "+-" and op else 0.4), **kw)

    def terms_sum(self, n, make, *, limit=None, prefix="", first_op="", sep="+", lhs_w=0.0):
        """A Sum of ``n`` terms, ``make(i) -> (op, tex)``, elided past ``limit`` terms."""
        limit = self.o.max_terms if limit is None else limit
        terms = []
        elided = False
        for k, i in enumerate(_elide(n, limit)):
            if i is None:
                elided = True
                terms.append(self.term(sep, r"\cdots" if sep != "," else r"\dots"))
                continue
            op, tex = make(i)
            if k == 0:
                op = "-" if op == "-" else first_op
            terms.append(self.term(op, tex))
        return Sum(self.pack(terms, lhs_w), prefix=prefix, elided=elided)

    def pack(self, terms, lhs_w=0.0) -> list:
        """Greedy line breaking of terms into lines that fit the display width."""
        budget = max(self.o.width - lhs_w - 1.5, 12.0)
        lines, cur, w = [], [], 0.0
        for t in terms:
            if cur and w + t.width > budget:
                lines.append(cur)
                cur, w = [], 1.0
            cur.append(t)
            w += t.width
        if cur:
            lines.append(cur)
        return lines or [[self.term("", "0")]]

    def single(self, tex) -> Sum:
        return Sum([[self.term("", tex)]])

    def lhs_width(self, texs) -> float:
        return max((_tex_width(t) for t in texs), default=0.0) + 1.3

    # ------------------------------------------------------------------ forward terms
    def y_expr(self, o):
        if self._y_flat is None:
            self._y_flat = flat_entries(self.d.y)
        return self._y_flat[o]

    def forward_terms(self, o):
        """Sorted terms of the forward expression of output ``o`` (flat index)."""
        e = self.y_expr(o)
        if self.spec.kind == "avg_pool":
            e = sympy.factor_terms(e)
            coeff, inner = e.as_coeff_Mul()
            return sorted(Add.make_args(inner), key=term_key), coeff
        if self.spec.kind == "max_pool":
            return sorted(e.args if isinstance(e, sympy.Max) else [e], key=factor_key), None
        return sorted(Add.make_args(e), key=term_key), None

    def forward_sum(
        self, o, lhs_w, box_sym=None, box_spec="", reveal=None, one_line=False, limit=None
    ):
        """The forward expression of output ``o`` as a Sum. ``box_sym`` boxes the term that
        contains that symbol (on overlay ``box_spec``); ``reveal`` gives each term an
        overlay (the walk-through)."""
        terms, coeff = self.forward_terms(o)
        kind = self.spec.kind
        sep = "," if kind == "max_pool" else "+"
        prefix = ""
        if kind == "avg_pool":
            prefix = self.tex(coeff)
        elif kind == "max_pool":
            prefix = r"\max"
        out = []
        shown = _elide(len(terms), self.o.max_terms if limit is None else limit)
        for k, i in enumerate(shown):
            if i is None:
                out.append(self.term(sep, r"\cdots" if sep == "+" else r"\dots"))
                continue
            t = terms[i]
            tex = self.tex(t)
            op = sep if k else ""
            if sep == "+" and t.could_extract_minus_sign():
                op, tex = "-", self.tex(-t)
            term = self.term(op, tex)
            if box_sym is not None and t.has(box_sym):
                term.box = box_spec or "all"
            if reveal is not None:
                term.show, term.box = reveal(k, i, len(shown))
            out.append(term)
        if one_line:
            return Sum([out], prefix=prefix)
        return Sum(self.pack(out, lhs_w + (2.5 if prefix else 0)), prefix=prefix)

    def forward_numbers(self, o, lhs_w):
        """The forward expression of output ``o`` with the numbers substituted."""
        terms, coeff = self.forward_terms(o)
        kind = self.spec.kind
        vals = self.num["subs"]

        def make(i):
            t = terms[i]
            c, rest = t.as_coeff_Mul()
            facs = sorted(Mul.make_args(rest), key=factor_key)
            pieces = [number_factor(vals[f], self.p) for f in facs]
            if c != 1:
                pieces.insert(0, number_factor(c, self.p))
            return "," if kind == "max_pool" else "+", r" \cdot ".join(pieces)

        sep = "," if kind == "max_pool" else "+"
        prefix = self.tex(coeff) if kind == "avg_pool" else (r"\max" if kind == "max_pool" else "")
        return self.terms_sum(len(terms), make, prefix=prefix, sep=sep, lhs_w=lhs_w)

    # ------------------------------------------------------------------ arrays to matrices
    def matrix(self, arr2d, *, hl=None, color="symconvx", fmt=None, limit=None, label=""):
        """A 2-D object array (1-D: a row) as MatrixData, elided past ``limit`` rows/columns.

        ``hl`` maps an entry (the object in the array) to a beamer overlay spec."""
        arr2d = np.asarray(arr2d, dtype=object)
        if arr2d.ndim == 1:
            arr2d = arr2d.reshape(1, -1)
        return self._matrix(arr2d.shape, lambda i, j: arr2d[i, j], hl, color, fmt, limit, label)

    def sparse(self, shape, entries):
        """A (possibly huge) sparse matrix given as ``{(i, j): entry}``, elided."""
        zero = sympy.Integer(0)
        get = lambda i, j: entries.get((i, j), zero)  # noqa: E731
        return self._matrix(shape, get, None, "symconvw", None, self.o.max_matrix, "")

    def _matrix(self, shape, get, hl, color, fmt, limit, label):
        if limit is None:  # slides: smaller blocks (the Toeplitz matrix passes its own)
            limit = min(self.o.max_matrix, 7) if self.beamer else self.o.max_matrix
        rows_idx = _elide(shape[0], limit)
        cols_idx = _elide(shape[1], limit)
        fmt = fmt or self.tex
        rows = []
        for i in rows_idx:
            row = []
            for j in cols_idx:
                if i is None and j is None:
                    row.append(Cell(r"\ddots"))
                elif i is None:
                    row.append(Cell(r"\vdots"))
                elif j is None:
                    row.append(Cell(r"\cdots"))
                else:
                    v = get(i, j)
                    spec = hl.get(v, "") if hl and isinstance(v, sympy.Basic) else ""
                    row.append(Cell(fmt(v), spec, color))
            rows.append(row)
        elided = len(rows_idx) < shape[0] or len(cols_idx) < shape[1]
        return MatrixData(rows, elided=elided, label=label)

    def blocks(self, arr, lead, names, *, hl=None, color="symconvx", fmt=None, limit=3):
        """An array (lead channel axes, then spatial axes) as a list of matrices, one per
        channel combination (and per leading slice of a 3-D volume), with labels; elided past
        ``limit`` blocks (None marks the dots)."""
        arr = np.asarray(arr, dtype=object)
        lead_shape = arr.shape[:lead]
        spatial = arr.shape[lead:]
        keys = list(np.ndindex(*lead_shape)) if lead else [()]
        slices = []
        for key in keys:
            sub = arr[key] if key else arr
            if len(spatial) == 3:
                for dz in range(spatial[0]):
                    slices.append((key + (dz,), sub[dz], True))
            else:
                slices.append((key, sub, False))
        out = []
        base = self.d.index_base
        for i in _elide(len(slices), limit):
            if i is None:
                out.append(None)
                continue
            key, sub, depth = slices[i]
            parts = []
            shown = [(n, k) for n, k, size in zip(names, key[:lead], lead_shape) if size > 1]
            parts += [f"{n}={k + base}" for n, k in shown]
            if depth:
                parts.append(f"{names[-1]}={key[-1] + base}")
            label = ",\\ ".join(parts)
            out.append(self.matrix(sub, hl=hl, color=color, fmt=fmt, label=label))
        return out

    def x_blocks(self, values=None, hl=None):
        arr = self.x_np if values is None else values
        fmt = None if values is None else (lambda v: number_tex(v, self.p))
        return self.blocks(arr, 1, ["p", "d"] if self.spec.ndim == 3 else ["p"], hl=hl, fmt=fmt)

    def w_blocks(self, values=None, hl=None):
        arr = self.w_np if values is None else values
        fmt = None if values is None else (lambda v: number_tex(v, self.p))
        names = ["p", "s"] if self.spec.kind == "conv_transpose" else ["s", "p"]
        return self.blocks(arr, 2, names + ["d"], hl=hl, color="symconvw", fmt=fmt)

    def y_blocks(self, arr, fmt=None):
        return self.blocks(arr, 1, ["s", "d"] if self.spec.ndim == 3 else ["s"], fmt=fmt)

    # ------------------------------------------------------------------ numbers
    def _evaluate(self, values):
        spec = self.spec
        vals = _check_values(self.d, values)
        res = self.d.evaluate(
            x=vals.get("x"),
            w=vals.get("w"),
            b=vals.get("b"),
            dy=vals.get("dy"),
            target=vals.get("target"),
        )
        subs = {}
        for name, syms in (("x", self.xs), ("w", self.ws), ("b", self.bs)):
            if syms is None:
                continue
            arr = vals.get(name)
            if arr is None:  # bias defaults to zero
                arr = np.zeros(len(syms), dtype=object) + 0
            subs.update({s: to_sympy_number(v) for s, v in zip(syms, np.asarray(arr).reshape(-1))})
        y = np.asarray(res["y"], dtype=object)
        if "target" in vals:
            target = np.asarray(vals["target"], dtype=object).reshape(spec.y_shape)
            dy = np.vectorize(
                lambda a, b: to_sympy_number(a) - to_sympy_number(b), otypes=[object]
            )(y, target)
        else:
            target = None
            dy = np.asarray(vals["dy"], dtype=object).reshape(spec.y_shape)
        subs.update({s: to_sympy_number(v) for s, v in zip(self.dys, dy.reshape(-1))})
        eta = vals.get("eta")
        return {
            "vals": vals,
            "subs": subs,
            "y": y,
            "target": target,
            "dy": dy,
            "grad_x": res["grad_x"],
            "grad_w": res["grad_w"],
            "grad_b": res["grad_b"],
            "eta": None if eta is None else to_sympy_number(eta),
        }

    def ntex(self, v) -> str:
        return number_tex(v, self.p)

    # ================================================================== parts
    def setup(self):
        spec, d = self.spec, self.d
        nt = self.nt
        ctx = {
            "op": spec.op,
            "title": _title(spec),
            "params": _param_rows(spec),
            "size_rows": _output_size_rows(spec),
            "formula": _index_formula(spec, nt, d.index_base, self.p),
            "x_blocks": self.x_blocks(),
            "w_blocks": self.w_blocks() if spec.has_weight else None,
            "b": self.matrix(flat_entries(d.b)) if spec.bias else None,
            "general": _is_general(spec),
            "pad_value": r"-\infty" if spec.kind == "max_pool" else "0",
        }
        if self.num:
            v = self.num["vals"]
            ctx["num_x"] = self.x_blocks(values=np.asarray(v["x"]).reshape(spec.x_shape))
            ctx["num_w"] = (
                self.w_blocks(values=np.asarray(v["w"]).reshape(spec.w_shape))
                if spec.has_weight
                else None
            )
            ctx["num_b"] = (
                self.matrix(np.asarray(v["b"]).reshape(-1), fmt=self.ntex)
                if spec.bias and "b" in v
                else None
            )
            ctx["eta"] = None if self.num["eta"] is None else self.ntex(self.num["eta"])
        return ctx

    def forward(self):
        n = len(self.ys)
        shown = _elide(n, self.o.max_entries)
        lhs_w = self.lhs_width([self.tex(self.ys[-1])])
        eqs = []
        for o in shown:
            if o is None:
                eqs.append(None)
                continue
            eq = Eq(self.tex(self.ys[o]), [self.forward_sum(o, lhs_w)])
            if self.num:
                eq.num.append(self.forward_numbers(o, lhs_w))
                eq.num.append(self.single(self.ntex(self.num["y"].reshape(-1)[o])))
            eqs.append(eq)
        ctx = {"eqs": eqs, "n": n, "elided": n > len([e for e in eqs if e])}
        # the slides' matrix of expressions, for small outputs
        y_arr = as_object_array(self.d.y)
        small = n <= 4 and all(len(self.forward_terms(o)[0]) <= 6 for o in range(n))
        ctx["expr_matrix"] = (
            self.y_blocks(y_arr) if small and self.spec.out_channels == 1 else None
        )
        ctx["y_blocks"] = self.y_blocks(as_object_array(self.d.y_symbols))
        if self.num:
            ctx["num_y"] = self.y_blocks(self.num["y"], fmt=self.ntex)
        if self.beamer:
            ctx["walk"] = self.walkthrough()
            ctx["windows"] = self.windows()
        return ctx

    def walkthrough(self):
        """Building the first output term by term (one overlay per term, the new term boxed,
        its input and weight highlighted)."""
        terms, _ = self.forward_terms(0)
        steps = min(len(terms), self.o.max_steps)
        slide_of = {}

        def reveal(k, i, n_shown):
            if i is None:
                return f"{steps}-", ""
            s = min(i + 1, steps)
            slide_of[i] = s
            box = str(s) if i + 1 <= steps - 1 or len(terms) == steps else ""
            return f"{s}-", box

        lhs = self.tex(self.ys[0])
        body = self.forward_sum(0, self.lhs_width([lhs]), reveal=reveal)
        hl_x, hl_w = {}, {}
        for i, t in enumerate(terms):
            s = slide_of.get(i)
            if s is None or i + 1 > steps:
                continue
            for f in Mul.make_args(t.as_coeff_Mul()[1]):
                kind, _ = symbol_kind(f)
                if kind == "x":
                    hl_x.setdefault(f, []).append(str(s))
                elif kind == "w":
                    hl_w.setdefault(f, []).append(str(s))
        hl_x = {k: ",".join(v) for k, v in hl_x.items()}
        hl_w = {k: ",".join(v) for k, v in hl_w.items()}
        return {
            "lhs": lhs,
            "sum": body,
            "steps": steps,
            "x_blocks": self.x_blocks(hl=hl_x),
            "w_blocks": self.w_blocks(hl=hl_w) if self.spec.has_weight else None,
            "more": len(terms) > steps,
        }

    def windows(self):
        """Every output in turn, with its window highlighted in x (the receptive field)."""
        n = len(self.ys)
        shown = _elide(n, min(self.o.max_steps, 6))
        hl = {}
        eqs = []
        lhs_w = self.lhs_width([self.tex(self.ys[-1])])
        slide = 0
        for o in shown:
            if o is None:
                eqs.append(None)
                continue
            slide += 1
            terms, _ = self.forward_terms(o)
            for t in terms:
                for f in Mul.make_args(t.as_coeff_Mul()[1]):
                    if symbol_kind(f)[0] == "x":
                        hl.setdefault(f, []).append(str(slide))
            eq = Eq(
                self.tex(self.ys[o]),
                [self.forward_sum(o, lhs_w, one_line=True, limit=min(self.o.max_terms, 6))],
            )
            eq.note = f"{slide}-"
            eqs.append(eq)
        return {
            "eqs": eqs,
            "x_blocks": self.x_blocks(hl={k: ",".join(v) for k, v in hl.items()}),
            "slides": slide,
        }

    def toeplitz(self):
        spec = self.spec
        if spec.kind == "max_pool":
            return {"linear": False}
        row = self.o.convention == "row"
        shape, entries = self.T()
        ctx = {
            "linear": True,
            "row": row,
            "shape": shape,
            "matrix": self.sparse(shape, entries),
            "x_vec": self.matrix(np.array([self.xs], dtype=object)),
            "y_vec": self.matrix(np.array([self.ys], dtype=object)),
            "bias": spec.bias,
            "flat_order": "left to right, top to bottom" if spec.ndim == 2 else "row-major",
            "elided": any(n > self.o.max_matrix for n in shape),
        }
        if spec.bias:
            ctx["b_vec"] = self.matrix(
                np.array([flat_entries(self.d.bias_vector())], dtype=object)
            )
        return ctx

    def loss(self):
        spec = self.spec
        n = len(self.ys)
        ctx = {"given_dy": bool(self.num and "dy" in self.num["vals"])}
        ys_hat = [sympy.Symbol("yhat" + s.name[1:], real=True) for s in self.ys]
        lhs_w = 2.0

        def make(i):
            return "+", rf"\left({self.tex(self.ys[i])} - {self.tex(ys_hat[i])}\right)^{{2}}"

        ctx["expanded"] = self.terms_sum(n, make, limit=min(self.o.max_terms, 6), lhs_w=lhs_w)
        ctx["indices"] = _sum_indices(spec)
        eqs = []
        for o in _elide(n, self.o.max_entries):
            if o is None:
                eqs.append(None)
                continue
            eq = Eq(
                self.dloss(self.ys[o]),
                [self.single(f"{self.tex(self.ys[o])} - {self.tex(ys_hat[o])}")],
            )
            if self.num:
                nv = self.num
                if nv["target"] is not None:
                    y = self.ntex(nv["y"].reshape(-1)[o])
                    t = number_factor(nv["target"].reshape(-1)[o], self.p)
                    eq.num.append(self.single(f"{y} - {t}"))
                eq.num.append(self.single(self.ntex(nv["dy"].reshape(-1)[o])))
            eqs.append(eq)
        ctx["eqs"] = eqs
        ctx.update(num_dy=None, num_target=None, num_loss=None)
        if self.num:
            ctx["num_dy"] = self.y_blocks(self.num["dy"], fmt=self.ntex)
            if self.num["target"] is not None:
                ctx["num_target"] = self.y_blocks(self.num["target"], fmt=self.ntex)
                loss = sum(to_sympy_number(v) ** 2 for v in self.num["dy"].reshape(-1)) / 2
                ctx["num_loss"] = self.ntex(loss)
        return ctx

    # ------------------------------------------------------------------ gradients
    def grad_entries(self, wrt):
        """Every dE/dp as total derivative, partials, simplified, numbers, value."""
        syms = self.xs if wrt == "x" else self.ws
        jac = self.d.jacobian_terms(wrt)
        n_y = len(self.ys)
        lhs_texs = [self.dloss(syms[-1])]
        lhs_w = self.lhs_width(lhs_texs)
        entries = []
        values = None
        if self.num is not None:
            values = np.asarray(self.num["grad_x" if wrt == "x" else "grad_w"]).reshape(-1)
        full = n_y <= self.o.max_terms
        for k, i in enumerate(_elide(len(syms), self.o.max_entries)):
            if i is None:
                entries.append(None)
                continue
            p = syms[i]
            ptex = self.tex(p)
            col = sorted(jac[i], key=lambda oc: oc[0])
            eq = Eq(self.dloss(p))
            eq.sym.append(self.total_sum(ptex, lhs_w))
            if full and len(col) < n_y:
                coef = dict(col)
                eq.sym.append(
                    self.terms_sum(
                        n_y,
                        lambda o: ("+", self._partial_term(o, coef.get(o, 0))),
                        lhs_w=lhs_w,
                    )
                )
            eq.sym.append(self.simplified(col, lhs_w))
            if values is not None:
                eq.num.append(self.numbers_sum(col, lhs_w))
                eq.num.append(self.single(self.ntex(values[i])))
            entries.append(eq)
        return entries

    def total_sum(self, ptex, lhs_w):
        """sum over every output o of dE/dy_o dy_o/dp (slides: shorter, 6 terms at most)."""

        def make(o):
            y = self.tex(self.ys[o])
            return "+", f"{self.pd(self.nt.loss, y)} {self.pd(y, ptex)}"

        limit = min(self.o.max_terms, 6) if self.beamer else None
        return self.terms_sum(len(self.ys), make, lhs_w=lhs_w, limit=limit)

    def _partial_term(self, o, coef):
        dy = self.dys[o]
        if coef == 0:
            return rf"{self.tex(dy)} \cdot 0"
        return self.tex(Mul(dy, coef))

    def simplified(self, col, lhs_w, box_spec=None):
        def make(k):
            o, c = col[k]
            return "+", self.tex(Mul(self.dys[o], c))

        if not col:
            return self.single("0")
        return self.terms_sum(len(col), make, lhs_w=lhs_w)

    def numbers_sum(self, col, lhs_w):
        subs = self.num["subs"]

        def make(k):
            o, c = col[k]
            cv = c.xreplace(subs) if isinstance(c, sympy.Basic) else c
            return (
                "+",
                rf"{number_factor(subs[self.dys[o]], self.p)} \cdot {number_factor(cv, self.p)}",
            )

        if not col:
            return self.single("0")
        return self.terms_sum(len(col), make, lhs_w=lhs_w)

    def focus(self, wrt):
        """Beamer: dE/dp for the first entry p, one output at a time (dy_o/dp with y_o's
        expression shown, the term holding p boxed), then the simplified sum."""
        syms = self.xs if wrt == "x" else self.ws
        p = syms[0]
        ptex = self.tex(p)
        col = dict(self.d.jacobian_terms(wrt)[0])
        lhs = self.dloss(p)
        lhs_w = self.lhs_width([lhs])
        n_y = len(self.ys)
        if n_y <= self.o.max_steps:
            shown = list(range(n_y))  # every output, zero partials included (the slides)
        else:  # only the outputs p reaches
            shown = sorted(col)[: self.o.max_steps]
        steps = []
        for k, o in enumerate(shown):
            y = self.tex(self.ys[o])
            c = col.get(o, sympy.Integer(0))
            steps.append(
                {
                    "slide": k + 2,
                    "lhs": self.pd(y, ptex),
                    "value": self.tex(c),
                    "y_lhs": y,
                    "y_sum": self.forward_sum(o, self.lhs_width([y]), box_sym=p),
                }
            )
        return {
            "lhs": lhs,
            "param": ptex,
            "total": self.total_sum(ptex, lhs_w),
            "steps": steps,
            "last": len(steps) + 2,
            "simplified": self.simplified(sorted(col.items()), lhs_w),
            "only_nonzero": n_y > self.o.max_steps,
        }

    def grad_w(self):
        spec = self.spec
        if not spec.has_weight:
            return None
        ctx = {
            "entries": self.grad_entries("w"),
            "n": len(self.ws),
            "general": self.total_general("w"),
            "identity": self.identity_w(),
        }
        ctx["elided"] = ctx["n"] > self.o.max_entries
        if self.beamer:
            ctx["focus"] = self.focus("w")
        if self.num:
            ctx["num_blocks"] = self.w_blocks(values=np.asarray(self.num["grad_w"]))
        return ctx

    def grad_x(self):
        ctx = {
            "entries": self.grad_entries("x"),
            "n": len(self.xs),
            "general": self.total_general("x"),
        }
        ctx["elided"] = ctx["n"] > self.o.max_entries
        if self.spec.kind != "max_pool":
            row = self.o.convention == "row"
            shape, entries = self.T(transpose=True)
            ctx["transpose"] = {
                "row": row,
                "dy_vec": self.matrix(np.array([self.dys], dtype=object)),
                "matrix": self.sparse(shape, entries),
                "shape": shape,
            }
        else:
            ctx["transpose"] = None
        ctx["full"] = self.identity_x()
        if self.beamer:
            ctx["focus"] = self.focus("x")
        if self.num:
            ctx["num_blocks"] = self.x_blocks(values=np.asarray(self.num["grad_x"]))
        return ctx

    def total_general(self, wrt):
        """The general total-derivative formula dE/dp_ij = sum_o dE/dy_o dy_o/dp_ij."""
        letter = self.nt.x if wrt == "x" else self.nt.w
        idx = "ij" if self.spec.ndim == 2 else ("i" if self.spec.ndim == 1 else "hij")
        ptex = f"{letter}_{{{idx}}}"
        lhs = self.pd(self.nt.loss, ptex)
        return {"lhs": lhs, "sum": self.total_sum(ptex, self.lhs_width([lhs]))}

    def identity_w(self):
        """dE/dw as a correlation of x with dE/dy, for the first (output, input) channel pair."""
        spec, d = self.spec, self.d
        co, ci, (w0, w1) = next(iter(d.layer.channel_pairs()))
        gw = self.w_np[w0, w1]
        a, k, _ = identity_operands(spec, self.x_np[ci], self.dy_np[co], gw)["w"]
        stride, dil = spec.stride, spec.dilation
        return {
            "kind": spec.kind,
            "a": self.spatial(a),
            "k": self.spatial(k),
            "g": self.spatial(gw, fmt=lambda s: self.dloss(s)),
            "k_fmt_dy": spec.kind == "conv",
            "padded": any(lo or hi for lo, hi in spec.padding),
            "strided": any(s > 1 for s in stride),
            "dilated": any(v > 1 for v in dil),
            "flip": spec.flip,
            "stride": dims_text(stride, sep=_TIMES),
            "dilation": dims_text(dil, sep=_TIMES),
            "pair": _pair_label(spec, co, ci, d.index_base),
            "many": spec.in_channels * spec.out_channels > 1,
            "cropped": any(
                n != kk for n, kk in zip(correlation_size(a.shape, k.shape, dil), spec.kernel_size)
            ),
        }

    def identity_x(self):
        """dE/dx as the full correlation of the zero-padded dE/dy with the rotated kernel
        (conv), or as the forward convolution of dE/dy with w (transposed conv); pools: None."""
        spec, d = self.spec, self.d
        if not spec.has_weight:
            return None
        co, ci, (w0, w1) = next(iter(d.layer.channel_pairs()))
        gx = self.x_np[ci]
        a, k, _ = identity_operands(spec, gx, self.dy_np[co], self.w_np[w0, w1])["x"]
        return {
            "kind": spec.kind,
            "a": self.spatial(a),
            "k": self.spatial(k),
            "g": self.spatial(gx, fmt=lambda s: self.dloss(s)),
            "pad": dims_text([e - 1 for e in spec.effective_kernel], sep=_TIMES),
            "strided": any(s > 1 for s in spec.stride),
            "stride": dims_text(spec.stride, sep=_TIMES),
            "dilated": any(v > 1 for v in spec.dilation),
            "cropped": any(lo or hi for lo, hi in spec.padding),
            "crop": dims_text([lo for lo, _ in spec.padding], sep=_TIMES),
            "flip": spec.flip,
            "pair": _pair_label(spec, co, ci, d.index_base),
            "many": spec.in_channels * spec.out_channels > 1,
        }

    def spatial(self, arr, fmt=None):
        """A spatial array (1-, 2- or 3-D) as matrices (a 3-D volume: its first slice)."""
        arr = np.asarray(arr, dtype=object)
        if arr.ndim == 3:
            arr = arr[0]
        return self.matrix(arr, fmt=fmt)

    def grad_b(self):
        spec = self.spec
        if not spec.bias:
            return None
        n_out = math.prod(spec.output_size)
        entries = []
        lhs_w = self.lhs_width([self.dloss(self.bs[-1])])
        vals = None if self.num is None else np.asarray(self.num["grad_b"]).reshape(-1)
        for c in _elide(spec.out_channels, self.o.max_entries):
            if c is None:
                entries.append(None)
                continue
            dys = self.dys[c * n_out : (c + 1) * n_out]
            eq = Eq(self.dloss(self.bs[c]))
            eq.sym.append(self.terms_sum(n_out, lambda i: ("+", self.tex(dys[i])), lhs_w=lhs_w))
            if vals is not None:
                subs = self.num["subs"]
                eq.num.append(
                    self.terms_sum(
                        n_out, lambda i: ("+", number_factor(subs[dys[i]], self.p)), lhs_w=lhs_w
                    )
                )
                eq.num.append(self.single(self.ntex(vals[c])))
            entries.append(eq)
        return {"entries": entries, "indices": _sum_indices(spec, channel=False)}

    def update(self):
        spec = self.spec
        if not spec.has_weight:
            return None
        ctx = {"entries": None, "bias": spec.bias}
        if self.num:
            eta = self.num["eta"]
            eta_sym = sympy.Symbol("eta")
            subs = self.num["subs"]
            gw = np.asarray(self.num["grad_w"]).reshape(-1)
            entries = []
            for i in _elide(len(self.ws), self.o.max_entries):
                if i is None:
                    entries.append(None)
                    continue
                w = self.ws[i]
                g = to_sympy_number(gw[i])
                rate = eta if eta is not None else eta_sym
                rate_tex = self.tex(rate) if eta is not None else r"\eta"
                step = (
                    rf"{number_tex(subs[w], self.p)} - {rate_tex} \cdot {number_factor(g, self.p)}"
                )
                new = sympy.expand(subs[w] - rate * g)
                eq = Eq(self.tex(w), [], [self.single(step), self.single(self.tex(new))])
                eq.rel = r"\leftarrow"
                entries.append(eq)
            ctx["entries"] = entries
        return ctx

    def routing(self):
        spec = self.spec
        if not spec.is_pool:
            return None
        ctx = {
            "kind": spec.kind,
            "ties": spec.ties,
            "window": dims_text(spec.kernel_size, sep=_TIMES),
            "count": math.prod(spec.kernel_size),
            "count_include_pad": spec.count_include_pad,
            "overlap": any(s < e for s, e in zip(spec.stride, spec.effective_kernel)),
            "winners": None,
        }
        if spec.kind == "avg_pool":
            ctx["sizes_vary"] = len(set(self.d.layer.window_sizes.tolist())) > 1
        if self.num and spec.kind == "max_pool":
            # where each window's gradient goes, with these numbers
            rows = []
            subs = self.num["subs"]
            jac = self.d.jacobian_terms("x")
            winners = {}
            for i, col in enumerate(jac):
                for o, c in col:
                    v = c.xreplace(subs)
                    if v != 0:
                        winners.setdefault(o, []).append((i, v))
            for o in _elide(len(self.ys), self.o.max_entries):
                if o is None:
                    rows.append(None)
                    continue
                win = winners.get(o, [])
                rows.append(
                    {
                        "y": self.tex(self.ys[o]),
                        "value": self.ntex(self.num["y"].reshape(-1)[o]),
                        "to": ", ".join(self.tex(self.xs[i]) for i, _ in win) or "-",
                        "share": ", ".join(self.ntex(v) for _, v in win),
                    }
                )
            ctx["winners"] = rows
        return ctx

    def summary(self):
        spec = self.spec
        return {
            "kind": spec.kind,
            "row": self.o.convention == "row",
            "bias": spec.bias,
        }


# ---------------------------------------------------------------------- small helpers
def _title(spec) -> str:
    names = {
        "conv": "convolution" if spec.flip else "convolution (cross-correlation)",
        "conv_transpose": "transposed convolution",
        "max_pool": "max pooling",
        "avg_pool": "average pooling",
    }
    return f"{spec.ndim}-D {names[spec.kind]}"


def _subtitle(spec) -> str:
    """One line: input, kernel, stride, padding, dilation (for a title page)."""
    parts = [f"input ${dims_text(spec.x_shape, sep=_TIMES)}$"]
    if spec.has_weight:
        parts.append(f"kernel ${dims_text(spec.w_shape, sep=_TIMES)}$")
    else:
        parts.append(f"window ${dims_text(spec.kernel_size, sep=_TIMES)}$")
    parts.append(f"stride ${dims_text(spec.stride, sep=_TIMES)}$")
    if any(lo or hi for lo, hi in spec.padding):
        parts.append("padding " + ", ".join(f"({lo}, {hi})" for lo, hi in spec.padding))
    else:
        parts.append("no padding")
    if any(d > 1 for d in spec.dilation):
        parts.append(f"dilation ${dims_text(spec.dilation, sep=_TIMES)}$")
    if spec.has_weight and spec.bias:
        parts.append("bias")
    return ", ".join(parts)


def _is_general(spec) -> bool:
    return (
        spec.in_channels > 1
        or spec.out_channels > 1
        or any(s > 1 for s in spec.stride)
        or any(d > 1 for d in spec.dilation)
        or any(lo or hi for lo, hi in spec.padding)
        or spec.kind == "conv_transpose"
    )


def _param_rows(spec) -> list:
    rows = [("input", f"${dims_text(spec.x_shape, sep=_TIMES)}$ (channels $\\times$ spatial)")]
    if spec.has_weight:
        rows.append(
            (
                "kernel",
                f"${dims_text(spec.w_shape, sep=_TIMES)}$ "
                + (
                    "(filters $\\times$ input channels $\\times$ spatial)"
                    if spec.kind == "conv"
                    else "(input channels $\\times$ output channels $\\times$ spatial)"
                ),
            )
        )
    else:
        rows.append(("window", f"${dims_text(spec.kernel_size, sep=_TIMES)}$"))
    rows.append(("stride", f"${dims_text(spec.stride, sep=_TIMES)}$"))
    pads = ", ".join(f"({lo}, {hi})" for lo, hi in spec.padding)
    rows.append(
        ("padding (low, high)", f"{pads}" + (" (same)" if spec.padding_mode == "same" else ""))
    )
    rows.append(("dilation", f"${dims_text(spec.dilation, sep=_TIMES)}$"))
    if spec.kind == "conv_transpose" and any(spec.output_padding):
        rows.append(("output padding", f"${dims_text(spec.output_padding, sep=_TIMES)}$"))
    if spec.has_weight and spec.groups > 1:
        rows.append(("groups", str(spec.groups)))
    if spec.has_weight:
        rows.append(("bias", "yes" if spec.bias else "no"))
    if spec.kind == "max_pool":
        rows.append(("ties", "first maximum wins" if spec.ties == "first" else "split equally"))
    if spec.kind == "avg_pool":
        rows.append(
            ("divisor", "window size" if spec.count_include_pad else "real inputs in the window")
        )
    if spec.is_pool and spec.ceil_mode:
        rows.append(("ceil mode", "yes"))
    rows.append(("output", f"${dims_text(spec.y_shape, sep=_TIMES)}$"))
    return rows


def _output_size_rows(spec) -> list:
    """Per axis: the output-size formula with its numbers filled in."""
    rows = []
    for a, (n, (lo, hi), k, d, s, op, out) in enumerate(
        zip(
            spec.input_size,
            spec.padding,
            spec.kernel_size,
            spec.dilation,
            spec.stride,
            spec.output_padding,
            spec.output_size,
        )
    ):
        rows.append(
            {
                "n": n,
                "lo": lo,
                "hi": hi,
                "k": k,
                "d": d,
                "s": s,
                "op": op,
                "out": out,
                "ceil": spec.ceil_mode and spec.is_pool,
            }
        )
    return rows


_OUT_LETTERS = {1: ["i"], 2: ["i", "j"], 3: ["h", "i", "j"]}
_K_LETTERS = {1: ["k"], 2: ["k", "l"], 3: ["m", "k", "l"]}
_IN_LETTERS = {1: ["m"], 2: ["m", "n"], 3: ["q", "m", "n"]}


def _index_formula(spec, nt, base, printer) -> dict:
    """The general index formula of the forward pass (seed 003's), numbers filled in."""
    nd = spec.ndim
    oi = [sympy.Symbol(c) for c in _OUT_LETTERS[nd]]
    ki = [sympy.Symbol(c) for c in _K_LETTERS[nd]]
    mi = [sympy.Symbol(c) for c in _IN_LETTERS[nd]]

    def sub(items):
        items = [i if isinstance(i, str) else sympy.latex(i) for i in items]
        if all(len(i) == 1 for i in items):
            return "".join(items)
        return ",\\,".join(items)

    rng = lambda letter, n: (f"{letter}=1}}^{{{n}}}" if base == 1 else f"{letter}=0}}^{{{n - 1}}}")
    s_ch = spec.out_channels > 1
    cin_g = spec.in_channels // spec.groups if spec.has_weight else 1
    p_ch = spec.has_weight and cin_g > 1
    y_idx = (["s"] if s_ch else []) + oi
    sums = []
    if p_ch:
        sums.append(r"\sum_{" + rng("p", cin_g))
    for k, K in zip(ki, spec.kernel_size):
        sums.append(r"\sum_{" + rng(str(k), K))
    if spec.has_weight and spec.groups > 1 and spec.kind == "conv":
        cout_g = spec.out_channels // spec.groups
        first = sympy.floor((sympy.Symbol("s") - base) / cout_g) * cin_g
        chan = sympy.latex(first + sympy.Symbol("p"))
    else:
        chan = (
            "p"
            if spec.in_channels > 1 and spec.has_weight
            else ("s" if spec.is_pool and spec.in_channels > 1 else None)
        )
    if spec.is_pool and spec.in_channels > 1:
        y_idx = ["s"] + oi
    notes = []
    if spec.kind == "conv_transpose":
        x_pos = [str(m) for m in mi]
        x_idx = ([chan] if chan else []) + x_pos
        w_idx = (["p"] if spec.in_channels > 1 else []) + (["s"] if s_ch else []) + ki
        where = [
            f"{sympy.latex(o)} = {sympy.latex(sympy.expand(spec.tap_position(a, m, k, base)))}"
            for a, (o, m, k) in enumerate(zip(oi, mi, ki))
        ]
        sums = ([r"\sum_{" + rng("p", spec.in_channels)] if spec.in_channels > 1 else []) + sums
        rhs = " ".join(sums) + f" {nt.x}_{{{sub(x_idx)}}}\\, {nt.w}_{{{sub(w_idx)}}}"
        notes.append(r"\text{over the taps with } " + r",\ ".join(where))
    else:
        x_pos = [
            sympy.expand(spec.tap_position(a, o, k, base)) for a, (o, k) in enumerate(zip(oi, ki))
        ]
        x_idx = ([chan] if chan else []) + x_pos
        if spec.has_weight:
            kk = ki
            if spec.flip:
                kk = [K + 2 * base - 1 - k for k, K in zip(ki, spec.kernel_size)]
            w_idx = (["s"] if s_ch else []) + (["p"] if p_ch else []) + kk
            rhs = " ".join(sums) + f" {nt.x}_{{{sub(x_idx)}}}\\, {nt.w}_{{{sub(w_idx)}}}"
        elif spec.kind == "max_pool":
            rhs = r"\max_{" + ",".join(str(k) for k in ki) + "}" + f" {nt.x}_{{{sub(x_idx)}}}"
        else:
            rhs = r"\frac{1}{N_{" + sub(oi) + "}} " + " ".join(sums) + f" {nt.x}_{{{sub(x_idx)}}}"
    if spec.bias:
        rhs += f" + {nt.b}" + ("_{s}" if s_ch else "")
    return {"lhs": f"{nt.y}_{{{sub(y_idx)}}}", "rhs": rhs, "notes": notes}


def _sum_indices(spec, channel=True) -> str:
    letters = _OUT_LETTERS[spec.ndim]
    if channel and spec.out_channels > 1:
        letters = ["s"] + letters
    return ",".join(letters)


def _pair_label(spec, co, ci, base) -> str:
    if spec.kind == "conv_transpose":
        return f"p={ci + base},\\ s={co + base}"
    return f"s={co + base},\\ p={ci + base}"


# ====================================================================== values
_VALUE_KEYS = ("x", "w", "b", "target", "dy", "eta")


def _check_values(deriv, values) -> dict:
    """Validate worked-number values; returns arrays shaped like the derivation's."""
    spec = deriv.spec
    if not isinstance(values, dict):
        raise LatexValueError("values", f"must be a dict with keys {_VALUE_KEYS}, got {values!r}")
    unknown = sorted(set(values) - set(_VALUE_KEYS) - {"yhat", "lr"})
    if unknown:
        raise LatexValueError(unknown[0], f"unknown value; expected one of {_VALUE_KEYS}")
    vals = {k: v for k, v in values.items() if v is not None}
    if "yhat" in vals:
        vals["target"] = vals.pop("yhat")
    if "lr" in vals:
        vals["eta"] = vals.pop("lr")
    shapes = {"x": spec.x_shape, "target": spec.y_shape, "dy": spec.y_shape}
    if spec.has_weight:
        shapes["w"] = spec.w_shape
    if spec.bias:
        shapes["b"] = spec.b_shape
    if "x" not in vals:
        raise LatexValueError("x", "worked numbers need x")
    if spec.has_weight and "w" not in vals:
        raise LatexValueError("w", "worked numbers need w")
    for name in ("w", "b"):
        if name in vals and name not in shapes:
            raise LatexValueError(name, f"{spec.op} has no {'weights' if name == 'w' else 'bias'}")
    if ("target" in vals) == ("dy" in vals):
        raise LatexValueError(
            "target" if "target" not in vals else "dy", "give exactly one of target and dy"
        )
    out = {}
    for name, value in vals.items():
        if name == "eta":
            out[name] = _scalar(name, value)
            continue
        out[name] = _shaped(name, value, shapes[name])
    return out


def _number(name, v):
    if isinstance(v, bool):
        raise LatexValueError(name, f"must hold numbers, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise LatexValueError(name, f"must hold finite numbers, got {v!r}")
        return float(v)
    if isinstance(v, sympy.Basic):
        if v.is_Integer:
            return int(v)
        if v.is_Rational:
            return Fraction(int(v.p), int(v.q))
        if v.is_Float:
            return float(v)
        raise LatexValueError(name, f"must hold numbers, got {v!r}")
    if isinstance(v, str):
        return _parse_number(name, v)
    raise LatexValueError(name, f"must hold numbers, got {v!r}")


def _scalar(name, value):
    arr = np.asarray(value, dtype=object)
    if arr.size != 1:
        raise LatexValueError(
            name, f"must be one number, got shape {dims_text(arr.shape, _ONE_NUMBER)}"
        )
    return _number(name, arr.reshape(-1)[0])


def _shaped(name, value, shape):
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        raise LatexValueError(
            name, f"must be a rectangular array of shape {dims_text(shape, _ONE_NUMBER)}"
        )
    if arr.dtype == object and arr.ndim and any(isinstance(v, (list, tuple)) for v in arr.flat):
        raise LatexValueError(
            name, f"must be a rectangular array of shape {dims_text(shape, _ONE_NUMBER)}"
        )
    squeezed = tuple(n for n in shape if n != 1)
    if arr.shape != tuple(shape) and tuple(n for n in arr.shape if n != 1) != squeezed:
        want = dims_text(squeezed or shape, _ONE_NUMBER)
        raise LatexValueError(
            name,
            f"must have shape {want} (full shape {dims_text(shape, _ONE_NUMBER)}), got shape "
            f"{dims_text(arr.shape, _ONE_NUMBER)}",
        )
    flat = [_number(name, v) for v in arr.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _parse_number(name, text):
    t = text.strip()
    if "/" in t:
        num, _, den = t.partition("/")
        try:
            p, q = int(num.strip()), int(den.strip())
        except ValueError:
            raise LatexValueError(name, f"not a number: {text!r}") from None
        if q == 0:
            raise LatexValueError(name, f"division by zero in {text!r}")
        return Fraction(p, q)
    if not _NUM_RE.match(t):
        raise LatexValueError(name, f"not a number: {text!r}")
    if re.match(r"^[+-]?\d+$", t):
        return int(t)
    return Fraction(t)  # decimals are exact: 0.5 -> 1/2


def parse_values_text(text: str, option: str = "value"):
    """Numbers from text: JSON nested lists (ints, decimals, ``"p/q"`` strings), CSV rows or a
    ``bmatrix``; a file path is read first. Parsed by the whitelist parser
    :func:`symconv.answers.parse_answer`, never evaluated. Raises :class:`LatexValueError`
    naming ``option``."""
    if len(text) < 4096 and os.path.isfile(text):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LatexValueError(option, f"cannot read file: {exc}") from None
    try:
        return parse_answer(text)
    except AnswerError as exc:
        raise LatexValueError(option, str(exc)) from None


# ====================================================================== render
def _options(document, notation, convention, aspect, max_entries, max_terms, max_matrix):
    if document not in DOCUMENTS:
        raise SpecError(f"latex: document must be one of {DOCUMENTS}, got {document!r}")
    if convention not in ("row", "column"):
        raise SpecError(f"latex: convention must be 'row' or 'column', got {convention!r}")
    aspect = str(aspect).replace(":", "")
    if aspect not in ASPECTS:
        raise SpecError(f"latex: aspect must be '169' or '43', got {aspect!r}")
    for name, v in (
        ("max_entries", max_entries),
        ("max_terms", max_terms),
        ("max_matrix", max_matrix),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 3:
            raise SpecError(f"latex: {name} must be an integer >= 3, got {v!r}")
    if document == "beamer":
        width = 33.0 if aspect == "169" else 26.0
        rows = 5
    elif document == "article":
        width = 44.0
        rows = 0
    else:
        width = 32.0
        rows = 0
    return _Options(
        document=document,
        notation=resolve_notation(notation),
        convention=convention,
        aspect=aspect,
        # slides show shorter lists and sums than documents (at most 9 entries, 8 terms)
        max_entries=min(max_entries, 9) if document == "beamer" else max_entries,
        max_terms=min(max_terms, 8) if document == "beamer" else max_terms,
        max_matrix=max_matrix,
        max_steps=min(9, max_terms),
        width=width,
        frame_rows=rows,
    )


def render_latex(
    derivation,
    *,
    document: str = "snippet",
    parts=None,
    notation="seed000",
    convention: str = "row",
    aspect: str = "169",
    max_entries: int = 16,
    max_terms: int = 12,
    max_matrix: int = 10,
    values: dict | None = None,
    title: str | None = None,
) -> str:
    """LaTeX of a derivation: ``document`` is ``'snippet'`` (body only), ``'article'`` or
    ``'beamer'`` (slides in seed 000's step-by-step style, ``aspect`` '169' or '43').

    ``parts`` selects from :data:`PARTS` (default all that apply to the layer). ``notation`` is
    a preset of :data:`symconv.symbols.NOTATIONS` (seed000: x, w, y, E; seed001: X, F, O, L;
    seed003: Y, w, z, Div). ``convention`` is ``'row'`` (the slides' x W = y) or ``'column'``
    (vec y = T vec x). Lists longer than ``max_entries``, sums longer than ``max_terms`` and
    matrices larger than ``max_matrix`` rows/columns are elided with dots and a note.

    ``values`` adds worked numbers: a dict with ``x``, ``w`` (conv), optional ``b``, and
    ``target`` (yhat, for the L2 loss) or ``dy`` (the upstream gradient), optional ``eta``
    (learning rate, else kept symbolic). Ints, Fractions and ``'p/q'`` strings stay exact.
    """
    if isinstance(derivation, Layer):
        derivation = derive(derivation)
    if not isinstance(derivation, Derivation):
        raise SpecError(f"latex: expected a Derivation (symconv.derive(...)), got {derivation!r}")
    opts = _options(document, notation, convention, aspect, max_entries, max_terms, max_matrix)
    spec = derivation.spec
    applicable = [p for p in PARTS if _applies(p, spec)]
    if parts is None:
        chosen = applicable
    else:
        if isinstance(parts, str):
            parts = [p.strip() for p in parts.split(",") if p.strip()]
        bad = [p for p in parts if p not in PARTS]
        if bad:
            raise SpecError(f"latex: parts must be among {PARTS}, got {bad[0]!r}")
        chosen = [p for p in applicable if p in parts]
    b = _Builder(derivation, opts, values)
    ctx = {name: getattr(b, name)() if name in chosen else None for name in PARTS}
    ctx.update(
        document=document,
        parts=chosen,
        spec=spec,
        nt=opts.notation,
        aspect=opts.aspect,
        numbers=b.num is not None,
        title=title or f"Gradients of a {_title(spec)}",
        layer_repr=repr(spec),
        subtitle=_subtitle(spec),
        chunks=lambda eqs, which: _chunks(eqs, which, opts.frame_lines),
        frame_rows=opts.frame_rows or 10**6,
        max_entries=opts.max_entries,
        max_terms=opts.max_terms,
        max_matrix=opts.max_matrix,
        base=derivation.index_base,
        loss_symbol=opts.notation.loss,
        has_eta=bool(b.num and b.num["eta"] is not None),
    )
    return render(f"latex/{document}.tex.jinja", **ctx)


def _chunks(eqs, which, max_lines) -> list:
    """Split a list of equations into frames of at most ``max_lines`` display lines."""
    out, cur, n = [], [], 0
    for e in eqs or []:
        if e is None:
            lines = 1
        elif which == "num":
            lines = len(e.num[0].lines) if e.num else 1
        elif which == "simple":
            lines = len(e.simple.lines)
        else:
            lines = sum(len(st.lines) for st in e.steps)
        if cur and n + lines > max_lines:
            out.append(cur)
            cur, n = [], 0
        cur.append(e)
        n += lines
    if cur:
        out.append(cur)
    return out


def _applies(part, spec) -> bool:
    if part in ("grad_w", "update"):
        return spec.has_weight
    if part == "grad_b":
        return spec.bias
    if part == "routing":
        return spec.is_pool
    return True


# ====================================================================== compiling
def wrap_snippet(tex: str) -> str:
    """A minimal article around a snippet (the packages a snippet needs), for compiling."""
    return render("latex/wrapper.tex.jinja", body=tex)


def _which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        hint = "poppler-utils" if program == "pdftoppm" else "texlive-latex-base"
        raise LatexError(f"{program} not found on PATH (Debian/Ubuntu: apt-get install {hint})")
    return path


_ERROR_RE = re.compile(r"^(?:\./)?[^:\n]*\.tex:(\d+): (.*)$", re.M)


def _first_error(log: str, tex: str) -> str:
    """The first error of a pdflatex log (run with -file-line-error), with its source line."""
    m = _ERROR_RE.search(log)
    if m:
        line_no = int(m.group(1))
        msg = m.group(2).strip()
        lines = tex.splitlines()
        src = lines[line_no - 1].strip() if 0 < line_no <= len(lines) else ""
        return f"{msg} (line {line_no}: {src[:120]})"
    m = re.search(r"^! (.*)$", log, re.M)
    if m:
        return m.group(1).strip()
    tail = [l for l in log.strip().splitlines() if l.strip()][-3:]
    return " / ".join(tail) or "no log"


def compile_pdf(tex: str, out_pdf, *, runs: int = 2, timeout: float = 180.0) -> Path:
    """Compile LaTeX source with pdflatex into ``out_pdf``; returns its path.

    A snippet (no ``\\documentclass``) is wrapped by :func:`wrap_snippet` first. pdflatex runs
    ``runs`` times (2: beamer's navigation and references settle) in a temporary folder, with
    ``-halt-on-error -no-shell-escape``. The log is copied next to the PDF (``.log``). On
    failure raises :class:`LatexError` quoting the log's first error and its line.
    """
    exe = _which("pdflatex")
    if "\\documentclass" not in tex:
        tex = wrap_snippet(tex)
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="symconv-latex-") as tmp:
        src = Path(tmp) / "doc.tex"
        src.write_text(tex, encoding="utf-8")
        log = ""
        for _ in range(max(1, runs)):
            try:
                proc = subprocess.run(
                    [
                        exe,
                        "-interaction=nonstopmode",
                        "-halt-on-error",
                        "-file-line-error",
                        "-no-shell-escape",
                        "doc.tex",
                    ],
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex: timed out after {timeout:g} s") from None
            logfile = Path(tmp) / "doc.log"
            log = (
                logfile.read_text(encoding="latin-1")
                if logfile.exists()
                else proc.stdout.decode("latin-1")
            )
            if proc.returncode != 0 or not (Path(tmp) / "doc.pdf").exists():
                shutil.copyfile(logfile, out_pdf.with_suffix(".log")) if logfile.exists() else None
                raise LatexError(f"pdflatex failed: {_first_error(log, tex)}")
        shutil.copyfile(Path(tmp) / "doc.pdf", out_pdf)
        out_pdf.with_suffix(".log").write_text(log, encoding="latin-1")
    return out_pdf


_OVERFULL_RE = re.compile(r"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)[^\n]*")


def overfull_boxes(log: str, kind: str = "h") -> list:
    """``[(points, message), ...]`` for every ``Overfull \\hbox`` (``kind='v'``: vbox) of a log."""
    out = []
    for m in _OVERFULL_RE.finditer(log):
        if m.group(0).startswith(f"Overfull \\{kind}box"):
            out.append((float(m.group(1)), m.group(0)))
    return out


def pdf_to_png(pdf, out_dir, *, dpi: int = 60, first: int | None = None, last=None) -> list:
    """Render PDF pages to PNG files in ``out_dir`` with pdftoppm; returns their paths."""
    exe = _which("pdftoppm")
    pdf = Path(pdf)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "-png", "-r", str(int(dpi))]
    if first is not None:
        cmd += ["-f", str(int(first))]
    if last is not None:
        cmd += ["-l", str(int(last))]
    prefix = out_dir / pdf.stem
    proc = subprocess.run(
        cmd + [str(pdf), str(prefix)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if proc.returncode != 0:
        raise LatexError(f"pdftoppm failed: {proc.stderr.decode(errors='replace').strip()}")
    return sorted(out_dir.glob(f"{pdf.stem}*.png"))


# ====================================================================== Jupyter
def derivation_repr_latex(deriv, *, notation="seed000", max_entries: int = 8) -> str:
    """``$$...$$`` for Jupyter (MathJax-safe): forward expansion and gradients, elided."""
    b = _Builder(
        deriv,
        _options("snippet", notation, "row", "169", max_entries, 8, 8),
        None,
    )
    rows = []
    for o in _elide(len(b.ys), max_entries):
        rows.append(None if o is None else (b.tex(b.ys[o]), b.tex(b.y_expr(o))))
    groups = [{"title": "forward", "rows": rows}]
    for name, syms, grad in (
        ("x", b.xs, deriv.grad_x),
        ("w", b.ws, deriv.grad_w),
        ("b", b.bs, deriv.grad_b),
    ):
        if grad is None:
            continue
        flat = flat_entries(grad)
        rows = []
        for i in _elide(len(syms), max_entries):
            rows.append(None if i is None else (b.dloss(syms[i]), b.tex(flat[i])))
        groups.append({"title": f"d{b.nt.loss}/d{name}", "rows": rows})
    return render("latex/repr.tex.jinja", groups=groups).strip()


def repr_latex(obj, *, notation="seed000") -> str:
    """``$$...$$`` LaTeX of a Derivation, a SymPy array/matrix or expression (for Jupyter)."""
    if isinstance(obj, Derivation):
        return derivation_repr_latex(obj, notation=notation)
    p = SlidePrinter(notation)
    if isinstance(obj, (sympy.NDimArray, sympy.MatrixBase, np.ndarray)):
        arr = np.array(obj.tolist(), dtype=object)
        if arr.ndim == 0:
            return f"$${p.doprint(arr.item())}$$"
        while arr.ndim > 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        mats = []
        lead = arr.reshape((-1,) + arr.shape[-2:]) if arr.ndim > 2 else arr[None]
        for k in _elide(lead.shape[0], 4):
            if k is None:
                mats.append(None)
                continue
            m = lead[k]
            rows = []
            for i in _elide(m.shape[0], 10):
                if i is None:
                    rows.append(None)
                    continue
                rows.append(
                    [
                        r"\cdots" if j is None else p.doprint(m[i, j])
                        for j in _elide(m.shape[1], 10)
                    ]
                )
            mats.append(rows)
        return render("latex/repr_array.tex.jinja", mats=mats).strip()
    if isinstance(obj, sympy.Basic):
        return f"$${p.doprint(obj)}$$"
    raise SpecError(f"repr_latex: expected a Derivation or SymPy object, got {type(obj).__name__}")


# ====================================================================== CLI
def register(sub) -> None:
    """Add ``symconv latex`` to the CLI."""
    from ..cli import add_layer_options

    p = sub.add_parser(
        "latex",
        help="LaTeX derivation: snippet, article or Beamer slides (optionally PDF/PNG)",
        description="Write the derivation of a layer as LaTeX: set-up, forward expansion, "
        "Toeplitz matrix, loss, every gradient as a total derivative then simplified, the "
        "identities, the update rule; with --x/--w/--target (or --dy), worked numbers in exact "
        'arithmetic. Values are JSON nested lists (ints, decimals, "p/q"), CSV rows, a '
        "bmatrix, or a file holding one of those.",
    )
    add_layer_options(p)
    p.add_argument("--document", choices=DOCUMENTS, default="snippet")
    p.add_argument("--notation", choices=sorted(NOTATIONS), default="seed000")
    p.add_argument("--convention", choices=["row", "column"], default="row")
    p.add_argument("--aspect", choices=list(ASPECTS), default="169", help="beamer aspect ratio")
    p.add_argument("--parts", default=None, help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--max-entries", type=int, default=16, help="longest list before eliding")
    p.add_argument("--max-terms", type=int, default=12, help="longest sum before eliding")
    p.add_argument("--max-matrix", type=int, default=10, help="largest matrix side shown")
    p.add_argument("--title", default=None)
    g = p.add_argument_group("worked numbers")
    for name, what in (
        ("x", "input"),
        ("w", "weights"),
        ("b", "bias"),
        ("target", "target yhat (L2 loss)"),
        ("dy", "upstream gradient dE/dy (instead of --target)"),
        ("eta", "learning rate (default: symbolic eta)"),
    ):
        g.add_argument(f"--{name}", default=None, metavar="VALUES", help=what)
    p.add_argument("-o", "--output", default=None, help="write the .tex here (default: stdout)")
    p.add_argument("--pdf", action="store_true", help="also compile a PDF next to -o")
    p.add_argument("--png", default=None, metavar="DIR", help="render the PDF's pages to DIR")
    p.add_argument("--dpi", type=int, default=60, help="PNG resolution (default 60)")
    p.set_defaults(func=_run_latex)


def _run_latex(args) -> int:
    from ..cli import layer_from_args

    layer = layer_from_args(args)
    deriv = derive(layer, index_base=args.index_base)
    values = None
    given = {k: getattr(args, k) for k in _VALUE_KEYS if getattr(args, k) is not None}
    if given:
        values = {}
        for name, text in given.items():
            values[name] = parse_values_text(text, f"--{name}")
        if "x" not in values:
            raise LatexValueError("--x", "worked numbers need --x (and --w, --target or --dy)")
    try:
        tex = render_latex(
            deriv,
            document=args.document,
            parts=args.parts,
            notation=args.notation,
            convention=args.convention,
            aspect=args.aspect,
            max_entries=args.max_entries,
            max_terms=args.max_terms,
            max_matrix=args.max_matrix,
            values=values,
            title=args.title,
        )
    except LatexValueError as exc:
        opt = exc.option if exc.option.startswith("--") else f"--{exc.option}"
        raise LatexValueError(opt, exc.detail) from None
    out = args.output
    if (args.pdf or args.png) and out is None:
        out = f"symconv-{deriv.spec.op}-{args.document}.tex"
        print(f"writing {out}", file=sys.stderr)
    if out is None:
        sys.stdout.write(tex)
        return 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tex, encoding="utf-8")
    if args.pdf or args.png:
        pdf = compile_pdf(tex, out.with_suffix(".pdf"))
        print(f"wrote {pdf}", file=sys.stderr)
        if args.png:
            pngs = pdf_to_png(pdf, args.png, dpi=args.dpi)
            print(f"wrote {len(pngs)} PNG file(s) to {args.png}", file=sys.stderr)
    return 0
