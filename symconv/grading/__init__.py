"""Homework checker: compare a hand-computed answer with the derivation and name the mistake.

API
---
:func:`check` compares one answer with the exact result and returns a :class:`CheckResult`::

    >>> import symconv
    >>> from symconv.check import check
    >>> layer = symconv.conv((3, 3), 2)
    >>> r = check(layer, "output", "[[37, 47], [67, 77]]",
    ...           x=[[1, 2, 3], [4, 5, 6], [7, 8, 9]], w=[[1, 2], [3, 4]])
    >>> r.correct, r.score
    (True, 1.0)

Quantities: ``output`` (y), ``grad-input`` (dE/dx), ``grad-weight`` (dE/dw), ``grad-bias``
(dE/db), ``toeplitz`` (the unrolled matrix; ``convention='row'`` is the slides' x W = y,
``'column'`` is vec(y) = T vec(x)) and ``output-size`` (``2x2``, ``[2, 2]``...).

Numbers or symbols. Every value not given stays symbolic: without ``x`` and ``w`` the answer is
expressions in the layer's symbols (``x11*w11 + x12 w12``, ``\\frac{\\partial E}{\\partial
y_{11}} x_{11}``...) and entries are compared with ``sympy.expand(answer - expected) == 0``.
Gradients use the upstream gradient ``dy`` (numbers, or the symbols dE/dy_ij when omitted) or,
with ``target`` (yhat), the loss E = 1/2 sum (y - yhat)^2 so that dE/dy = y - yhat. In a
symbolic gradient answer the student may also write y_ij and yhat_ij (dE/dy_ij is then read as
y_ij - yhat_ij with y_ij the forward expression). Numbers are exact (decimals such as ``0.1``
are read as 1/10); ``tolerance`` is applied only when the answer itself contains decimals.

Answer text goes through :func:`symconv.answers.parse_answer_ex` (a whitelist tokenizer and
grammar: never eval/sympify), after LaTeX ``%`` comments and lines starting with ``#`` are
dropped (:func:`strip_comments`). Its formats: JSON nested lists, rows of whitespace- or
comma-separated entries (CSV), LaTeX ``bmatrix``/``pmatrix``/``array``, NumPy-style literals
``[[1, 2], [3, 4]]`` and scalars. An answer may drop singleton channel axes (a 2x2 matrix for a
(1, 2, 2) output), and a multi-channel answer may be written as one matrix with the channels
(and kernel blocks) stacked vertically: shape (C*H, W) for (C, H, W).

Diagnosis
---------
When the answer is wrong, the quantity is recomputed under each mistake of a catalogue
(:data:`DIAGNOSES`), always by re-deriving a variant layer or transforming exact inputs/results,
never by approximations. A code is reported when its recomputation reproduces the answer
exactly, or when it explains at least two wrong entries and at least half of them (the report
then says which); an entry counts as explained when the mistake gives the student's value and
that value is not 0. Pure rearrangements of the result (transpose, displacement, rotation,
renumbering) must reproduce the answer exactly. No code is reported for a correct answer. The rules:

``wrong-shape``
    the answer cannot be laid out as the expected shape (the expected shape is stated; if the
    entries are right in row-major order, the explanation says so).
``flipped-kernel``
    the layer with ``flip`` toggled (true convolution instead of cross-correlation, or the
    reverse), the whole computation redone (with ``target``, dE/dy comes from the flipped
    forward pass).
``transposed``
    the answer is the transpose of the result (last two axes), or the result computed with the
    kernel transposed (w_ij read as w_ji; square kernels).
``padding``
    the layer with padding 0, padding one more or one less on each side, or all of it on one
    side; for dE/dx also the gradient over the zero-padded input, not cropped.
``stride``
    the layer with stride 1; for dE/dx and dE/dw of a strided conv also the backward pass with
    dE/dy not stride-dilated (as if the layer had stride 1).
``missing-bias``
    the layer without bias (output; gradients when dE/dy comes from ``target``).
``unrotated-kernel``
    dE/dx computed as the full correlation of dE/dy with the kernel not rotated by 180 degrees.
``sign``
    the answer is the negative of the result (yhat - y instead of y - yhat).
``scale``
    the answer is a constant multiple of the result (the factor is named: 2 = the 1/2 of E
    dropped, 1/N = mean instead of sum over the N outputs, ...); average pooling also with the
    window sum instead of the mean (per-window divisor).
``toeplitz-convention``
    the matrix of the other convention (W vs W^T), or rows/columns numbered column-major.
``index-shift``
    the result displaced by one position along spatial axes (zero-filled),
    the output recomputed with the window one position off, a symbolic answer whose symbol
    indices are all shifted by one (0-based x_00 for 1-based x_11), or an output size off by one.
``swapped-operands``
    dE/dw as dE/dy correlated with x (the result rotated by 180 degrees), or x convolved instead
    of correlated with dE/dy (dE/dy rotated).

Codes that cannot occur for a layer are not tried (``missing-bias`` without bias, ``stride``
with stride 1, ``unrotated-kernel`` for pools...). When dE/dy is given directly, forward-pass
mistakes leave it unchanged, so ``flipped-kernel`` coincides with ``unrotated-kernel`` for dE/dx
and with ``swapped-operands`` (the rotated dE/dw) for dE/dw; both codes are then reported.

Problem files (``symconv grade --problem P.json``, ``symconv check --problem P.json``)
-----------------------------------------------------------------------------------------
A JSON object::

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

Values are numbers (JSON decimals are read exactly), strings holding one number (``"3/4"``),
nested lists of them, or a string with a whole matrix in any answer format (numbers only).
Unknown keys are errors. ``kind`` also accepts ``conv-transpose``, ``max-pool``, ``avg-pool``.

Grading
-------
:func:`grade_folder` (``symconv grade SUBMISSIONS_DIR --problem P.json -o report.csv``) checks
every regular, non-hidden file of the folder (one per student; the student is the file name
without extension) and writes a CSV or JSON report atomically (a temporary file renamed into
place). The report never contains expected values. Unreadable files (not UTF-8, too large,
permission denied) and unparseable answers are reported and grading continues. A progress bar
is drawn on stderr only when stderr is a terminal.
"""

from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import itertools
import json
import math
import os
import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import sympy

from ..fileio import write_atomic
from ..core import layers as _layers
from ..core.answers import ParsedAnswer, parse_answer, parse_answer_ex
from ..core.derive import as_object_array, derive
from ..core.errors import AnswerError, SpecError, SymconvError
from ..core.layers import Layer
from ..core.spec import LayerSpec
from ..core.symbols import index_label, parse_name, symbol_array

__all__ = [
    "QUANTITIES",
    "DIAGNOSES",
    "CheckResult",
    "Diagnosis",
    "Mismatch",
    "Problem",
    "check",
    "load_problem",
    "grade_folder",
    "strip_comments",
    "register",
]

#: The quantities a student can be asked for.
QUANTITIES = ("output", "grad-input", "grad-weight", "grad-bias", "toeplitz", "output-size")

