"""Numbers in, numbers out: a derivation evaluated at given x, w, b and dE/dy (or a target),
and the one reader of given values shared by :meth:`Derivation.evaluate`, ``symconv.check``,
problem files and the command line (:func:`read_values`).

Values may be nested lists, arrays, scalars, ``fractions.Fraction``, SymPy numbers or text in
the answer grammar of :mod:`symconv.core.answers` (``"[[1, 2], [3, 4]]"``, ``"3/4"``, a LaTeX
matrix...; parsed by its whitelist, never evaluated). Inputs made only of exact numbers (ints,
fractions, text) stay exact: results are object arrays of :class:`Exact` (a Fraction that
prints as ``3`` or ``1/2``); any float makes the evaluation float64.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from . import budget
from .answers import parse_answer
from .arrays import flat_entries
from .errors import AnswerError, SpecError, SymconvError

__all__ = ["evaluate", "read_values", "Exact"]

#: Limits handed to the answer parser for given values.
MAX_VALUE_CHARS = 200_000
MAX_VALUE_DEPTH = 32


class Exact(Fraction):
    """An exact result entry: a :class:`fractions.Fraction` that prints cleanly (``3``,
    ``-1/2``), also inside NumPy arrays."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def read_values(value, name: str, op: str = "check") -> np.ndarray:
    """Values given by a caller as an object ndarray: exact numbers as SymPy Rationals, floats
    as floats (finite only), other SymPy values as they are.

    ``value`` is text in the answer grammar (numbers only), a nested list or tuple (a ragged
    one is an error naming the row that differs), an array or a scalar; entries may be
    numbers, Fractions, SymPy values or text holding one number. Errors name ``op`` and
    ``name``."""
    if isinstance(value, str):
        try:
            return parse_answer(value, max_chars=MAX_VALUE_CHARS, max_depth=MAX_VALUE_DEPTH)
        except AnswerError as exc:  # name the value, not "answer"
            message = str(exc).removeprefix("answer: ")
            raise AnswerError(f"{op}: {name}: {message}") from None
    if hasattr(value, "values") and hasattr(value, "fmt"):  # a ParsedAnswer
        return value.values
    if isinstance(value, (list, tuple)):
        _check_rectangular(value, name, op)
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{op}: {name} must be a rectangular array, got {exc}") from None
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = _entry(arr[idx], name, op)
    return out


def _check_rectangular(value, name, op, path=()) -> None:
    """Raise a :class:`SpecError` naming the first row whose length or depth differs."""
    rows = list(value)
    lists = [isinstance(r, (list, tuple, np.ndarray)) for r in rows]
    if any(lists) and not all(lists):
        i = lists.index(not lists[0])
        raise SpecError(
            f"{op}: {name} is ragged: {_row(name, path + (i,))} is "
            f"{'a list' if lists[i] else 'a number'}, {_row(name, path + (0,))} is not"
        )
    if not rows or not lists[0]:
        return
    n0 = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != n0:
            raise SpecError(
                f"{op}: {name} is ragged: {_row(name, path + (i,))} has {len(r)} entries, "
                f"{_row(name, path + (0,))} has {n0}"
            )
    for i, r in enumerate(rows):
        _check_rectangular(r, name, op, path + (i,))


def _row(name, path) -> str:
    return name + "".join(f"[{i}]" for i in path)


