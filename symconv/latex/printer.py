"""The slides' notation: a SymPy LaTeX printer and the formatting of single numbers.

Python prints single expressions and matrices only; everything larger is laid out by the
templates. :class:`SlidePrinter` writes ``w_{11}x_{11}`` (weights before inputs, as the index
formula of seed 003 and the pictures; dE/dy first; terms in kernel-tap or output order), rational coefficients in front and a max-pool routing
condition as an indicator. :func:`number_tex` and :func:`number_factor` print the worked
numbers (ints, Fractions, floats, NumPy or SymPy numbers) through the same printer.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy
from sympy import Add, Mul
from sympy.printing.latex import LatexPrinter

from ..core.errors import SpecError
from ..core.symbols import KINDS, NOTATIONS, Notation, latex_name, parse_name
from ..templating import render

__all__ = ["SlidePrinter", "latex_expr", "latex_matrix", "index_commas", "spaced"]

#: How dims_text joins sizes in math mode.
TIMES = r"\times"

_KIND_RANK = {"dy": 0, "w": 1, "x": 2, "b": 3, "y": 4, "yhat": 5}
_TERM_KEY_KINDS = ("dy", "w", "x", "b", "yhat", "y")


def symbol_kind(sym):
    """symconv kind and indices of a symbol (``None`` for foreign symbols)."""
    if not isinstance(sym, sympy.Symbol):
        return None, ()
    if sym.name.partition("_")[0] not in KINDS:
        return None, ()
    try:
        return parse_name(sym.name)
    except ValueError:
        return None, ()


def factor_key(f):
    """Display order of the factors of a product: numbers, dE/dy, w, x, b, then the rest."""
    if f.is_Number:
        return (0, (), "")
    kind, idx = symbol_kind(f)
    if kind is not None:
        return (1 + _KIND_RANK[kind], idx, "")
    return (10, (), sympy.srepr(f))


def term_key(term):
    """Order of the terms of a sum: by dE/dy index (gradients), then by weight index (kernel
    tap order, as the slides), then input index; bias and targets last."""
    idx = {}
    for f in Mul.make_args(term):
        base = f.base if isinstance(f, sympy.Pow) else f
        kind, ix = symbol_kind(base)
        if kind is not None and kind not in idx:
            idx[kind] = ix
    key = tuple((0, idx[k]) if k in idx else (1, ()) for k in _TERM_KEY_KINDS)
    return ((0 if term.is_Number else 1),) + key + (sympy.default_sort_key(term),)


def resolve_notation(notation) -> Notation:
    """A :class:`Notation` or the name of a preset of :data:`NOTATIONS`."""
    if isinstance(notation, Notation):
        return notation
    try:
        return NOTATIONS[notation]
    except KeyError:
        raise SpecError(
            f"latex: notation must be one of {sorted(NOTATIONS)}, got {notation!r}"
        ) from None


def index_commas(deriv) -> bool:
    """Whether a layer's symbols print their indices apart, ``w_{1,1,1,2}``: when any of x, w
    or y carries a channel or filter index, or an index above 9. One rule for the whole
    document (deck, article, Jupyter display), so that ``x_{1,1}`` never meets ``w_{111}``;
    a single-channel layer with single-digit indices keeps the slides' ``x_{11}``."""
    spec = deriv.spec
    shapes = {"x": spec.x_shape, "y": spec.y_shape}
    if spec.has_weight:
        shapes["w"] = spec.w_shape
    for kind, shape in shapes.items():
        name = deriv.symbol(kind, math.prod(shape) - 1).name
        if "," in name or len(parse_name(name)[1]) > spec.ndim:
            return True
    return False


def spaced(symbol, commas: bool):
    """``symbol`` as a layer whose :func:`index_commas` is ``commas`` names it: with commas,
    a symconv symbol of several indices gets them apart (``w_1112 -> w_1,1,1,2``); any other
    symbol comes back unchanged. The printer and the figures' cell labels both name symbols
    through it, so that a picture next to an equation uses the same names."""
    kind, idx = symbol_kind(symbol)
    if kind is None or not commas or len(idx) < 2:
        return symbol
    return sympy.Symbol(f"{kind}_{','.join(str(i) for i in idx)}", real=True)