#: The diagnosis catalogue: code -> generic one-line explanation (in report order).
DIAGNOSES = {
    "wrong-shape": "the answer does not have the expected shape",
    "flipped-kernel": "true convolution (kernel rotated by 180 degrees) was used instead of "
    "cross-correlation, or the reverse",
    "transposed": "the answer, or the kernel used for it, is transposed",
    "padding": "the padding was ignored or different from the layer's",
    "stride": "the stride was ignored",
    "missing-bias": "the bias was left out",
    "unrotated-kernel": "dE/dx was computed with the kernel not rotated by 180 degrees",
    "sign": "the sign is wrong (yhat - y used instead of y - yhat, or a sign slip)",
    "scale": "off by a constant factor (sum vs mean, or the 1/2 of E = 1/2 sum (y - yhat)^2)",
    "toeplitz-convention": "W and W^T (row vs column convention) or the vec order mixed up",
    "index-shift": "indices shifted by one (0- vs 1-based, or an off-by-one window)",
    "swapped-operands": "dE/dw computed with x and dE/dy the wrong way round",
}

_GRADS = {"grad-input": "grad_x", "grad-weight": "grad_w", "grad-bias": "grad_b"}
_MAX_FILE_BYTES = 1_000_000
_MAX_ANSWER_CHARS = 200_000
_MAX_ANSWER_DEPTH = 32
_SIZE_RE = re.compile(r"^\s*\d+(\s*[x\u00d7*,]\s*\d+)*\s*$", re.IGNORECASE)


class Mismatch(NamedTuple):
    """A wrong entry: ``index`` into the expected array (0-based), ``expected`` and ``got``
    (SymPy values)."""

    index: tuple
    expected: object
    got: object


class Diagnosis(NamedTuple):
    """A diagnosis ``code`` (a key of :data:`DIAGNOSES`) and a one-line ``explanation``."""

    code: str
    explanation: str


# ====================================================================== result
@dataclasses.dataclass
class CheckResult:
    """The verdict on one answer.

    ``correct`` is True when every entry matches; ``score`` is the fraction of correct entries
    (``correct_entries / total_entries``; 0 when the shape cannot be matched); ``mismatches``
    lists the wrong entries; ``diagnosis`` the likely mistakes (empty for a correct answer).
    ``labels`` maps an index to the entry's name (``y_12``, ``dE/dw_12``, ``W[5,1]``).
    """

    quantity: str
    layer: str
    correct: bool
    score: float
    correct_entries: int
    total_entries: int
    mismatches: list
    diagnosis: list
    expected_shape: tuple
    answer_shape: tuple
    symbolic: bool
    answer_format: str = ""
    notes: list = dataclasses.field(default_factory=list)
    labels: dict = dataclasses.field(default_factory=dict, repr=False)
    expected: np.ndarray = dataclasses.field(default=None, repr=False)
    answer: np.ndarray = dataclasses.field(default=None, repr=False)

    @property
    def codes(self) -> list:
        """The diagnosis codes, in report order."""
        return [d.code for d in self.diagnosis]

    def label(self, index) -> str:
        return self.labels.get(tuple(index), str(tuple(int(i) for i in index)))

    def to_dict(self, hide_solution: bool = False) -> dict:
        """JSON-ready fields; with ``hide_solution`` no expected value appears."""
        mism = []
        for m in self.mismatches:
            entry = {
                "index": [int(i) for i in m.index],
                "entry": self.label(m.index),
                "got": _show(m.got),
            }
            if not hide_solution:
                entry["expected"] = _show(m.expected)
            mism.append(entry)
        data = {
            "quantity": self.quantity,
            "layer": self.layer,
            "correct": self.correct,
            "score": self.score,
            "correct_entries": self.correct_entries,
            "total_entries": self.total_entries,
            "expected_shape": list(self.expected_shape),
            "answer_shape": list(self.answer_shape),
            "symbolic": self.symbolic,
            "answer_format": self.answer_format,
            "wrong_entries": [self.label(m.index) for m in self.mismatches],
            "mismatches": mism,
            "diagnosis": [{"code": d.code, "explanation": d.explanation} for d in self.diagnosis],
            "notes": list(self.notes),
            "hide_solution": bool(hide_solution),
        }
        if not hide_solution and self.expected is not None:
            data["expected"] = _nested(self.expected)
        return data

    def to_text(self, hide_solution: bool = False) -> str:
        """A short report for a terminal; with ``hide_solution`` no expected value appears."""
        lines = [f"check {self.quantity} of {self.layer}"]
        if self.correct:
            lines.append(f"result: CORRECT ({self.correct_entries}/{self.total_entries} entries)")
        else:
            lines.append(
                f"result: WRONG ({self.correct_entries}/{self.total_entries} entries correct, "
                f"score {self.score:.2f})"
            )
        if self.mismatches:
            lines.append("wrong entries:")
            shown = self.mismatches[:50]
            for m in shown:
                if hide_solution:
                    lines.append(f"  {self.label(m.index)}: got {_show(m.got)}")
                else:
                    lines.append(
                        f"  {self.label(m.index)}: expected {_show(m.expected)}, "
                        f"got {_show(m.got)}"
                    )
            if len(self.mismatches) > len(shown):
                lines.append(f"  ... and {len(self.mismatches) - len(shown)} more")
        if self.diagnosis:
            lines.append("diagnosis:")
            for d in self.diagnosis:
                lines.append(f"  {d.code}: {d.explanation}")
        elif not self.correct:
            lines.append("diagnosis: no mistake of the catalogue reproduces this answer")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines) + "\n"


def _show(v) -> str:
    return "?" if v is None else sympy.sstr(v)


def _nested(arr):
    arr = np.asarray(arr, dtype=object)
    if arr.ndim == 0:
        return _show(arr[()])
    return [_nested(a) for a in arr]


# ====================================================================== value helpers
def _obj(shape, values) -> np.ndarray:
    out = np.empty(tuple(shape), dtype=object)
    flat = list(values)
    if flat:
        out.reshape(-1)[:] = flat
    return out


def _xr(arr, subs) -> np.ndarray:
    arr = as_object_array(arr)
    if not subs:
        return arr
    return _obj(arr.shape, (sympy.sympify(e).xreplace(subs) for e in arr.reshape(-1)))


def _number(v, what: str):
    """One input entry as an exact SymPy value (floats are read through their repr)."""
    if isinstance(v, (bool, np.bool_)):
        raise SpecError(f"check: {what} must hold numbers, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return sympy.Integer(int(v))
    if isinstance(v, Fraction):
        return sympy.Rational(v.numerator, v.denominator)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise SpecError(f"check: {what} must hold finite numbers, got {v!r}")
        return sympy.Rational(repr(float(v)))
    if isinstance(v, sympy.Basic):
        if isinstance(v, sympy.Float):
            return sympy.Rational(str(v))
        return v
    if isinstance(v, str):
        vals = parse_answer(v, max_chars=10_000)
        if vals.ndim != 0:
            raise SpecError(f"check: {what} entries must be single numbers, got {v!r}")
        return vals[()]
    raise SpecError(f"check: {what} must hold numbers, got {v!r}")


def _to_values(value, what: str) -> np.ndarray:
    """Numbers given by a caller (array-like, or text in any answer format) as SymPy values."""
    if isinstance(value, str):
        return parse_answer(value, max_chars=_MAX_ANSWER_CHARS, max_depth=_MAX_ANSWER_DEPTH)
    if isinstance(value, ParsedAnswer):
        return value.values
    try:
        arr = np.array(value, dtype=object)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"check: {what} must be a rectangular array, got {exc}") from None
    if arr.dtype != object:  # pragma: no cover - dtype=object always
        arr = arr.astype(object)
    return _obj(arr.shape, (_number(v, what) for v in arr.reshape(-1)))


