"""LaTeX: golden seed-000 content and pdflatex compiles of snippets and articles."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

import symconv
from symconv.latex import compile_pdf, overfull_boxes, render_latex
from test_seed000 import DX_SLIDES, W_SLIDES

SEED000_VALUES = {
    "x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "w": [[1, 0], [0, -1]],
    "target": [[0, 0], [0, 0]],
}


@pytest.fixture(scope="module")
def seed000_snippet():
    return render_latex(symconv.derive(symconv.conv((3, 3), 2)), document="snippet")


def test_w_row_convention_is_the_slides_matrix(seed000_snippet):
    rows = [" ".join(r.split()) for r in W_SLIDES.replace("\n", " ").split(r"\\")]
    block = seed000_snippet[seed000_snippet.index("W = \\begin{bmatrix}") :]
    block = block[: block.index("\\end{bmatrix}")]
    got = [" ".join(r.split()) for r in block.split("\n")[1:] if r.strip()]
    assert [g.rstrip(" \\") for g in got] == [r.strip() for r in rows]


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


def test_repr_latex_is_wired():
    text = symconv.derive(symconv.conv((3, 3), 2))._repr_latex_()
    assert text.startswith("$$") and "w_{11}" in text


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


LAYERS = {
    "seed000": (symconv.conv((3, 3), 2), None),
    "seed000-numbers": (symconv.conv((3, 3), 2), SEED000_VALUES),
    "2ch-5x5-k3-s2-p1": (symconv.conv((5, 5), 3, in_channels=2, stride=2, padding=1), None),
    "conv1d-dilated": (symconv.conv((9,), 3, dilation=2), None),
    "conv-transpose": (symconv.conv_transpose((2, 2), 3, stride=2), None),
    "max-pool": (symconv.max_pool((4, 4), 2), None),
    "avg-pool": (symconv.avg_pool((5, 5), 3, stride=2, padding=1), None),
    "lenet5-conv1": (symconv.conv((32, 32), 5, out_channels=6, bias=True), None),
}


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("document", ["snippet", "article"])
def test_documents_compile_without_errors_or_wide_boxes(document, tmp_path):
    def build(item):
        name, (layer, values) = item
        tex = render_latex(symconv.derive(layer), document=document, values=values)
        pdf = compile_pdf(tex, tmp_path / f"{name}.pdf", runs=1)
        log = pdf.with_suffix(".log").read_text(encoding="latin-1")
        return name, [pt for pt, _ in overfull_boxes(log) if pt > 20]

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(build, LAYERS.items()))
    assert results == {name: [] for name in LAYERS}
