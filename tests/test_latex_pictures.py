"""Pictures in the documents (issue 12, part 5): the deck shows the window sliding (one overlay
per shown position), W's coloured pattern, dE/dw and dE/dx read off their operands and a
pool's routing; the article has them as figures; ``figures=False`` / ``--no-figures`` leaves
them out; the documents for seed 000 and a 5x5, 3x3, stride 2, padding 1 layer compile with no
box above 1 pt.

The pictures' content is checked against the figures stage (which the figure tests check
against the index map): each overlay of the deck draws exactly the single-position picture.
"""

from __future__ import annotations

import re
import shutil

import pytest

import symconv
from symconv.cli import main
from symconv.figures import figure
from symconv.latex import render_latex
from symconv.latex.compile import compile_pdf
from symconv.latex.pictures import MAX_PICTURE_SIDE, window_positions
from test_latex_grid import bad_boxes

SEED000 = symconv.conv((3, 3), 2)
STRIDED = symconv.conv((5, 5), 3, stride=2, padding=1)
POOL = symconv.max_pool((4, 4), 2, stride=2)
TRANSPOSED = symconv.conv_transpose((3, 3), 3, stride=2)
POOL_VALUES = {
    "x": [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 3], [1, 0, 4, 2]],
    "dy": [[1, 2], [3, 4]],
}
needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")


def _frame(tex: str, title: str) -> str:
    """The body of the first frame whose title starts with ``title``."""
    start = tex.index(r"\begin{frame}{" + title)
    return tex[start : tex.index(r"\end{frame}", start)]


def _figures(tex: str) -> list:
    return re.findall(r"\\begin\{figure\}.*?\\end\{figure\}", tex, flags=re.S)


def _drawn(tikz: str) -> set:
    """The drawing lines of a picture (cells, outlines, arrows, labels)."""
    lines = tikz.splitlines()
    return {line for line in lines if line.startswith(("\\fill", "\\draw", "\\node"))} - {
        line for line in lines if "\\copy\\symconv" in line
    }


@pytest.mark.parametrize(
    "layer, positions",
    [
        (SEED000, [(1, 1), (1, 2), (2, 1), (2, 2)]),
        (STRIDED, [(i, j) for i in (1, 2, 3) for j in (1, 2, 3)]),
    ],
    ids=["seed000", "5x5-k3-s2-p1"],
)
def test_deck_slides_the_window_one_overlay_per_output(layer, positions):
    tex = render_latex(layer, document="beamer")
    frame = _frame(tex, "Forward pass: the window slides")
    assert frame.count(r"\begin{tikzpicture}") == 3  # the shared boxes, the slides' picture
    overlays = [int(k) for k in re.findall(r"\\only<(\d+)>\{%", frame)]
    assert sorted(set(overlays)) == list(range(1, len(positions) + 1))
    # each output's window is drawn on the slides: its highlighted cells appear in the frame
    for position in positions:
        alone = figure(layer, "window", position=position, heading=False).tikz(standalone=False)
        window = {line for line in _drawn(alone) if "symconvwindow" in line}
        assert window and window <= _drawn(frame)
    assert r"\usetikzlibrary{patterns,arrows.meta}" in tex


def test_deck_has_the_pattern_and_gradient_pictures():
    tex = render_latex(STRIDED, document="beamer")
    pattern = _frame(tex, "The matrix $W$, coloured by weight")
    n_nonzero = sum(1 for c in STRIDED.index_map.reshape(-1) if c >= 0)
    assert pattern.count("symconvtap") >= n_nonzero  # every non-zero of W coloured by its tap
    grad_x = _frame(tex, "Gradient: the rotated kernel over the padded upstream gradient")
    assert r"$\delta x_{33}$" in grad_x  # the middle input entry, boxed
    assert "rotated by 180 degrees" in grad_x
    grad_w = _frame(tex, r"Gradient: the inputs that meet each $\partial E/\partial y$")
    assert r"\delta w_{11}" in grad_w


