"""Tests for symconv.answers: the safe parser of student answers."""

from __future__ import annotations

import ast
import pathlib
import time

import numpy as np
import pytest
import sympy

from symconv.answers import (
    AnswerError,
    ParsedAnswer,
    answer_to_text,
    parse_answer,
    parse_answer_ex,
    parse_number,
)

R = sympy.Rational


def S(name: str) -> sympy.Symbol:
    """The symbol the test resolver returns, e.g. ``S("x_11")``."""
    return sympy.Symbol(name)


x11, x12, x21, x22 = S("x_11"), S("x_12"), S("x_21"), S("x_22")
w11, w12, w21, w22 = S("w_11"), S("w_12"), S("w_21"), S("w_22")
dy11, dy12, yhat11, y11 = S("dy_11"), S("dy_12"), S("yhat_11"), S("y_11")


def resolve(kind: str, indices: tuple[int, ...]) -> sympy.Symbol | None:
    """A small layer: every kind exists, with indices 1..3 (or none for ``b``)."""
    if any(not 0 <= i <= 3 for i in indices):
        return None
    if kind != "b" and kind != "db" and not indices:
        return None
    return sympy.Symbol(f"{kind}_{''.join(map(str, indices))}")


def assert_values(values: np.ndarray, expected) -> None:
    """Check dtype, shape and exact equality of every entry with ``expected``."""
    want = np.empty(np.shape(expected) if np.ndim(expected) else (), dtype=object)
    if want.ndim == 0:
        want[()] = expected
    else:
        want[...] = expected
    assert isinstance(values, np.ndarray)
    assert values.dtype == object
    assert values.shape == want.shape
    for got, exp in zip(values.reshape(-1), want.reshape(-1)):
        assert isinstance(got, sympy.Basic), got
        assert sympy.expand(got - exp) == 0, (got, exp)


# ---------------------------------------------------------------------------
# formats

FORMATS = [
    # (id, text, expected, fmt)
    ("scalar-int", "5", 5, "scalar"),
    ("scalar-expr", "x11*w11 + x12 w12", x11 * w11 + x12 * w12, "scalar"),
    ("json-2x2", '[[1, 2.5], [-3, "3/4"]]', [[1, R(5, 2)], [-3, R(3, 4)]], "json"),
    ("json-vector", "[1, -2, 3]", [1, -2, 3], "json"),
    ("json-strings-latex", '["\\\\frac{1}{2}", "x_{1,2}"]', [R(1, 2), x12], "json"),
    (
        "python-list-exprs",
        "[[x11*w11 + x12 w12, 0], [1, 2]]",
        [[x11 * w11 + x12 * w12, 0], [1, 2]],
        "list",
    ),
    ("python-single-quotes", "['3/4', 'x11']", [R(3, 4), x11], "list"),
    ("python-trailing-comma", "[1, 2,]", [1, 2], "json"),
    ("numpy-print", "[[1 2]\n [3 4]]", [[1, 2], [3, 4]], "list"),
    (
        "numpy-print-floats",
        "[[ 0.5 -1. ]\n [ 1.e-03  2.]]",
        [[R(1, 2), -1], [R(1, 1000), 2]],
        "list",
    ),
    ("numpy-array-repr", "array([[1, 2], [3, 4]])", [[1, 2], [3, 4]], "list"),
    ("sympy-matrix-repr", "Matrix([[1, x11]])", [[1, x11]], "list"),
    ("rows-spaces", "1 2\n3 4", [[1, 2], [3, 4]], "rows"),
    ("rows-commas", "1, 2\n3, 4", [[1, 2], [3, 4]], "rows"),
    ("rows-commas-implicit", "x11 w11, 0\n0, x22 w22", [[x11 * w11, 0], [0, x22 * w22]], "rows"),
    ("rows-semicolons", "1 2; 3 4", [[1, 2], [3, 4]], "rows"),
    ("rows-blank-lines", "\n1 2\n\n3 4\n", [[1, 2], [3, 4]], "rows"),
    ("rows-one-line", "1 2 3", [1, 2, 3], "rows"),
    ("rows-one-line-commas", "1, 2, 3", [1, 2, 3], "rows"),
    ("rows-column", "1\n2", [[1], [2]], "rows"),
    (
        "latex-bmatrix",
        r"\begin{bmatrix} 1 & \frac{3}{4} \\ x_{11} & \hat{y}_{11} \end{bmatrix}",
        [[1, R(3, 4)], [x11, yhat11]],
        "latex",
    ),
    (
        "latex-pmatrix",
        r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \\ \end{pmatrix}",
        [[1, 2], [3, 4]],
        "latex",
    ),
    ("latex-matrix", r"\begin{matrix} 1 & 2 \end{matrix}", [[1, 2]], "latex"),
    ("latex-vmatrix", r"\begin{vmatrix} 1 \\ 2 \end{vmatrix}", [[1], [2]], "latex"),
    (
        "latex-array",
        r"\left[\begin{array}{c|c} 1 & 2 \\ \hline 3 & 4 \end{array}\right]",
        [[1, 2], [3, 4]],
        "latex",
    ),
    ("latex-dollars-label", r"$$W = \begin{bmatrix} 1 & 2 \end{bmatrix}$$", [[1, 2]], "latex"),
    ("latex-label-dollars", r"W = $\begin{bmatrix} 1 & 2 \end{bmatrix}$", [[1, 2]], "latex"),
    ("latex-display", r"\[ \begin{bmatrix} 1 \end{bmatrix} \]", [[1]], "latex"),
    ("latex-bare-rows", r"1 & 2 \\ 3 & 4", [[1, 2], [3, 4]], "latex"),
    (
        "latex-multiline",
        "\\begin{bmatrix}\n  x_{11} w_{11} & 0 \\\\\n  0 & 1\n\\end{bmatrix}",
        [[x11 * w11, 0], [0, 1]],
        "latex",
    ),
    ("latex-scalar", r"$\frac{1}{2} x_{11}$", x11 / 2, "scalar"),
    ("label-plain", "y11 = 3", 3, "scalar"),
    ("label-list", "W = [[1, 2], [3, 4]]", [[1, 2], [3, 4]], "json"),
]


