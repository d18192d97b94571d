"""The homework checker: answer formats, every diagnosis code, safety, grading and the CLI.

Expected values come from independent oracles: :mod:`symconv.reference` (plain loops, no SymPy,
no index map) and small NumPy/Python computations written here, never from ``symconv.check``.

Two layers carry the diagnosis table: seed 000 (3x3 input, 2x2 kernel) and a strided, padded,
multi-channel layer with bias (``MC``: 5x5 input, 3x3 kernel, 2 -> 2 channels, stride 2,
padding 1). Where a code cannot occur on seed 000 the table uses the closest layer where it can
(documented in ``SEED_SUBSTITUTES``): ``stride`` needs a stride > 1 (seed 000 has stride 1) and
``missing-bias`` needs a bias (seed 000 has none).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy

import symconv
from symconv import reference
from symconv.check import CheckResult, check, grade_folder, load_problem
from symconv.cli import main
from symconv.errors import AnswerError, SpecError

# ---------------------------------------------------------------------- fixtures and oracles
SEED_X = [[1, 2, 0], [0, 1, 3], [2, 1, 1]]
SEED_W = [[1, -1], [2, 0]]
SEED_T = [[1, 0], [0, 2]]
SEED_DY = [[1, -2], [3, 1]]

#: Codes that cannot occur on seed 000, and the seed-000-like layer used for them instead.
SEED_SUBSTITUTES = {
    "stride": dict(input_size=(4, 4), kernel_size=2, stride=2),
    "missing-bias": dict(input_size=(3, 3), kernel_size=2, bias=True),
}


def F(a):
    """An exact object array of Fractions."""
    arr = np.array(a, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = Fraction(arr[idx])
    return out


def js(a) -> str:
    """An answer as JSON nested lists (fractions as strings)."""

    def conv(v):
        v = Fraction(v)
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"

    arr = np.asarray(a, dtype=object)
    return json.dumps(np.vectorize(conv, otypes=[object])(arr).tolist())


def rot(a, nsp=2):
    a = np.asarray(a, dtype=object)
    return a[(Ellipsis,) + (slice(None, None, -1),) * nsp]


def oracle(spec, x, w=None, b=None, dy=None, target=None):
    """y, dx, dw, db by the reference loops (dy = y - target with a target)."""
    spec = getattr(spec, "spec", spec)
    x = F(x).reshape(spec.x_shape)
    w = None if w is None else F(w).reshape(spec.w_shape)
    b = None if b is None else F(b).reshape(spec.b_shape)
    y = reference.forward(spec, x, w, b)
    if target is not None:
        dy = y - F(target).reshape(y.shape)
    if dy is None:
        return y, None, None, None
    dx, dw, db = reference.backward(spec, F(dy).reshape(y.shape), x, w)
    return y, dx, dw, db


def toeplitz_column(spec, w):
    """T with vec(y) = T vec(x): column i is the output for the i-th unit input (no bias)."""
    spec = getattr(spec, "spec", spec)
    n_x = int(np.prod(spec.x_shape))
    cols = []
    for i in range(n_x):
        e = np.zeros(n_x, dtype=object)
        e[:] = Fraction(0)
        e[i] = Fraction(1)
        y = reference.forward(spec, e.reshape(spec.x_shape), F(w).reshape(spec.w_shape))
        cols.append(y.reshape(-1))
    return np.array(cols, dtype=object).T


def mc_layer(**changes):
    kw = dict(in_channels=2, out_channels=2, stride=2, padding=1, bias=True)
    kw.update(changes)
    return symconv.conv((5, 5), 3, **kw)


@pytest.fixture(scope="module")
def mc_values():
    rng = np.random.default_rng(7)
    return dict(
        x=rng.integers(-3, 4, size=(2, 5, 5)).tolist(),
        w=rng.integers(-2, 3, size=(2, 2, 3, 3)).tolist(),
        b=[1, -2],
        target=rng.integers(-4, 5, size=(2, 3, 3)).tolist(),
        dy=rng.integers(-3, 4, size=(2, 3, 3)).tolist(),
    )


def seed_oracle(**kw):
    kw = {**dict(x=SEED_X, w=SEED_W), **kw}
    return oracle(symconv.conv((3, 3), 2, **kw.pop("layer", {})), **kw)


def codes_of(result: CheckResult) -> list:
    assert isinstance(result, CheckResult)
    return result.codes


# ---------------------------------------------------------------------- answer formats
FRAC_W = [[Fraction(1, 2), -1], [Fraction(3, 4), 0]]


def _entry_text(v, style):
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    if style == "latex":
        sign = "-" if v < 0 else ""
        return rf"{sign}\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    return f"{v.numerator}/{v.denominator}"


def render(arr, fmt):
    """The 2-D matrix ``arr`` written in one answer format (a test-side writer)."""
    rows = [
        [_entry_text(v, "latex" if "matrix" in fmt or fmt == "array" else "plain") for v in row]
        for row in np.asarray(arr, dtype=object)
    ]
    if fmt == "json":
        return json.dumps([[int(e) if "/" not in e else e for e in r] for r in rows])
    if fmt == "csv-spaces":
        return "\n".join(" ".join(r) for r in rows) + "\n"
    if fmt == "csv-commas":
        return "\n".join(", ".join(r) for r in rows) + "\n"
    if fmt == "semicolons":
        return "; ".join(" ".join(r) for r in rows)
    if fmt in ("bmatrix", "pmatrix"):
        body = r" \\ ".join(" & ".join(r) for r in rows)
        return rf"\begin{{{fmt}}} {body} \end{{{fmt}}}"
    if fmt == "array":
        body = " \\\\\n".join(" & ".join(r) for r in rows)
        return "\\[ \\left[\\begin{array}{cc}\n" + body + "\n\\end{array}\\right] \\]"
    if fmt == "dollar-labelled":
        body = r" \\ ".join(" & ".join(r) for r in rows)
        return rf"$$ y = \begin{{bmatrix}} {body} \end{{bmatrix}} $$"
    if fmt == "numpy":
        return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"
    if fmt == "numpy-array":
        return "array([" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "])"
    raise ValueError(fmt)


FORMATS = [
    "json",
    "csv-spaces",
    "csv-commas",
    "semicolons",
    "bmatrix",
    "pmatrix",
    "array",
    "dollar-labelled",
    "numpy",
    "numpy-array",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_numeric_answer_formats(fmt):
    y = seed_oracle(w=FRAC_W)[0][0]  # has fractions and negative numbers
    assert any(Fraction(v).denominator > 1 for v in y.reshape(-1))
    assert any(v < 0 for v in y.reshape(-1))
    text = render(y, fmt)
    r = check(symconv.conv((3, 3), 2), "output", text, x=SEED_X, w=FRAC_W)
    assert r.correct and r.score == 1.0 and r.codes == [], (text, r.to_text())
    wrong = y.copy()
    wrong[1, 0] += 1
    r = check(symconv.conv((3, 3), 2), "output", render(wrong, fmt), x=SEED_X, w=FRAC_W)
    assert not r.correct and r.score == 0.75
    assert [m.index for m in r.mismatches] == [(0, 1, 0)]
    assert r.label(r.mismatches[0].index) == "y_21"


def test_numpy_printed_form_and_array_like_answers():
    y = seed_oracle()[0][0]  # [[-1, 4], [3, 0]]
    printed = (
        "[[" + " ".join(str(v) for v in y[0]) + "]\n [" + " ".join(str(v) for v in y[1]) + "]]"
    )
    layer = symconv.conv((3, 3), 2)
    assert check(layer, "output", printed, x=SEED_X, w=SEED_W).correct
    assert check(layer, "output", y.tolist(), x=SEED_X, w=SEED_W).correct
    assert check(layer, "output", np.array(y.tolist(), dtype=np.int64), x=SEED_X, w=SEED_W).correct
    as_strings = [[str(v) for v in row] for row in y]
    assert check(layer, "output", as_strings, x=SEED_X, w=SEED_W).correct


def test_decimals_are_exact_and_tolerance_applies_only_to_decimals():
    layer = symconv.avg_pool((3, 3), 3)  # one window of 9 inputs
    x = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]  # mean 1/9
    assert check(layer, "output", "1/9", x=x).correct
    assert check(layer, "output", r"\frac{1}{9}", x=x).correct
    assert not check(layer, "output", "0.111", x=x).correct
    assert check(layer, "output", "0.111", x=x, tolerance="0.001").correct
    assert not check(layer, "output", "0.11", x=x, tolerance="0.001").correct
    # a fraction written exactly is never rescued by the tolerance
    assert not check(layer, "output", "1/10", x=x, tolerance="0.1").correct
    assert check(layer, "output", "0.5", x=[[4.5, 0, 0], [0, 0, 0], [0, 0, 0]]).correct


SEED_Y_SYMBOLIC = [
    "x11*w11 + x12*w12 + x21*w21 + x22*w22",
    "x12 w11 + x13 w12 + x22 w21 + x23 w22",
    "x_{21} w_{11} + x_{22} w_{12} + x_{31} w_{21} + x_{32} w_{22}",
    "x_22*w_11 + x_{2,3}*w_{1,2} + w21 x32 + (w22)(x33)",
]


def test_symbolic_spellings_of_the_layer_symbols():
    layer = symconv.conv((3, 3), 2)
    text = json.dumps([SEED_Y_SYMBOLIC[:2], SEED_Y_SYMBOLIC[2:]])
    r = check(layer, "output", text)
    assert r.correct and r.symbolic, r.to_text()
    latex = r"\begin{bmatrix} %s & %s \\ %s & %s \end{bmatrix}" % tuple(SEED_Y_SYMBOLIC)
    assert check(layer, "output", latex).correct
    # a scalar entry, through a 1-D layer: y_1 = w_1 x_1 + w_2 x_2
    one = symconv.conv(3, 2)
    assert check(one, "output", "[x1 w1 + x2 w2, x_2 w_1 + x_{3} w_{2}]").correct


def test_upstream_gradient_spellings():
    layer = symconv.conv((3, 3), 2)
    d = r"\frac{\partial E}{\partial y_{%s}}"
    dw = [
        [
            f"{d % 11} x_{{11}} + {d % 12} x_{{12}} + dy21 x21 + dE/dy_{{22}} x_{{22}}",
            "dy11 x12 + dy12 x13 + dy21 x22 + dy22 x23",
        ],
        [
            "dy_11*x_21 + dy_12*x_22 + dy_21*x_31 + dy_22*x_32",
            r"\partial E/\partial y_{11} x_{22} + dy12 x23 + dy21 x32 + dy22 x33",
        ],
    ]
    r = check(layer, "grad-weight", json.dumps(dw))
    assert r.correct, r.to_text()
    # the slides' dE/dy = y - yhat may be written out, with y standing for its expansion
    dw[0][0] = r"(y_{11} - \hat{y}_{11}) x_{11} + dy12 x12 + (y21 - yhat21) x21 + dy22 x22"
    assert check(layer, "grad-weight", json.dumps(dw)).correct


def test_powers_and_implicit_multiplication():
    layer = symconv.conv(1, 1)  # y = w1 x1; with target t: dE/dw = (w1 x1 - t) x1
    assert check(layer, "grad-weight", "w1 x1^2 - 3x1", target=[3]).correct
    assert check(layer, "grad-weight", "x_1(w_1 x_1 - 3)", target=[3]).correct
    assert check(layer, "grad-weight", "w1*x1**2 - 3*x1", target=[3]).correct
    r = check(layer, "grad-weight", "w1 x1^2 + 3x1", target=[3])
    assert not r.correct


def test_multichannel_answers_nested_or_stacked(mc_values):
    layer = mc_layer()
    v = mc_values
    y = oracle(layer, v["x"], v["w"], v["b"])[0]
    assert check(layer, "output", js(y), x=v["x"], w=v["w"], b=v["b"]).correct
    stacked = "\n".join(" ".join(str(e) for e in row) for row in y.reshape(6, 3))
    assert check(layer, "output", stacked, x=v["x"], w=v["w"], b=v["b"]).correct


def test_output_size_spellings():
    layer = mc_layer()  # 5x5, k3, s2, p1 -> 3x3
    for text in ("3x3", "3 x 3", "(3, 3)", "[3, 3]", "3, 3", "[2, 3, 3]"):
        assert check(layer, "output-size", text).correct, text
    assert check(symconv.conv(5, 2), "output-size", "4").correct
    assert not check(layer, "output-size", "3x4").correct


# ---------------------------------------------------------------------- diagnosis codes
def _seed_case(code):
    """(layer, quantity, answer, kwargs) for a crafted wrong answer on seed 000 (or on the
    substitute layer of ``SEED_SUBSTITUTES``)."""
    layer = symconv.conv((3, 3), 2)
    num = dict(x=SEED_X, w=SEED_W)
    y, dx, dw, _ = seed_oracle(target=SEED_T)
    dy = y - F(SEED_T).reshape(y.shape)
    if code == "flipped-kernel":
        return layer, "output", js(seed_oracle(layer=dict(flip=True))[0]), num
    if code == "transposed":
        return layer, "output", js(y[0].T), num
    if code == "padding":  # padding 1 where the layer has none: a 4x4 answer
        return layer, "output", js(seed_oracle(layer=dict(padding=1))[0]), num
    if code == "stride":
        sub = symconv.conv(**SEED_SUBSTITUTES["stride"])
        x4 = np.arange(16).reshape(4, 4).tolist()
        return (
            sub,
            "output",
            js(oracle(symconv.conv((4, 4), 2), x4, SEED_W)[0]),
            dict(x=x4, w=SEED_W),
        )
    if code == "missing-bias":
        sub = symconv.conv(**SEED_SUBSTITUTES["missing-bias"])
        return sub, "output", js(y), dict(num, b=[5])
    if code == "unrotated-kernel":
        dx_flip = oracle(symconv.conv((3, 3), 2, flip=True), SEED_X, SEED_W, dy=dy)[1]
        return layer, "grad-input", js(dx_flip), dict(num, target=SEED_T)
    if code == "sign":
        return layer, "grad-weight", js(-dw), dict(num, target=SEED_T)
    if code == "scale":
        return layer, "grad-weight", js(2 * dw), dict(num, target=SEED_T)
    if code == "toeplitz-convention":  # the column-convention T where x W = y was asked
        return layer, "toeplitz", js(toeplitz_column(layer, SEED_W)), dict(w=SEED_W)
    if code == "index-shift":  # 0-based symbols
        ans = [
            [
                " + ".join(f"dy{a}{b} x{a + i}{b + j}" for a in (0, 1) for b in (0, 1))
                for j in (0, 1)
            ]
            for i in (0, 1)
        ]
        return layer, "grad-weight", json.dumps(ans), {}
    if code == "swapped-operands":
        dw_given = seed_oracle(dy=SEED_DY)[2]
        return layer, "grad-weight", js(rot(dw_given)), dict(num, dy=SEED_DY)
    if code == "wrong-shape":
        return layer, "output", js(y.reshape(-1)), num
    raise AssertionError(code)


def _mc_case(code, v):
    layer = mc_layer()
    num = dict(x=v["x"], w=v["w"], b=v["b"])
    y, dx, dw, db = oracle(layer, v["x"], v["w"], v["b"], target=v["target"])
    dy = y - F(v["target"])

    def fwd(**changes):
        lay = mc_layer(**changes)
        return oracle(lay, v["x"], v["w"], v["b"] if lay.spec.bias else None)[0]

    if code == "flipped-kernel":
        return layer, "output", js(fwd(flip=True)), num
    if code == "transposed":
        return layer, "output", js(np.swapaxes(y, -1, -2)), num
    if code == "padding":
        return layer, "output", js(fwd(padding=0)), num
    if code == "stride":
        return layer, "output", js(fwd(stride=1)), num
    if code == "missing-bias":
        return layer, "output", js(fwd(bias=False)), num
    if code == "unrotated-kernel":
        dx_flip = oracle(mc_layer(flip=True), v["x"], v["w"], dy=dy)[1]
        return layer, "grad-input", js(dx_flip), dict(num, target=v["target"])
    if code == "sign":
        return layer, "grad-weight", js(-dw), dict(num, target=v["target"])
    if code == "scale":  # mean over the 18 outputs instead of the sum
        return layer, "grad-input", js(dx / 18), dict(num, target=v["target"])
    if code == "toeplitz-convention":
        return layer, "toeplitz", js(toeplitz_column(layer, v["w"])), dict(w=v["w"])
    if code == "index-shift":  # every output read one column too far right
        shifted = np.full(y.shape, Fraction(0), dtype=object)
        shifted[..., :-1] = y[..., 1:]
        return layer, "output", js(shifted), num
    if code == "swapped-operands":
        dw_given = oracle(layer, v["x"], v["w"], dy=v["dy"])[2]
        return layer, "grad-weight", js(rot(dw_given)), dict(num, dy=v["dy"])
    if code == "wrong-shape":
        return layer, "output", js(y[0]), num
    raise AssertionError(code)


CODES = [
    "flipped-kernel",
    "transposed",
    "padding",
    "stride",
    "missing-bias",
    "unrotated-kernel",
    "sign",
    "scale",
    "toeplitz-convention",
    "index-shift",
    "swapped-operands",
    "wrong-shape",
]


def test_catalogue_is_covered():
    from symconv.check import DIAGNOSES
    from test_grading_mistakes import NEW_CODES
    from test_grading_parametric import PARAMETRIC_CODES

    assert sorted(CODES + NEW_CODES + PARAMETRIC_CODES) == sorted(DIAGNOSES)


def test_diagnoses_are_the_catalogue_in_report_order():
    from symconv.grading import DIAGNOSES, catalogue

    codes = [m.code for m in catalogue.CATALOGUE]
    assert list(DIAGNOSES) == ["wrong-shape"] + codes + ["arithmetic-slip"]
    assert all(DIAGNOSES[m.code] == m.explanation for m in catalogue.CATALOGUE)


def test_a_new_mistake_is_one_catalogue_entry(monkeypatch):
    from symconv.grading import catalogue

    monkeypatch.setattr(catalogue, "CATALOGUE", list(catalogue.CATALOGUE))
    monkeypatch.setattr(catalogue, "DIAGNOSES", dict(catalogue.DIAGNOSES))

    @catalogue.mistake("plus-one", "one added to every entry", quantities=("output",))
    def _plus_one(case):
        yield catalogue.Candidate("every entry is one too large", case.expected + 1)

    x, w = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 2], [3, 4]]
    r = check(symconv.conv((3, 3), 2), "output", "[[38, 48], [68, 78]]", x=x, w=w)
    assert r.codes == ["plus-one"]
    assert r.diagnosis[0].explanation == "every entry is one too large"
    r = check(symconv.conv((3, 3), 2), "grad-input", "[[1, 1, 1], [1, 1, 1], [1, 1, 1]]", x=x, w=w)
    assert "plus-one" not in r.codes
    with pytest.raises(ValueError, match="registered already"):
        catalogue.mistake("sign", "the sign again")(_plus_one)
    with pytest.raises(ValueError, match="unknown quantities"):
        catalogue.mistake("other", "text", quantities=("outputs",))


@pytest.mark.parametrize("code", CODES)
def test_code_on_seed000(code):
    layer, quantity, answer, kwargs = _seed_case(code)
    r = check(layer, quantity, answer, **kwargs)
    assert not r.correct
    assert code in r.codes, r.to_text()
    assert all(isinstance(d.explanation, str) and d.explanation for d in r.diagnosis)


@pytest.mark.parametrize("code", CODES)
def test_code_on_strided_padded_multichannel(code, mc_values):
    layer, quantity, answer, kwargs = _mc_case(code, mc_values)
    r = check(layer, quantity, answer, **kwargs)
    assert not r.correct
    assert code in r.codes, r.to_text()


def test_wrong_shape_states_the_expected_shape(mc_values):
    layer, quantity, answer, kwargs = _mc_case("wrong-shape", mc_values)
    r = check(layer, quantity, answer, **kwargs)
    (shape_diag,) = [d for d in r.diagnosis if d.code == "wrong-shape"]
    assert "(2, 3, 3)" in shape_diag.explanation and r.score == 0
    # padding ignored gives a 2x2 output per channel: wrong shape *and* padding
    layer, quantity, answer, kwargs = _mc_case("padding", mc_values)
    assert check(layer, quantity, answer, **kwargs).codes[:2] == ["wrong-shape", "padding"]


def test_second_level_candidates(mc_values):
    """Backward-pass forms of stride and padding mistakes, and average-pool sums."""
    v = mc_values
    layer = mc_layer()
    num = dict(x=v["x"], w=v["w"], b=v["b"], dy=v["dy"])
    # dE/dy not stride-dilated: the backward pass of a stride-1 layer whose output is 3x3
    undilated = symconv.conv((3, 3), 3, in_channels=2, out_channels=2, padding=1)
    zeros = np.zeros((2, 3, 3), dtype=int).tolist()
    dx_nodil = oracle(undilated, zeros, v["w"], dy=v["dy"])[1]
    assert "stride" in check(layer, "grad-input", js(dx_nodil), **num).codes
    # dE/dx over the zero-padded 7x7 input, not cropped
    padded = symconv.conv((7, 7), 3, in_channels=2, out_channels=2, stride=2)
    xp = np.pad(np.array(v["x"]), [(0, 0), (1, 1), (1, 1)]).tolist()
    dx_pad = oracle(padded, xp, v["w"], dy=v["dy"])[1]
    assert "padding" in check(layer, "grad-input", js(dx_pad), **num).codes
    # average pooling: the window sum instead of the mean
    pool = symconv.avg_pool((4, 4), 2)
    x = np.arange(16).reshape(4, 4).tolist()
    y = oracle(pool, x)[0]
    r = check(pool, "output", js(y * 4), x=x)
    assert r.codes == ["scale"] and "window sum" in r.diagnosis[0].explanation


def test_partial_explanation_names_the_entries(mc_values):
    v = mc_values
    layer = mc_layer()
    y = oracle(layer, v["x"], v["w"], v["b"])[0]
    y_nobias = oracle(mc_layer(bias=False), v["x"], v["w"])[0]
    ans = y.copy()
    ans[0] = y_nobias[0]  # the bias forgotten in channel 1 only
    r = check(layer, "output", js(ans), x=v["x"], w=v["w"], b=v["b"])
    assert r.correct_entries == 9 and r.total_entries == 18
    (diag,) = [d for d in r.diagnosis if d.code == "missing-bias"]
    assert "explains all 9 wrong entries" in diag.explanation


# ---------------------------------------------------------------------- correct answers
def _correct_answers(layer, v):
    y, dx, dw, db = oracle(layer, v["x"], v.get("w"), v.get("b"), target=v.get("target"))
    out = {"output": y, "grad-input": dx}
    if dw is not None:
        out["grad-weight"] = dw
    if db is not None:
        out["grad-bias"] = db
    if layer.spec.kind != "max_pool":
        out["toeplitz"] = toeplitz_column(layer, v["w"]).T if layer.spec.has_weight else None
    out = {q: a for q, a in out.items() if a is not None}
    out["output-size"] = np.array(reference.output_size(layer.spec), dtype=object)
    return out


def test_no_code_for_correct_answers(mc_values):
    seed = dict(x=SEED_X, w=SEED_W, target=SEED_T)
    cases = [(symconv.conv((3, 3), 2), seed), (mc_layer(), mc_values)]
    for layer, v in cases:
        kwargs = {k: v[k] for k in ("x", "w", "b", "target") if k in v}
        for quantity, answer in _correct_answers(layer, v).items():
            r = check(layer, quantity, js(answer), **kwargs)
            assert r.correct and r.codes == [] and r.mismatches == [], (quantity, r.to_text())
            assert r.score == 1.0 and r.correct_entries == r.total_entries


def _seed_symbolic():
    """Seed 000 by hand-written loops over SymPy symbols (independent of the derivation)."""
    sym = sympy.Symbol
    x = [[sym(f"x_{i}{j}", real=True) for j in (1, 2, 3)] for i in (1, 2, 3)]
    w = [[sym(f"w_{i}{j}", real=True) for j in (1, 2)] for i in (1, 2)]
    dy = [[sym(f"dy_{i}{j}", real=True) for j in (1, 2)] for i in (1, 2)]
    r2, r3 = range(2), range(3)
    y = [[sum(w[a][b] * x[i + a][j + b] for a in r2 for b in r2) for j in r2] for i in r2]
    dw = [[sum(dy[i][j] * x[i + a][j + b] for i in r2 for j in r2) for b in r2] for a in r2]
    dx = [
        [
            sum(
                dy[i][j] * w[p - i][q - j]
                for i in r2
                for j in r2
                if 0 <= p - i < 2 and 0 <= q - j < 2
            )
            for q in r3
        ]
        for p in r3
    ]
    W = [[0] * 4 for _ in range(9)]  # x W = y, vec row-major
    for i, j, a, b in itertools.product(r2, r2, r2, r2):
        W[(i + a) * 3 + (j + b)][i * 2 + j] = w[a][b]
    return {"output": y, "grad-weight": dw, "grad-input": dx, "toeplitz": W}


def test_no_code_for_correct_symbolic_answers():
    layer = symconv.conv((3, 3), 2)
    for quantity, arr in _seed_symbolic().items():
        text = str(arr).replace("_", "")  # x_11 -> x11
        r = check(layer, quantity, text)
        assert r.correct and r.codes == [] and r.symbolic, (quantity, r.to_text())


# ---------------------------------------------------------------------- safety
def _payloads(marker: Path) -> list:
    m = str(marker)
    return [
        f"__import__('os').system('touch {m}')",
        f"[[__import__('os').system('touch {m}'), 1], [2, 3]]",
        f"open('{m}', 'w').write('x')",
        f"exec(\"open('{m}', 'w')\")",
        f"eval(\"__import__('os').system('touch {m}')\")",
        "x11.__class__.__bases__",
        "(lambda: 1)()",
        "[i for i in range(10**9)]",
        "9**9**9",
        "2^(9^9)",
        "x11^99999999",
        "1e999999999",
        "9" * 5000,
        "[" * 100_000 + "]" * 100_000,
        "(" * 5000 + "1" + ")" * 5000,
        r"\frac{" * 3000 + "1" + "}{2}" * 3000,
        "1," * 150_000,
        r"\input{/etc/passwd}",
        r"\def\x{1}\x",
        "{{7*7}} ${jndi:ldap://x}",
        "x_{99999999999999999999}",
        "1/0",
    ]


def test_malicious_answers_are_rejected_quickly_and_run_nothing(tmp_path, monkeypatch):
    import builtins

    marker = tmp_path / "pwned"
    calls = []
    real_eval, real_exec = builtins.eval, builtins.exec

    def spy(real):
        def wrapper(src, *args, **kwargs):
            if isinstance(src, str) and ("pwned" in src or "__import__" in src):
                calls.append(src)
            return real(src, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(builtins, "eval", spy(real_eval))
    monkeypatch.setattr(builtins, "exec", spy(real_exec))
    layer = symconv.conv((3, 3), 2)
    start = time.perf_counter()
    for payload in _payloads(marker):
        t0 = time.perf_counter()
        with pytest.raises(AnswerError):
            check(layer, "output", payload)
        assert time.perf_counter() - t0 < 5.0, payload[:60]
        with pytest.raises(AnswerError):
            check(layer, "output", payload, x=SEED_X, w=SEED_W)
    assert time.perf_counter() - start < 20.0
    assert not marker.exists() and calls == []


def test_malicious_answer_on_the_command_line(tmp_path, capsys):
    marker = tmp_path / "pwned"
    code = main(
        ["check", "--quantity", "output", "--answer", f"__import__('os').system('touch {marker}')"]
    )
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: answer:") and not marker.exists()


def test_malicious_values_are_rejected_too(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises((AnswerError, SpecError)):
        check(
            symconv.conv((3, 3), 2),
            "output",
            "[[1, 2], [3, 4]]",
            x=f"__import__('os').system('touch {marker}')",
        )
    assert not marker.exists()


# ---------------------------------------------------------------------- hide-solution
def test_hide_solution_never_shows_expected_values():
    layer = symconv.conv((3, 3), 2)
    x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    w = [[1, 2], [3, 4]]  # y = [[37, 47], [67, 77]] (by hand: 1+4+12+20 = 37, ...)
    r = check(layer, "output", "[[37, 1000], [2000, 3000]]", x=x, w=w)
    assert r.score == 0.25
    text = r.to_text(hide_solution=True)
    data = json.dumps(r.to_dict(hide_solution=True))
    for secret in ("47", "67", "77"):
        assert secret not in text and secret not in data
    assert "y_12" in text and "1000" in text
    full = r.to_text()
    assert "expected 47" in full and "expected" in r.to_dict()


def test_result_fields_and_json_roundtrip():
    r = check(
        symconv.conv((3, 3), 2),
        "grad-weight",
        "[[1, 2], [3, 4]]",
        x=SEED_X,
        w=SEED_W,
        target=SEED_T,
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d) >= {"correct", "mismatches", "diagnosis", "score", "expected_shape"}
    assert d["correct"] is False and d["total_entries"] == 4
    assert all(set(m) == {"index", "entry", "expected", "got"} for m in d["mismatches"])
    m = r.mismatches[0]
    assert m.index == (0, 0, 0, 0) and m.got == 1 and m.expected == 4  # tuple-like fields
    index, expected, got = m


# ---------------------------------------------------------------------- problem files, grading
PROBLEM = {
    "title": "seed 000: dE/dw",
    "layer": {"kind": "conv", "input_size": [3, 3], "kernel_size": 2},
    "quantity": "grad-weight",
    "x": SEED_X,
    "w": SEED_W,
    "target": SEED_T,
}


@pytest.fixture
def problem_file(tmp_path):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(PROBLEM))
    return path


@pytest.fixture
def submissions(tmp_path):
    dw = seed_oracle(target=SEED_T)[2][0, 0]  # [[4, -7], [8, 11]]
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "alice.txt").write_text(render(dw, "bmatrix"))
    (folder / "bob.csv").write_text(render(-dw, "csv-spaces"))
    (folder / "carol.json").write_text(js(rot(dw)))
    (folder / "dave.txt").write_bytes(b"\xff\xfe\x00\x81 corrupt \x00")
    (folder / "erin.txt").write_text("__import__('os').system('true')")
    (folder / "frank.txt").write_text("")
    (folder / ".hidden").write_text("ignored")
    (folder / "notes").mkdir()
    return folder


def test_problem_file_format(problem_file):
    p = load_problem(problem_file)
    assert p.quantity == "grad-weight" and p.layer == symconv.conv((3, 3), 2)
    assert p.check("[[4, -7], [8, 11]]").correct
    # strings hold exact numbers; JSON decimals are read exactly
    p = load_problem({**PROBLEM, "w": [["1/2", -1], [2, 0.25]], "tolerance": "1/100"})
    assert p.values["w"][0][0] == sympy.Rational(1, 2) and p.values["w"][1][1] == sympy.Rational(
        1, 4
    )
    p = load_problem({**PROBLEM, "x": "1 2 0; 0 1 3; 2 1 1"})
    assert p.check("[[4, -7], [8, 11]]").correct


@pytest.mark.parametrize(
    "change, message",
    [
        ({"quantitty": "output"}, "unknown key"),
        ({"quantity": "hessian"}, "quantity must be one of"),
        ({"layer": {"kind": "conv", "input_size": [3, 3], "kernel": 2}}, "unknown option"),
        ({"layer": {"kind": "conv", "input_size": [3, 3], "kernel_size": 0}}, "kernel_size"),
        ({"x": [[1, 2], [3, 4]]}, "x must have shape (1, 3, 3)"),
        ({"w": [[True, 1], [1, 1]]}, "must hold numbers"),
        ({"dy": SEED_T}, "dy or target, not both"),
    ],
)
def test_problem_file_errors(change, message):
    with pytest.raises(SpecError, match=None) as info:
        load_problem({**PROBLEM, **change})
    assert message in str(info.value)


def test_grade_folder_with_a_corrupt_file(problem_file, submissions):
    rows = {r["student"]: r for r in grade_folder(submissions, problem_file)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert rows["alice"]["status"] == "correct" and rows["alice"]["score"] == 1.0
    assert rows["bob"]["status"] == "wrong" and rows["bob"]["diagnosis"] == "sign"
    assert rows["carol"]["status"] == "wrong" and "swapped-operands" in rows["carol"]["diagnosis"]
    assert rows["dave"]["status"] == "unreadable" and "UTF-8" in rows["dave"]["message"]
    assert rows["erin"]["status"] == "invalid" and rows["frank"]["status"] == "invalid"


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_grade_cli_writes_the_report_atomically(
    problem_file, submissions, tmp_path, suffix, capsys
):
    import csv

    report = tmp_path / f"report.{suffix}"
    code = main(["grade", str(submissions), "--problem", str(problem_file), "-o", str(report)])
    out, err = capsys.readouterr()
    assert code == 1 and "graded 6" in out
    assert err == ""  # no progress bar: stderr is not a terminal here
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
    text = report.read_text()
    if suffix == "csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        data = json.loads(text)
        rows = data["submissions"]
        assert data["summary"]["unreadable"] == 1 and data["summary"]["correct"] == 1
    assert {r["student"]: r["status"] for r in rows}["dave"] == "unreadable"
    assert "expected" not in text.lower()
    numeric = {"score", "correct_entries", "total_entries"}
    graded = [r for r in rows if r["status"] in ("correct", "wrong")]
    assert len(graded) == 3
    for row in graded:  # no value of the solution (or of an answer) in any other column
        for key, value in row.items():
            if key not in numeric:
                assert not re.search(r"(?<![\w/])-?\d+(?![\w/])", str(value)), (key, value)


def test_grade_exit_status(problem_file, tmp_path, capsys):
    folder = tmp_path / "good"
    folder.mkdir()
    (folder / "a.txt").write_text("[[4, -7], [8, 11]]")
    (folder / "b.txt").write_text("4 -7\n8 11\n")
    assert main(["grade", str(folder), "--problem", str(problem_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("student,file,status")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["grade", str(folder), "--problem", str(bad)]) == 2
    assert "error: problem:" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "missing"), "--problem", str(problem_file)]) == 2


def test_progress_bar_only_on_a_terminal():
    import io

    from symconv.grading.grade import ProgressBar as _Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    plain, tty = io.StringIO(), Tty()
    for stream in (plain, tty):
        bar = _Progress(stream)
        for i in range(3):
            bar(i, 2, "student")
    assert plain.getvalue() == "" and "grading [" in tty.getvalue()


# ---------------------------------------------------------------------- check CLI
def _cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


SEED_CLI = ["check", "--x", "1 2 0; 0 1 3; 2 1 1", "--w", "[[1, -1], [2, 0]]"]


def test_check_cli_exit_statuses(capsys, tmp_path):
    code, out, err = _cli(SEED_CLI + ["--quantity", "output", "--answer", "-1 4\n3 0"], capsys)
    assert code == 0 and "CORRECT" in out and err == ""
    code, out, _ = _cli(
        SEED_CLI + ["--quantity", "output", "--answer", "[[-1, 3], [4, 0]]"], capsys
    )
    assert code == 1 and "transposed" in out
    code, _, err = _cli(SEED_CLI + ["--quantity", "output", "--answer", "[[1, 2]"], capsys)
    assert code == 2 and err.startswith("error: ")
    code, _, err = _cli(SEED_CLI + ["--quantity", "grad-bias", "--answer", "1"], capsys)
    assert code == 2 and "no bias" in err
    code, _, err = _cli(
        ["check", "--quantity", "output", "--x", "1 2; 3 4", "--answer", "1"], capsys
    )
    assert code == 2 and "shape" in err
    answer = tmp_path / "answer.tex"
    answer.write_text(r"\begin{bmatrix} 4 & -7 \\ 8 & 11 \end{bmatrix}")
    argv = SEED_CLI + [
        "--quantity",
        "grad-weight",
        "--target",
        "1 0; 0 2",
        "--answer",
        str(answer),
    ]
    assert _cli(argv, capsys)[0] == 0


def test_check_cli_json_and_hidden_solution(capsys, problem_file):
    argv = ["check", "--problem", str(problem_file), "--answer", "[[-4, 7], [-8, -11]]"]
    code, out, _ = _cli(argv + ["--format", "json", "--hide-solution"], capsys)
    data = json.loads(out)
    assert code == 1 and data["correct"] is False and data["diagnosis"][0]["code"] == "sign"
    assert "expected" not in data and all("expected" not in m for m in data["mismatches"])
    code, out, _ = _cli(argv, capsys)
    assert code == 1 and "expected 4, got -4" in out


def test_check_cli_symbolic_and_toeplitz_convention(capsys):
    W = r"""\begin{bmatrix} w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 & 0 & 0 & 0 \\
    0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 & 0 & 0 \\
    0 & 0 & 0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 \\
    0 & 0 & 0 & 0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} \end{bmatrix}"""
    code, out, _ = _cli(["check", "--quantity", "toeplitz", "--answer", W], capsys)
    assert code == 1 and "toeplitz-convention" in out
    argv = ["check", "--quantity", "toeplitz", "--convention", "column", "--answer", W]
    assert _cli(argv, capsys)[0] == 0


# ---------------------------------------------------------------------- the example
def test_homework_example_files():
    root = Path(__file__).resolve().parents[1] / "examples" / "homework"
    problem = load_problem(root / "problem.json")
    assert [[int(v) for v in row] for row in problem.values["x"]] == SEED_X
    assert [[int(v) for v in row] for row in problem.values["target"]] == SEED_T
    subs = root / "submissions"
    alice = problem.check((subs / "alice.tex").read_text())
    bob = problem.check((subs / "bob.txt").read_text())
    carol = problem.check((subs / "carol.json").read_text())
    dw = seed_oracle(target=SEED_T)[2].reshape(2, 2)
    assert alice.correct and alice.codes == []
    assert alice.answer.reshape(2, 2).tolist() == dw.tolist()
    assert not bob.correct and bob.codes == ["sign"]
    assert not carol.correct and carol.codes == ["swapped-operands"]


def test_zero_based_layers_and_layer_specs():
    layer = symconv.conv((3, 3), 2)
    text = "[[x00 w00 + x01 w01 + x10 w10 + x11 w11, x01 w00 + x02 w01 + x11 w10 + x12 w11],"
    text += " [x10 w00 + x11 w01 + x20 w10 + x21 w11, x11 w00 + x12 w01 + x21 w10 + x22 w11]]"
    assert check(layer, "output", text, index_base=0).correct
    r = check(layer.spec, "output", text)  # 1-based layer: every index one too small
    assert not r.correct and r.codes == ["index-shift"] and r.notes


def test_grading_skips_the_report_and_problem_in_the_folder(problem_file, tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a.txt").write_text("[[4, -7], [8, 11]]")
    inside = folder / "problem.json"
    inside.write_text(problem_file.read_text())
    report = folder / "report.csv"
    for _ in range(2):  # the second run must not grade the first report
        assert main(["grade", str(folder), "--problem", str(inside), "-o", str(report)]) == 0
    assert "graded 1 submission(s): 1 correct" in capsys.readouterr().out


def test_scale_names_the_factor(mc_values):
    v = mc_values
    kwargs = dict(x=v["x"], w=v["w"], b=v["b"], target=v["target"])
    db = oracle(mc_layer(), **kwargs)[3]
    (diag,) = check(mc_layer(), "grad-bias", js(db / 9), **kwargs).diagnosis
    assert diag.code == "scale" and "9 outputs of a channel" in diag.explanation
    (diag,) = check(mc_layer(), "grad-bias", js(db * 2), **kwargs).diagnosis
    assert diag.code == "scale" and "1/2 of E" in diag.explanation
