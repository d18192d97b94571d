"""Seed 000 fidelity: the slides' forward expansion, W (9x4, x W = y), dE/dw and dE/dx.

The expected values are the slides' own LaTeX (transcribed below and, when ../shared/seeds is
present, also read from the lecture text), turned into SymPy terms by a tiny regex reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy

import symconv

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_5e798d272285143b.txt"

Y_SLIDES = [
    r"x_{11}w_{11} + x_{12}w_{12} + x_{21}w_{21} + x_{22}w_{22}",
    r"x_{12}w_{11} + x_{13}w_{12} + x_{22}w_{21} + x_{23}w_{22}",
    r"x_{21}w_{11} + x_{22}w_{12} + x_{31}w_{21} + x_{32}w_{22}",
    r"x_{22}w_{11} + x_{23}w_{12} + x_{32}w_{21} + x_{33}w_{22}",
]
W_SLIDES = r"""w_{11} & 0 & 0 & 0 \\ w_{12} & w_{11} & 0 & 0 \\ 0 & w_{12} & 0 & 0 \\
w_{21} & 0 & w_{11} & 0 \\ w_{22} & w_{21} & w_{12} & w_{11} \\ 0 & w_{22} & 0 & w_{12} \\
0 & 0 & w_{21} & 0 \\ 0 & 0 & w_{22} & w_{21} \\ 0 & 0 & 0 & w_{22}"""
DW_SLIDES = {
    "11": r"\frac{\partial E}{\partial y_{11}} x_{11} + \frac{\partial E}{\partial y_{12}} x_{12}"
    r" + \frac{\partial E}{\partial y_{21}} x_{21} + \frac{\partial E}{\partial y_{22}} x_{22}",
    "12": r"\frac{\partial E}{\partial y_{11}} x_{12} + \frac{\partial E}{\partial y_{12}} x_{13}"
    r" + \frac{\partial E}{\partial y_{21}} x_{22} + \frac{\partial E}{\partial y_{22}} x_{23}",
    "21": r"\frac{\partial E}{\partial y_{11}} x_{21} + \frac{\partial E}{\partial y_{12}} x_{22}"
    r" + \frac{\partial E}{\partial y_{21}} x_{31} + \frac{\partial E}{\partial y_{22}} x_{32}",
    "22": r"\frac{\partial E}{\partial y_{11}} x_{22} + \frac{\partial E}{\partial y_{12}} x_{23}"
    r" + \frac{\partial E}{\partial y_{21}} x_{32} + \frac{\partial E}{\partial y_{22}} x_{33}",
}
D = r"\frac{\partial E}{\partial y_{%s}}"
DX_SLIDES = {
    "11": f"{D % 11} w_{{11}}",
    "12": f"{D % 11} w_{{12}} + {D % 12} w_{{11}}",
    "13": f"{D % 12} w_{{12}}",
    "21": f"{D % 11} w_{{21}} + {D % 21} w_{{11}}",
    "22": f"{D % 11} w_{{22}} + {D % 12} w_{{21}} + {D % 21} w_{{12}} + {D % 22} w_{{11}}",
    "23": f"{D % 12} w_{{22}} + {D % 22} w_{{12}}",
    "31": f"{D % 21} w_{{21}}",
    "32": f"{D % 21} w_{{22}} + {D % 22} w_{{21}}",
    "33": f"{D % 22} w_{{22}}",
}

_TOKEN = re.compile(r"\\frac\{\\partial E\}\{\\partial y_\{(\d+)\}\}|([xwy])_\{(\d+)\}|(0)")


def slide_terms(latex: str) -> list:
    """The slides' sum as a list of SymPy products (one per '+' term), in the slides' order."""
    terms = []
    for chunk in latex.split("+"):
        factors = []
        for m in _TOKEN.finditer(chunk):
            if m.group(1):
                factors.append(sympy.Symbol(f"dy_{m.group(1)}", real=True))
            elif m.group(2):
                factors.append(sympy.Symbol(f"{m.group(2)}_{m.group(3)}", real=True))
            else:
                factors.append(sympy.Integer(0))
        assert factors, f"unreadable slide term {chunk!r}"
        terms.append(sympy.Mul(*factors))
    return terms


@pytest.fixture(scope="module")
def deriv():
    return symconv.derive(symconv.conv((3, 3), (2, 2), stride=1, padding=0))


def as_terms(expr):
    return list(expr.args) if isinstance(expr, sympy.Add) else [expr]


def test_output_size(deriv):
    assert deriv.spec.output_size == (2, 2)


@pytest.mark.parametrize("k,ij", list(enumerate(["11", "12", "21", "22"])), ids=lambda v: str(v))
def test_forward_term_by_term(deriv, k, ij):
    expected = slide_terms(Y_SLIDES[k])
    got = as_terms(deriv.y[0, k // 2, k % 2])
    assert len(got) == len(expected) == 4
    assert set(got) == set(expected)
    assert str(deriv.y_symbols[0, k // 2, k % 2]) == f"y_{ij}"


def test_toeplitz_row_convention_is_the_slides_9x4(deriv):
    W = deriv.toeplitz("row")
    rows = [slide_terms(r.replace("&", "+")) for r in W_SLIDES.split(r"\\")]
    expected = sympy.Matrix([[t for t in row] for row in rows])
    assert W.shape == (9, 4)
    assert sympy.Matrix(W) == expected
    assert sympy.Matrix(deriv.toeplitz("column")) == expected.T
    x = sympy.Matrix([list(deriv.x[0].reshape(9).tolist())])
    y = sympy.Matrix([list(deriv.y[0].reshape(4).tolist())])
    assert (x * W - y).expand() == sympy.zeros(1, 4)


@pytest.mark.parametrize("ij", sorted(DW_SLIDES))
def test_grad_w_term_by_term(deriv, ij):
    got = as_terms(deriv.grad_w[0, 0, int(ij[0]) - 1, int(ij[1]) - 1])
    expected = slide_terms(DW_SLIDES[ij])
    assert len(got) == len(expected) and set(got) == set(expected)


@pytest.mark.parametrize("ij", sorted(DX_SLIDES))
def test_grad_x_term_by_term(deriv, ij):
    got = as_terms(deriv.grad_x[0, int(ij[0]) - 1, int(ij[1]) - 1])
    expected = slide_terms(DX_SLIDES[ij])
    assert len(got) == len(expected) and set(got) == set(expected)


def test_total_derivative_terms_cover_all_outputs(deriv):
    # dE/dw_11 = sum over the four outputs of dE/dy_o * dy_o/dw_11, and dy_o/dw_11 = x_..
    terms = deriv.jacobian_terms("w")[0]
    assert [o for o, _ in terms] == [0, 1, 2, 3]
    assert [str(c) for _, c in terms] == ["x_11", "x_12", "x_21", "x_22"]


def test_identities_hold(deriv):
    assert deriv.verify_identities() == {
        "grad_x_transpose": True,
        "grad_w_correlation": True,
        "grad_x_full_correlation": True,
    }


def test_l2_loss_gives_y_minus_yhat(deriv):
    dl = deriv.with_loss()
    yhat = sympy.Symbol("yhat_11", real=True)
    assert dl.dy_value[0, 0, 0] == deriv.y[0, 0, 0] - yhat
    E = dl.loss
    w11 = deriv.w[0, 0, 0, 0]
    assert sympy.expand(sympy.diff(E, w11) - dl.grad_w[0, 0, 0, 0]) == 0


def test_update_rule_numbers(deriv):
    x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    w = [[1, 0], [0, -1]]
    target = [[0, 0], [0, 0]]
    r = deriv.evaluate(x=x, w=w, target=target)
    # y = x11 - x22 etc. = -4 everywhere; dE/dy = y - 0 = -4
    assert [[int(v) for v in row] for row in r["y"][0]] == [[-4, -4], [-4, -4]]
    # dE/dw_11 = -4 * (1 + 2 + 4 + 5) = -48
    assert int(r["grad_w"][0, 0, 0, 0]) == -48
    # dE/dx_22 = dy11 w22 + dy12 w21 + dy21 w12 + dy22 w11 = (-4)(-1) + 0 + 0 + (-4)(1)
    assert int(r["grad_x"][0, 1, 1]) == 0
    # the update rule w <- w - eta dE/dw with eta = 1/100
    eta = sympy.Rational(1, 100)
    assert w[0][0] - eta * r["grad_w"][0, 0, 0, 0] == sympy.Rational(148, 100)


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seeds is not beside the repository")
def test_slides_text_contains_our_expressions(deriv):
    text = SEED.read_text(encoding="utf-8")
    m = re.search(r"\\frac\{\\partial E\}\{\\partial x_\{33\}\} &= ([^$]*?)\\end\{aligned\}", text)
    assert m, "the dE/dx block of the slides was not found"
    block = text[text.rfind(r"\begin{aligned}", 0, m.start()) : m.end()]
    lines = re.findall(r"\\partial x_\{(\d+)\}\} &= (.*?)(?: \\\\|\\end)", block)
    assert len(lines) == 9
    for ij, rhs in lines:
        got = as_terms(deriv.grad_x[0, int(ij[0]) - 1, int(ij[1]) - 1])
        assert set(got) == set(slide_terms(rhs)), ij
    m = re.search(r"W = \\begin\{bmatrix\} (w_\{11\} & 0 & 0 & 0 .*?) \\end\{bmatrix\}", text)
    assert m.group(1).split() == W_SLIDES.split()