@pytest.mark.parametrize(
    "text, expected, fmt", [c[1:] for c in FORMATS], ids=[c[0] for c in FORMATS]
)
def test_formats(text, expected, fmt):
    parsed = parse_answer_ex(text, resolve=resolve)
    assert isinstance(parsed, ParsedAnswer)
    assert parsed.fmt == fmt
    assert_values(parsed.values, expected)
    assert_values(parse_answer(text, resolve=resolve), expected)


SHAPES = [
    ("0-d", "7", ()),
    ("1-d", "[1, 2, 3]", (3,)),
    ("2-d", "[[1, 2, 3], [4, 5, 6]]", (2, 3)),
    ("3-d", "[[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]]", (3, 2, 2)),
    ("4-d", "[[[[1]]], [[[2]]]]", (2, 1, 1, 1)),
    ("empty", "[]", (0,)),
    ("empty-rows", "[[], []]", (2, 0)),
]


@pytest.mark.parametrize("text, shape", [c[1:] for c in SHAPES], ids=[c[0] for c in SHAPES])
def test_shapes(text, shape):
    values = parse_answer(text)
    assert values.shape == shape
    assert values.dtype == object


def test_3d_values_in_order():
    values = parse_answer("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    assert values[1, 0, 1] == 6
    assert [int(v) for v in values.reshape(-1)] == list(range(1, 9))


# ---------------------------------------------------------------------------
# entries

ENTRIES = [
    ("integer", "42", 42),
    ("negative", "-3", -3),
    ("unary-plus", "+3", 3),
    ("double-minus", "--3", 3),
    ("decimal", "1.5", R(3, 2)),
    ("negative-decimal", "-0.25", R(-1, 4)),
    ("leading-dot", ".5", R(1, 2)),
    ("scientific", "1e-3", R(1, 1000)),
    ("scientific-upper", "2.5E2", 250),
    ("fraction", "3/4", R(3, 4)),
    ("frac", r"\frac{3}{4}", R(3, 4)),
    ("dfrac", r"\dfrac{3}{4}", R(3, 4)),
    ("tfrac", r"\tfrac{3}{4}", R(3, 4)),
    ("frac-short", r"\frac34", R(3, 4)),
    ("frac-nested", r"\frac{1}{\frac{1}{2} + 1}", R(2, 3)),
    ("precedence", "1 + 2*3", 7),
    ("left-assoc-minus", "10 - 3 - 2", 5),
    ("left-assoc-div", "8/4/2", 1),
    ("parens", "(1 + 2)*3", 9),
    ("braces", "{1 + 2}*3", 9),
    ("left-right", r"\left( 1 + 2 \right) \cdot 3", 9),
    ("times", r"2 \times 3", 6),
    ("div", r"6 \div 4", R(3, 2)),
    ("power-caret", "2^3", 8),
    ("power-stars", "2**3", 8),
    ("power-negative", "2^-1", R(1, 2)),
    ("power-braced", "2^{-2}", R(1, 4)),
    ("power-parenthesised", "2^(3)", 8),
    ("power-max", "2^8", 256),
    ("power-before-minus", "-2^2", -4),
    ("power-of-group", "(x11 + 1)^2", (x11 + 1) ** 2),
    ("power-of-variable", "x_{11}^2", x11**2),
    ("implicit-number-variable", "2x11", 2 * x11),
    ("implicit-variables", "x11 w11", x11 * w11),
    ("implicit-glued", "x11w11", x11 * w11),
    ("implicit-parens", "(x11)(w11)", x11 * w11),
    ("implicit-number-parens", "2(x11 + 1)", 2 * x11 + 2),
    ("implicit-like-star", "1/2x11", x11 / 2),
    ("mixed", "x11*w11 + x12 w12", x11 * w11 + x12 * w12),
    ("cdot", r"x_{11} \cdot w_{11}", x11 * w11),
    ("unicode-minus-times", "\u22122\u00d73", -6),
    ("bias-term", "x11 w11 + b", x11 * w11 + S("b_")),
    ("chain-rule", "(y11 - yhat11) x11", (y11 - yhat11) * x11),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in ENTRIES], ids=[c[0] for c in ENTRIES])