def test_pool_deck_routes_the_worked_numbers():
    tex = render_latex(POOL, document="beamer", values=POOL_VALUES)
    routing = _frame(tex, "Where the gradient goes: the worked numbers")
    alone = figure(POOL, "pool", values=POOL_VALUES, heading=False, notation="seed000").tikz(
        standalone=False
    )
    assert _drawn(routing) == _drawn(alone)
    assert "Max pooling is not linear" in tex and "coloured by weight" not in tex


def test_article_has_the_pictures_as_figures():
    tex = render_latex(STRIDED, document="article")
    captions = [re.search(r"\\caption\{(.*)\}", f).group(1) for f in _figures(tex)]
    assert len(captions) == 4
    assert captions[0].startswith("The window of one output position")
    assert captions[1].startswith("The non-zero entries of $W$")
    assert "first kernel tap" in captions[2] and "rotated by $180^\\circ$" in captions[3]
    assert r"\only<" not in tex  # no overlays outside Beamer


def test_transposed_deck_stamps_every_input_and_ends_on_y():
    values = {"x": [[1, 2, 0], [-1, 3, 1], [2, 0, -2]], "w": [[1, -1, 0], [2, 1, -1], [0, 1, 2]]}
    dy = [[(r + c) % 3 - 1 for c in range(7)] for r in range(7)]
    tex = render_latex(TRANSPOSED, document="beamer", values={**values, "dy": dy})
    frame = _frame(tex, "Forward pass: the stamps add up")
    overlays = sorted(set(map(int, re.findall(r"\\only<(\d+)>\{%", frame))))
    assert overlays == list(range(1, 10))  # one slide per input entry
    for position in [(1, 1), (2, 2), (3, 3)]:
        alone = figure(
            TRANSPOSED, "transpose", position=position, values=values, heading=False
        ).tikz(standalone=False)
        assert {line for line in _drawn(alone) if "symconvwindow" in line} <= _drawn(frame)
    assert "$y$ (complete)" in frame and "(example numbers)" not in frame
    direct = _frame(tex, "Forward pass: the same $y$ as a convolution")
    assert "rotated by 180 degrees" in direct and "zeros inserted" in direct


def test_article_captions_name_only_what_is_drawn():
    tex = render_latex(TRANSPOSED, document="article")
    captions = [re.search(r"\\caption\{(.*)\}", f).group(1) for f in _figures(tex)]
    assert "dashed" not in captions[0] and "padded" not in captions[0]
    assert "stamp" in captions[1] and "example numbers" in captions[1]
    assert "stride-1 convolution" in captions[2]
    strided = render_latex(STRIDED, document="article")
    assert "dashed: the position before it" in strided


@pytest.mark.parametrize("document", ["article", "beamer"])
def test_figures_can_be_turned_off(document):
    tex = render_latex(STRIDED, document=document, figures=False)
    assert "tikzpicture" not in tex and r"\usepackage{tikz}" not in tex
    assert "tikzpicture" not in render_latex(STRIDED)  # a snippet has none unless asked


def test_cli_no_figures(capsys):
    args = ["latex", "conv", "--input-size", "3x3", "--kernel-size", "2x2", "--document", "beamer"]
    assert main(args) == 0
    assert "tikzpicture" in capsys.readouterr().out
    assert main(args + ["--no-figures"]) == 0
    assert "tikzpicture" not in capsys.readouterr().out


def test_large_outputs_elide_the_overlays_and_say_so():
    layer = symconv.conv((10, 10), 3)  # 8x8 = 64 outputs
    tex = render_latex(layer, document="beamer", max_entries=6)
    frame = _frame(tex, "Forward pass: the window slides")
    assert sorted(set(map(int, re.findall(r"\\only<(\d+)>\{%", frame)))) == list(range(1, 7))
    assert "The window at 6 of the 64 output positions." in frame
    # the first row's start, the step down to the second row, the last position
    for position in [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (8, 8)]:
        alone = figure(layer, "window", position=position, heading=False).tikz(standalone=False)
        assert {line for line in _drawn(alone) if "symconvwindow" in line} <= _drawn(frame)