def _align(arr, shape):
    """``arr`` laid out as ``shape``: equal, equal after dropping singleton axes, or (for a 2-D
    answer to an N-d quantity) blocks stacked vertically; None when impossible."""
    shape = tuple(shape)
    if arr.shape == shape:
        return arr
    if arr.size != math.prod(shape):
        return None
    if tuple(n for n in arr.shape if n != 1) == tuple(n for n in shape if n != 1):
        return arr.reshape(shape)
    if arr.ndim == 2 and len(shape) > 2 and arr.shape[-1] == shape[-1]:
        return arr.reshape(shape)
    return None


def _rot(arr, nsp):
    """Rotate the last ``nsp`` axes by 180 degrees."""
    sl = (slice(None),) * (arr.ndim - nsp) + (slice(None, None, -1),) * nsp
    return arr[sl]


def _shift(arr, axes, deltas):
    """``out[i] = arr[i + delta]`` along ``axes``, zero where that falls outside."""
    out = np.full(arr.shape, sympy.Integer(0), dtype=object)
    src = [slice(None)] * arr.ndim
    dst = [slice(None)] * arr.ndim
    for ax, d in zip(axes, deltas):
        n = arr.shape[ax]
        if abs(d) >= n:
            return None
        if d > 0:
            src[ax], dst[ax] = slice(d, n), slice(0, n - d)
        elif d < 0:
            src[ax], dst[ax] = slice(0, n + d), slice(-d, n)
    out[tuple(dst)] = arr[tuple(src)]
    return out


def _spec_fields(spec: LayerSpec) -> dict:
    return dict(
        in_channels=spec.in_channels,
        out_channels=spec.out_channels,
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
        flip=spec.flip,
        output_padding=spec.output_padding,
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
        ties=spec.ties,
    )


def _variant(spec: LayerSpec, **changes):
    """A validated copy of ``spec`` with some fields changed, or None if it is not a layer."""
    fields = _spec_fields(spec)
    input_size = changes.pop("input_size", spec.input_size)
    kernel_size = changes.pop("kernel_size", spec.kernel_size)
    fields.update(changes)
    if spec.kind != "conv_transpose":
        fields["output_padding"] = 0
    try:
        new = LayerSpec.build(spec.kind, input_size, kernel_size, **fields)
    except SymconvError:
        return None
    return None if new == spec else new


def _fmt_pad(pads) -> str:
    if all(lo == hi for lo, hi in pads):
        vals = [lo for lo, _ in pads]
        return str(vals[0]) if len(set(vals)) == 1 else str(tuple(vals))
    return str(tuple(pads))


def _factor_text(c) -> str:
    c = sympy.Rational(c)
    return str(c) if c.q == 1 else f"{c.p}/{c.q}"


# ====================================================================== the checker
class _Arrays:
    """A derivation's arrays as object ndarrays (:meth:`Derivation.array`), converted once."""

    _NAMES = ("x", "w", "b", "dy", "y", "y_symbols", "grad_x", "grad_w", "grad_b")

    def __init__(self, deriv):
        self.deriv = deriv
        self._cache = {}
        self.toeplitz_cache = {}

    def __getattr__(self, name):
        if name not in self._NAMES:
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self.deriv.array(name)
        return self._cache[name]

    def toeplitz(self, convention):
        if convention not in self.toeplitz_cache:
            self.toeplitz_cache[convention] = as_object_array(self.deriv.toeplitz(convention))
        return self.toeplitz_cache[convention]