def test_entries(text, expected):
    values = parse_answer(text, resolve=resolve, expect_scalar=True)
    assert values.shape == ()
    assert sympy.expand(values[()] - expected) == 0


def test_numbers_are_exact_rationals():
    value = parse_answer("0.1")[()]
    assert value == R(1, 10)
    assert isinstance(value, sympy.Rational)
    assert not isinstance(value, sympy.Float)


# ---------------------------------------------------------------------------
# variables


class Recorder:
    """A resolver that records what it was asked and returns a fixed symbol."""

    def __init__(self):
        self.calls = []

    def __call__(self, kind, indices):
        self.calls.append((kind, indices))
        return sympy.Symbol("v")


VARIABLES = [
    ("x-digits", "x11", ("x", (1, 1))),
    ("x-underscore", "x_11", ("x", (1, 1))),
    ("x-braces", "x_{11}", ("x", (1, 1))),
    ("x-commas", "x_{1,1}", ("x", (1, 1))),
    ("x-commas-multidigit", "x_{1,10}", ("x", (1, 10))),
    ("x-three-indices", "x_{1,1,2}", ("x", (1, 1, 2))),
    ("x-three-digits", "x112", ("x", (1, 1, 2))),
    ("x-one-index", "x_1", ("x", (1,))),
    ("x-zero-based", "x00", ("x", (0, 0))),
    ("w", "w12", ("w", (1, 2))),
    ("b-bare", "b", ("b", ())),
    ("b-index", "b_2", ("b", (2,))),
    ("y", "y_{21}", ("y", (2, 1))),
    ("dy-word", "dy11", ("dy", (1, 1))),
    ("dy-braces", "dy_{11}", ("dy", (1, 1))),
    ("dE/dy", "dE/dy_{11}", ("dy", (1, 1))),
    ("dE/dy-digits", "dE/dy11", ("dy", (1, 1))),
    ("dE / d y", "dE / d y_{11}", ("dy", (1, 1))),
    ("dEdy", "dEdy11", ("dy", (1, 1))),
    ("dL/dy", "dL/dy11", ("dy", (1, 1))),
    ("partial-slash", r"\partial E/\partial y_{11}", ("dy", (1, 1))),
    ("partial-frac", r"\frac{\partial E}{\partial y_{11}}", ("dy", (1, 1))),
    ("d-frac", r"\frac{dE}{dy_{11}}", ("dy", (1, 1))),
    ("d-frac-spaced", r"\frac{d E}{d y_{11}}", ("dy", (1, 1))),
    ("dx-frac", r"\frac{\partial E}{\partial x_{11}}", ("dx", (1, 1))),
    ("dx-word", "dx_{2,3}", ("dx", (2, 3))),
    ("dw-frac", r"\frac{\partial E}{\partial w_{12}}", ("dw", (1, 2))),
    ("dw-slash", "dE/dw12", ("dw", (1, 2))),
    ("db-frac", r"\frac{\partial E}{\partial b}", ("db", ())),
    ("db-word", "db_1", ("db", (1,))),
    ("yhat-word", "yhat11", ("yhat", (1, 1))),
    ("yhat-latex", r"\hat{y}_{11}", ("yhat", (1, 1))),
    ("yhat-latex-inner", r"\hat{y_{11}}", ("yhat", (1, 1))),
    ("yhat-latex-nobrace", r"\hat y_{11}", ("yhat", (1, 1))),
    ("yhat-widehat", r"\widehat{y}_{11}", ("yhat", (1, 1))),
]