@pytest.mark.parametrize(
    "size, limit, expected",
    [
        ((3, 3), 9, tuple(range(9))),
        ((8, 8), 9, (0, 1, 2, 3, 8, 9, 10, 11, 63)),
        ((2, 30), 5, (0, 1, 30, 31, 59)),
        ((40,), 5, (0, 1, 2, 39)),
    ],
)
def test_window_positions(size, limit, expected):
    assert window_positions(size, limit) == expected


@pytest.mark.parametrize(
    "layer, reason",
    [
        (symconv.conv((MAX_PICTURE_SIDE + 1, 4), 3), f"larger than {MAX_PICTURE_SIDE} cells"),
        (symconv.conv((3, 3, 3), 2), "a 3-D layer"),
    ],
    ids=["large", "3-D"],
)
def test_layers_not_drawn_get_a_note_instead(layer, reason):
    for document in ("article", "beamer"):
        tex = render_latex(layer, document=document)
        assert "tikzpicture" not in tex
        assert f"No pictures: {'grids ' if 'cells' in reason else ''}{reason}" in tex
    article = render_latex(layer, document="article")  # a handout: no command-line advice
    assert f"(No pictures: {'grids ' if 'cells' in reason else ''}{reason}" in article
    assert "symconv draw" not in article


def test_bad_figures_option_is_named():
    with pytest.raises(symconv.SpecError, match="figures must be True, False or None, got 'yes'"):
        render_latex(SEED000, document="beamer", figures="yes")


@needs_pdflatex
@pytest.mark.parametrize("document", ["article", "beamer"])
@pytest.mark.parametrize(
    "layer", [SEED000, STRIDED, TRANSPOSED], ids=["seed000", "5x5-k3-s2-p1", "transposed"]
)
def test_documents_with_pictures_compile_without_boxes(layer, document, tmp_path):
    tex = render_latex(layer, document=document)
    assert "tikzpicture" in tex
    pdf = compile_pdf(tex, tmp_path / f"{document}.pdf", runs=1)
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    assert bad_boxes(log) == []


@needs_pdflatex
def test_snippet_with_pictures_compiles(tmp_path):
    tex = render_latex(STRIDED, figures=True)
    assert "%   \\usepackage{tikz}" in tex and len(_figures(tex)) == 4
    pdf = compile_pdf(tex, tmp_path / "snippet.pdf", runs=1)
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    assert bad_boxes(log) == []


def test_max_pool_worked_input_gradients_say_what_the_factor_is():
    """'dE/dx_11 = 1 * 0 = 0' needs words: every worked dE/dx frame of a max pool says the
    second factor is the window-maximum indicator (in the deck's letters)."""
    pool = symconv.max_pool((4, 4), 2, stride=2)
    tex = render_latex(pool, document="beamer", values=POOL_VALUES)
    frames = tex.split(r"\begin{frame}{Worked example: input gradients")[1:]
    assert len(frames) >= 2
    for frame in frames:
        body = frame[: frame.index(r"\end{frame}")]
        assert r"Each line: $\partial E/\partial y$ of the window times 1 when the input" in body
    seed001 = render_latex(pool, document="beamer", values=POOL_VALUES, notation="seed001")
    assert r"Each line: $\partial L/\partial O$ of the window" in seed001
    conv = render_latex(symconv.conv((3, 3), 2), document="beamer", values=CONV_VALUES)
    assert "Each line:" not in conv


CONV_VALUES = {
    "x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "w": [[1, 0], [0, -1]],
    "dy": [[1, 2], [3, 4]],
}
