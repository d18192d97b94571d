"""The exact answers of a variant: read off the derivation (compiled once per layer into
integer-coefficient term lists, so that thousands of variants cost no SymPy work) and checked
against the reference loops of :mod:`symconv.core.reference`, which redo the arithmetic on
their own.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from ..core import reference
from ..core.derive import derive
from ..core.errors import SymconvError

__all__ = [
    "AnswerKeyError",
    "derived_answers",
    "reference_answers",
    "same",
    "QUANTITY_ARRAYS",
]

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


def _compile_entry(expr, symbols):
    """A fast exact evaluator of one entry: ``("terms", [(coefficient, (symbol, ...)), ...])``
    for a polynomial, ``("code", function)`` for an integer-coefficient expression with
    ``Max``/``Piecewise`` (max pooling; Python ints stay exact), else ``("sympy", None)``."""
    expanded = sympy.expand(expr)
    terms = []
    for mono, coeff in expanded.as_coefficients_dict().items():
        factors = mono.args if mono.is_Mul else (mono,)
        if not coeff.is_Rational or not (mono == 1 or all(f.is_Symbol for f in factors)):
            terms = None
            break
        c = int(coeff) if coeff.is_Integer else Fraction(int(coeff.p), int(coeff.q))
        terms.append((c, () if mono == 1 else tuple(factors)))
    if terms is not None:
        return ("terms", terms)
    if all(r.is_Integer for r in expr.atoms(sympy.Rational)):
        free = sorted(expr.free_symbols, key=lambda s: symbols.index(s))
        fn = sympy.lambdify(free, expr, modules=[{"Max": max, "Min": min}, "math"])
        return ("code", (fn, tuple(free)))
    return ("sympy", None)


class _Compiled:
    """One layer's derivation arrays as term lists (None entries: evaluated by SymPy)."""

    def __init__(self, layer):
        self.deriv = derive(layer)
        self.spec = layer.spec
        self.arrays = {}
        d = self.deriv
        self.symbols = {}
        for name in ("x", "w", "b", "dy"):
            arr = d.array(name)
            if arr is not None:
                for sym in arr.reshape(-1):
                    self.symbols.setdefault(sym, len(self.symbols))

    def entries(self, name):
        if name not in self.arrays:
            if name == "toeplitz":
                arr = np.array(self.deriv.toeplitz("row").tolist(), dtype=object)
            else:
                arr = self.deriv.array(name)
            symbols = list(self.symbols)
            self.arrays[name] = (arr, [_compile_entry(e, symbols) for e in arr.reshape(-1)])
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
    arr, compiled = comp.entries(name)
    out = []
    subs = None
    for expr, (how, data) in zip(arr.reshape(-1), compiled):
        if how == "terms":
            total = 0
            for c, syms in data:
                p = c
                for s in syms:
                    p = p * vals[s]  # KeyError: a value the question does not give
                total += p
            out.append(total)
        elif how == "code" and all(isinstance(vals[s], int) for s in data[1]):
            fn, free = data
            out.append(fn(*(vals[s] for s in free)))
        else:
            if subs is None:
                subs = {k: sympy.Rational(v) for k, v in vals.items()}
            v = expr.xreplace(subs)
            v = sympy.nsimplify(v) if not v.is_Rational else v
            if not v.is_Rational:
                raise AnswerKeyError(f"{op}: {name} is not a number here ({v})")
            out.append(Fraction(int(v.p), int(v.q)))
    res = np.empty(len(out), dtype=object)
    res[:] = [v if isinstance(v, Fraction) and v.denominator != 1 else int(v) for v in out]
    return res.reshape(arr.shape)


def _exact(v):
    """An int or a Fraction."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = Fraction(v)
    return v.numerator if v.denominator == 1 else v


def derived_answers(layer, quantities, givens, op="assignment") -> dict:
    """quantity -> exact answer (object array of Fraction) read off the derivation."""
    comp = _compiled(layer)
    vals = {k: _exact(v) for k, v in _symbol_values(comp, givens).items()}
    out = {}
    for q in quantities:
        if q == "output-size":
            res = np.empty(layer.spec.ndim, dtype=object)
            res[:] = [int(n) for n in layer.spec.output_size]
            out[q] = res
        elif q == "toeplitz":
            out[q] = _evaluate(comp, "toeplitz", vals, op)
        else:
            out[q] = _evaluate(comp, QUANTITY_ARRAYS[q], vals, op)
    return out


def _floats(shape, value=None):
    if value is None:
        return np.zeros(shape, dtype=np.float64)
    return np.array([float(v) for v in np.asarray(value, dtype=object).reshape(-1)]).reshape(shape)


def reference_answers(layer, quantities, givens) -> dict:
    """The same answers from the reference loops, in float64 (exact for the integers of
    convolutions; pools' 1/N rounded, hence :func:`same`'s relative tolerance). Missing
    givens are zeros: the asked quantities do not depend on them. Toeplitz rows are the
    outputs of unit inputs."""
    spec = layer.spec
    x = _floats(spec.x_shape, givens.get("x"))
    w = _floats(spec.w_shape, givens.get("w")) if spec.has_weight else None
    b = _floats(spec.b_shape, givens.get("b")) if spec.bias else None
    out = {}
    backward = None
    for q in quantities:
        if q == "output-size":
            out[q] = np.array(reference.output_size(spec), dtype=np.float64)
        elif q == "output":
            out[q] = reference.forward(spec, x, w, b)
        elif q == "toeplitz":
            rows = []
            for i in range(int(np.prod(spec.x_shape))):
                e = np.zeros(spec.x_shape)
                e.reshape(-1)[i] = 1.0
                rows.append(reference.forward(spec, e, w, None).reshape(-1))
            out[q] = np.array(rows).reshape(len(rows), -1)
        else:
            dy = _floats(spec.y_shape, givens["dy"])
            if backward is None:
                backward = reference.backward(spec, dy, x, w)
            dx, dw, db = backward
            if db is None and spec.bias:
                db = dy.reshape(len(dy), -1).sum(axis=1)
            out[q] = {"grad-input": dx, "grad-weight": dw, "grad-bias": db}[q]
    return out


def same(exact, approx) -> bool:
    """Whether exact answers equal the reference's float64 ones (to 1e-9 relative)."""
    exact, approx = np.asarray(exact, dtype=object), np.asarray(approx, dtype=np.float64)
    return exact.shape == approx.shape and all(
        abs(float(u) - v) <= 1e-9 * (1 + abs(v))
        for u, v in zip(exact.reshape(-1), approx.reshape(-1))
    )