@pytest.mark.parametrize("text, call", [c[1:] for c in VARIABLES], ids=[c[0] for c in VARIABLES])
def test_variable_spellings(text, call):
    recorder = Recorder()
    values = parse_answer(text, resolve=recorder)
    assert values[()] == sympy.Symbol("v")
    assert recorder.calls == [call]


def test_gradient_in_expression():
    values = parse_answer(
        r"\frac{\partial E}{\partial y_{11}} w_{11} + dE/dy_{12} w12", resolve=resolve
    )
    assert sympy.expand(values[()] - (dy11 * w11 + dy12 * w12)) == 0


ALIASES = [
    ("capital-x", {"X": "x", "F": "w"}, "X11 F11", ("x", (1, 1))),
    ("capital-f", {"X": "x", "F": "w"}, "F_{12}", ("w", (1, 2))),
    ("o-is-y-gradient", {"O": "y"}, "dO11", ("dy", (1, 1))),
    ("z-is-y-hat", {"z": "y"}, "zhat_2", ("yhat", (2,))),
]


@pytest.mark.parametrize(
    "aliases, text, first", [c[1:] for c in ALIASES], ids=[c[0] for c in ALIASES]
)
def test_aliases(aliases, text, first):
    recorder = Recorder()
    parse_answer(text, resolve=recorder, aliases=aliases, expect_scalar=True)
    assert recorder.calls[0] == first


def test_aliases_replace_defaults():
    with pytest.raises(AnswerError, match="unknown symbol 'x11'"):
        parse_answer("x11", resolve=resolve, aliases={"X": "x"})


@pytest.mark.parametrize("aliases", [{"x1": "x"}, {"x": "q"}, {"": "x"}], ids=str)
def test_bad_aliases_are_a_programming_error(aliases):
    with pytest.raises(ValueError, match="aliases"):
        parse_answer("1", aliases=aliases)


def test_resolve_must_return_sympy():
    with pytest.raises(TypeError, match="resolve must return"):
        parse_answer("x11", resolve=lambda kind, idx: "x11")


# ---------------------------------------------------------------------------
# the whitespace / comma rule

WHITESPACE = [
    ("spaces-separate", "1 2 3", [1, 2, 3]),
    ("sign-starts-entry", "1 -2 3", [1, -2, 3]),
    ("spaced-minus-joins", "1 - 2", -1),
    ("glued-minus-is-ambiguous-too", "x11-x12 w11", x11 - x12 * w11),
    ("fractions", "1/2 3/4", [R(1, 2), R(3, 4)]),
    ("star-joins", "x11 * w11 x12", [x11 * w11, x12]),
    ("symbols-separate", "x11 x12", [x11, x12]),
    ("one-line-sum-is-scalar", "x11 w11 + x12 w12", x11 * w11 + x12 * w12),
    ("commas-make-spaces-multiply", "x11 w11, x12 w12", [x11 * w11, x12 * w12]),
    ("commas-on-any-line", "x11 w11\nx12 w12, 1", None),
    ("parens-keep-together", "(1 + 2) 3", [3, 3]),
]


@pytest.mark.parametrize(
    "text, expected", [c[1:] for c in WHITESPACE], ids=[c[0] for c in WHITESPACE]
)
def test_whitespace_and_comma_rule(text, expected):
    if expected is None:  # line 1 has one entry, line 2 two: ragged once commas rule
        with pytest.raises(AnswerError, match="ragged"):
            parse_answer(text, resolve=resolve)
        return
    assert_values(parse_answer(text, resolve=resolve), expected)