class _Checker:
    """Everything one :func:`check` call shares: the layer, the values, the derivations."""

    def __init__(self, layer, quantity, x, w, b, dy, target, tolerance, convention, index_base):
        if isinstance(layer, LayerSpec):
            layer = Layer(layer)
        if not isinstance(layer, Layer):
            raise SpecError(f"check: layer must be a symconv Layer or LayerSpec, got {layer!r}")
        if quantity not in QUANTITIES:
            raise SpecError(f"check: quantity must be one of {QUANTITIES}, got {quantity!r}")
        if convention not in ("row", "column"):
            raise SpecError(f"check: convention must be 'row' or 'column', got {convention!r}")
        if index_base not in (0, 1):
            raise SpecError(f"check: index_base must be 0 or 1, got {index_base!r}")
        self.layer = layer
        self.spec = spec = layer.spec
        self.quantity = quantity
        self.convention = convention
        self.base = index_base
        self.tolerance = self._tolerance(tolerance)
        self._derivs = {}
        self._norms = {}
        self.notes = []
        op = spec.op
        if quantity == "grad-weight" and not spec.has_weight:
            raise SpecError(f"{op}: a pooling layer has no weights, so no grad-weight")
        if quantity == "grad-bias" and not spec.bias:
            raise SpecError(f"{op}: the layer has no bias (bias=False), so no grad-bias")
        if quantity == "toeplitz" and spec.kind == "max_pool":
            raise SpecError(f"{op}: max pooling is not linear, so it has no Toeplitz matrix")
        d = self.deriv(spec)
        self.sx = as_object_array(d.x)
        self.sw = as_object_array(d.w)
        self.sb = as_object_array(d.b)
        self.sdy = as_object_array(d.dy)
        self.sy = as_object_array(d.y_symbols)
        self.syhat = symbol_array("yhat", spec.y_shape, index_base=index_base, keep_leading=1)
        self.X = self._given("x", x, spec.x_shape, self.sx)
        if spec.has_weight:
            self.W = self._given("w", w, spec.w_shape, self.sw)
        elif w is not None:
            raise SpecError(f"{op}: a pooling layer has no weights, got w")
        else:
            self.W = None
        if spec.bias:
            self.B = self._given("b", b, spec.b_shape, self.sb)
        elif b is not None:
            raise SpecError(f"{op}: the layer has no bias (bias=False), got b")
        else:
            self.B = None
        if dy is not None and target is not None:
            raise SpecError(f"{op}: give dy or target, not both")
        self.T = None if target is None else self._given("target", target, spec.y_shape, None)
        if dy is not None:
            self.DY = self._given("dy", dy, spec.y_shape, None)
        elif target is None:
            self.DY = self.sdy
        else:
            self.DY = None
        self.Y = self.forward(spec)
        self.dy_value = self.DY if self.DY is not None else self.Y - self.T
        self.symbolic_dy = self.DY is self.sdy
        self._table, self._arity, self._bounds = self._symbol_table()
        self.used = set()
        self.outside = set()
        self.decimals = False
        self.canon = None

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _tolerance(tol):
        if tol is None:
            return sympy.Integer(0)
        t = _number(tol, "tolerance")
        if not (isinstance(t, sympy.Rational) and t >= 0):
            raise SpecError(f"check: tolerance must be a non-negative number, got {tol!r}")
        return t

    def _given(self, name, value, shape, symbols):
        if value is None:
            return symbols
        arr = _to_values(value, name)
        out = _align(arr, shape)
        if out is None:
            raise SpecError(
                f"{self.spec.op}: {name} must have shape {tuple(shape)}, got shape {arr.shape}"
            )
        return out

    def deriv(self, spec):
        """The derivation of a (variant) spec, with its arrays as object ndarrays (cached)."""
        d = self._derivs.get(spec)
        if d is None:
            full = derive(Layer(spec), index_base=self.base)
            d = self._derivs[spec] = _Arrays(full)
        return d

    # ------------------------------------------------------------------ symbols
    def _symbol_table(self):
        """(kind, indices as written) -> value, the arity of each kind and index bounds."""
        table, arity, bounds = {}, {}, {}
        rows = [("x", self.sx, self.X), ("w", self.sw, self.W), ("b", self.sb, self.B)]
        rows.append(("y", self.sy, self.Y))
        rows.append(("dy", self.sdy, self.dy_value))
        if self.T is not None:
            rows.append(("yhat", self.syhat, self.T))
        elif self.symbolic_dy:
            rows.append(("yhat", self.syhat, self.syhat))
        self.lenient = set()
        for kind, syms, vals in rows:
            if syms is None or vals is None:
                continue
            if vals is syms:
                self.lenient.add(kind)
            for idx in np.ndindex(syms.shape):
                _, written = parse_name(syms[idx].name)
                table[(kind, written)] = vals[idx]
                table.setdefault((kind, tuple(i + self.base for i in idx)), vals[idx])
                arity[kind] = len(written)
                hi = bounds.setdefault(kind, [0] * len(written))
                for a, i in enumerate(written):
                    hi[a] = max(hi[a], i)
        return table, arity, bounds

    def sym(self, kind, indices):
        """The layer's symbol for (kind, indices), or a stand-in symbol just outside it."""
        found = self._table.get((kind, tuple(indices)))
        if found is not None:
            return found
        return sympy.Symbol(f"{kind}_{index_label(indices)}", real=True)

    def resolve(self, kind, indices):
        indices = tuple(indices)
        value = self._table.get((kind, indices))
        if value is not None:
            self.used.add(kind)
            return value
        if kind in self.lenient and len(indices) == self._arity.get(kind, -1):
            lo = self.base - 1
            if all(lo <= i <= hi + 1 for i, hi in zip(indices, self._bounds[kind])):
                self.used.add(kind)
                self.outside.add(f"{kind}_{index_label(indices)}")
                return self.sym(kind, indices)
        return None

    # ------------------------------------------------------------------ computing
    def _subs(self, d, X, W, B):
        subs = {}
        for syms, vals in ((d.x, X), (d.w, W), (d.b, B)):
            if syms is None:
                continue
            syms = as_object_array(syms)
            if vals is None or vals.shape != syms.shape:
                return None
            subs.update(zip(syms.reshape(-1), vals.reshape(-1)))
        return subs

    def forward(self, spec, X=None, W=None, B=None):
        d = self.deriv(spec)
        subs = self._subs(
            d,
            self.X if X is None else X,
            self.W if W is None else W,
            self.B if B is None else B,
        )
        return None if subs is None else _xr(d.y, subs)

    def compute(self, spec=None, *, X=None, W=None, B=None, DY=None, quantity=None):
        """The quantity for a (variant) layer and (variant) inputs, or None if it does not
        apply. dE/dy is ``DY`` if given, else the given dy, else y(variant) - target."""
        spec = self.spec if spec is None else spec
        q = self.quantity if quantity is None else quantity
        if q == "output-size":
            return _obj((spec.ndim,), (sympy.Integer(n) for n in spec.output_size))
        d = self.deriv(spec)
        X = self.X if X is None else X
        W = self.W if W is None else W
        B = self.B if B is None else B
        subs = self._subs(d, X, W, B)
        if subs is None:
            return None
        if q == "toeplitz":
            try:
                mat = d.toeplitz(self.convention)
            except SymconvError:
                return None
            return _xr(mat, subs)
        if q == "output":
            return _xr(d.y, subs)
        if DY is None:
            if self.DY is not None:
                DY = self.DY
            else:
                DY = _xr(d.y, subs) - self.T if tuple(spec.y_shape) == self.T.shape else None
        if DY is None or DY.shape != tuple(spec.y_shape):
            return None
        grad = getattr(d, _GRADS[q])
        if grad is None:
            return None
        subs.update(zip(as_object_array(d.dy).reshape(-1), DY.reshape(-1)))
        return _xr(grad, subs)

    # ------------------------------------------------------------------ comparing
    def norm(self, e):
        key = e
        try:
            return self._norms[key]
        except KeyError:
            pass
        except TypeError:  # pragma: no cover - unhashable
            return sympy.expand(e)
        e2 = sympy.sympify(e)
        if self.canon is not None:
            e2 = e2.xreplace(self.canon)
        val = e2 if e2.is_Number else sympy.expand(e2)
        self._norms[key] = val
        return val

    def same(self, a, e) -> bool:
        na, ne = self.norm(a), self.norm(e)
        if na == ne:
            return True
        if self.tolerance and self.decimals:
            diff = sympy.expand(na - ne)
            if diff.is_Number:
                return abs(diff) <= self.tolerance
            return all(abs(c) <= self.tolerance for c in diff.as_coefficients_dict().values())
        return False

    def equal_arrays(self, A, C) -> bool:
        return all(self.same(a, c) for a, c in zip(A.reshape(-1), C.reshape(-1)))

    # ------------------------------------------------------------------ answers
    def parse(self, answer):
        self.outside = set()
        self.decimals = False
        fmt = "array"
        if isinstance(answer, str):
            text = strip_comments(answer)
            if self.quantity == "output-size" and _SIZE_RE.match(text):
                text = "[" + re.sub(r"\s*[x\u00d7*,]\s*", ", ", text.strip().lower()) + "]"
            elif self.quantity == "output-size":
                text = text.replace("(", "[").replace(")", "]")
            parsed = parse_answer_ex(
                text,
                resolve=self.resolve,
                max_chars=_MAX_ANSWER_CHARS,
                max_depth=_MAX_ANSWER_DEPTH,
                max_entries=max(10 * self.expected_size(), 10_000),
            )
            values, self.decimals, fmt = parsed.values, parsed.has_decimals, parsed.fmt
        elif isinstance(answer, ParsedAnswer):
            values, self.decimals, fmt = answer.values, answer.has_decimals, answer.fmt
        else:
            try:
                arr = np.array(answer, dtype=object)
            except (ValueError, TypeError) as exc:
                raise AnswerError(f"answer: must be a rectangular array, got {exc}") from None
            out = []
            for v in arr.reshape(-1):
                if isinstance(v, (float, np.floating)):
                    self.decimals = True
                if isinstance(v, str):
                    p = parse_answer_ex(
                        v, resolve=self.resolve, expect_scalar=True, max_chars=_MAX_ANSWER_CHARS
                    )
                    self.decimals |= p.has_decimals
                    if p.values.ndim != 0:
                        raise AnswerError(f"answer: an entry must be one value, got {v!r}")
                    out.append(p.values[()])
                else:
                    try:
                        out.append(_number(v, "answer"))
                    except SpecError as exc:
                        raise AnswerError(str(exc)) from None
            values = _obj(arr.shape, out)
        if self.outside:
            names = ", ".join(sorted(self.outside))
            self.notes.append(
                f"the answer uses symbols that are not variables of the layer: {names}"
            )
        return values, fmt

    def expected_size(self) -> int:
        spec = self.spec
        if self.quantity == "output-size":
            return spec.ndim + 1
        if self.quantity == "toeplitz":
            return math.prod(spec.x_shape) * math.prod(spec.y_shape)
        shape = {
            "output": spec.y_shape,
            "grad-input": spec.x_shape,
            "grad-weight": spec.w_shape or (),
            "grad-bias": spec.b_shape or (),
        }[self.quantity]
        return math.prod(shape)

    # ------------------------------------------------------------------ labels
    def labels(self, shape) -> dict:
        q = self.quantity
        out = {}
        if q == "toeplitz":
            letter = "W" if self.convention == "row" else "T"
            for i, j in np.ndindex(shape):
                out[(i, j)] = f"{letter}[{i + 1},{j + 1}]"
            return out
        if q == "output-size":
            for (i,) in np.ndindex(shape):
                out[(i,)] = f"size[{i + 1}]"
            return out
        names = {
            "output": (self.sy, ""),
            "grad-input": (self.sx, "dE/d"),
            "grad-weight": (self.sw, "dE/d"),
            "grad-bias": (self.sb, "dE/d"),
        }[q]
        syms, prefix = names
        for idx in np.ndindex(syms.shape):
            out[idx] = prefix + syms[idx].name
        return out

    # ------------------------------------------------------------------ candidates
    def candidates(self, E, A):
        """``(code, explanation, array, partial_ok)`` for every mistake that applies.

        ``partial_ok`` is False for pure rearrangements of the result (transpose, displacement,
        rotation, renumbering): they must reproduce the answer exactly to be reported.
        """
        spec, q = self.spec, self.quantity
        nsp = spec.ndim
        out = []

        def add(code, text, C, partial_ok=True):
            out.append((code, text, C, partial_ok))

        grad = q in _GRADS
        conv_like = spec.has_weight
        square = conv_like and nsp >= 2 and spec.kernel_size[-1] == spec.kernel_size[-2]
        Wt = np.swapaxes(self.W, -1, -2).copy() if square else None

        # flipped-kernel, unrotated-kernel
        flipped = _variant(spec, flip=not spec.flip) if conv_like else None
        if flipped is not None:
            used, meant = ("true convolution (kernel rotated by 180 degrees)", "cross-correlation")
            if spec.flip:
                used, meant = meant, used
            add("flipped-kernel", f"matches {used} instead of {meant}", self.compute(flipped))
            if q == "grad-input":
                text = "matches dE/dx computed with the kernel not rotated by 180 degrees"
                add("unrotated-kernel", text, self.compute(flipped, DY=self.dy_value))
        # transposed
        if q == "toeplitz":
            if square:
                text = "matches the matrix built from the transposed kernel (w_ij read as w_ji)"
                add("transposed", text, self.compute(W=Wt))
        elif q == "output-size":
            if len(set(spec.output_size)) > 1:
                add("transposed", "the sizes are in the wrong order", E[::-1].copy(), False)
        elif q != "grad-bias" and E.ndim >= 2 and nsp >= 2:
            text = "the answer is the transpose of the result"
            add("transposed", text, np.swapaxes(E, -1, -2).copy(), False)
            if square and q in ("output", "grad-input"):
                text = "matches the result computed with the transposed kernel (w_ij read as w_ji)"
                add("transposed", text, self.compute(W=Wt))
        # padding
        pads = spec.padding
        tot = [lo + hi for lo, hi in pads]
        variants = []
        for new in (
            tuple((0, 0) for _ in pads),
            tuple((lo + 1, hi + 1) for lo, hi in pads),
            tuple((max(lo - 1, 0), max(hi - 1, 0)) for lo, hi in pads),
            tuple((0, t) for t in tot),
            tuple((t, 0) for t in tot),
        ):
            if new != pads and new not in variants:
                variants.append(new)
        for new in variants:
            v = _variant(spec, padding=new)
            if v is not None:
                text = f"matches padding {_fmt_pad(new)} instead of {_fmt_pad(pads)}"
                add("padding", text, self.compute(v))
        if q == "grad-input" and any(tot) and spec.kind in ("conv", "avg_pool"):
            v = _variant(spec, input_size=spec.padded_size, padding=0)
            if v is not None:
                zero = sympy.Integer(0)
                Xp = np.pad(self.X, [(0, 0)] + list(pads), constant_values=zero)
                text = "matches dE/dx over the zero-padded input (the padding not cropped)"
                add("padding", text, self.compute(v, X=Xp, DY=self.dy_value))
        # stride
        if any(s > 1 for s in spec.stride):
            v = _variant(spec, stride=1)
            if v is not None:
                add("stride", "matches the layer with stride 1 (stride ignored)", self.compute(v))
            if spec.kind == "conv" and q == "grad-input":
                size = tuple(
                    o + e - 1 - lo - hi
                    for o, e, (lo, hi) in zip(spec.output_size, spec.effective_kernel, pads)
                )
                v = _variant(spec, input_size=size, stride=1) if min(size) >= 1 else None
                if v is not None:
                    X0 = np.full(v.x_shape, sympy.Integer(0), dtype=object)
                    text = "matches the backward pass with dE/dy not stride-dilated"
                    add("stride", text, self.compute(v, X=X0, DY=self.dy_value))
            if spec.kind == "conv" and q == "grad-weight" and max(spec.dilation) == 1:
                ksize = tuple(
                    n + lo + hi - o + 1
                    for n, (lo, hi), o in zip(spec.input_size, pads, spec.output_size)
                )
                v = _variant(spec, kernel_size=ksize, stride=1)
                if v is not None:
                    W0 = np.full(v.w_shape, sympy.Integer(0), dtype=object)
                    text = "matches x correlated with dE/dy not stride-dilated"
                    add("stride", text, self.compute(v, W=W0, DY=self.dy_value))
        # missing-bias
        if spec.bias:
            v = _variant(spec, bias=False)
            if v is not None:
                add("missing-bias", "matches the result without the bias", self.compute(v))
        # sign, scale
        if q != "output-size":
            if grad:
                text = "the answer is the negative of the result (yhat - y instead of y - yhat)"
                add("sign", text, _obj(E.shape, (-e for e in E.reshape(-1))))
            if spec.kind == "avg_pool" and q in ("output", "grad-input"):
                sizes = np.asarray(self.layer.window_sizes).reshape(spec.output_size)
                Nw = _obj(
                    spec.y_shape,
                    (sympy.Integer(int(sizes[i[1:]])) for i in np.ndindex(spec.y_shape)),
                )
                text = "matches the window sum instead of the mean (no 1/window size)"
                if q == "output":
                    add("scale", text, E * Nw)
                else:
                    add("scale", text, self.compute(DY=self.dy_value * Nw))
            c = self.ratio(E, A)
            if c is not None:
                code = "sign" if c == -1 else "scale"
                add(code, self.factor_text(c), _obj(E.shape, (c * e for e in E.reshape(-1))))
        # toeplitz-convention
        if q == "toeplitz":
            other = "column" if self.convention == "row" else "row"
            eq = "T with vec(y) = T vec(x)" if other == "column" else "W with x W = y"
            add(
                "toeplitz-convention",
                f"matches the {other} convention (the transpose, {eq})",
                E.T.copy(),
                False,
            )
            if nsp >= 2:
                px, py = self.colmajor(spec.x_shape), self.colmajor(spec.y_shape)
                rows, cols = (px, py) if self.convention == "row" else (py, px)
                P = E[np.ix_(rows, cols)]
                text = "matches x and y numbered column by column (column-major vec)"
                add("toeplitz-convention", text, P, False)
                text = f"matches the {other} convention with column-major vec"
                add("toeplitz-convention", text, P.T.copy(), False)
        # index-shift
        if q == "output-size":
            for deltas in itertools.product((-1, 0, 1), repeat=nsp):
                if any(deltas):
                    C = _obj(E.shape, (e + d for e, d in zip(E, deltas)))
                    add("index-shift", "a size is off by one (e.g. the +1 of the formula)", C)
        elif q != "grad-bias":
            axes = [0, 1] if q == "toeplitz" else list(range(E.ndim - nsp, E.ndim))
            for deltas in itertools.product((-1, 0, 1), repeat=len(axes)):
                if not any(deltas):
                    continue
                C = _shift(E, axes, deltas)
                if C is not None:
                    text = "the entries are displaced by one position (off-by-one indices)"
                    add("index-shift", text, C, False)
            if q == "output":
                for deltas in itertools.product((-1, 0, 1), repeat=nsp):
                    Xs = _shift(self.X, list(range(1, 1 + nsp)), deltas)
                    if any(deltas) and Xs is not None:
                        text = "matches windows placed one position off (off-by-one window)"
                        add("index-shift", text, self.compute(X=Xs))
            for dlt in (-1, 1):
                ren = self.renaming(dlt)
                if ren:
                    zero_based = self.base == 1 and dlt < 0
                    text = "the symbol indices are shifted by one " + (
                        "(0-based instead of 1-based)" if zero_based else "(off by one)"
                    )
                    C = _obj(E.shape, (sympy.sympify(e).xreplace(ren) for e in E.reshape(-1)))
                    add("index-shift", text, C)
        # swapped-operands
        if q == "grad-weight":
            text = "matches dE/dy correlated with x (the result rotated by 180 degrees)"
            add("swapped-operands", text, _rot(E, nsp).copy(), False)
            text = "matches x convolved (not correlated) with dE/dy (dE/dy rotated)"
            add("swapped-operands", text, self.compute(DY=_rot(self.dy_value, nsp).copy()))
        return out

    @staticmethod
    def colmajor(shape):
        idx = np.arange(math.prod(shape)).reshape(shape)
        nsp = len(shape) - 1
        perm = (0,) + tuple(range(nsp, 0, -1))
        return idx.transpose(perm).reshape(-1)

    def renaming(self, dlt):
        ren = {}
        for (kind, written), value in self._table.items():
            if kind in self.lenient and isinstance(value, sympy.Symbol):
                if len(written) != self._arity[kind]:
                    continue
                if not written:
                    continue
                ren[value] = self.sym(kind, tuple(i + dlt for i in written))
        return ren

    def ratio(self, E, A):
        """The constant c with A = c E suggested by the first wrong entry, if any."""
        EA = _align(A, E.shape)
        if EA is None:
            return None
        for a, e in zip(EA.reshape(-1), E.reshape(-1)):
            ne = self.norm(e)
            if ne == 0 or self.same(a, e):
                continue
            try:
                c = sympy.cancel(self.norm(a) / ne)
            except (sympy.PolynomialError, ZeroDivisionError, TypeError):
                return None
            if isinstance(c, sympy.Rational) and c not in (0, 1):
                return c
            return None
        return None

    def factor_text(self, c) -> str:
        """Name a constant factor c (answer = c * result) where a common mistake explains it."""
        if c == -1:
            return "the answer is the negative of the result"
        text = f"the answer is {_factor_text(c)} times the result"
        why = None
        spec = self.spec
        if self.quantity in _GRADS:
            n_out = math.prod(spec.y_shape)
            known = [
                (sympy.Integer(2), "the 1/2 of E = 1/2 sum (y - yhat)^2 was dropped"),
                (sympy.Rational(1, 2), "an extra factor 1/2"),
                (sympy.Rational(1, n_out), f"mean instead of sum over the {n_out} outputs"),
                (sympy.Integer(n_out), f"sum instead of mean over the {n_out} outputs"),
                (
                    sympy.Rational(2, n_out),
                    f"mean over the {n_out} outputs and the 1/2 of E dropped",
                ),
                (sympy.Integer(-2), "the sign and the 1/2 of E both wrong"),
            ]
            per_channel = math.prod(spec.output_size)
            if per_channel != n_out:
                known.insert(
                    3,
                    (
                        sympy.Rational(1, per_channel),
                        f"mean instead of sum over the {per_channel} outputs of a channel",
                    ),
                )
            why = next((t for f, t in known if f == c), None)
        elif spec.kind == "avg_pool":
            n = math.prod(spec.kernel_size)
            if c == n:
                why = f"the window sum instead of the mean over {n} entries"
            elif c == sympy.Rational(1, n):
                why = f"divided by the window size {n} twice"
        return f"{text} ({why})" if why else text

    # ------------------------------------------------------------------ the verdict
    def run(self, answer) -> CheckResult:
        E = self.compute()
        self.canon = None
        A, fmt = self.parse(answer)
        if self.quantity == "output-size":
            flat = A.reshape(-1)
            if flat.size == self.spec.ndim + 1 and self.norm(flat[0]) == self.spec.out_channels:
                A = _obj((self.spec.ndim,), flat[1:])
        if self.symbolic_dy and ({"y", "yhat"} & self.used) and self.quantity in _GRADS:
            canon = {}
            for idx in np.ndindex(self.sdy.shape):
                canon[self.sdy[idx]] = self.Y[idx] - self.syhat[idx]
            self.canon = canon
        symbolic = any(
            not self.norm(e).is_Number for e in itertools.chain(E.reshape(-1), A.reshape(-1))
        )
        labels = self.labels(E.shape)
        EA = _align(A, E.shape)
        mismatches = []
        diagnosis = []
        if EA is not None:
            for idx in np.ndindex(E.shape):
                if not self.same(EA[idx], E[idx]):
                    mismatches.append(Mismatch(idx, E[idx], EA[idx]))
            n_ok = E.size - len(mismatches)
            correct = not mismatches
        else:
            n_ok, correct = 0, False
            shape_note = ""
            if A.size == E.size and self.equal_arrays(A.reshape(-1), E.reshape(-1)):
                shape_note = "; the entries are right in row-major order"
            diagnosis.append(
                Diagnosis(
                    "wrong-shape",
                    f"expected shape {self.shape_text(E.shape)}, got {tuple(A.shape)}"
                    + shape_note,
                )
            )
        if not correct:
            diagnosis.extend(self.diagnose(E, A, EA, mismatches, labels))
        total = int(E.size)
        return CheckResult(
            quantity=self.quantity,
            layer=repr(self.spec),
            correct=correct,
            score=(n_ok / total) if total else 1.0,
            correct_entries=int(n_ok),
            total_entries=total,
            mismatches=mismatches,
            diagnosis=diagnosis,
            expected_shape=tuple(E.shape),
            answer_shape=tuple(A.shape),
            symbolic=symbolic,
            answer_format=fmt,
            notes=list(self.notes),
            labels=labels,
            expected=E,
            answer=A,
        )

    def shape_text(self, shape) -> str:
        names = {
            "output": "(C_out, *output_size)",
            "grad-input": "(C_in, *input_size), like x",
            "grad-weight": "like w",
            "grad-bias": "(C_out,), like b",
            "toeplitz": "rows x columns",
            "output-size": "one size per spatial axis",
        }
        return f"{tuple(shape)} {names[self.quantity]}"

    def diagnose(self, E, A, EA, mismatches, labels):
        """Codes whose recomputation reproduces the answer (first), then codes that explain
        at least two wrong entries: all of them, or at least half. Only entries where the
        mistake gives a non-zero value count as explained (a 0 is weak evidence)."""
        exact, partial = {}, {}
        mism_idx = [m.index for m in mismatches]
        for code, text, C, partial_ok in self.candidates(E, A):
            if C is None or code in exact:
                continue
            CA = _align(A, C.shape)
            if CA is None:
                continue
            if C.shape == E.shape and self.equal_arrays(C, E):
                continue  # the "mistake" changes nothing for this problem
            if self.equal_arrays(CA, C):
                if C.shape != E.shape:
                    text += f" (shape {tuple(C.shape)})"
                exact[code] = text
                partial.pop(code, None)
                continue
            if not partial_ok or EA is None or C.shape != E.shape or not mism_idx:
                continue
            if code in partial:
                continue
            explained = [i for i in mism_idx if self.norm(C[i]) != 0 and self.same(EA[i], C[i])]
            k, n = len(explained), len(mism_idx)
            if k >= 2 and k == n:
                partial[code] = f"{text}; explains all {n} wrong entries"
            elif k >= 2 and 2 * k >= n:
                names = ", ".join(labels.get(i, str(i)) for i in explained[:8])
                more = ", ..." if k > 8 else ""
                partial[code] = f"{text}; explains {k} of {n} wrong entries ({names}{more})"
        order = list(DIAGNOSES)
        out = [Diagnosis(c, exact[c]) for c in sorted(exact, key=order.index)]
        out += [Diagnosis(c, partial[c]) for c in sorted(partial, key=order.index)]
        return out


