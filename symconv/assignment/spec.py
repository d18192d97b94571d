"""Assignment files: the JSON a teacher writes, read and validated once (see docs/ASSIGNMENT.md).

An assignment has a ``title``, an optional ``course``, a secret ``seed`` and ``questions``.
A question's ``layer`` is a template: every option is a fixed value, ``{"choice": [...]}`` or
``{"range": [lo, hi]}`` (integers, both ends included). :func:`load_assignment` enumerates the
template's layers once (each one built and validated by :mod:`symconv.core.spec`) and keeps
those that meet the question's layer constraints; an empty list is an error naming the
question and the field. Every error reads ``assignment: question <id>: <field> ...``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import itertools
import json
import math
import re
from fractions import Fraction
from pathlib import Path

from ..core.errors import SpecError, SymconvError
from ..core.layers import Layer, avg_pool, conv, conv_transpose, max_pool
from ..grading.compute import QUANTITIES
from ..grading.files import read_capped

__all__ = ["Assignment", "Question", "Givens", "load_assignment", "CONSTRUCTORS", "labels_of"]

CONSTRUCTORS = {
    "conv": conv,
    "conv_transpose": conv_transpose,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
}
_TOP_KEYS = {"title", "course", "seed", "questions", "description"}
_QUESTION_KEYS = {
    "id",
    "points",
    "prompt",
    "layer",
    "quantities",
    "givens",
    "constraints",
    "credit",
    "figure",
}
_GIVEN_NAMES = ("x", "w", "b", "dy")
_GIVEN_KEYS = {"range", "max_nonzeros", "exclude_zero"}
_CONSTRAINT_KEYS = {"min_output_size", "max_abs_answer", "no_zero_dy_row", "no_zero_answer"}
_CREDITS = ("per-entry", "all-or-nothing")
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
#: The most layers a template may enumerate.
MAX_LAYERS = 5000
#: Default range of drawn values.
DEFAULT_RANGE = (-3, 3)


@dataclasses.dataclass(frozen=True)
class Givens:
    """How one given array is drawn: integers in ``[low, high]``, at most ``max_nonzeros``
    non-zero entries (None: no limit), never 0 when ``exclude_zero``."""

    low: int = DEFAULT_RANGE[0]
    high: int = DEFAULT_RANGE[1]
    max_nonzeros: int | None = None
    exclude_zero: bool = False

    def values(self) -> list:
        """The values an entry may take."""
        return [v for v in range(self.low, self.high + 1) if not (self.exclude_zero and v == 0)]


@dataclasses.dataclass(frozen=True)
class Question:
    """One validated question: its layers (every layer the template allows that meets
    ``min_output_size``, with the options each was built from), quantities, givens,
    constraints, credit rule and figure flag."""

    id: str
    points: Fraction
    prompt: str
    layers: tuple  # of (options dict, Layer)
    quantities: tuple
    givens: dict  # name -> Givens
    constraints: dict
    credit: str = "per-entry"
    figure: bool = False

    @property
    def labels(self) -> tuple:
        """The answer labels: the id for one quantity, ``<id>.<quantity>`` for several."""
        return labels_of(self.id, self.quantities)

    def needed(self, spec) -> tuple:
        """The given arrays a layer needs for the asked quantities, in a fixed order."""
        q = set(self.quantities)
        grads = q & {"grad-input", "grad-weight", "grad-bias"}
        out = []
        if q & {"output", "grad-weight"} or (spec.kind == "max_pool" and "grad-input" in q):
            out.append("x")
        if spec.has_weight and q & {"output", "grad-input", "toeplitz"}:
            out.append("w")
        if spec.bias and "output" in q:
            out.append("b")
        if grads:
            out.append("dy")
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A validated assignment file: ``title``, ``course``, the secret ``seed`` (text) and the
    :class:`Question` list. ``digest`` identifies the file's content."""

    title: str
    course: str
    seed: str
    questions: tuple
    digest: str
    description: str = ""

    @property
    def labels(self) -> tuple:
        return tuple(lab for q in self.questions for lab in q.labels)

    @property
    def points(self) -> Fraction:
        return sum((q.points for q in self.questions), Fraction(0))

    def question(self, qid):
        for q in self.questions:
            if q.id == qid:
                return q
        raise SpecError(f"assignment: no question {qid!r}")


def labels_of(qid, quantities) -> tuple:
    if len(quantities) == 1:
        return (qid,)
    return tuple(f"{qid}.{q}" for q in quantities)


def _err(where, field, rule, value):
    return SpecError(f"assignment: {where}: {field} must be {rule}, got {value!r}")


def _int(where, field, v, low=None):
    if isinstance(v, bool) or not isinstance(v, int) or (low is not None and v < low):
        rule = "an integer" + (f" >= {low}" if low is not None else "")
        raise _err(where, field, rule, v)
    return v