def test_expect_scalar_reads_whitespace_as_product():
    assert_values(parse_answer("x11 w11", resolve=resolve), [x11, w11])
    assert_values(parse_answer("x11 w11", resolve=resolve, expect_scalar=True), x11 * w11)
    assert_values(
        parse_answer("x11 w11 +\nx12 w12", resolve=resolve, expect_scalar=True),
        x11 * w11 + x12 * w12,
    )


def test_multiline_ambiguity_is_an_error():
    with pytest.raises(AnswerError, match=r"ambiguous '\+'.*line 2, column 9"):
        parse_answer("1 2\nx11 w11 + x12 w12", resolve=resolve)


# ---------------------------------------------------------------------------
# decimals flag

DECIMALS = [
    ("integers", "[1, 2]", False),
    ("fraction", "3/4", False),
    ("decimal", "[1, 2.5]", True),
    ("scientific", "1e-3", True),
    ("numpy-dot", "[1. 2.]", True),
    ("json-string-decimal", '["0.5"]', True),
]


@pytest.mark.parametrize("text, flag", [c[1:] for c in DECIMALS], ids=[c[0] for c in DECIMALS])
def test_has_decimals(text, flag):
    assert parse_answer_ex(text).has_decimals is flag


# ---------------------------------------------------------------------------
# errors

