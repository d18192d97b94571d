"""What an exported PrairieLearn question runs: its ``server.py`` calls :func:`load_question`
and hands PrairieLearn's ``data`` dict to :meth:`ExportedQuestion.generate`, ``parse`` and
``grade`` (docs/EXPORT_PRAIRIELEARN.md).

The question's definition (its layers, givens, constraints, credit rule) and the assignment's
secret seed sit in ``symconv-question.json`` next to ``server.py``, server-side only. A variant
is drawn exactly as :mod:`symconv.assignment.variants` draws a student's, keyed by
``pl-<variant_seed>`` instead of a student id, so the same ``variant_seed`` always gives the
same numbers.

Answers are entered in ``pl-matrix-component-input`` grids: an answer of shape ``(..., n)`` is
shown as a 2-D grid of ``prod(...)`` rows and ``n`` columns (channels and kernel blocks stacked
top to bottom, a vector as one row); the element names its cells ``<name>1`` ...
``<name><rows*columns>`` in row-major order and submits each cell's text, which is read here by
symconv's whitelist parser (never eval) and graded by :func:`symconv.grading.check`.
"""

from __future__ import annotations

import json
import math
import os
import re
from fractions import Fraction

import numpy as np

from ...core.answers import parse_answer_ex
from ...core.errors import SpecError, SymconvError
from ..grade import check_part
from ..handout import matrices
from ..spec import CONSTRUCTORS, Assignment, Givens, Question
from ..variants import _plain, draw_question

__all__ = [
    "SPEC_FILE",
    "FORMAT",
    "ExportedQuestion",
    "load_question",
    "question_data",
    "answer_name",
    "grid_shape",
    "variant_key",
    "figure_name",
]

#: The file next to server.py holding the question and the secret seed.
SPEC_FILE = "symconv-question.json"
#: The version of that file's layout.
FORMAT = "symconv-prairielearn/1"
#: The longest text read from one cell.
MAX_CELL_CHARS = 200
_LOADED: dict = {}


def answer_name(label: str) -> str:
    """The ``answers-name`` of an answer: its symconv label with every character other than
    a letter, a digit or ``_`` written ``_`` (``q2.grad-input`` -> ``q2_grad_input``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", label)


def variant_key(variant_seed) -> str:
    """The key a PrairieLearn variant is drawn with, in place of a student id."""
    return f"pl-{variant_seed}"


def figure_name(index: int) -> str:
    """The file in clientFilesQuestion/ picturing the template's layer ``index``."""
    return f"layer-{index + 1}.svg"


def grid_shape(shape) -> tuple:
    """The 2-D grid an answer of ``shape`` is entered in: the last axis across, the others
    stacked top to bottom; a vector is one row."""
    shape = tuple(int(n) for n in shape)
    if not shape:
        return (1, 1)
    if len(shape) == 1:
        return (1, shape[0])
    return (math.prod(shape[:-1]), shape[-1])


def layout_text(shape) -> str:
    """How the grid of an answer of ``shape`` is laid out, in words (empty for a matrix;
    leading axes of size 1 do not count)."""
    shape = tuple(int(n) for n in shape)
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) <= 1:
        return "one row" if shape and shape[0] > 1 else ""
    if len(shape) == 2:
        return ""
    rows = shape[-2]
    blocks = list(np.ndindex(shape[:-2]))
    parts = []
    for k, idx in enumerate(blocks):
        name = ",".join(str(i + 1) for i in idx)
        parts.append(f"rows {k * rows + 1}-{(k + 1) * rows}: [{name}]")
    return (
        f"{len(blocks)} blocks of {rows} x {shape[-1]} stacked top to bottom ("
        + "; ".join(parts)
        + ")"
    )


def _json_value(v):
    if isinstance(v, (list, tuple)):
        return [_json_value(u) for u in v]
    return v


def _option_value(v):
    """JSON lists back to the tuples the layer constructors were given."""
    if isinstance(v, list):
        return tuple(_option_value(u) for u in v)
    return v


def question_data(assignment: Assignment, q: Question, figures: bool = False) -> dict:
    """The JSON-ready definition of question ``q`` (and the assignment's seed) that
    :class:`ExportedQuestion` rebuilds it from: every layer the template allows, in order;
    ``figures``: clientFilesQuestion/ holds one picture per layer (:func:`figure_name`)."""
    from ..._version import __version__

    return {
        "format": FORMAT,
        "symconv": __version__,
        "assignment": {
            "title": assignment.title,
            "course": assignment.course,
            "seed": assignment.seed,
            "digest": assignment.digest,
        },
        "question": {
            "id": q.id,
            "points": str(q.points),
            "prompt": q.prompt,
            "quantities": list(q.quantities),
            "credit": q.credit,
            "figure": q.figure,
            "figures": figures,
            "constraints": dict(q.constraints),
            "givens": {
                name: {
                    "low": g.low,
                    "high": g.high,
                    "max_nonzeros": g.max_nonzeros,
                    "exclude_zero": g.exclude_zero,
                }
                for name, g in q.givens.items()
            },
            "layers": [{k: _json_value(v) for k, v in opts.items()} for opts, _ in q.layers],
        },
        "answers": [
            {"name": answer_name(label), "label": label, "quantity": qty}
            for label, qty in zip(q.labels, q.quantities)
        ],
    }


