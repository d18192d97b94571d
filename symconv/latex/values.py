"""Worked numbers: parsing and validating the values of x, w, b, target/dy and eta, and
evaluating the layer on them for the worked-number lines of the frames.

Values come as nested lists, NumPy arrays, ints, Fractions, floats, SymPy numbers or strings
(``"3"``, ``"0.5"``, ``"p/q"``: exact); text (JSON, CSV rows, a ``bmatrix`` or a file holding
one) is read by :func:`parse_values_text` through the whitelist answer parser, never
evaluated. Every problem is a :class:`LatexValueError` naming the value.
"""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy

from ..core.answers import parse_answer
from ..core.errors import AnswerError, SymconvError
from ..core.spec import dims_text
from .printer import to_sympy_number

__all__ = ["LatexValueError", "VALUE_KEYS", "parse_values_text", "check_values", "worked_numbers"]

#: The values a worked example takes (``yhat`` and ``lr`` are accepted as aliases of target, eta).
VALUE_KEYS = ("x", "w", "b", "target", "dy", "eta")
#: How dims_text names the shape () in messages.
_ONE_NUMBER = "a single number"


class LatexValueError(SymconvError, ValueError):
    """A worked-number value (x, w, b, target, dy, eta) is malformed or has the wrong shape.

    ``option`` names the value (``'x'``); the message starts with it (``'x: ...'``), and the CLI
    re-raises it as ``'--x: ...'``.
    """

    def __init__(self, option: str, detail: str):
        self.option = option
        self.detail = detail
        super().__init__(f"{option}: {detail}")


def check_values(deriv, values) -> dict:
    """Validate worked-number values; returns arrays shaped like the derivation's."""
    spec = deriv.spec
    if not isinstance(values, dict):
        raise LatexValueError("values", f"must be a dict with keys {VALUE_KEYS}, got {values!r}")
    unknown = sorted(set(values) - set(VALUE_KEYS) - {"yhat", "lr"})
    if unknown:
        raise LatexValueError(unknown[0], f"unknown value; expected one of {VALUE_KEYS}")
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


def worked_numbers(deriv, values, *, xs, ws, bs, dys) -> dict:
    """The layer evaluated on checked ``values``.

    ``xs``, ``ws``, ``bs``, ``dys`` are the derivation's flat symbol lists (``ws``/``bs``
    ``None`` when absent). Returns the checked values (``vals``), a substitution of every x,
    w, b and dE/dy symbol by its number (``subs``; bias defaults to zero, dE/dy = y - target
    when a target is given), the arrays ``y``, ``target``, ``dy``, ``grad_x``, ``grad_w``,
    ``grad_b`` and the learning rate ``eta`` (``None``: symbolic)."""
    spec = deriv.spec
    vals = check_values(deriv, values)
    res = deriv.evaluate(
        x=vals.get("x"),
        w=vals.get("w"),
        b=vals.get("b"),
        dy=vals.get("dy"),
        target=vals.get("target"),
    )
    subs = {}
    for name, syms in (("x", xs), ("w", ws), ("b", bs)):
        if syms is None:
            continue
        arr = vals.get(name)
        if arr is None:  # bias defaults to zero
            arr = np.zeros(len(syms), dtype=object) + 0
        subs.update({s: to_sympy_number(v) for s, v in zip(syms, np.asarray(arr).reshape(-1))})
    y = np.asarray(res["y"], dtype=object)
    if "target" in vals:
        target = np.asarray(vals["target"], dtype=object).reshape(spec.y_shape)
        dy = np.vectorize(lambda a, b: to_sympy_number(a) - to_sympy_number(b), otypes=[object])(
            y, target
        )
    else:
        target = None
        dy = np.asarray(vals["dy"], dtype=object).reshape(spec.y_shape)
    subs.update({s: to_sympy_number(v) for s, v in zip(dys, dy.reshape(-1))})
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