ERRORS = [
    ("empty", "", "answer is empty"),
    ("blank", "  \n ", "answer is empty"),
    ("ragged-json", "[[1, 2], [3]]", r"ragged rows: lengths 2, 1.*line 1, column 10"),
    ("ragged-rows", "1 2\n3", r"ragged rows: lengths 2, 1.*line 2, column 1"),
    ("ragged-latex", r"\begin{bmatrix} 1 & 2 \\ 3 \end{bmatrix}", "ragged rows: lengths 2, 1"),
    ("ragged-3d", "[[[1, 2], [3]], [[4, 5], [6, 7]]]", "ragged lists at depth 2: lengths 2, 1"),
    ("mixed-depth", "[[1, 2], 3]", "lists and single entries are mixed"),
    ("unknown-symbol", "x_{9,9}", r"unknown symbol 'x_\{9,9\}'.*line 1, column 1"),
    ("unknown-symbol-digits", "1 + x99", r"unknown symbol 'x99'.*line 1, column 5"),
    ("unknown-word", "alpha", "unknown symbol 'alpha'"),
    ("unknown-greek", r"\alpha", r"unknown LaTeX command '\\alpha'"),
    ("unknown-command", r"\sqrt{2}", r"unknown LaTeX command '\\sqrt'"),
    ("unknown-env", r"\begin{align} 1 \end{align}", "unsupported LaTeX environment 'align'"),
    ("env-mismatch", r"\begin{bmatrix} 1 \end{pmatrix}", "closed by"),
    ("env-missing-end", r"\begin{bmatrix} 1 & 2", "missing"),
    ("env-nested", r"\begin{bmatrix} \begin{bmatrix} 1 \end{bmatrix} \end{bmatrix}", "nested"),
    ("hat-x", r"\hat{x}_{11}", "only applies to the output y"),
    (
        "gradient-of-yhat",
        r"\frac{\partial E}{\partial \hat{y}_{11}}",
        r"unexpected '\\hat', expected a variable after '\\partial'",
    ),
    ("bad-character", "1 # 2", r"character '#' is not allowed at line 1, column 3"),
    ("bad-character-line", "1 2\n3 @", r"character '@' is not allowed at line 2, column 3"),
    ("dot", "a.b", r"'\.' is not allowed here"),
    ("two-numbers", "x11 w11 + 2 3", "two numbers in a row"),
    ("dangling-operator", "1 +", "ends too early"),
    ("unmatched-paren", "(1 + 2", r"unclosed '\('"),
    ("unmatched-close", "1 + 2)", r"unmatched '\)'"),
    ("mismatched-brackets", "[1, 2)", r"closed by '\)'"),
    ("division-by-zero", "1/0", "division by zero"),
    ("division-by-zero-expr", "1/(x11 - x11)", "division by zero"),
    ("zero-negative-power", "0^-1", "division by zero"),
    ("non-integer-exponent", "2^0.5", "exponent must be a small integer"),
    ("symbolic-exponent", "2^x11", "exponent must be a small integer"),
    ("large-exponent", "2^9", "exponent '9' is too large"),
    ("chained-exponent", "2^2^2", "chained exponents"),
    ("double-index", "x1_2", "indices given twice"),
    ("bad-index", "x_{1.5}", "index must be a whole number"),
    ("two-labels", "a = b = 1", "more than one '='"),
    ("nothing-after-label", "W =", "nothing after '='"),
    ("empty-entry-comma", "1,,2", "empty entry"),
    ("trailing-comma-row", "1, 2,", "empty entry"),
    ("empty-latex-cell", r"\begin{bmatrix} 1 & \end{bmatrix}", "empty entry"),
    ("unclosed-quote", '["1]', "unclosed quote"),
    ("quote-mid-entry", "['1' + 2]", "quotes may only surround a whole entry"),
    ("list-then-junk", "[1, 2] 3", "after the list"),
    ("malformed-number", "1.2.3", "malformed number"),
    ("huge-literal", "9" * 2000, "more than 1000 digits"),
    ("huge-decimal-exponent", "1e99999", "exponent of '1e99999' is larger than"),
    ("lone-backslash", "1 \\", "lone backslash"),
    ("bad-left", r"\left| 1 \right|", "unsupported delimiter"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors(text, message):
    with pytest.raises(AnswerError, match=message) as info:
        parse_answer(text, resolve=resolve)
    text_of_error = str(info.value)
    assert "\n" not in text_of_error
    assert text_of_error.startswith("answer: ")
    assert isinstance(info.value, ValueError)


def test_without_resolve_only_numbers():
    assert_values(parse_answer("[1, 3/4]"), [1, R(3, 4)])
    with pytest.raises(AnswerError, match="unknown symbol 'x11' .*only numbers"):
        parse_answer("x11")


def test_resolve_none_names_token_and_position():
    with pytest.raises(AnswerError) as info:
        parse_answer("[[x11, x_{9,9}]]", resolve=resolve)
    message = str(info.value)
    assert "unknown symbol 'x_{9,9}'" in message
    assert "line 1, column 8" in message


# ---------------------------------------------------------------------------
# limits

LIMITS = [
    ("max-chars", "1" * 101, {"max_chars": 100}, "max_chars=100"),
    ("max-depth-parens", "(" * 5 + "1" + ")" * 5, {"max_depth": 4}, "max_depth=4"),
    ("max-depth-lists", "[" * 5 + "1" + "]" * 5, {"max_depth": 4}, "max_depth=4"),
    ("max-depth-braces", "{" * 5 + "1" + "}" * 5, {"max_depth": 4}, "max_depth=4"),
    ("max-depth-default", "[" * 33 + "1" + "]" * 33, {}, "max_depth=32"),
    ("max-entries", "[1, 2, 3, 4]", {"max_entries": 3}, "max_entries=3"),
    ("max-entries-rows", "1 2\n3 4", {"max_entries": 3}, "max_entries=3"),
    (
        "total-terms",
        "[" + ", ".join(["(x11 + x12 + x21 + x22)^6"] * 60) + "]",
        {"resolve": resolve},
        "would expand to more than 200000 terms",
    ),
    ("entry-terms", "(x11 + x12 + x21 + x22)^7", {"resolve": resolve}, "more than 10000 terms"),
]


@pytest.mark.parametrize(
    "text, kwargs, message", [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS]
)
def test_limits(text, kwargs, message):
    with pytest.raises(AnswerError, match=message):
        parse_answer(text, **kwargs)


def test_depth_at_limit_is_fine():
    assert parse_answer("[" * 32 + "1" + "]" * 32).shape == (1,) * 32


# ---------------------------------------------------------------------------
# malicious input: rejected quickly, nothing runs

MALICIOUS = [
    ("import-os-system", "__import__('os').system('touch {path}')"),
    ("import-pathlib-touch", "__import__('pathlib').Path('{path}').touch()"),
    ("open-write", "open('{path}', 'w').write('x')"),
    ("eval", "eval(\"open('{path}', 'w')\")"),
    ("exec", "exec('import os')"),
    ("dunder-class", "().__class__.__bases__[0].__subclasses__()"),
    ("lambda", "(lambda: 0)()"),
    ("list-comprehension", "[x for x in range(10)]"),
    ("conditional", "x if y else z"),
    ("attribute", "x11.real"),
    ("subscript-call", "[1, 2][0]"),
    ("walrus", "(x := 1)"),
    ("semicolon-statement", "import os; os.system('touch {path}')"),
    ("tower", "9**9**9"),
    ("big-power", "2**100000"),
    ("big-power-caret", "10^1000000"),
    ("nested-powers", "((((((9^8)^8)^8)^8)^8)^8)"),
    ("nested-polynomial", "(((x11 + x12)^8)^8)^8"),
    ("deep-brackets", "[" * 100_000),
    ("deep-parens", "(" * 50_000 + "1" + ")" * 50_000),
    ("deep-frac", "\\frac{" * 1000 + "1"),
    ("huge-number", "9" * 99_999),
    ("too-long", "1 " * 60_000),
    ("product-blowup", "*".join(["(x11 + x12 + x21 + x22)"] * 3000)),
]


# A bound that a hang (9**9**9, expanding a 3000-factor product) can never meet, yet loose
# enough for a shared 2-core CI machine under load (typical times are 10-100 ms).
FAST = 3.0


@pytest.mark.parametrize("template", [c[1] for c in MALICIOUS], ids=[c[0] for c in MALICIOUS])
def test_malicious_input_is_rejected_fast_and_runs_nothing(template, tmp_path):
    target = tmp_path / "pwned_symconv"
    text = template.replace("{path}", str(target))
    start = time.perf_counter()
    with pytest.raises(AnswerError) as info:
        parse_answer(text, resolve=resolve)
    elapsed = time.perf_counter() - start
    assert elapsed < FAST, f"rejection took {elapsed:.3f} s"
    assert not target.exists()
    assert "\n" not in str(info.value)


def test_pwned_file_from_the_issue_is_not_created():
    target = pathlib.Path("/tmp/pwned_symconv")
    existed = target.exists()
    with pytest.raises(AnswerError):
        parse_answer("__import__('pathlib').Path('/tmp/pwned_symconv').touch()", resolve=resolve)
    if not existed:
        assert not target.exists()


def test_max_size_answer_parses_in_reasonable_time():
    text = "\n".join(" ".join(str(j) for j in range(40)) for _ in range(300))
    start = time.perf_counter()
    values = parse_answer(text)
    elapsed = time.perf_counter() - start
    assert values.shape == (300, 40)
    assert elapsed < 5, f"{len(text)} characters took {elapsed:.2f} s"


def test_many_signs_parse_fast():
    start = time.perf_counter()
    values = parse_answer("-" * 99_999 + "1")
    assert time.perf_counter() - start < FAST
    assert values[()] == -1


FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "S"}
FORBIDDEN_ATTRIBUTES = {"sympify", "parse_expr", "literal_eval", "S", "eval", "exec"}


def test_module_never_calls_eval_like_functions():
    import symconv.answers as module

    paths = sorted(pathlib.Path(module.__file__).parent.glob("*.py"))  # the whole package
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.name} line {getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name):
                    assert func.id not in FORBIDDEN_NAMES, f"{where} calls {func.id}"
                if isinstance(func, ast.Attribute):
                    assert func.attr not in FORBIDDEN_ATTRIBUTES, f"{where}: {func.attr}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {alias.name for alias in node.names} | {getattr(node, "module", None)}
                assert not names & {"ast", "sympy.parsing", "parse_expr", "sympify", "json"}


