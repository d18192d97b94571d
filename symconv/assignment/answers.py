"""The exact answers of a variant: read off the derivation (compiled once per layer into
integer-coefficient term lists, so that thousands of variants cost no SymPy work) and checked
against the reference loops of :mod:`symconv.core.reference`, which redo the arithmetic on
their own.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import And, BooleanAtom, Not, Or

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


#: What a lambdified entry may hold so that it computes exactly on ints and Fractions: sums,
#: products, integer powers (a negative one divides: it is then given Fractions), Max / Min,
#: Piecewise and its conditions, symbols and integers.
_EXACT_NODES = (
    sympy.Symbol,
    sympy.Integer,
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.Max,
    sympy.Min,
    sympy.Piecewise,
    ExprCondPair,
    Relational,
    And,
    Or,
    Not,
    BooleanAtom,
)


def _exact_code(expr):
    """``(exact, divides)``: whether the lambdified ``expr`` computes exactly (see
    :data:`_EXACT_NODES`), and whether it divides (then its arguments must be Fractions)."""
    divides = False
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, _EXACT_NODES):
            return False, False
        if isinstance(node, sympy.Pow):
            if not node.exp.is_Integer:
                return False, False
            divides |= bool(node.exp < 0)
    return True, divides


def _compile_entry(expr, symbols):
    """A fast exact evaluator of one entry: ``("terms", [(coefficient, (symbol, ...)), ...])``
    for a polynomial; ``("code", (function, symbols, divides))`` for an expression of
    :data:`_EXACT_NODES` (max pooling: ``Max`` / ``Piecewise``; Python ints stay exact, and a
    function that ``divides`` is called with Fractions); else ``("sympy", None)``."""
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
    exact, divides = _exact_code(expr)
    if exact:
        free = sorted(expr.free_symbols, key=lambda s: symbols.index(s))
        fn = sympy.lambdify(free, expr, modules=[{"Max": max, "Min": min}, "math"])
        return ("code", (fn, tuple(free), divides))
    return ("sympy", None)


#: Generated evaluators are built for arrays of at most this many product terms (the
#: larger ones are evaluated entry by entry).
MAX_PROGRAM_TERMS = 20000


class _Program:
    """One derivation array compiled to a Python function of the flat list of given values
    (slot order), with exact integer / Fraction arithmetic: ``needs`` are the given arrays it
    reads, ``integral`` whether its results are ints whenever the values are."""

    def __init__(self, compiled, slots, names_of_slots):
        consts, exprs, needs, integral = [], [], set(), True
        for how, data in compiled:
            if how == "terms":
                terms = []
                for c, syms in data:
                    factors = [f"v[{slots[s]}]" for s in syms]
                    needs.update(names_of_slots[slots[s]] for s in syms)
                    if isinstance(c, Fraction):
                        consts.append(c)
                        factors.insert(0, f"k[{len(consts) - 1}]")
                        integral = False
                    elif c != 1 or not factors:
                        factors.insert(0, f"({int(c)})")
                    terms.append("*".join(factors))
                if not terms:
                    exprs.append("0")
                elif len(terms) <= 32:
                    exprs.append(" + ".join(terms))
                else:  # no deep chain of '+' for the compiler
                    exprs.append("sum((" + ", ".join(terms) + ",))")
            else:  # "code": Max / Piecewise of the values (max pooling)
                fn, free, divides = data
                consts.append(fn)
                needs.update(names_of_slots[slots[s]] for s in free)
                arg = "F(v[{}])" if divides else "v[{}]"
                args = ", ".join(arg.format(slots[s]) for s in free)
                exprs.append(f"k[{len(consts) - 1}]({args})")
                integral = integral and not divides
        # The source holds only integer literals and indices produced above (no input text).
        source = "def evaluate(v, k):\n    return [" + ", ".join(exprs) + "]\n"
        namespace = {"F": Fraction}
        exec(compile(source, "<symconv.assignment.answers>", "exec"), namespace)
        self.function = namespace["evaluate"]
        self.consts = tuple(consts)
        self.needs = frozenset(needs)
        self.integral = integral

    def __call__(self, values):
        return self.function(values, self.consts)


class _Compiled:
    """One layer's derivation arrays as term lists (None entries: evaluated by SymPy), and as
    generated :class:`_Program` s over the given values' slots (x, w, b, dy flattened in that
    order), computed once per layer and shared by every variant drawn with it."""

    def __init__(self, layer):
        self.deriv = derive(layer)
        self.spec = layer.spec
        self.arrays = {}
        self.programs = {}
        d = self.deriv
        self.symbols = {}
        self.given_symbols = {}
        names_of_slots = []
        for name in ("x", "w", "b", "dy"):
            arr = d.array(name)
            if arr is not None:
                self.given_symbols[name] = arr
                for sym in arr.reshape(-1):
                    if sym not in self.symbols:
                        self.symbols[sym] = len(self.symbols)
                        names_of_slots.append(name)
        self.names_of_slots = tuple(names_of_slots)
        # name -> (first slot, size) when each given's symbols are fresh, consecutive slots
        self.ranges = {}
        for name, arr in self.given_symbols.items():
            idx = [self.symbols[s] for s in arr.reshape(-1)]
            if idx == list(range(idx[0], idx[0] + len(idx))) if idx else True:
                self.ranges[name] = (idx[0] if idx else 0, len(idx))
            else:
                self.ranges = None
                break

    def entries(self, name):
        if name not in self.arrays:
            if name == "toeplitz":
                arr = np.array(self.deriv.toeplitz("row").tolist(), dtype=object)
            else:
                arr = self.deriv.array(name)
            symbols = list(self.symbols)
            self.arrays[name] = (arr, [_compile_entry(e, symbols) for e in arr.reshape(-1)])
        return self.arrays[name]

    def program(self, name):
        """The array's :class:`_Program`, or None (an entry SymPy must evaluate, or too large
        for generated code)."""
        if name not in self.programs:
            _, compiled = self.entries(name)
            size = sum(len(data) if how == "terms" else 1 for how, data in compiled)
            ok = size <= MAX_PROGRAM_TERMS and all(how != "sympy" for how, _ in compiled)
            prog = _Program(compiled, self.symbols, self.names_of_slots) if ok else None
            self.programs[name] = prog
        return self.programs[name]

    def slot_values(self, givens):
        """The flat list of given values in slot order (None where not given), or None when
        they cannot be laid out (a value that is not a Python int, or shared symbols)."""
        if self.ranges is None:
            return None
        values = [None] * len(self.symbols)
        for name, (start, size) in self.ranges.items():
            if name in givens:
                flat = np.asarray(givens[name], dtype=object).reshape(-1).tolist()
                if len(flat) != size or not all(type(v) is int for v in flat):
                    return None
                values[start : start + size] = flat
        return values


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
    for name, syms in comp.given_symbols.items():
        if name in givens:
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
        elif how == "code":
            fn, free, divides = data
            args = [vals[s] for s in free]  # KeyError: a value the question does not give
            if divides or not all(type(a) is int for a in args):
                args = [Fraction(a) for a in args]
            out.append(fn(*args))
        else:
            if subs is None:
                subs = {k: sympy.Rational(v) for k, v in vals.items()}
            v = expr.xreplace(subs)
            v = sympy.nsimplify(v) if not v.is_Rational else v
            if not v.is_Rational:
                raise AnswerKeyError(f"{op}: {name} is not a number here ({v})")
            out.append(Fraction(int(v.p), int(v.q)))
    return _result(out, arr.shape, False)


def _result(out, shape, integral):
    """The entries as an object array of int (and Fraction where not whole)."""
    res = np.empty(len(out), dtype=object)
    if integral and set(map(type, out)) <= {int}:
        res[:] = out
    else:
        res[:] = [_exact_entry(v) for v in out]
    return res.reshape(shape)


def _exact_entry(v):
    if type(v) is int:
        return v
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else v
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    raise AnswerKeyError(f"assignment: an answer entry is not exact: {v!r}")


def _run_program(comp, name, values, givens):
    """The array by its generated program, or None when the general path must do it."""
    if values is None:
        return None
    prog = comp.program(name)
    if prog is None or not prog.needs <= givens.keys():
        return None
    arr, _ = comp.arrays[name]
    return _result(prog(values), arr.shape, prog.integral)


def _exact(v):
    """An int or a Fraction."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = Fraction(v)
    return v.numerator if v.denominator == 1 else v


def derived_answers(layer, quantities, givens, op="assignment") -> dict:
    """quantity -> exact answer (object array of int / Fraction) read off the derivation: by
    the layer's generated programs when the givens are Python ints, else entry by entry."""
    comp = _compiled(layer)
    values = comp.slot_values(givens)
    vals = None
    out = {}
    for q in quantities:
        if q == "output-size":
            res = np.empty(layer.spec.ndim, dtype=object)
            res[:] = [int(n) for n in layer.spec.output_size]
            out[q] = res
            continue
        name = "toeplitz" if q == "toeplitz" else QUANTITY_ARRAYS[q]
        res = _run_program(comp, name, values, givens)
        if res is None:
            if vals is None:
                vals = {k: _exact(v) for k, v in _symbol_values(comp, givens).items()}
            res = _evaluate(comp, name, vals, op)
        out[q] = res
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
    if exact.shape != approx.shape:
        return False
    return all(
        abs(float(u) - v) <= 1e-9 * (1 + abs(v))
        for u, v in zip(exact.reshape(-1).tolist(), approx.reshape(-1).tolist())
    )