def _options(where, name, value) -> list:
    """The values a layer option may take: a fixed value, a choice or an integer range."""
    if isinstance(value, dict):
        if set(value) == {"choice"}:
            opts = value["choice"]
            if not isinstance(opts, list) or not opts:
                raise _err(where, f"layer.{name}.choice", "a non-empty list", opts)
            return [_plain(v) for v in opts]
        if set(value) == {"range"}:
            r = value["range"]
            if (
                not isinstance(r, list)
                or len(r) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in r)
                or r[0] > r[1]
            ):
                raise _err(where, f"layer.{name}.range", "[low, high] integers, low <= high", r)
            return list(range(r[0], r[1] + 1))
        raise _err(
            where, f"layer.{name}", "a value, {'choice': [...]} or {'range': [lo, hi]}", value
        )
    return [_plain(value)]


def _plain(v):
    if isinstance(v, list):
        return tuple(_plain(u) for u in v)
    if isinstance(v, Fraction):
        return float(v)  # rejected by the spec with its own message
    return v


def _layers(where, data) -> tuple:
    if not isinstance(data, dict):
        raise _err(where, "layer", "an object with kind and options", data)
    data = dict(data)
    ndim = data.pop("ndim", 2)
    if ndim not in (1, 2, 3):
        raise _err(where, "layer.ndim", "1, 2 or 3", ndim)
    kinds = [str(k).replace("-", "_") for k in _options(where, "kind", data.pop("kind", "conv"))]
    for k in kinds:
        if k not in CONSTRUCTORS:
            raise _err(where, "layer.kind", f"one of {sorted(CONSTRUCTORS)}", k)
    for key in ("input_size", "kernel_size"):
        if key not in data:
            raise SpecError(f"assignment: {where}: layer needs {key}")
    names = sorted(data)
    for k in kinds:
        allowed = set(inspect.signature(CONSTRUCTORS[k]).parameters) - {"output_shape"}
        unknown = sorted(set(names) - allowed)
        if unknown:
            raise SpecError(
                f"assignment: {where}: layer has unknown option(s) {unknown} for a {k} layer; "
                f"allowed: {sorted(allowed)}"
            )
    choices = [_options(where, n, data[n]) for n in names]
    total = len(kinds)
    for c in choices:
        total *= len(c)
    if total > MAX_LAYERS:
        raise _err(where, "layer", f"a template of at most {MAX_LAYERS} layers", total)
    layers, first_error = [], None
    for kind in kinds:
        for combo in itertools.product(*choices):
            opts = dict(zip(names, combo))
            if isinstance(opts["input_size"], int):
                opts["input_size"] = (opts["input_size"],) * ndim
            try:
                layer = CONSTRUCTORS[kind](**opts)
            except SymconvError as exc:
                first_error = first_error or str(exc)
                continue
            layers.append(({"kind": kind, **opts}, layer))
    if not layers:
        raise SpecError(
            f"assignment: {where}: layer: no combination of the template's options is a valid "
            f"layer (first failure: {first_error})"
        )
    return tuple(layers)


def _givens(where, data, quantities) -> dict:
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise _err(where, "givens", "an object", data)
    unknown = sorted(set(data) - set(_GIVEN_NAMES))
    if unknown:
        raise SpecError(
            f"assignment: {where}: givens has unknown key(s) {unknown}; allowed: "
            f"{list(_GIVEN_NAMES)}"
        )
    out = {}
    for name in _GIVEN_NAMES:
        g = data.get(name, {})
        field = f"givens.{name}"
        if not isinstance(g, dict):
            raise _err(where, field, "an object", g)
        bad = sorted(set(g) - _GIVEN_KEYS)
        if bad:
            raise SpecError(
                f"assignment: {where}: {field} has unknown key(s) {bad}; allowed: "
                f"{sorted(_GIVEN_KEYS)}"
            )
        r = g.get("range", list(DEFAULT_RANGE))
        if not isinstance(r, list) or len(r) != 2:
            raise _err(where, f"{field}.range", "[low, high]", r)
        low, high = (_int(where, f"{field}.range", v) for v in r)
        if low > high:
            raise _err(where, f"{field}.range", "[low, high] with low <= high", r)
        nz = g.get("max_nonzeros")
        if nz is not None:
            _int(where, f"{field}.max_nonzeros", nz, low=1)
        ez = g.get("exclude_zero", False)
        if not isinstance(ez, bool):
            raise _err(where, f"{field}.exclude_zero", "true or false", ez)
        giv = Givens(low, high, nz, ez)
        if not giv.values():
            raise _err(where, f"{field}.range", "a range holding a non-zero value", r)
        out[name] = giv
    return out


def _constraints(where, data) -> dict:
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise _err(where, "constraints", "an object", data)
    unknown = sorted(set(data) - _CONSTRAINT_KEYS)
    if unknown:
        raise SpecError(
            f"assignment: {where}: constraints has unknown key(s) {unknown}; allowed: "
            f"{sorted(_CONSTRAINT_KEYS)}"
        )
    out = {"min_output_size": 1, "max_abs_answer": None}
    out["no_zero_dy_row"] = data.get("no_zero_dy_row", False)
    out["no_zero_answer"] = data.get("no_zero_answer", False)
    for key in ("no_zero_dy_row", "no_zero_answer"):
        if not isinstance(out[key], bool):
            raise _err(where, f"constraints.{key}", "true or false", out[key])
    if "min_output_size" in data:
        out["min_output_size"] = _int(
            where, "constraints.min_output_size", data["min_output_size"], 1
        )
    if data.get("max_abs_answer") is not None:
        out["max_abs_answer"] = _int(
            where, "constraints.max_abs_answer", data["max_abs_answer"], 0
        )
    return out


