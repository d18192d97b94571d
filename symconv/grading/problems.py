"""Problem files: a layer, a quantity and the given values as one JSON object.

A problem file (``symconv grade --problem P.json``, ``symconv check --problem P.json``)::

    {
      "title": "Seed 000: dE/dw",                  (optional)
      "layer": {"kind": "conv", "input_size": [3, 3], "kernel_size": 2,
                "stride": 1, "padding": 0, "in_channels": 1, "out_channels": 1,
                "bias": false, "flip": false},    (keyword arguments of symconv.conv,
                                                   conv_transpose, max_pool or avg_pool)
      "quantity": "grad-weight",                  (one of QUANTITIES)
      "x": [[1, 2, 0], [0, 1, 3], [2, 1, 1]],     (optional: omit for a symbolic problem)
      "w": [[1, -1], [2, 0]],                      (optional)
      "b": [1],                                    (optional, layers with bias)
      "target": [[1, 0], [0, 2]],                  (optional, or "dy": [...], not both)
      "tolerance": 0,                              (optional; a number or "1/100")
      "convention": "row",                         (optional, toeplitz only)
      "index_base": 1                              (optional, 0 or 1)
    }

Values are read like every given value (:func:`symconv.core.evaluate.read_values`): numbers
(JSON decimals are read exactly), strings holding one number (``"3/4"``), nested lists of them
(a ragged list names the row that differs), or a string with a whole matrix in any answer
format (numbers only).
Unknown keys are errors. ``kind`` also accepts ``conv-transpose``, ``max-pool``, ``avg-pool``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from fractions import Fraction
from pathlib import Path

from ..core.errors import SpecError
from ..core.layers import Layer, avg_pool, conv, conv_transpose, max_pool
from .check import Checker, check
from .compute import QUANTITIES
from .files import read_capped
from .result import CheckResult
from .values import exact_number, to_values

__all__ = ["Problem", "load_problem"]

_PROBLEM_KEYS = {
    "title",
    "description",
    "layer",
    "quantity",
    "x",
    "w",
    "b",
    "dy",
    "target",
    "tolerance",
    "convention",
    "index_base",
}
_CONSTRUCTORS = {
    "conv": conv,
    "conv_transpose": conv_transpose,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
}


@dataclasses.dataclass
class Problem:
    """A homework problem: a layer, a quantity and the given values (see the module docs)."""

    layer: Layer
    quantity: str
    values: dict
    tolerance: object = 0
    convention: str = "row"
    index_base: int = 1
    title: str = ""

    def check(self, answer) -> CheckResult:
        """:func:`~.check.check` of ``answer`` against this problem."""
        return check(
            self.layer,
            self.quantity,
            answer,
            tolerance=self.tolerance,
            convention=self.convention,
            index_base=self.index_base,
            **self.values,
        )


def _build_layer(data) -> Layer:
    if not isinstance(data, dict):
        raise SpecError(f"problem: layer must be an object with kind and options, got {data!r}")
    opts = dict(data)
    kind = str(opts.pop("kind", "conv")).replace("-", "_")
    if kind not in _CONSTRUCTORS:
        raise SpecError(
            f"problem: layer kind must be one of {sorted(_CONSTRUCTORS)}, got {kind!r}"
        )
    ctor = _CONSTRUCTORS[kind]
    allowed = set(inspect.signature(ctor).parameters)
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise SpecError(
            f"problem: unknown option(s) {unknown} for a {kind} layer; allowed: {sorted(allowed)}"
        )
    if "input_size" not in opts or "kernel_size" not in opts:
        raise SpecError("problem: layer needs input_size and kernel_size")

    def plain(v):
        if isinstance(v, list):
            return tuple(plain(u) for u in v)
        if isinstance(v, Fraction):
            return float(v)  # rejected by the spec with its own message
        return v

    return ctor(**{k: plain(v) for k, v in opts.items()})


def load_problem(source) -> Problem:
    """Read a problem file (a path) or a problem dict (see the module docstring)."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        raw = read_capped(path, "problem file")
        try:
            data = json.loads(raw, parse_float=Fraction, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise SpecError(f"problem: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"problem: must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _PROBLEM_KEYS)
    if unknown:
        raise SpecError(f"problem: unknown key(s) {unknown}; allowed: {sorted(_PROBLEM_KEYS)}")
    if "layer" not in data or "quantity" not in data:
        raise SpecError("problem: needs 'layer' and 'quantity'")
    layer = _build_layer(data["layer"])
    quantity = data["quantity"]
    if quantity not in QUANTITIES:
        raise SpecError(f"problem: quantity must be one of {QUANTITIES}, got {quantity!r}")
    values = {}
    for key in ("x", "w", "b", "dy", "target"):
        if data.get(key) is not None:
            values[key] = to_values(data[key], key, "problem")
    tol = data.get("tolerance", 0)
    if isinstance(tol, str):
        tol = exact_number(tol, "tolerance")
    index_base = data.get("index_base", 1)
    if index_base not in (0, 1) or isinstance(index_base, bool):
        raise SpecError(f"problem: index_base must be 0 or 1, got {index_base!r}")
    convention = data.get("convention", "row")
    if convention not in ("row", "column"):
        raise SpecError(f"problem: convention must be 'row' or 'column', got {convention!r}")
    title = data.get("title", "")
    problem = Problem(
        layer=layer,
        quantity=quantity,
        values=values,
        tolerance=tol,
        convention=convention,
        index_base=index_base,
        title=str(title),
    )
    # validate values and shapes once, now (raises SpecError with the offending shape)
    Checker(
        layer,
        quantity,
        tolerance=tol,
        convention=convention,
        index_base=index_base,
        x=values.get("x"),
        w=values.get("w"),
        b=values.get("b"),
        dy=values.get("dy"),
        target=values.get("target"),
    )
    return problem


def _reject_constant(name):
    raise SpecError(f"problem: {name} is not a number here")
