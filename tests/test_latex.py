"""LaTeX: the slides' notation, golden seed-000 content, worked numbers, values parsing, the CLI,
and pdflatex compiles of snippets, articles and Beamer decks (no errors, no box over 20pt).

Set SYMCONV_UPDATE_GOLDEN=1 to rewrite tests/golden/latex/ after a deliberate change.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

import symconv
from symconv.latex import (
    LatexError,
    LatexValueError,
    SlidePrinter,
    compile_pdf,
    latex_expr,
    overfull_boxes,
    parse_values_text,
    render_latex,
    repr_latex,
)
from test_seed000 import DW_SLIDES, DX_SLIDES, W_SLIDES

GOLDEN = Path(__file__).parent / "golden" / "latex"
HAVE_PDFLATEX = shutil.which("pdflatex") is not None


def _have_beamer() -> bool:
    """Beamer needs pgf (Debian: texlive-pictures) besides beamer.cls."""
    if not HAVE_PDFLATEX or shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(
        ["kpsewhich", "beamer.cls", "pgfcore.sty"], capture_output=True, text=True
    ).stdout.split()
    return len(found) == 2


HAVE_BEAMER = _have_beamer()
needs_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX, reason="pdflatex is not installed (Debian: texlive-latex-base)"
)
needs_beamer = pytest.mark.skipif(
    not HAVE_BEAMER,
    reason="beamer cannot compile here: needs pdflatex, beamer.cls (texlive-latex-recommended) "
    "and pgf (texlive-pictures)",
)

SEED000_VALUES = {
    "x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "w": [[1, 0], [0, -1]],
    "target": [[0, 0], [0, 0]],
}


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def seed000():
    return symconv.derive(symconv.conv((3, 3), 2))


@pytest.fixture(scope="module")
def seed000_snippet(seed000):
    return render_latex(seed000, document="snippet")


# ---------------------------------------------------------------------- printer
X11, W11, W12 = (sympy.Symbol(n, real=True) for n in ("x_11", "w_11", "w_12"))
DY11, DY12 = (sympy.Symbol(n, real=True) for n in ("dy_11", "dy_12"))


@pytest.mark.parametrize(
    "expr, notation, expected",
    [
        (X11 * W11, "seed000", "w_{11}x_{11}"),
        (X11 * W11 + X11 * W12, "seed000", "w_{11}x_{11} + w_{12}x_{11}"),
        (
            DY11 * W12 + DY12 * W11,
            "seed000",
            r"\frac{\partial E}{\partial y_{11}} w_{12} + \frac{\partial E}{\partial y_{12}} w_{11}",
        ),
        (DY11 * X11, "seed001", r"\frac{\partial L}{\partial O_{11}} X_{11}"),
        (DY11 * W11, "seed003", r"\frac{\partial \mathit{Div}}{\partial z_{11}} w_{11}"),
        (X11 / 4, "seed000", r"\frac{1}{4} x_{11}"),
        (-X11 * W11, "seed000", "-w_{11}x_{11}"),
        (sympy.Max(W11, X11), "seed000", r"\max\left(w_{11}, x_{11}\right)"),
    ],
    ids=["product", "sum", "dy-first", "seed001", "seed003", "rational", "negative", "max"],
)  # weights before inputs (seed 003's formula, the pictures); the seed-000 tests compare terms
def test_printer_table(expr, notation, expected):
    assert _norm(latex_expr(expr, notation)) == _norm(expected)


def test_max_pool_routing_prints_as_an_indicator():
    d = symconv.derive(symconv.max_pool((2, 2), 2))
    tex = SlidePrinter().doprint(d.grad_x[0, 0, 1])
    assert tex.startswith(r"\frac{\partial E}{\partial y_{11}}")
    assert r"\mathbf{1}\!\left[x_{12} > x_{11},\ x_{12} \geq x_{21}" in tex


# ---------------------------------------------------------------------- seed-000 content
def test_w_row_convention_is_the_slides_matrix(seed000_snippet):
    rows = [" ".join(r.split()) for r in W_SLIDES.replace("\n", " ").split(r"\\")]
    block = seed000_snippet[seed000_snippet.index("W = \\begin{bmatrix}") :]
    block = block[: block.index("\\end{bmatrix}")]
    got = [" ".join(r.split()) for r in block.split("\n")[1:] if r.strip()]
    assert [g.rstrip(" \\") for g in got] == [r.strip() for r in rows]


def test_w_transpose_is_the_slides_matrix(seed000_snippet):
    expected = (
        r"W^{T} = \begin{bmatrix} w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 & 0 & 0 & 0 \\ "
        r"0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 & 0 & 0 \\ "
        r"0 & 0 & 0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} & 0 \\ "
        r"0 & 0 & 0 & 0 & w_{11} & w_{12} & 0 & w_{21} & w_{22} \end{bmatrix}"
    )
    assert expected in _norm(seed000_snippet)


@pytest.mark.parametrize("ij", sorted(DX_SLIDES))
def test_each_grad_x_matches_the_slides(seed000_snippet, ij):
    lines = seed000_snippet.splitlines()
    start = next(
        k
        for k, l in enumerate(lines)
        if l.startswith(rf"\frac{{\partial E}}{{\partial x_{{{ij}}}}} &=")
    )
    # the total derivative over all outputs, then (after the zero terms) the simplified sum
    assert all(
        rf"\frac{{\partial y_{{{o}}}}}{{\partial x_{{{ij}}}}}" in lines[start]
        for o in (11, 12, 21, 22)
    )
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  &="):
            break
        block.append(line)
    simplified = block[-1].strip().removeprefix("&=").strip().rstrip("\\").strip()
    assert simplified == DX_SLIDES[ij]


@pytest.mark.parametrize("ij", sorted(DW_SLIDES))
def test_each_grad_w_matches_the_slides(seed000_snippet, ij):
    lhs = rf"\frac{{\partial E}}{{\partial w_{{{ij}}}}} &="
    text = seed000_snippet[seed000_snippet.index(lhs) :]
    text = text[: text.index(r"\end{align*}")]
    assert "&= " + DW_SLIDES[ij] in _norm(text)


def test_forward_expansion_matches_the_slides(seed000_snippet):
    assert (
        r"y_{11} &= w_{11}x_{11} + w_{12}x_{12} + w_{21}x_{21} + w_{22}x_{22}" in seed000_snippet
    )
    assert (
        r"y_{22} &= w_{11}x_{22} + w_{12}x_{23} + w_{21}x_{32} + w_{22}x_{33}" in seed000_snippet
    )


def test_seed000_snippet_golden(seed000_snippet):
    path = GOLDEN / "seed000_snippet.tex"
    if os.environ.get("SYMCONV_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(seed000_snippet, encoding="utf-8")
    assert seed000_snippet == path.read_text(
        encoding="utf-8"
    ), "seed-000 snippet changed; if deliberate, rerun with SYMCONV_UPDATE_GOLDEN=1"


def test_beamer_deck_walks_through_the_slides(seed000):
    tex = render_latex(seed000, document="beamer")
    assert r"\documentclass[aspectratio=169,11pt]{beamer}" in tex
    # the forward pass built term by term: the new term boxed on its own overlay
    assert r"\uncover<2->{ + \alt<2>{\boxed{w_{12}x_{12}}}{w_{12}x_{12}}}" in tex
    # the entries it multiplies highlighted on that overlay
    assert r"\alt<2>{\textcolor{symconvx}{x_{12}}}{x_{12}}" in tex
    assert r"\alt<2>{\textcolor{symconvw}{w_{12}}}{w_{12}}" in tex
    # dy_11/dw_11 = x_11, then the expanded sum, then the transposed convolution
    assert r"Let's compute $\frac{\partial y_{11}}{\partial w_{11}} = x_{11}$" in tex
    assert "transposed convolution" in tex
    assert r"\documentclass[aspectratio=43,11pt]{beamer}" in render_latex(
        seed000, document="beamer", aspect="43", parts=["forward"]
    )


# ---------------------------------------------------------------------- options
def test_notation_presets_and_zero_based_indices():
    d0 = symconv.derive(symconv.conv((3, 3), 2), index_base=0)
    tex = render_latex(d0, notation="seed001", parts=["forward", "grad_x"])
    assert r"O_{00} &= F_{00}X_{00} + F_{01}X_{01}" in tex
    assert r"\frac{\partial L}{\partial X_{00}}" in tex
    tex = render_latex(d0, notation="seed003", parts=["grad_w"])
    assert r"\frac{\partial \mathit{Div}}{\partial w_{00}}" in tex


def test_parts_and_column_convention(seed000):
    tex = render_latex(seed000, parts="toeplitz", convention="column")
    assert r"T = \begin{bmatrix}" in tex and "Forward pass" not in tex
    with pytest.raises(symconv.SpecError, match="parts"):
        render_latex(seed000, parts=["nonsense"])
    with pytest.raises(symconv.SpecError, match="document"):
        render_latex(seed000, document="poster")


def test_large_layers_are_elided_not_printed_in_full():
    d = symconv.derive(symconv.conv((32, 32), 5, out_channels=6, bias=True))
    tex = render_latex(d, document="article")
    assert "4704 in all" in tex and "1024 in all" in tex
    assert r"\cdots" in tex and r"\vdots" in tex and r"\ddots" in tex
    assert len(tex) < 200_000


def test_pools_route_the_gradient():
    tex = render_latex(symconv.derive(symconv.max_pool((4, 4), 2)), document="article")
    assert "routes the gradient" in tex and "first one in row-major order" in tex
    assert "Gradient with respect to the weights" not in tex
    tex = render_latex(symconv.derive(symconv.avg_pool((4, 4), 2)), document="article")
    assert r"y_{11} &= \frac{1}{4}\bigl(x_{11} + x_{12} + x_{21} + x_{22}\bigr)" in tex
    assert "$1/4$" in tex


# ---------------------------------------------------------------------- worked numbers
def test_worked_numbers_stay_exact():
    tex = render_latex(
        symconv.derive(symconv.conv((3, 3), 2)),
        document="snippet",
        values={
            "x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            "w": [["1/2", 0], [0, -1]],
            "dy": [[1, 1], [1, 1]],
        },
    )
    assert r"\frac{1}{2}" in tex  # a fraction stays a fraction
    assert "0.5" not in tex


def test_worked_numbers_are_the_evaluated_ones(seed000):
    tex = _norm(render_latex(seed000, document="article", values=SEED000_VALUES))
    # y_11 = w x: 1*1 + 0*2 + 0*4 + (-1)*5 = -4; dE/dw_11 = sum of (y - 0) * x = -48
    assert r"= 1 \cdot 1 + 0 \cdot 2 + 0 \cdot 4 + \left(-1\right) \cdot 5 \\ &= -4" in tex
    assert r"&= -48" in tex and r"&= -112" in tex
    assert r"w_{11} &\leftarrow 1 - \eta \cdot \left(-48\right) \\ &= 1 + 48 \eta" in tex
    with_eta = render_latex(seed000, values=dict(SEED000_VALUES, eta="1/8"))
    assert r"w_{11} &\leftarrow 1 - \frac{1}{8} \cdot \left(-48\right) \\ &= 7" in _norm(with_eta)


@pytest.mark.parametrize(
    "values, match",
    [
        (
            {"x": [[1, 2], [3, 4]], "w": [[1, 0], [0, 1]], "dy": [[1, 1], [1, 1]]},
            "^x: .*shape 3x3",
        ),
        ({"x": [[1, 2, 3]] * 3, "w": [[1, 0], [0, "a"]], "dy": [[1, 1]] * 2}, "^w: not a number"),
        ({"x": [[1, 2, 3]] * 3, "w": [[1, 0], [0, 1]]}, "^target: give exactly one"),
        ({"x": [[1, 2, 3]] * 3, "w": [[1, 0], [0, 1]], "dy": [[1]] * 2}, "^dy: .*shape 2x2"),
        ({"x": [[1, 2, 3]] * 3, "w": [[1, 0], [0, 1]], "dy": [[1, 1]] * 2, "b": [1]}, "^b: "),
        (
            {"x": [[1, 2, 3]] * 3, "w": [[1, 0], [0, 1]], "dy": [[1, 1]] * 2, "eta": [1, 2]},
            "^eta:",
        ),
    ],
    ids=["x-shape", "w-text", "no-target", "dy-shape", "no-bias", "eta-scalar"],
)
def test_bad_values_raise_naming_the_value(seed000, values, match):
    with pytest.raises(LatexValueError, match=match):
        render_latex(seed000, values=values)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
        ('[["1/2", 0.25]]', [[Fraction(1, 2), Fraction(1, 4)]]),
        ("1, 2\n3, 4", [[1, 2], [3, 4]]),
        (r"\begin{bmatrix} 1 & -2 \\ 3 & 4 \end{bmatrix}", [[1, -2], [3, 4]]),
    ],
    ids=["json", "fractions", "csv", "bmatrix"],
)
def test_values_text_parsing(text, expected):
    got = parse_values_text(text, "--x")
    assert [[sympy.nsimplify(v) for v in row] for row in got.tolist()] == [
        [sympy.nsimplify(v) for v in row] for row in expected
    ]


def test_values_text_rejects_code():
    with pytest.raises(symconv.SymconvError, match="--x"):
        parse_values_text("__import__('os').system('true')", "--x")


# ---------------------------------------------------------------------- Jupyter
def test_repr_latex_is_wired():
    text = symconv.derive(symconv.conv((3, 3), 2))._repr_latex_()
    assert text.startswith("$$") and "w_{11}" in text


def test_repr_latex_of_arrays_and_big_derivations():
    d = symconv.derive(symconv.conv((3, 3), 2))
    text = repr_latex(d.w)
    assert text.startswith("$$") and r"\begin{bmatrix}" in text and "w_{22}" in text
    big = symconv.derive(symconv.conv((12, 12), 3)).__class__._repr_latex_
    text = big(symconv.derive(symconv.conv((12, 12), 3)))
    assert r"\vdots" in text and "\n\n" not in text


# ---------------------------------------------------------------------- CLI
def test_bad_values_name_the_option(capsys):
    from symconv.cli import main

    assert (
        main(["latex", "--x", "[[1, 2], [3, 4]]", "--w", "[[1,0],[0,1]]", "--dy", "[[1,1],[1,1]]"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: --x") and err.count("\n") == 1
    assert main(["latex", "--x", "[[1, 2, 3], [4, 5, 6], [7, 8, zz]]"]) == 2
    assert capsys.readouterr().err.startswith("error: --x")
    assert main(["latex", "--x", "[[1,2,3],[4,5,6],[7,8,9]]", "--w", "[[1,0],[0,1]]"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --target") and err.count("\n") == 1


def test_cli_writes_tex(tmp_path, capsys):
    from symconv.cli import main

    out = tmp_path / "deck.tex"
    assert main(["latex", "conv", "--document", "beamer", "--aspect", "43", "-o", str(out)]) == 0
    assert out.read_text().count(r"\begin{frame}") > 10
    assert main(["latex", "max-pool", "--input-size", "4x4", "--kernel-size", "2"]) == 0
    assert r"\max\bigl(" in capsys.readouterr().out


@needs_pdflatex
def test_cli_pdf_and_png(tmp_path):
    from symconv.cli import main

    out = tmp_path / "seed.tex"
    args = ["latex", "--parts", "setup,forward", "-o", str(out), "--pdf"]
    assert main(args + ["--png", str(tmp_path / "png")]) == 0
    assert out.with_suffix(".pdf").stat().st_size > 1000
    if shutil.which("pdftoppm"):
        assert list((tmp_path / "png").glob("*.png"))


@needs_pdflatex
def test_compile_error_quotes_the_log(tmp_path):
    bad = "\\documentclass{article}\n\\begin{document}\n\\undefinedmacro\n\\end{document}\n"
    with pytest.raises(LatexError, match=r"Undefined control sequence.*line 3"):
        compile_pdf(bad, tmp_path / "bad.pdf", runs=1)


# ---------------------------------------------------------------------- compiling
LAYERS = {
    "seed000": (symconv.conv((3, 3), 2), None),
    "seed000-numbers": (symconv.conv((3, 3), 2), SEED000_VALUES),
    "2ch-5x5-k3-s2-p1": (
        symconv.conv((5, 5), 3, in_channels=2, out_channels=2, stride=2, padding=1),
        None,
    ),
    "conv1d-dilated": (symconv.conv((9,), 3, dilation=2), None),
    "conv-transpose": (symconv.conv_transpose((2, 2), 3, stride=2), None),
    "max-pool": (symconv.max_pool((4, 4), 2), None),
    "avg-pool": (symconv.avg_pool((5, 5), 3, stride=2, padding=1), None),
    "lenet5-conv1": (symconv.conv((32, 32), 5, out_channels=6, bias=True), None),
}


def _compile_all(document, tmp_path, extra=None):
    derivs = {}

    def build(item):
        name, (layer, values) = item
        if layer not in derivs:
            derivs[layer] = symconv.derive(layer)
        tex = render_latex(derivs[layer], document=document, values=values, **(extra or {}))
        pdf = compile_pdf(tex, tmp_path / f"{name}.pdf", runs=1)
        log = pdf.with_suffix(".log").read_text(encoding="latin-1")
        return name, [pt for pt, _ in overfull_boxes(log) if pt > 20]

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        return dict(pool.map(build, LAYERS.items()))


@needs_pdflatex
@pytest.mark.parametrize("document", ["snippet", "article"])
def test_documents_compile_without_errors_or_wide_boxes(document, tmp_path):
    assert _compile_all(document, tmp_path) == {name: [] for name in LAYERS}


@needs_beamer
def test_beamer_decks_compile_without_errors_or_wide_boxes(tmp_path):
    assert _compile_all("beamer", tmp_path) == {name: [] for name in LAYERS}


@needs_beamer
def test_beamer_43_and_other_notations_compile(tmp_path, seed000):
    tex = render_latex(seed000, document="beamer", aspect="43", notation="seed003")
    pdf = compile_pdf(tex, tmp_path / "deck43.pdf")  # the default two runs
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    assert [pt for pt, _ in overfull_boxes(log) if pt > 20] == []
    pages = re.search(r"Output written on .*\((\d+) pages", log)
    assert pages and int(pages.group(1)) > 20


# ---------------------------------------------------------------------- issue 21: sums, frames
S2P1 = symconv.conv((5, 5), 3, stride=2, padding=1)
S2P1_VALUES = {
    "x": [[1, 2, 0, 1, 3], [4, 1, 2, 0, 1], [0, 3, 1, 2, 2], [2, 0, 1, 4, 1], [1, 2, 3, 0, 1]],
    "w": [[1, 0, -1], [2, 1, 0], [0, -1, 1]],
    "target": [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
}


def fit_scales(log: str) -> list:
    """How much each display was scaled down to fit (the preamble logs every \\symconvfit that
    shrinks: ``symconvfit: <width> of <natural width>``)."""
    found = re.findall(r"symconvfit: ([\d.]+)pt of ([\d.]+)pt", log)
    return [float(a) / float(b) for a, b in found]


def _full_window_products():
    """The one window of the 5x5, stride 2, padding 1 layer that lies wholly in x (y_22), by
    an independent loop: 1-based y_ij reads x_{2(i-1)+k-1, 2(j-1)+l-1} through w_kl."""
    x, w = S2P1_VALUES["x"], S2P1_VALUES["w"]
    pairs = []
    for k in range(1, 4):
        for l in range(1, 4):
            r, c = 2 * (2 - 1) + k - 1, 2 * (2 - 1) + l - 1
            pairs.append(((k, l), (r, c), w[k - 1][l - 1], x[r - 1][c - 1]))
    return pairs


@needs_beamer
def test_the_worked_window_is_never_cut(tmp_path):
    """Issue 21 item 2: the default deck shows all nine terms and nine products of y_22."""
    tex = render_latex(S2P1, document="beamer", values=S2P1_VALUES)
    pairs = _full_window_products()
    value = sum(wv * xv for *_, wv, xv in pairs)
    # the worked numbers: nine products, then the value
    at = tex.index(r"y_{22} &= 1 \cdot")
    entry = tex[at : tex.index(rf"= {value}", at)]
    assert entry.count(r"\cdot") == 9 and r"\cdots" not in entry
    # the symbolic window: nine terms, each w_kl with the x it reads
    at = re.search(r"y_\{22\} &= (\\boxed\{)?[wx]_", tex).start()
    sym = tex[at : tex.index(r"\end{aligned}", at)]
    for (k, l), (r, c), _, _ in pairs:
        wt, xt = re.escape(f"w_{{{k}{l}}}"), re.escape(f"x_{{{r}{c}}}")
        assert re.search(rf"{wt}\s*{xt}", sym), (k, l)  # weight, then the input it reads
    assert r"\cdots" not in sym
    pdf = compile_pdf(tex, tmp_path / "s2p1.pdf")
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    assert [pt for pt, _ in overfull_boxes(log) if pt > 1] == []
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # the worked-example frame's line (a picture's caption may hold the sum too)
    worked = [m for m in re.findall(r"y22 = (1 · [^=]*)= 11", text) if "· · ·" not in m]
    assert worked, text[:2000]
    products = re.findall(r"(\(?−?\d+\)?) · (\(?−?\d+\)?)", worked[0])
    number = lambda s: int(s.strip("()").replace("−", "-"))
    got = [(number(a), number(b)) for a, b in products]
    assert got == [(wv, xv) for *_, wv, xv in pairs]


BACKWARD_LAYERS = {
    "5x5-k3-s2-p1": S2P1,
    "5x5-k3-s2-p2": symconv.conv((5, 5), 3, stride=2, padding=2),
    "6x6-k2-s3": symconv.conv((6, 6), 2, stride=3),
    "7x7-k3-d2-p1": symconv.conv((7, 7), 3, dilation=2, padding=1),
    "1d-uneven-padding": symconv.conv((6,), 3, stride=2, padding=((2, 0),)),
    "4x5-k2x3-s2x1-p3": symconv.conv((4, 5), (2, 3), stride=(2, 1), padding=((3, 0), (1, 2))),
}


@pytest.mark.parametrize("layer", BACKWARD_LAYERS.values(), ids=list(BACKWARD_LAYERS))
def test_the_full_correlation_frame_pads_like_the_picture(layer):
    """Issue 21 item 5: the frame's padded dE/dy is the picture's, and correlating it with the
    rotated kernel (then cropping) gives dE/dx of the reference loops."""
    import numpy as np

    from symconv.core import reference
    from symconv.figures.backward import grad_input_scene
    from symconv.figures.reading import LayerReading
    from symconv.latex.frames.identities import full_correlation

    spec = layer.spec
    middle = tuple(n // 2 for n in spec.input_size)
    scene = grad_input_scene(
        LayerReading(layer), int(np.ravel_multi_index(middle, spec.input_size))
    )
    drawn = [g for g in scene.grids if g.name.startswith("dy")][0]
    rng = np.random.default_rng(21)
    dy = rng.integers(-3, 4, spec.y_shape)
    w = rng.integers(-3, 4, spec.w_shape)
    x = rng.integers(-3, 4, spec.x_shape)
    a, k, pads, crops = full_correlation(spec, dy[0].astype(object), w[0, 0].astype(object))
    shape = a.shape if spec.ndim == 2 else (1,) + a.shape
    assert (drawn.rows, drawn.cols) == shape
    # the correlation, by plain loops, then the crop
    out = np.zeros(tuple(n - m + 1 for n, m in zip(a.shape, k.shape)), dtype=object)
    for o in np.ndindex(*out.shape):
        out[o] = sum(a[tuple(p + q for p, q in zip(o, t))] * k[t] for t in np.ndindex(*k.shape))
    out = out[tuple(slice(lo, n - hi) for (lo, hi), n in zip(crops, out.shape))]
    expected, _, _ = reference.backward(spec, dy, x, w)
    assert out.shape == expected[0].shape
    assert (out.astype(int) == expected[0]).all()
    # the deck says which construction, with the numbers of the picture
    tex = render_latex(layer, document="beamer", parts=["grad_x"], figures=False)
    lo = {p for p, _ in pads}
    if len(lo) == 1:
        assert rf"P'_{{\mathrm{{lo}}}} = D(K - 1) - P_{{\mathrm{{lo}}}} = {lo.pop()}" in tex or (
            r"\max\bigl(0,\ D(K - 1) - P_{\mathrm{lo}}\bigr)" in tex
        )


def test_the_s2p1_deck_pads_dy_by_one_like_its_picture():
    tex = render_latex(S2P1, document="beamer", parts=["grad_x"], figures=False)
    frame = tex[tex.index("Gradient: full correlation") :]
    assert r"P'_{\mathrm{lo}} = D(K - 1) - P_{\mathrm{lo}} = 1" in frame
    assert r"P'_{\mathrm{hi}} = L - 1 + P_{\mathrm{lo}} - (O - 1)S = 1" in frame
    first = frame[frame.index(r"\begin{bmatrix}") : frame.index(r"\end{bmatrix}")]
    rows = [r for r in first.split(r"\\") if "&" in r]
    assert len(rows) == 7 and all(r.count("&") == 6 for r in rows)


MC = symconv.conv((4, 4), 3, in_channels=2, out_channels=3, bias=True)
MC_VALUES = {
    "x": [[[(i * 4 + j) % 5 - 2 for j in range(4)] for i in range(4)] for _ in range(2)],
    "w": [
        [[[(s + p + k - l) % 3 - 1 for l in range(3)] for k in range(3)] for p in range(2)]
        for s in range(3)
    ],
    "b": [1, 0, -1],
    "target": [[[0, 0], [0, 0]]] * 3,
    "eta": "1/10",
}


@pytest.mark.parametrize("document", DOCUMENTS := ("snippet", "article", "beamer"))
def test_multichannel_dx_sums_over_the_output_channels(document):
    """Issue 21 item 4: dE/dx of input channel 1 is the s=1 correlation plus the others."""
    tex = render_latex(MC, document=document, parts=["grad_x"], figures=False)
    eq = tex[tex.index(r"\begin{aligned}", tex.index("P'_{")) :]
    eq = eq[: eq.index(r"\end{aligned}")]
    assert r"\star" in eq
    assert (
        r"+ \sum_{s=2}^{3} \operatorname{pad}\Bigl(\frac{\partial E}{\partial y_{s}}\Bigr) "
        r"\star \operatorname{rot}\bigl(w_{s,1}\bigr)" in eq
    )


def test_beamer_summary_has_the_bias_like_the_article():
    for document in ("article", "beamer"):
        tex = render_latex(MC, document=document, parts=["summary"])
        assert re.search(r"\\alert\{bias\}|respect to the bias", tex), document
    assert (
        "bias" not in render_latex(S2P1, document="beamer", parts=["summary"]).split("Summary")[1]
    )


@needs_beamer
def test_multichannel_answer_keeps_a_readable_size(tmp_path):
    """Issue 21 item 4: six 3x3 matrices of w - eta dE/dw are broken over lines and frames,
    never shrunk below footnote size (the deck logs every display it scales down)."""
    from symconv.latex.layout import WIDTH_FLOOR

    tex = render_latex(MC, document="beamer", values=MC_VALUES, parts=["setup", "results"])
    pdf = compile_pdf(tex, tmp_path / "mc.pdf", runs=1)
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    assert [pt for pt, _ in overfull_boxes(log) if pt > 1] == []
    assert overfull_boxes(log, "v") == []
    assert min(fit_scales(log), default=1.0) >= WIDTH_FLOOR - 0.05
    answer = tex[tex.index("The answer") :]
    # y (3 channels), dE/dx (2), dE/dw and the update (six kernels each): none elided
    assert answer.count(r"\underbrace") == 3 + 2 + 6 + 6


def test_jupyter_display_fits_a_notebook_column():
    """Issue 21 item 11: LeNet-5 conv1's display keeps every row within 80 em (the layout
    model's width estimate): its sums wrap onto aligned rows."""
    from symconv.latex.display import DISPLAY_WIDTH
    from symconv.latex.layout import tex_width

    d = symconv.derive(symconv.conv((32, 32), 5, out_channels=6, bias=True))
    text = d._repr_latex_()
    body = text.split(r"\begin{aligned}")[1].split(r"\end{aligned}")[0]
    rows = [r.strip() for r in body.split(r"\\") if r.strip()]
    widths = [tex_width(r.replace("&", "")) + 2.0 * r.startswith(r"&\qquad") for r in rows]
    assert max(widths) <= DISPLAY_WIDTH
    assert len([r for r in rows if r.startswith(r"&\qquad")]) >= 8  # long sums wrapped
    # wrapped, not cut shorter: the first sum still shows its 12 terms of 26
    first = body[: body.index("y_{1,1,2}")]
    assert first.count("w_{") == 11 and r"\text{(26 terms)}" in first
    small = symconv.derive(symconv.conv((4, 4), 3))._repr_latex_()
    assert r"y_{11} &= w_{11}x_{11} + w_{12}x_{12}" in small and r"\qquad" not in small