def _entry(v, name, op):
    """One given entry: a SymPy Rational (exact), a float, or a SymPy value."""
    if isinstance(v, (bool, np.bool_)) or v is None:
        raise SpecError(f"{op}: {name} must hold numbers, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return sympy.Integer(int(v))
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(float(v)):
            raise SpecError(f"{op}: {name} must hold finite numbers, got {v!r}")
        return float(v)
    if isinstance(v, sympy.Float):
        return float(v)
    if isinstance(v, sympy.Basic):
        return v
    if isinstance(v, str):
        vals = parse_answer(v, max_chars=10_000)
        if vals.ndim != 0:
            raise SpecError(f"{op}: {name} entries must be single numbers, got {v!r}")
        return vals[()]
    raise SpecError(f"{op}: {name} must hold numbers, got {v!r}")


def evaluate(deriv, x=None, w=None, b=None, dy=None, target=None) -> dict:
    """Evaluate a derivation's symbolic results at numbers (:meth:`Derivation.evaluate`).

    Returns ``{"y", "grad_x", "grad_w", "grad_b"}`` as NumPy arrays (None where the layer
    has no such quantity, and gradients None when neither ``dy`` nor ``target`` is given).
    With ``target`` (yhat), dE/dy = y - yhat. Values are read by :func:`read_values`; exact
    inputs give object arrays of :class:`Exact`, any float gives float64. ``b`` for a layer
    without bias (or ``w`` for a pool) is an error, as on the command line. It evaluates the
    whole symbolic derivation, so a layer above :data:`symconv.core.budget.MAX_TERMS` is
    refused up front (:class:`~symconv.core.budget.BudgetError`).
    """
    spec, op = deriv.spec, deriv.spec.op
    budget.check_whole(spec, "evaluating the derivation")
    if x is None:
        raise SpecError(f"{op}: evaluate needs x, got None")
    if b is not None and not spec.bias:
        raise SpecError(f"{op}: the layer has no bias (bias=False), got b")
    if w is not None and not spec.has_weight:
        raise SpecError(f"{op}: a pooling layer has no weights, got w")
    arrays = {"x": object_array(x, spec.x_shape, "x", op)}
    if spec.has_weight:
        if w is None:
            raise SpecError(f"{op}: evaluate needs w of shape {spec.w_shape}, got None")
        arrays["w"] = object_array(w, spec.w_shape, "w", op)
    if spec.bias:
        arrays["b"] = (
            object_array(b, spec.b_shape, "b", op)
            if b is not None
            else np.full(spec.b_shape, Exact(0), dtype=object)
        )
    if dy is not None and target is not None:
        raise SpecError(f"{op}: give dy or target, not both")
    exact = all(_is_exact(v) for v in arrays.values())
    if dy is not None:
        arrays["dy"] = object_array(dy, spec.y_shape, "dy", op)
        exact = exact and _is_exact(arrays["dy"])
    if target is not None:
        tgt = object_array(target, spec.y_shape, "target", op)
        exact = exact and _is_exact(tgt)
    conv = _to_fraction if exact else float
    result = {"y": None, "grad_x": None, "grad_w": None, "grad_b": None}
    values = {}
    for name, sym in (("x", deriv._x), ("w", deriv._w), ("b", deriv._b)):
        if name in arrays:
            values.update(zip(sym.reshape(-1), arrays[name].reshape(-1)))
    y = _numeric(deriv.y, values, exact)
    result["y"] = y
    if target is not None:
        dyv = y - np.vectorize(conv, otypes=[object if exact else float])(tgt)
    elif dy is not None:
        dyv = arrays["dy"]
    else:
        return result
    values.update(zip(deriv._dy.reshape(-1), np.asarray(dyv, dtype=object).reshape(-1)))
    base = getattr(deriv, "_base", deriv)
    result["grad_x"] = _numeric(base.grad_x, values, exact)
    if base.grad_w is not None:
        result["grad_w"] = _numeric(base.grad_w, values, exact)
    if base.grad_b is not None:
        result["grad_b"] = _numeric(base.grad_b, values, exact)
    return result


def _numeric(arr, values, exact):
    shape = arr.shape
    if exact:
        subs = {k: sympy.Rational(v.numerator, v.denominator) for k, v in values.items()}
        out = [_to_fraction(e.xreplace(subs)) for e in flat_entries(arr)]
        return np.array(out, dtype=object).reshape(shape)
    syms = list(values)
    fn = sympy.lambdify(syms, flat_entries(arr), modules="numpy")
    vals = [float(values[s]) for s in syms]
    return np.asarray(fn(*vals), dtype=np.float64).reshape(shape)


def _is_exact(arr) -> bool:
    return all(isinstance(v, (Fraction, sympy.Rational)) for v in np.asarray(arr).reshape(-1))


def _to_fraction(v):
    if isinstance(v, Fraction):
        return Exact(v)
    if v in (sympy.oo, -sympy.oo):  # a max-pool window that reads only padding
        return float(v)
    v = sympy.nsimplify(v) if not isinstance(v, sympy.Rational) else v
    if isinstance(v, sympy.Rational):
        return Exact(int(v.p), int(v.q))
    raise SymconvError(f"exact evaluation left a non-rational value {v!r}")


def object_array(value, shape, name, op):
    """``value`` read by :func:`read_values` and laid out as ``shape`` (singleton axes may be
    left out); exact entries as :class:`Exact`, floats as floats."""
    arr = read_values(value, name, op)
    if arr.shape != tuple(shape):
        squeezed = tuple(n for n in shape if n != 1)
        if arr.size and tuple(n for n in arr.shape if n != 1) == squeezed:
            arr = arr.reshape(shape)
        else:
            raise SpecError(f"{op}: {name} must have shape {tuple(shape)}, got shape {arr.shape}")
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        v = arr[idx]
        if isinstance(v, sympy.Rational):
            out[idx] = Exact(int(v.p), int(v.q))
        elif isinstance(v, float):
            out[idx] = v
        else:
            raise SpecError(f"{op}: {name} must hold numbers, got {v!r}")
    return out