# ---------------------------------------------------------------------------
# helpers

NUMBERS = [
    ("int", "3", 3),
    ("negative-decimal", "-0.25", R(-1, 4)),
    ("scientific", "1e-3", R(1, 1000)),
    ("fraction", "3/4", R(3, 4)),
    ("latex-fraction", r"\frac{3}{4}", R(3, 4)),
]


@pytest.mark.parametrize("text, value", [c[1:] for c in NUMBERS], ids=[c[0] for c in NUMBERS])
def test_parse_number(text, value):
    got = parse_number(text)
    assert isinstance(got, sympy.Rational)
    assert got == value


@pytest.mark.parametrize(
    "text", ["x11", "1 2", "[1]", ""], ids=["symbol", "vector", "list", "empty"]
)
def test_parse_number_rejects_non_numbers(text):
    with pytest.raises(AnswerError):
        parse_number(text)


def test_answer_to_text():
    values = parse_answer("[[1, 3/4], [x11 w11, 0]]", resolve=resolve)
    assert answer_to_text(values) == "[[1, 3/4], [w_11*x_11, 0]]"
    assert answer_to_text(parse_answer("2.5")) == "5/2"


def test_answer_error_is_the_package_error():
    from symconv import errors

    assert AnswerError is errors.AnswerError