# ====================================================================== public API
def check(
    layer,
    quantity,
    answer,
    *,
    x=None,
    w=None,
    b=None,
    dy=None,
    target=None,
    tolerance=0,
    convention="row",
    index_base=1,
) -> CheckResult:
    """Check a hand-computed ``answer`` for ``quantity`` of ``layer``.

    ``answer`` is text in any format of :mod:`symconv.answers` (parsed safely, never
    evaluated) or an array-like of numbers, SymPy values or entry strings. ``x``, ``w``, ``b``,
    ``dy``, ``target`` are numbers (array-likes or text; omitted ones stay symbolic).
    ``tolerance`` applies only to answers written with decimals. ``convention`` (``'row'``: x W
    = y, ``'column'``: vec(y) = T vec(x)) is for ``quantity='toeplitz'``; ``index_base`` is
    the first symbol index (1: x_11, like the slides).

    Raises :class:`~symconv.errors.AnswerError` for answer text that cannot be parsed and
    :class:`~symconv.errors.SpecError` for bad parameters or values.
    """
    checker = _Checker(layer, quantity, x, w, b, dy, target, tolerance, convention, index_base)
    return checker.run(answer)


# ====================================================================== problem files
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
    "conv": _layers.conv,
    "conv_transpose": _layers.conv_transpose,
    "max_pool": _layers.max_pool,
    "avg_pool": _layers.avg_pool,
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
        return check(
            self.layer,
            self.quantity,
            answer,
            tolerance=self.tolerance,
            convention=self.convention,
            index_base=self.index_base,
            **self.values,
        )