def _question(i, data, seen) -> Question:
    if not isinstance(data, dict):
        raise _err(f"question {i + 1}", "the question", "an object", data)
    qid = data.get("id")
    where = f"question {qid if isinstance(qid, str) else i + 1}"
    if not isinstance(qid, str) or not _ID_RE.match(qid):
        raise _err(where, "id", "a name of letters, digits, _ or - starting with a letter", qid)
    if qid in seen:
        raise _err(where, "id", "unique", qid)
    unknown = sorted(set(data) - _QUESTION_KEYS)
    if unknown:
        raise SpecError(
            f"assignment: {where}: unknown key(s) {unknown}; allowed: {sorted(_QUESTION_KEYS)}"
        )
    points = data.get("points", 1)
    if isinstance(points, float) and math.isfinite(points):
        points = Fraction(repr(points))  # a dict's 2.5 reads as a file's 2.5
    if isinstance(points, bool) or not isinstance(points, (int, Fraction)) or points <= 0:
        raise _err(where, "points", "a positive number", points)
    quantities = data.get("quantities")
    if isinstance(quantities, str):
        quantities = [quantities]
    if not isinstance(quantities, list) or not quantities:
        raise _err(where, "quantities", f"a non-empty list of {QUANTITIES}", quantities)
    for q in quantities:
        if q not in QUANTITIES:
            raise _err(where, "quantities", f"among {QUANTITIES}", q)
    if len(set(quantities)) != len(quantities):
        raise _err(where, "quantities", "distinct", quantities)
    credit = data.get("credit", "per-entry")
    if credit not in _CREDITS:
        raise _err(where, "credit", f"one of {_CREDITS}", credit)
    figure = data.get("figure", False)
    if not isinstance(figure, bool):
        raise _err(where, "figure", "true or false", figure)
    prompt = data.get("prompt", "")
    if not isinstance(prompt, str):
        raise _err(where, "prompt", "text", prompt)
    constraints = _constraints(where, data.get("constraints"))
    if "layer" not in data:
        raise SpecError(f"assignment: {where}: needs a layer")
    layers = _layers(where, data["layer"])
    keep = tuple(
        (o, la)
        for o, la in layers
        if min(la.spec.output_size) >= constraints["min_output_size"] and _fits(la, quantities)
    )
    if not keep:
        raise SpecError(
            f"assignment: {where}: constraints.min_output_size: none of the template's "
            f"{len(layers)} layer(s) has every output size >= {constraints['min_output_size']} "
            f"and allows {quantities}"
        )
    return Question(
        id=qid,
        points=Fraction(points),
        prompt=prompt,
        layers=keep,
        quantities=tuple(quantities),
        givens=_givens(where, data.get("givens"), quantities),
        constraints=constraints,
        credit=credit,
        figure=figure,
    )


def _fits(layer: Layer, quantities) -> bool:
    """Whether every asked quantity exists for the layer."""
    spec = layer.spec
    if "grad-weight" in quantities and not spec.has_weight:
        return False
    if "grad-bias" in quantities and not spec.bias:
        return False
    return not ("toeplitz" in quantities and spec.kind == "max_pool")


def _canonical(value):
    """``value`` with every number as the exact fraction it denotes (a file's decimals are
    parsed as Fractions, a dict's as floats: 0.5 and "0.5" must read alike)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return str(Fraction(repr(value))) if math.isfinite(value) else repr(value)
    if isinstance(value, Fraction):
        return str(value)
    return value


def _digest(data: dict) -> str:
    """What identifies an assignment's content: the same for a file and for the dict it holds,
    whatever the file's layout or key order."""
    text = json.dumps(_canonical(data), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_assignment(source) -> Assignment:
    """Read and validate an assignment (a path to a JSON file, or the dict itself)."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            raw = read_capped(path, "assignment file")
        except OSError as exc:
            raise SpecError(f"assignment: cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw, parse_float=Fraction)
        except (ValueError, RecursionError) as exc:
            raise SpecError(f"assignment: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"assignment: must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise SpecError(f"assignment: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, (str, int)) or seed == "":
        raise _err("file", "seed", "a non-empty secret text or integer", seed)
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        raise _err("file", "questions", "a non-empty list", questions)
    seen, out = set(), []
    for i, q in enumerate(questions):
        out.append(_question(i, q, seen))
        seen.add(out[-1].id)
    for key in ("title", "course", "description"):
        if not isinstance(data.get(key, ""), str):
            raise _err("file", key, "text", data[key])
    return Assignment(
        title=data.get("title", "Assignment"),
        course=data.get("course", ""),
        seed=str(seed),
        questions=tuple(out),
        digest=_digest(data),
        description=data.get("description", ""),
    )
