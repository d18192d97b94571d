"""Moodle XML: one question category per question, holding N pre-drawn Cloze variants.

    >>> from symconv.assignment.export.moodle import export_moodle
    >>> export_moodle("A.json", "questions.xml", variants=20)  # doctest: +SKIP

Moodle imports the file (Question bank > Import > Moodle XML format) as the category
``$course$/top/<title>/<question id>`` per question; a quiz then draws one variant per student
with "Add a random question" from that category. Each variant is a Cloze ("Embedded answers",
``<question type="cloze">``) question: the prompt, the layer, the given matrices and one
NUMERICAL blank per answer entry, laid out in a grid of the answer's shape. A blank lists

- the right value (``=``), with the tolerance :data:`TOLERANCE` when it is not an integer;
- every wrong value the checker's mistake catalogue predicts for that entry (``%0%``), with the
  diagnoses as that answer's feedback (``flipped-kernel: matches true convolution ...``);
- a catch-all ``*`` saying that no catalogued mistake gives the value.

The predictions are the candidates of :mod:`symconv.grading.catalogue` (the hand-written
mistakes and the parametric perturbations of :mod:`symconv.grading.perturb`) computed for the
variant, as :func:`symconv.grading.check` would compute them for a wrong answer. As in the
checker's own reporting rules, pure rearrangements of the result (a transpose, a shift, a
renumbering) and a predicted 0 are not listed: one entry equal to another entry of the result,
or to 0, is no evidence of a mistake. Mistakes predicting the same value are one answer whose
feedback names them all; a value within the tolerance of the right one is never listed.

Variants are drawn deterministically from the assignment's seed as students ``moodle-1`` ...
``moodle-N`` (:func:`~symconv.assignment.variants.draw_question`, verified against the
reference loops); a draw that repeats an earlier variant of the question is redrawn with a salt
while the template allows that many variants. The file is byte-identical for the same
assignment and N. docs/EXPORT_MOODLE.md has the format with Moodle's own names.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy

from ...core.errors import SpecError
from ...fileio import check_folder, write_atomic
from ...grading.catalogue import Case, mistakes_for
from ...grading.check import Checker  # (importing it registers the catalogue's mistakes)
from ...templating import render
from ..answers import AnswerKeyError
from ..handout import layer_text, planes
from ..spec import Assignment
from ..variants import _plain, draw_question, variant_count

__all__ = [
    "export_moodle",
    "DEFAULT_VARIANTS",
    "MAX_VARIANTS",
    "TOLERANCE",
    "predictions",
    "blank",
    "cloze_number",
    "cloze_text",
    "prompt_html",
    "category_path",
    "cdata",
    "xml_comment",
]

#: Pre-drawn variants per question unless ``variants`` says otherwise.
DEFAULT_VARIANTS = 20
#: The most variants per question (a file Moodle imports in one go).
MAX_VARIANTS = 500
#: Absolute tolerance of a non-integer value (Moodle's "accepted error"); students enter
#: fractions as decimals with at least 3 places.
TOLERANCE = Fraction(1, 1000)
#: Decimal places of a non-terminating value in the file.
PLACES = 6
#: Redraws (salts) tried per variant to avoid repeating an earlier one.
MAX_REDRAWS = 100
#: Moodle's default penalty per extra try ("interactive with multiple tries").
PENALTY = "0.3333333"

_OP = "assignment export"
_NAMES = {"x": "x", "w": "w", "b": "b", "dy": "\u2202E/\u2202y"}
_SYMBOLS = {
    "output": "y",
    "grad-input": "\u2202E/\u2202x",
    "grad-weight": "\u2202E/\u2202w",
    "grad-bias": "\u2202E/\u2202b",
    "toeplitz": "W",
    "output-size": "",
}
_QUANTITY_WORDS = {
    "output": "the output y",
    "grad-input": "the gradient \u2202E/\u2202x",
    "grad-weight": "the gradient \u2202E/\u2202w",
    "grad-bias": "the gradient \u2202E/\u2202b",
    "toeplitz": "the unrolled (Toeplitz) matrix W with vec(x) W = vec(y)",
    "output-size": "the output size (one number per spatial axis)",
}
_RIGHT = "right"
_UNLISTED = "wrong: no mistake symconv knows gives this value (an arithmetic slip?)"
#: ``{`` that would start a Cloze blank in text that is not one (``{1:NUMERICAL:``).
_BLANK_START = re.compile(r"\{(?=[0-9]*:)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_moodle(assignment, path, *, variants: int = DEFAULT_VARIANTS) -> Path:
    """Write Moodle XML for ``assignment`` (an :class:`~symconv.assignment.Assignment`, a path
    or a dict) at ``path``: per question a category of ``variants`` pre-drawn Cloze variants
    (see the module docstring). Returns the path written."""
    if (
        isinstance(variants, bool)
        or not isinstance(variants, (int, np.integer))
        or not (1 <= variants <= MAX_VARIANTS)
    ):
        raise SpecError(
            f"{_OP}: variants must be an integer from 1 to {MAX_VARIANTS}, got {variants!r}"
        )
    variants = int(variants)
    path = Path(path)
    check_folder(path, _OP)
    if not isinstance(assignment, Assignment):
        from .. import load

        assignment = load(assignment)
    title = assignment.title or "symconv assignment"
    categories = [_category(assignment, title, q, variants) for q in assignment.questions]
    text = render("moodle/questions.xml.jinja", categories=categories)
    write_atomic(path, text)
    return path


# --- variants ---------------------------------------------------------------------------------


def _draws(assignment, q, n):
    """``[(student, salt, QuestionVariant)]``: n variants of question ``q``, a repeat of an
    earlier one redrawn with the next salt while the template has that many variants."""
    single = dataclasses.replace(assignment, questions=(q,))
    distinct = variant_count(single) >= n
    seen, out = set(), []
    for k in range(1, n + 1):
        student = f"moodle-{k}"
        salt = 0
        qv = draw_question(assignment, q, student, verify=True, salt=salt)
        while distinct and qv.fingerprint() in seen and salt < MAX_REDRAWS:
            salt += 1
            qv = draw_question(assignment, q, student, verify=True, salt=salt)
        seen.add(qv.fingerprint())
        out.append((student, salt, qv))
    return out


# --- predicted wrong values ----------------------------------------------------------------


def _exact(v):
    """A SymPy or Python number as a Fraction, or None (not a finite rational)."""
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if isinstance(v, Fraction):
        return v
    v = sympy.sympify(v)
    if not v.is_Rational:
        return None
    return Fraction(int(v.p), int(v.q))


def predictions(qv, quantity) -> list:
    """Per entry (row-major) of ``quantity``'s answer: the wrong values the mistake catalogue
    predicts, ``[(value, [(code, explanation), ...]), ...]`` in catalogue order (one line per
    code: its first candidate giving that value). Never the right value, never 0."""
    key = np.asarray(qv.answers[quantity], dtype=object)
    givens = {k: _plain(v) for k, v in qv.givens.items()}
    checker = Checker(
        qv.layer,
        quantity,
        givens.get("x"),
        givens.get("w"),
        givens.get("b"),
        givens.get("dy"),
        None,
        0,
        "row",
        1,
    )
    E = checker.calc.compute()
    right = [_exact(v) for v in E.reshape(-1)]
    if E.shape != key.shape or right != [Fraction(v) for v in key.reshape(-1)]:
        raise AnswerKeyError(
            f"{_OP}: question {qv.question.id}: the checker's {quantity} differs from the key "
            f"({qv.layer.spec!r})"
        )
    case = Case(checker.calc, checker.symbols, checker.compare, E, E)
    found = [{} for _ in right]  # value -> {code: explanation}
    for entry in mistakes_for(quantity):
        for cand in entry.build(case):
            C = cand.array
            if C is None or cand.exact_only or C.shape != E.shape:
                continue
            for i, c in enumerate(C.reshape(-1)):
                value = _exact(c)
                if value is None or value == 0 or value == right[i]:
                    continue
                found[i].setdefault(value, {}).setdefault(entry.code, cand.explanation)
    return [[(v, list(codes.items())) for v, codes in per.items()] for per in found]


# --- Cloze syntax --------------------------------------------------------------------------


def cloze_number(v: Fraction) -> str:
    """A number as Moodle's NUMERICAL reads it: ASCII minus, ``.`` decimals, no exponent;
    exact when it has at most :data:`PLACES` decimals, else rounded to them."""
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    scaled = round(v * 10**PLACES)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**PLACES)
    digits = f"{frac:0{PLACES}d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def cloze_text(text: str) -> str:
    """Text made safe inside a Cloze answer's feedback: HTML-escaped, and the characters the
    Cloze syntax reads (``{ } ~ \\``) written as character references, which Moodle decodes
    after it has split the blank. Moodle then reads ``\\}`` and ``\\#`` as ``}`` and ``#``, so
    a backslash before either is doubled."""
    out = html.escape(re.sub(r"\\(?=[}#])", r"\\\\", str(text)), quote=True)
    for ch, ref in (("{", "&#123;"), ("}", "&#125;"), ("~", "&#126;"), ("\\", "&#92;")):
        out = out.replace(ch, ref)
    return out


def _answer(value: Fraction) -> str:
    """The answer and its accepted error: ``-12``, ``0.333333:0.001``."""
    text = cloze_number(value)
    return text if value.denominator == 1 else f"{text}:{cloze_number(TOLERANCE)}"


def _near(a: Fraction, b: Fraction) -> bool:
    """Whether two values cannot be told apart (their accepted intervals overlap)."""
    tol = lambda v: 0 if v.denominator == 1 else TOLERANCE  # noqa: E731
    return abs(a - b) <= tol(a) + tol(b)


def blank(weight: int, right: Fraction, wrong) -> tuple:
    """``(cloze, listed)``: the NUMERICAL blank ``{weight:NUMERICAL:=right#right~%0%wrong#
    diagnoses~...~%0%*#...}`` and the wrong values listed ``[(value, [(code, text)])]``
    (values within the tolerance of the right one dropped, of an earlier one merged)."""
    listed = []
    for value, codes in wrong:
        if _near(value, right):
            continue
        for earlier in listed:
            if _near(value, earlier[0]):
                names = {c for c, _ in earlier[1]}
                earlier[1].extend((c, t) for c, t in codes if c not in names)
                break
        else:
            listed.append((value, list(codes)))
    parts = [f"={_answer(right)}#{_RIGHT}"]
    for value, codes in listed:
        feedback = "; ".join(f"{code}: {text}" for code, text in codes)
        parts.append(f"%0%{_answer(value)}#{cloze_text(feedback)}")
    parts.append(f"%0%*#{cloze_text(_UNLISTED)}")
    return "{" + f"{weight}:NUMERICAL:" + "~".join(parts) + "}", listed


# --- HTML ----------------------------------------------------------------------------------


def _planes(shape):
    """``[(suffix, [[flat index, ...], ...])]``: the grids an array of ``shape`` is shown as,
    split as the handout splits it (:func:`symconv.assignment.handout.planes`; leading axes
    become ``[i,j]``)."""
    idx = np.arange(math.prod(shape)).reshape(shape)
    return [
        (f"[{sub}]" if sub else "", [[int(i) for i in row] for row in rows])
        for sub, rows in planes(idx)
    ]


def _grids(name, shape, cell, single=True):
    """Grids for the template: ``{"name", "rows": [[cell text, ...], ...]}``; the name is
    left out of a lone grid unless ``single``."""
    planes = _planes(tuple(shape))
    return [
        {
            "name": name + suffix if (single or len(planes) > 1) else "",
            "rows": [[cell(i) for i in row] for row in rows],
        }
        for suffix, rows in planes
    ]


def prompt_html(text: str) -> str:
    """The teacher's prompt (LaTeX) as HTML for Moodle's MathJax filter: text escaped,
    ``$$...$$`` as ``\\[...\\]``, ``$...$`` as ``\\(...\\)``, ``\\$`` a dollar, ``~`` a
    no-break space (``&#160;``); a ``{`` that would start a Cloze blank written as ``&#123;``."""
    out, i, s = [], 0, str(text)
    while i < len(s):
        if s.startswith("\\$", i):
            out.append("$")
            i += 2
            continue
        for delim, left, right in (("$$", "\\[", "\\]"), ("$", "\\(", "\\)")):
            if s.startswith(delim, i):
                end = s.find(delim, i + len(delim))
                if end > i + len(delim) - 1:
                    math_text = s[i + len(delim) : end]
                    out.append(left + html.escape(math_text, quote=False) + right)
                    i = end + len(delim)
                    break
        else:
            ch = s[i]
            out.append("&#160;" if ch == "~" else html.escape(ch, quote=False))
            i += 1
    return _BLANK_START.sub("&#123;", "".join(out))


def _value_text(v) -> str:
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    return f"{'-' if v < 0 else ''}{abs(v.numerator)}/{v.denominator}"


# --- questions -----------------------------------------------------------------------------


def _weights(q, qv) -> dict:
    """Marks per blank of each answer, so that every answer of the question weighs the same
    (symconv's per-entry credit: the mean over the answers of the fraction right)."""
    sizes = {qty: int(np.asarray(qv.answers[qty]).size) for qty in q.quantities}
    lcm = math.lcm(*sizes.values())
    return {qty: lcm // n for qty, n in sizes.items()}


def _question(q, k, n, student, salt, qv, decimals):
    weights = _weights(q, qv)
    parts, key = [], []
    for label, qty in zip(q.labels, q.quantities):
        answer = np.asarray(qv.answers[qty], dtype=object)
        right = [Fraction(v) for v in answer.reshape(-1)]
        wrong = predictions(qv, qty)
        cells = [blank(weights[qty], r, w)[0] for r, w in zip(right, wrong)]
        shape = "\u00d7".join(str(d) for d in answer.shape if d != 1) or "1"
        parts.append(
            {
                "label": html.escape(label),
                "what": html.escape(_QUANTITY_WORDS[qty]),
                "shape": shape,
                "grids": _grids(_SYMBOLS[qty], answer.shape, lambda i: cells[i], False),
            }
        )
        key.append(
            {
                "label": html.escape(label),
                "grids": _grids(
                    _SYMBOLS[qty], answer.shape, lambda i: _value_text(right[i]), False
                ),
            }
        )
    givens = []
    for name, arr in qv.givens.items():
        arr = np.asarray(arr, dtype=object)
        flat = arr.reshape(-1)
        givens.extend(_grids(html.escape(_NAMES[name]), arr.shape, lambda i: _value_text(flat[i])))
    layer = html.escape(layer_text(qv.layer.spec))
    width = len(str(n))
    text = render(
        "moodle/question.html.jinja",
        prompt=prompt_html(q.prompt),
        layer=layer,
        givens=givens,
        parts=parts,
        decimals=decimals,
        places=3,
        tolerance=cloze_number(TOLERANCE),
    )
    feedback = render("moodle/key.html.jinja", layer=layer, key=key)
    return {
        "name": f"{q.id} variant {k:0{width}d} of {n}",
        "comment": xml_comment(f"{q.id} variant {k}: drawn as student {student!r}, salt {salt}"),
        "questiontext": cdata(text),
        "generalfeedback": cdata(feedback),
        "penalty": PENALTY,
    }


def _category(assignment, title, q, n) -> dict:
    draws = _draws(assignment, q, n)
    decimals = any(
        Fraction(v).denominator != 1
        for _, _, qv in draws
        for qty in q.quantities
        for v in np.asarray(qv.answers[qty], dtype=object).reshape(-1)
    )
    questions = [
        _question(q, k, n, student, salt, qv, decimals)
        for k, (student, salt, qv) in enumerate(draws, start=1)
    ]
    info = (
        f"<p>{n} pre-drawn variants of question {html.escape(q.id)} of "
        f"{html.escape(title)} (symconv). In a quiz: Add, a random question, from this "
        "category.</p>"
    )
    return {
        "path": category_path(["$course$", "top", title, q.id]),
        "info": cdata(info),
        "questions": questions,
    }


def category_path(names) -> str:
    """Moodle's category path: names joined by ``/``, a ``/`` inside a name doubled, a name
    starting or ending with ``/`` padded with a space (as Moodle's own export writes it),
    then XML-escaped."""
    escaped = []
    for name in names:
        name = " ".join(str(name).split()).replace("/", "//")
        if name.startswith("/"):
            name = " " + name
        if name.endswith("/"):
            name = name + " "
        escaped.append(name)
    return html.escape(_xml_chars("/".join(escaped)), quote=False)


def _xml_chars(text: str) -> str:
    """``text`` without the control characters XML 1.0 does not allow."""
    return _CONTROL.sub("", text)


def cdata(text: str) -> str:
    """``text`` as an XML CDATA section (a ``]]>`` inside split across two sections)."""
    return "<![CDATA[" + _xml_chars(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_comment(text: str) -> str:
    """``text`` made valid inside ``<!-- -->`` (no ``--``, no final ``-``)."""
    text = _xml_chars(text)
    while "--" in text:
        text = text.replace("--", "- -")
    return text + " " if text.endswith("-") else text