class _Layers:
    """The template's layers, each built when a draw first picks it (a question may allow
    thousands; a variant uses one)."""

    def __init__(self, options):
        self.options = [{k: _option_value(v) for k, v in o.items()} for o in options]
        self.built = {}

    def __len__(self):
        return len(self.options)

    def __getitem__(self, i):
        if i not in self.built:
            opts = dict(self.options[i])
            kind = opts.pop("kind")
            self.built[i] = ({"kind": kind, **opts}, CONSTRUCTORS[kind](**opts))
        return self.built[i]


def _rebuild(spec: dict):
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        found = spec.get("format") if isinstance(spec, dict) else type(spec).__name__
        raise SpecError(f"prairielearn: {SPEC_FILE} must have format {FORMAT!r}, got {found!r}")
    a, d = spec["assignment"], spec["question"]
    q = Question(
        id=d["id"],
        points=Fraction(d["points"]),
        prompt=d["prompt"],
        layers=_Layers(d["layers"]),
        quantities=tuple(d["quantities"]),
        givens={name: Givens(**g) for name, g in d["givens"].items()},
        constraints=dict(d["constraints"]),
        credit=d["credit"],
        figure=d["figure"],
    )
    assignment = Assignment(
        title=a["title"], course=a["course"], seed=a["seed"], questions=(q,), digest=a["digest"]
    )
    return assignment, q


def given_tex(name: str, arr) -> list:
    """``[{"tex": ...}]``: the given array as LaTeX matrices, as the handout prints them
    (:func:`symconv.assignment.handout.matrices`), each row of a matrix on one line."""
    return [
        {"tex": f"{m['name']} = \\begin{{bmatrix}} {m['body']} \\end{{bmatrix}}"}
        for m in matrices(name, arr, sep=r" \\ ")
    ]


def _plain_number(v):
    v = Fraction(v)
    return v.numerator if v.denominator == 1 else float(v)