def _json_values(value, where):
    """JSON data -> nested lists of exact numbers (strings parsed as numbers, safely)."""
    if isinstance(value, str):
        return _to_values(value, where)
    if isinstance(value, list):
        return [
            _json_values(v, where) if isinstance(v, list) else _json_entry(v, where) for v in value
        ]
    return _json_entry(value, where)


def _json_entry(v, where):
    if isinstance(v, bool) or v is None or isinstance(v, dict):
        raise SpecError(f"problem: {where} must hold numbers, got {v!r}")
    return _number(v, where)


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
        raw = _read_capped(path, "problem file")
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
            values[key] = _json_values(data[key], key)
    tol = data.get("tolerance", 0)
    if isinstance(tol, str):
        tol = _number(tol, "tolerance")
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
    _Checker(
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


_LATEX_COMMENT = re.compile(r"(?<!\\)%.*$", re.MULTILINE)
_HASH_COMMENT = re.compile(r"^[ \t]*#.*$", re.MULTILINE)


def strip_comments(text: str) -> str:
    """Drop LaTeX comments (``%`` to the end of the line, not ``\\%``) and whole lines
    starting with ``#``, so that annotated answer files parse. Neither character is part of
    any answer format, so nothing valid is lost."""
    if "%" in text:
        text = _LATEX_COMMENT.sub("", text)
    if "#" in text:
        text = _HASH_COMMENT.sub("", text)
    return text


def _reject_constant(name):
    raise SpecError(f"problem: {name} is not a number here")


def _read_capped(path: Path, what: str, limit: int = _MAX_FILE_BYTES, name=None) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes (OSError/AnswerError otherwise)."""
    name = path if name is None else name
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise AnswerError(f"{what} {name} is larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerError(
            f"{what} {name} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


# ====================================================================== grading
REPORT_FIELDS = (
    "student",
    "file",
    "status",
    "score",
    "correct_entries",
    "total_entries",
    "diagnosis",
    "wrong_entries",
    "message",
)


def grade_folder(folder, problem, *, progress=None, skip=()) -> list:
    """Check every answer file of ``folder`` against ``problem`` (a :class:`Problem`, a dict or
    a path). Returns one dict per file with :data:`REPORT_FIELDS`; ``status`` is ``correct``,
    ``wrong``, ``invalid`` (the answer could not be parsed), ``unreadable`` (the file could not
    be read as UTF-8 text) or ``error`` (anything else). Never contains expected values.
    ``progress(i, n, name)`` is called before each file; paths in ``skip`` (resolved) are
    left out (the problem file and the report when they sit in the folder)."""
    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(f"grade: {folder} is not a directory")
    skip = {Path(p).resolve() for p in skip}
    files = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and not p.is_dir() and p.resolve() not in skip
    )
    rows = []
    for i, path in enumerate(files):
        if progress is not None:
            progress(i, len(files), path.name)
        row = dict.fromkeys(REPORT_FIELDS, "")
        row.update(student=path.stem, file=path.name, score=0.0, correct_entries=0)
        row["total_entries"] = ""
        try:
            text = _read_capped(path, "answer file", name=path.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            row.update(status="unreadable", message=f"answer file {path.name}: {reason}")
            rows.append(row)
            continue
        except AnswerError as exc:
            row.update(status="unreadable", message=_one_line(exc))
            rows.append(row)
            continue
        try:
            result = problem.check(text)
        except AnswerError as exc:
            row.update(status="invalid", message=_one_line(exc))
        except (SymconvError, ValueError, RecursionError, MemoryError) as exc:
            row.update(status="invalid", message=_one_line(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            row.update(status="error", message=f"internal error: {_one_line(exc)}")
        else:
            row.update(
                status="correct" if result.correct else "wrong",
                score=round(result.score, 4),
                correct_entries=result.correct_entries,
                total_entries=result.total_entries,
                diagnosis=";".join(result.codes),
                wrong_entries=";".join(result.label(m.index) for m in result.mismatches),
                message=" | ".join(
                    [d.explanation for d in result.diagnosis if d.code == "wrong-shape"]
                    + list(result.notes)
                ),
            )
        rows.append(row)
    if progress is not None:
        progress(len(files), len(files), "")
    return rows


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def report_text(rows, fmt: str, problem: Problem) -> str:
    if fmt == "json":
        summary = {
            s: sum(1 for r in rows if r["status"] == s)
            for s in ("correct", "wrong", "invalid", "unreadable", "error")
        }
        summary["submissions"] = len(rows)
        data = {
            "problem": problem.title,
            "layer": repr(problem.layer.spec),
            "quantity": problem.quantity,
            "summary": summary,
            "submissions": rows,
        }
        return json.dumps(data, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


class _Progress:
    """A one-line progress bar on a terminal stream (nothing otherwise)."""

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def __call__(self, i, n, name):
        if not self.enabled:
            return
        width = 30
        filled = width * i // n if n else width
        bar = "#" * filled + "-" * (width - filled)
        label = name[:30]
        self.stream.write(f"\rgrading [{bar}] {i}/{n} {label:<30}")
        if i >= n:
            self.stream.write("\n")
        self.stream.flush()


# ====================================================================== CLI
def _read_arg(value: str, what: str) -> str:
    """FILE_OR_TEXT: '-' reads stdin, an existing file is read, anything else is the text."""
    if value == "-":
        data = sys.stdin.read(_MAX_FILE_BYTES + 1)
        if len(data) > _MAX_FILE_BYTES:
            raise AnswerError(f"{what} on stdin is larger than {_MAX_FILE_BYTES} characters")
        return data
    if len(value) < 4096 and os.path.isfile(value):
        return _read_capped(Path(value), what)
    return value


def _run_check(args) -> int:
    values = {}
    if args.problem:
        problem = load_problem(args.problem)
        layer, quantity = problem.layer, problem.quantity
        values = dict(problem.values)
        tolerance, convention, index_base = (
            problem.tolerance,
            problem.convention,
            problem.index_base,
        )
        if args.quantity and args.quantity != quantity:
            raise SpecError(
                f"check: --quantity {args.quantity} differs from the problem's {quantity!r}"
            )
    else:
        from ..cli import layer_from_args

        if not args.quantity:
            raise SpecError("check: --quantity is required (or give --problem)")
        layer, quantity = layer_from_args(args), args.quantity
        tolerance, convention, index_base = 0, args.convention or "row", args.index_base
    if args.tolerance is not None:
        tolerance = _number(args.tolerance, "--tolerance")
    if args.convention:
        convention = args.convention
    for key in ("x", "w", "b", "dy", "target"):
        given = getattr(args, key)
        if given is not None:
            values[key] = _to_values(_read_arg(given, f"--{key}"), f"--{key}")
    if "dy" in values and "target" in values:
        if args.dy is not None and args.target is None:
            values.pop("target")
        elif args.target is not None and args.dy is None:
            values.pop("dy")
    answer = _read_arg(args.answer, "answer")
    result = check(
        layer,
        quantity,
        answer,
        tolerance=tolerance,
        convention=convention,
        index_base=index_base,
        **values,
    )
    if args.format == "json":
        print(json.dumps(result.to_dict(hide_solution=args.hide_solution), indent=2))
    else:
        print(result.to_text(hide_solution=args.hide_solution), end="")
    return 0 if result.correct else 1


def _run_grade(args) -> int:
    problem = load_problem(args.problem)
    fmt = args.format
    if args.output and fmt is None:
        fmt = "json" if str(args.output).lower().endswith(".json") else "csv"
    fmt = fmt or "csv"
    skip = set()
    for p in (args.problem, args.output):
        if p:
            skip.add(Path(p).resolve())
    folder = Path(args.submissions)
    if not folder.is_dir():
        raise SpecError(f"grade: {folder} is not a directory")
    rows = grade_folder(folder, problem, progress=_Progress(), skip=skip)
    text = report_text(rows, fmt, problem)
    if args.output:
        write_atomic(args.output, text)
        counts = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"graded {len(rows)} submission(s): {summary or 'none'}; report: {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if rows and all(r["status"] == "correct" for r in rows) else 1


def register(sub) -> None:
    """Add ``check`` and ``grade`` to the ``symconv`` command line."""
    from ..cli import add_layer_options

    p = sub.add_parser(
        "check",
        help="check a hand-computed answer and name the likely mistake",
        description="Compare an answer (JSON, CSV rows, LaTeX matrix, NumPy literal or "
        "expressions in the layer's symbols) with the exact result. Exit status 0: correct, "
        "1: wrong, 2: bad input. Without --x/--w the check is symbolic.",
    )
    add_layer_options(p)
    p.add_argument("--problem", help="a problem JSON file (its layer replaces the options)")
    p.add_argument("--quantity", choices=QUANTITIES, help="what the answer is")
    p.add_argument("--answer", required=True, help="answer FILE or TEXT ('-' for stdin)")
    for key, text in (
        ("x", "input values"),
        ("w", "weights"),
        ("b", "bias"),
        ("dy", "upstream gradient dE/dy"),
        ("target", "target yhat (dE/dy = y - yhat)"),
    ):
        p.add_argument(f"--{key}", help=f"{text}: FILE or TEXT in any answer format")
    p.add_argument("--tolerance", default=None, help="for answers with decimals, e.g. 0.01")
    p.add_argument("--convention", choices=["row", "column"], default=None, help="toeplitz")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--hide-solution",
        action="store_true",
        help="report only which entries are wrong and the diagnosis, never expected values",
    )
    p.set_defaults(func=_run_check)

    g = sub.add_parser(
        "grade",
        help="grade a folder of answer files (one per student) against a problem file",
        description="Check every file of SUBMISSIONS_DIR against --problem and write a CSV or "
        "JSON report (atomically; to stdout without -o). The report never contains expected "
        "values. Unreadable or unparseable files are reported and grading continues. Exit "
        "status 0 when every submission is correct, 1 otherwise, 2 for a bad problem file.",
    )
    g.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    g.add_argument("--problem", required=True, help="problem JSON file")
    g.add_argument("-o", "--output", help="report file (.csv or .json)")
    g.add_argument("--format", choices=["csv", "json"], default=None)
    g.set_defaults(func=_run_grade)
