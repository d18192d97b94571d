"""Numbers in, numbers out: a derivation evaluated at given x, w, b and dE/dy (or a target).

Inputs made only of ints and ``fractions.Fraction`` stay exact (object arrays of Fraction);
anything else is evaluated in float64.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy

from .arrays import flat_entries
from .errors import SpecError, SymconvError

__all__ = ["evaluate", "object_array"]


def evaluate(deriv, x=None, w=None, b=None, dy=None, target=None) -> dict:
    """Evaluate a derivation's symbolic results at numbers (:meth:`Derivation.evaluate`).

    Returns ``{"y", "grad_x", "grad_w", "grad_b"}`` as NumPy arrays (None where the layer
    has no such quantity, and gradients None when neither ``dy`` nor ``target`` is given).
    With ``target`` (yhat), dE/dy = y - yhat. Inputs made only of ints and
    ``fractions.Fraction`` are evaluated exactly (object arrays of Fraction); anything else
    in float64.
    """
    spec, op = deriv.spec, deriv.spec.op
    if x is None:
        raise SpecError(f"{op}: evaluate needs x, got None")
    arrays = {"x": object_array(x, spec.x_shape, "x", op)}
    if spec.has_weight:
        if w is None:
            raise SpecError(f"{op}: evaluate needs w of shape {spec.w_shape}, got None")
        arrays["w"] = object_array(w, spec.w_shape, "w", op)
    if spec.bias:
        arrays["b"] = (
            object_array(b, spec.b_shape, "b", op)
            if b is not None
            else np.zeros(spec.b_shape, dtype=object) + 0
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
        subs = {
            k: (
                sympy.Rational(v.numerator, v.denominator)
                if isinstance(v, Fraction)
                else sympy.Integer(v)
            )
            for k, v in values.items()
        }
        out = [_to_fraction(e.xreplace(subs)) for e in flat_entries(arr)]
        return np.array(out, dtype=object).reshape(shape)
    syms = list(values)
    fn = sympy.lambdify(syms, flat_entries(arr), modules="numpy")
    vals = [float(values[s]) for s in syms]
    return np.asarray(fn(*vals), dtype=np.float64).reshape(shape)


def _is_exact(arr) -> bool:
    return all(
        isinstance(v, (int, Fraction, sympy.Rational)) and not isinstance(v, bool)
        for v in np.asarray(arr, dtype=object).reshape(-1)
    )


def _to_fraction(v):
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int):
        return Fraction(v)
    if v in (sympy.oo, -sympy.oo):  # a max-pool window that reads only padding
        return float(v)
    v = sympy.nsimplify(v) if not isinstance(v, sympy.Rational) else v
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    raise SymconvError(f"exact evaluation left a non-rational value {v!r}")


def object_array(value, shape, name, op):
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{op}: {name} must be an array of shape {shape}, got {exc}") from None
    if arr.shape != tuple(shape):
        squeezed = tuple(n for n in shape if n != 1)
        if tuple(n for n in arr.shape if n != 1) == squeezed:
            arr = arr.reshape(shape)
        else:
            raise SpecError(f"{op}: {name} must have shape {tuple(shape)}, got shape {arr.shape}")
    for v in arr.reshape(-1):
        if isinstance(v, bool) or not isinstance(
            v, (int, float, Fraction, np.integer, np.floating, sympy.Basic)
        ):
            raise SpecError(f"{op}: {name} must hold numbers, got {v!r}")
    return (
        np.vectorize(
            lambda v: (
                int(v)
                if isinstance(v, np.integer)
                else (float(v) if isinstance(v, np.floating) else v)
            ),
            otypes=[object],
        )(arr)
        if arr.size
        else arr
    )