def _cell_value(text):
    """The exact number in one cell's text, or the reason it cannot be read."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None, "no answer was given"
    if not isinstance(text, str):
        text = repr(text)
    try:
        parsed = parse_answer_ex(text, expect_scalar=True, max_chars=MAX_CELL_CHARS)
    except SymconvError as exc:
        return None, str(exc).removeprefix("answer: ")
    value = parsed.values[()] if parsed.values.ndim == 0 else None
    if value is None or not getattr(value, "is_Number", False):
        return None, f"must be one number, got {text!r}"
    return value, None


class ExportedQuestion:
    """One exported question, rebuilt from its ``symconv-question.json`` data."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.assignment, self.question = _rebuild(spec)
        self.answers = spec["answers"]

    @classmethod
    def from_file(cls, path) -> "ExportedQuestion":
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def variant(self, variant_seed, verify=False):
        """The :class:`~symconv.assignment.variants.QuestionVariant` of ``variant_seed``."""
        return draw_question(
            self.assignment, self.question, variant_key(variant_seed), verify=verify
        )

    # -- PrairieLearn's phases ------------------------------------------------------------

    def generate(self, data: dict) -> None:
        """Draw the variant of ``data["variant_seed"]`` into ``data["params"]`` (the layer,
        the given matrices as LaTeX and as numbers, each answer's grid layout) and
        ``data["correct_answers"]`` (one 2-D list per answer, exact integers or floats)."""
        qv = self.variant(data["variant_seed"], verify=True)
        spec = qv.layer.spec
        params = data.setdefault("params", {})
        params["layer"] = repr(spec).split(" -> ")[0]
        params["layer_options"] = {k: _json_value(v) for k, v in qv.options.items()}
        params["givens"] = [m for name, arr in qv.givens.items() for m in given_tex(name, arr)]
        params["given_values"] = {k: _plain(v) for k, v in qv.givens.items()}
        if self.spec["question"].get("figures"):
            options = {k: _json_value(v) for k, v in qv.options.items()}
            index = self.spec["question"]["layers"].index(options)
            params["figure"] = figure_name(index)
        correct = data.setdefault("correct_answers", {})
        for a in self.answers:
            key = qv.answers[a["quantity"]]
            m, n = grid_shape(key.shape)
            flat = [_plain_number(v) for v in key.reshape(-1)]
            correct[a["name"]] = [flat[i * n : (i + 1) * n] for i in range(m)]
            params[a["name"] + "_shape"] = list(key.shape)
            params[a["name"] + "_layout"] = layout_text(key.shape)

    def _read(self, data, name, shape):
        """``(cell texts in the answer's shape, {cell: reason})`` of one answer."""
        m, n = grid_shape(shape)
        raw = data.get("raw_submitted_answers") or {}
        sub = data.get("submitted_answers") or {}
        texts, bad = [], {}
        for k in range(1, m * n + 1):
            cell = f"{name}{k}"
            text = raw[cell] if isinstance(raw.get(cell), str) else sub.get(cell)
            _, reason = _cell_value(text)
            if reason is not None:
                bad[cell] = reason
            texts.append(text if isinstance(text, str) else repr(text))
        arr = np.empty(len(texts), dtype=object)
        arr[:] = texts
        return arr.reshape(tuple(shape) or ()), bad

    def _format_errors(self, data, name, bad, shape) -> None:
        _, n = grid_shape(shape)
        errors = data.setdefault("format_errors", {})
        where = []
        for cell, reason in bad.items():
            k = int(cell[len(name) :]) - 1
            errors[cell] = reason
            where.append(f"row {k // n + 1}, column {k % n + 1}: {reason}")
        shown = "; ".join(where[:6]) + (f"; and {len(where) - 6} more" if len(where) > 6 else "")
        errors[name] = f"{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} cannot be read ({shown})"

    def parse(self, data: dict) -> None:
        """Set ``data["format_errors"]`` for every cell that is not one number (the element
        has already rejected what it cannot read; symconv's reader is stricter)."""
        qv = self.variant(data["variant_seed"])
        errors = data.get("format_errors") or {}
        for a in self.answers:
            if a["name"] in errors:
                continue
            shape = qv.answers[a["quantity"]].shape
            _, bad = self._read(data, a["name"], shape)
            if bad:
                self._format_errors(data, a["name"], bad, shape)

    def grade(self, data: dict) -> None:
        """Grade every answer with :func:`symconv.grading.check`: ``partial_scores[name]``
        (``score``, ``weight`` 1 and the element's per-cell ``feedback``), the diagnosis in
        ``feedback[name]``, ``score`` (the mean of the parts, or all or nothing). Cells that
        cannot be read go to ``format_errors``."""
        qv = self.variant(data["variant_seed"])
        partial = data.setdefault("partial_scores", {})
        feedback = data.setdefault("feedback", {})
        scores = []
        for a in self.answers:
            name, quantity = a["name"], a["quantity"]
            key = qv.answers[quantity]
            answer, bad = self._read(data, name, key.shape)
            cells = [f"{name}{k}" for k in range(1, key.size + 1)]
            if bad:
                self._format_errors(data, name, bad, key.shape)
                partial[name] = {"score": 0, "weight": 1}
                scores.append(0.0)
                continue
            part = check_part(qv, quantity, answer, reveal=False)
            if part["status"] == "invalid":
                data.setdefault("format_errors", {})[name] = part["notes"][0]
                partial[name] = {"score": 0, "weight": 1}
                scores.append(0.0)
                continue
            # the answer has the key's shape, so mismatches index it (and its grid, row-major)
            wrong = {int(np.ravel_multi_index(i, key.shape)) for i in part["wrong_index"]}
            score = part["score"]
            if self.question.credit == "all-or-nothing":
                score = 1.0 if part["status"] == "correct" else 0.0
            partial[name] = {
                "score": score,
                "weight": 1,
                "feedback": {
                    c: ("incorrect" if i in wrong else "correct") for i, c in enumerate(cells)
                },
            }
            feedback[name] = _feedback_text(part, key.size)
            scores.append(score)
        if self.question.credit == "all-or-nothing":
            data["score"] = 1.0 if all(s == 1.0 for s in scores) else 0.0
        else:
            data["score"] = sum(scores) / len(scores) if scores else 0.0


def _feedback_text(part: dict, size: int) -> str:
    """The verdict of a graded part (:func:`symconv.assignment.grade.check_part`) in words: the
    wrong entries by name and the likely mistakes (no expected value: the answer panel shows
    the key when the course allows it)."""
    if part["status"] == "correct":
        return "Correct."
    wrong = part["wrong"]
    n = len(wrong)
    names = ", ".join(wrong[:12]) + (" ..." if n > 12 else "")
    text = f"{n} of {size} entries wrong ({names})." if n else "Wrong."
    for d in part["diagnosis"]:
        text += f" Likely mistake {d}."
    for note in part["notes"]:
        text += f" Note: {note}."
    return text


def load_question(folder) -> ExportedQuestion:
    """The question exported into ``folder`` (its ``symconv-question.json``), read once per
    process."""
    path = os.path.join(os.fspath(folder), SPEC_FILE)
    if path not in _LOADED:
        _LOADED[path] = ExportedQuestion.from_file(path)
    return _LOADED[path]