class SlidePrinter(LatexPrinter):
    """SymPy LaTeX printer in the slides' notation.

    Symbols print through :func:`symconv.symbols.latex_name` for a notation preset (with
    ``commas``, every index apart: see :func:`index_commas`); products put dE/dy first, then
    weights, then inputs (``w_{11}x_{11}``); sums keep kernel-tap order
    for forward expressions and output order for gradients; rational coefficients print in
    front (``\\frac{1}{4} x_{11}``); a max-pool routing condition prints as an indicator
    ``\\mathbf{1}\\left[x_{11} \\geq x_{12}, \\dots\\right]``.
    """

    printmethod = "_symconv_latex"

    def __init__(self, notation: Notation | str = "seed000", commas: bool = False, **settings):
        super().__init__(settings)
        self.notation = resolve_notation(notation)
        self.commas = commas

    # -- atoms
    def _print_Symbol(self, expr, style="plain"):
        kind, _ = symbol_kind(expr)
        if kind is not None:
            return latex_name(spaced(expr, self.commas), self.notation)
        return super()._print_Symbol(expr, style=style)

    def _print_Float(self, expr):
        return _float_tex(float(expr))

    # -- sums and products
    def _as_ordered_terms(self, expr, order=None):
        return sorted(Add.make_args(expr), key=term_key)

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        factors = sorted(Mul.make_args(rest), key=factor_key)
        share = [f for f in factors if self._tie_share(f)]
        if share:  # max pool, ties split: 1 / (number of maxima) as N_max
            rest_tex = self._print(Mul(coeff, *[f for f in factors if f not in share]))
            return r"\frac{1}{N_{\max}}\, " + rest_tex
        if any(not self._simple_factor(f) for f in factors):
            return super()._print_Mul(expr)
        sign = ""
        if coeff < 0:
            sign, coeff = "-", -coeff
        pieces = []
        if coeff != 1:
            pieces.append(self._print(coeff))
        for f in factors:
            tex = self._print(f)
            if isinstance(f, sympy.Add):
                tex = rf"\left({tex}\right)"
            pieces.append(tex)
        out = pieces[0]
        prev = factors[0] if coeff == 1 else coeff
        for f, tex in zip(factors[1:] if coeff == 1 else factors, pieces[1:]):
            out += _join(prev, f) + tex
            prev = f
        return sign + out

    @staticmethod
    def _tie_share(f):
        """``1 / (sum of indicators)``: a split max-pool tie's share."""
        return (
            isinstance(f, sympy.Pow)
            and f.exp == -1
            and isinstance(f.base, sympy.Add)
            and all(isinstance(a, sympy.Piecewise) for a in f.base.args)
        )

    @staticmethod
    def _simple_factor(f):
        if isinstance(f, sympy.Pow):
            return f.exp.is_Integer and f.exp > 0
        return isinstance(f, (sympy.Symbol, sympy.Add, sympy.Piecewise, sympy.Max, sympy.Min))

    def _print_Max(self, expr, exp=None):
        args = sorted(expr.args, key=factor_key)
        tex = r"\max\left(%s\right)" % ", ".join(self._print(a) for a in args)
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Piecewise(self, expr):
        # The max-pool routing coefficient Piecewise((1, cond), (0, True)) as an indicator.
        if (
            len(expr.args) == 2
            and expr.args[0].expr == 1
            and expr.args[1].expr == 0
            and expr.args[1].cond == sympy.true
        ):
            cond = expr.args[0].cond
            rels = list(cond.args) if isinstance(cond, sympy.And) else [cond]
            if all(isinstance(r, sympy.core.relational.Relational) for r in rels):
                # the candidate maximum (in every comparison) goes on the left
                common = set.intersection(*({r.lhs, r.rhs} for r in rels))
                if len(common) == 1:
                    cand = common.pop()
                    rels = [r if r.lhs == cand else r.reversed for r in rels]
                rels.sort(key=lambda r: factor_key(r.rhs))
                body = r",\ ".join(self._print(r) for r in rels)
                return r"\mathbf{1}\!\left[%s\right]" % body
        return super()._print_Piecewise(expr)


def _join(prev, f) -> str:
    """Separator between two printed factors: none between plain symbols (``w_{11}x_{11}``),
    a space otherwise (``\\frac{\\partial E}{\\partial y_{11}} x_{11}``)."""
    kp, _ = symbol_kind(prev) if isinstance(prev, sympy.Symbol) else (None, ())
    kf, _ = symbol_kind(f) if isinstance(f, sympy.Symbol) else (None, ())
    if kp in ("x", "w", "b", "y") and kf in ("x", "w", "b", "y"):
        return ""
    return " "


def _float_tex(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}".replace("e", r"\cdot 10^{") + ("}" if "e" in f"{v:.6g}" else "")


def latex_expr(expr, notation="seed000") -> str:
    """One SymPy expression in the slides' notation (``w_{11}x_{11} + w_{12}x_{12}``)."""
    return SlidePrinter(notation).doprint(expr)


def latex_matrix(matrix, notation="seed000", env="bmatrix") -> str:
    """A 2-D SymPy matrix (or nested list) as one ``bmatrix``, rows on separate lines."""
    m = sympy.Matrix(matrix)
    p = SlidePrinter(notation)
    rows = [" & ".join(p.doprint(m[i, j]) for j in range(m.shape[1])) for i in range(m.shape[0])]
    return render("latex/matrix.tex.jinja", env=env, rows=rows)


# ---------------------------------------------------------------------- numbers
def to_sympy_number(v):
    """A number (int, Fraction, float, NumPy or SymPy number) as a SymPy number."""
    if isinstance(v, sympy.Basic):
        return v
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    if isinstance(v, (int, np.integer)):
        return sympy.Integer(int(v))
    return sympy.Float(float(v))


def number_tex(v, printer) -> str:
    """A number printed by ``printer`` (exact: Fractions as ``\\frac``)."""
    return printer.doprint(to_sympy_number(v))


def number_factor(v, printer) -> str:
    """A number as a factor of a product: negatives in parentheses."""
    s = to_sympy_number(v)
    tex = printer.doprint(s)
    return rf"\left({tex}\right)" if s.is_negative else tex
