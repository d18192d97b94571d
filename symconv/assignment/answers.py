"""The exact answers of a variant: read off the derivation (compiled once per layer into
integer-coefficient term lists, so that thousands of variants cost no SymPy work) and checked
against the reference loops of :mod:`symconv.core.reference`, which redo the arithmetic on
their own.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import sympy

from ..core import reference
from ..core.derive import derive
from ..core.errors import SymconvError

__all__ = ["AnswerKeyError", "derived_answers", "reference_answers", "QUANTITY_ARRAYS"]

#: quantity -> the derivation's array
QUANTITY_ARRAYS = {
    "output": "y",
    "grad-input": "grad_x",
    "grad-weight": "grad_w",
    "grad-bias": "grad_b",
}


class AnswerKeyError(SymconvError):
    """The derivation and the reference loops disagree on a variant (a bug, never the
    teacher's input): the message names the question, the student and the quantity."""


def _compile_entry(expr):
    """``[(coefficient, (symbol, ...)), ...]`` of a polynomial entry, or None."""
    expr = sympy.expand(expr)
    terms = []
    for mono, coeff in expr.as_coefficients_dict().items():
        if not coeff.is_Rational:
            return None
        c = int(coeff) if coeff.is_Integer else Fraction(int(coeff.p), int(coeff.q))
        if mono == 1:
            terms.append((c, ()))
            continue
        factors = mono.args if mono.is_Mul else (mono,)
        if not all(f.is_Symbol for f in factors):
            return None
        terms.append((c, tuple(factors)))
    return terms


class _Compiled:
    """One layer's derivation arrays as term lists (None entries: evaluated by SymPy)."""

    def __init__(self, layer):
        self.deriv = derive(layer)
        self.spec = layer.spec
        self.arrays = {}

    def entries(self, name):
        if name not in self.arrays:
            if name == "toeplitz":
                arr = np.array(self.deriv.toeplitz("row").tolist(), dtype=object)
            else:
                arr = self.deriv.array(name)
            self.arrays[name] = (arr, [_compile_entry(e) for e in arr.reshape(-1)])
        return self.arrays[name]


_CACHE: dict = {}


def _compiled(layer) -> _Compiled:
    if layer not in _CACHE:
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[layer] = _Compiled(layer)
    return _CACHE[layer]


def _symbol_values(comp, givens):
    """Symbol -> value of the given arrays."""
    vals = {}
    d = comp.deriv
    for name in ("x", "w", "b", "dy"):
        if name in givens:
            syms = d.array(name)
            vals.update(zip(syms.reshape(-1), np.asarray(givens[name]).reshape(-1)))
    return vals


def _evaluate(comp, name, vals, op):
    arr, terms = comp.entries(name)
    out = []
    subs = None
    for expr, t in zip(arr.reshape(-1), terms):
        if t is not None:
            total = 0
            for c, syms in t:
                p = c
                for s in syms:
                    p = p * vals[s]  # KeyError: a value the question does not give
                total += p
            out.append(Fraction(total))
        else:
            if subs is None:
                subs = {k: sympy.Rational(v.numerator, v.denominator) for k, v in vals.items()}
                subs = {k: sympy.Integer(v) if v.q == 1 else v for k, v in subs.items()}
            v = expr.xreplace(subs)
            v = sympy.nsimplify(v) if not v.is_Rational else v
            if not v.is_Rational:
                raise AnswerKeyError(f"{op}: {name} is not a number here ({v})")
            out.append(Fraction(int(v.p), int(v.q)))
    return np.array(out, dtype=object).reshape(arr.shape)


def derived_answers(layer, quantities, givens, op="assignment") -> dict:
    """quantity -> exact answer (object array of Fraction) read off the derivation."""
    comp = _compiled(layer)
    vals = {k: Fraction(v) for k, v in _symbol_values(comp, givens).items()}
    out = {}
    for q in quantities:
        if q == "output-size":
            out[q] = np.array([Fraction(n) for n in layer.spec.output_size], dtype=object)
        elif q == "toeplitz":
            out[q] = _evaluate(comp, "toeplitz", vals, op)
        else:
            out[q] = _evaluate(comp, QUANTITY_ARRAYS[q], vals, op)
    return out


def _frac(shape, value=None):
    if value is None:
        return np.full(shape, Fraction(0), dtype=object)
    return np.vectorize(Fraction, otypes=[object])(np.asarray(value, dtype=object))


def reference_answers(layer, quantities, givens) -> dict:
    """The same answers from the reference loops (missing givens are zeros: the asked
    quantities do not depend on them). Toeplitz rows are the outputs of unit inputs."""
    spec = layer.spec
    x = _frac(spec.x_shape, givens.get("x"))
    w = _frac(spec.w_shape, givens.get("w")) if spec.has_weight else None
    b = _frac(spec.b_shape, givens.get("b")) if spec.bias else None
    out = {}
    for q in quantities:
        if q == "output-size":
            out[q] = np.array([Fraction(n) for n in reference.output_size(spec)], dtype=object)
        elif q == "output":
            out[q] = reference.forward(spec, x, w, b)
        elif q == "toeplitz":
            rows = []
            for i in range(int(np.prod(spec.x_shape))):
                e = _frac(spec.x_shape)
                e.reshape(-1)[i] = Fraction(1)
                rows.append(reference.forward(spec, e, w, None).reshape(-1))
            out[q] = np.array(rows, dtype=object).reshape(len(rows), -1)
        else:
            dy = _frac(spec.y_shape, givens["dy"])
            dx, dw, db = reference.backward(spec, dy, x, w)
            if db is None and spec.bias:
                db = np.array([sum(dy[c].reshape(-1), Fraction(0)) for c in range(len(dy))])
            out[q] = {"grad-input": dx, "grad-weight": dw, "grad-bias": db}[q]
    return out


def same(a, b) -> bool:
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    return a.shape == b.shape and all(
        Fraction(u) == Fraction(v) for u, v in zip(a.reshape(-1), b.reshape(-1))
    )


def all_entries(answers):
    return itertools.chain.from_iterable(np.asarray(a).reshape(-1) for a in answers.values())
