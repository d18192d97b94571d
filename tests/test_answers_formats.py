"""Every format students paste (issue 23): NumPy and PyTorch calls and their printed reprs,
Python lists over several lines, MATLAB, LaTeX with ``\\left[ ... \\right]``, ``pmatrix``,
``\\frac``/``\\dfrac``/``\\tfrac`` and ``\\cdot``; and hostile variants of them, refused with a
message that names what is accepted. The parser is a whitelist: nothing here is evaluated."""

from __future__ import annotations

import builtins

import pytest
import sympy

import symconv
from symconv.check import check
from symconv.core.answers import parse_answer_ex
from symconv.core.errors import AnswerError

H = sympy.Rational(1, 2)

# (id, text, expected values, format)
FORMATS = [
    ("np.array", "np.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]], "list"),
    ("numpy.array", "numpy.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]], "list"),
    ("torch.tensor", "torch.tensor([[1, 2], [3, 4]])", [[1, 2], [3, 4]], "list"),
    ("np-dtype", "np.array([[1, 2], [3, 4]], dtype=float)", [[1, 2], [3, 4]], "list"),
    ("np-dtype-np", "np.array([[1, 2]], dtype=np.float64)", [[1, 2]], "list"),
    ("np-dtype-str", "np.array([0.5, 2], dtype='float32')", [H, 2], "list"),
    ("torch-dtype", "torch.tensor([[1., 2.]], dtype=torch.float64)", [[1, 2]], "list"),
    ("torch-grad", "torch.tensor([[1., 2.]], requires_grad=True)", [[1, 2]], "list"),
    ("label", "dx = np.array([[1, 2], [3, 4]]);", [[1, 2], [3, 4]], "list"),
    ("array-repr", "array([[ 0.5, -0. ]])", [[H, 0]], "list"),
    ("array-repr-lines", "array([[ 1. ,  0.5],\n       [-2. ,  0. ]])", [[1, H], [-2, 0]], "list"),
    ("array-repr-dtype", "array([1, 2], dtype=int64)", [1, 2], "list"),
    (
        "tensor-repr",
        "tensor([[ 0.5000, -0.0000],\n        [ 1.2500,  3.0000]])",
        [[H, 0], [sympy.Rational(5, 4), 3]],
        "list",
    ),
    ("tensor-repr-dtype", "tensor([[1., 2.]], dtype=torch.float64)", [[1, 2]], "list"),
    ("numpy-print", "[[ 1.   0.5]\n [-2.   0. ]]", [[1, H], [-2, 0]], "list"),
    ("python-lines", "[\n    [1, 2],\n    [3, 4],\n]", [[1, 2], [3, 4]], "json"),
    ("python-lines-expr", "[[1/2, 3],\n [4, 5 * 2]]", [[H, 3], [4, 10]], "list"),
    ("matlab", "[1 2; 3 4]", [[1, 2], [3, 4]], "matlab"),
    ("matlab-commas", "[1, 2; 3, 4]", [[1, 2], [3, 4]], "matlab"),
    ("matlab-label", "A = [1 2; 3 -4];", [[1, 2], [3, -4]], "matlab"),
    ("matlab-lines", "[1 2\n 3 4]", [[1, 2], [3, 4]], "matlab"),
    ("matlab-trailing", "[1 0.5; -2 0;]", [[1, H], [-2, 0]], "matlab"),
    (
        "latex-left-right-env",
        r"\left[\begin{matrix} 1 & 2 \\ 3 & 4 \end{matrix}\right]",
        [[1, 2], [3, 4]],
        "latex",
    ),
    ("latex-left-right", r"\left[ 1 & 2 \\ 3 & 4 \right]", [[1, 2], [3, 4]], "latex"),
    ("latex-pmatrix", r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", [[1, 2], [3, 4]], "latex"),
    (
        "latex-fracs",
        r"\begin{bmatrix} \frac{1}{2} & \dfrac{3}{4} \\ \tfrac12 & 2 \cdot 3 \end{bmatrix}",
        [[H, sympy.Rational(3, 4)], [H, 6]],
        "latex",
    ),
    ("latex-dollars", r"$$\left[ \dfrac{1}{2} & -1 \right]$$", [[H, -1]], "latex"),
]


@pytest.mark.parametrize(
    "text, expected, fmt", [f[1:] for f in FORMATS], ids=[f[0] for f in FORMATS]
)
def test_every_pasted_format(text, expected, fmt):
    p = parse_answer_ex(text)
    assert p.values.tolist() == expected
    assert p.fmt == fmt


def test_pasted_formats_check_an_answer():
    """The same right answer, pasted from NumPy, PyTorch, MATLAB and LaTeX, is correct."""
    layer = symconv.conv((3, 3), 2)
    x, w = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 2], [3, 4]]
    for text in (
        "np.array([[37, 47], [67, 77]])",
        "numpy.array([[37., 47.],\n       [67., 77.]], dtype=float64)",
        "tensor([[37., 47.],\n        [67., 77.]])",
        "torch.tensor([[37, 47], [67, 77]], dtype=torch.int64)",
        "y = [37 47; 67 77];",
        r"\left[ 37 & 47 \\ 67 & 77 \right]",
    ):
        r = check(layer, "output", text, x=x, w=w)
        assert r.correct, (text, r.to_text())


HOSTILE = [
    ("attribute-after", "np.array([[1, 2]]).T", "after np.array"),
    ("index-after", "np.array([[1, 2]])[0]", "after np.array"),
    ("other-np-call", "np.load('x.npy')", "'.' is not allowed"),
    ("os-call", "os.system('ls')", "'.' is not allowed"),
    ("attribute-of-wrapper", "np.array.__class__", "'.' is not allowed"),
    ("dunder", "__import__('os')", "dunder"),
    ("dunder-in-list", "[[1, x.__class__]]", "'.' is not allowed"),
    ("call-of-other-name", "foo([[1, 2]])", "calls are not accepted"),
    ("getattr", "getattr(np, 'array')([[1]])", "calls are not accepted"),
    ("eval-dtype", "np.array([[1, 2]], dtype=eval('1'))", "is not accepted in np.array"),
    (
        "dtype-attribute",
        "np.array([[1]], dtype=np.float64.__doc__)",
        "is not accepted in np.array",
    ),
    ("other-keyword", "torch.tensor([[1.]], grad_fn=1)", "is not accepted in torch.tensor"),
    ("not-a-list", "np.array(x11)", "must hold a bracketed list"),
    ("two-calls", "numpy.array([[1, 2]]) + np.ones(2)", "after numpy.array"),
    ("torch-other", "torch.load('model.pt')", "'.' is not allowed"),
]


@pytest.mark.parametrize("text, message", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_variants_are_refused_naming_what_is_accepted(text, message, monkeypatch):
    def forbidden(*args, **kwargs):  # pragma: no cover - must never run
        raise AssertionError("the parser evaluated something")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sympy, "sympify", forbidden)
    with pytest.raises(AnswerError) as err:
        parse_answer_ex(text)
    assert message in str(err.value)
    if "bracketed list" not in message and "is not accepted in" not in message:
        assert "accepted:" in str(err.value)


def test_an_unknown_latex_environment_names_the_accepted_ones():
    with pytest.raises(AnswerError, match="accepted: Bmatrix, .*pmatrix.* and array"):
        parse_answer_ex(r"\begin{tabular}{cc} 1 & 2 \end{tabular}")


def test_error_columns_point_into_the_text_as_written():
    text = "np.array([[1, 2 +]])"
    with pytest.raises(AnswerError, match="column 18"):  # the ']' after the dangling '+'
        parse_answer_ex(text)
    assert text[17] == "]"
