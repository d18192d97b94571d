"""A figure beside an equation: the same symbol names as the LaTeX printer, sums written whole
up to 25 terms (over every input channel), and a LaTeX document's letters in the grid titles
and cell labels (issue 21, items 2 and 9). Expected names and numbers are written by hand or
computed here with loops over Fractions, never read back from symconv."""

from __future__ import annotations

import itertools
import re
from fractions import Fraction

import pytest

import symconv
from symconv.core.errors import SpecError
from symconv.figures import figure
from symconv.latex import render_latex

# ---------------------------------------------------------------------- one index rule


@pytest.mark.parametrize(
    "make, labels",
    [
        (lambda: symconv.conv((3, 3), 2), {"x": "x_{11}", "w": "w_{11}", "y": "y_{11}"}),
        # a two-digit index anywhere sets every symbol of the layer apart, w too
        (lambda: symconv.conv((12, 12), 3), {"x": "x_{1,1}", "w": "w_{1,1}", "y": "y_{1,1}"}),
        # a channel index on y alone (one input channel): x is written apart as well
        (
            lambda: symconv.conv((4, 4), 3, out_channels=2),
            {"x": "x_{1,1}", "w": "w_{1,1,1}", "y": "y_{1,1,1}"},
        ),
        (
            lambda: symconv.conv((4, 4), 3, in_channels=2, out_channels=3, bias=True),
            {"x": "x_{1,1,1}", "w": "w_{1,1,1,1}", "y": "y_{1,1,1}"},
        ),
        (lambda: symconv.max_pool((4, 4), 2, channels=2), {"x": "x_{1,1,1}", "y": "y_{1,1,1}"}),
    ],
    ids=["seed000", "two-digit", "out-channels", "2to3", "pool-channels"],
)
def test_cell_labels_follow_the_printers_index_rule(make, labels):
    layer = make()
    scene = figure(layer, "window", position=(1, 1), labels=True).scenes[0]
    snippet = render_latex(layer)  # the equations the figure stands next to
    for grid, name in labels.items():
        first = scene.grid(grid).cells[0]
        if grid == "x" and first.role == "padding":
            continue
        assert first.label == name
        assert name in snippet


def test_toeplitz_and_gradient_labels_use_the_same_rule():
    layer = symconv.conv((4, 4), 3, in_channels=2, out_channels=3)
    grad = figure(layer, "grad-input", position=(2, 2)).scenes[0]
    assert r"\delta x_{1,1,1}" in [c.label for c in grad.grid("dx").cells]
    w = figure(symconv.conv((3, 3), 2, out_channels=2), "toeplitz").scenes[0]
    texts = " ".join(t.text for t in w.texts)
    assert "w_{1,1,1}" in texts and "w_{111}" not in texts


# ---------------------------------------------------------------------- whole sums


def _caption(scene) -> str:
    return " ".join(t.text for t in scene.texts if t.text.startswith("$"))


def _numbers(caption_line):
    """The (a, b) of every ``a \\cdot b`` in a numbers line, as Fractions."""
    pairs = re.findall(r"\(?(-?\d+(?:/\d+)?)\)? \\cdot \(?(-?\d+(?:/\d+)?)\)?", caption_line)
    return [(Fraction(a), Fraction(b)) for a, b in pairs]


X2 = [
    [[r * 4 + c - 5 for c in range(4)] for r in range(4)],
    [[(r + 2 * c) % 5 - 2 for c in range(4)] for r in range(4)],
]
W23 = [
    [[[(o + i + r - c) % 3 - 1 for c in range(3)] for r in range(3)] for i in range(2)]
    for o in range(3)
]
B3 = [1, -2, 3]


def test_multi_channel_window_shows_every_term_and_the_numbers():
    layer = symconv.conv((4, 4), 3, in_channels=2, out_channels=3, bias=True)
    values = {"x": X2, "w": W23, "b": B3}
    scene = figure(layer, "window", position=(2, 2), values=values, channel=(1, 0)).scenes[0]
    text = _caption(scene)
    assert r"\cdots" not in text
    # 2 input channels x 9 taps, each w_{2,c,i,j} x_{c,1+i,1+j} (output channel 2, 1-based)
    for c, i, j in itertools.product(range(2), range(3), range(3)):
        assert rf"w_{{2,{c + 1},{i + 1},{j + 1}}}\,x_{{{c + 1},{i + 2},{j + 2}}}" in text
    assert "+ b_{2}" in text
    products = _numbers(text)
    expected = [
        (Fraction(W23[1][c][i][j]), Fraction(X2[c][i + 1][j + 1]))
        for c, i, j in itertools.product(range(2), range(3), range(3))
    ]
    assert products == expected
    total = sum(a * b for a, b in expected) + B3[1]
    bias = f"({B3[1]})" if B3[1] < 0 else str(B3[1])
    assert text.rstrip("$").endswith(f"+ {bias} = {total}")


def test_sum_past_max_terms_is_elided_and_max_terms_shows_it_whole():
    layer = symconv.conv((3, 3), 3, in_channels=3)  # one window of 27 terms
    assert r"\cdots" in _caption(figure(layer, "window").scenes[0])
    whole = _caption(figure(layer, "window", max_terms=27).scenes[0])
    assert r"\cdots" not in whole and whole.count(r"\,x_{") == 27


def test_grad_input_sums_over_every_output_channel():
    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=3)
    text = _caption(figure(layer, "grad-input", position=(1, 1), channel=(0, 1)).scenes[0])
    assert r"\cdots" not in text
    # dE/dx_{2,1,1}: every output channel o reads it through its tap (1,1) at output (1,1)
    for o in range(3):
        assert rf"\delta y_{{{o + 1},1,1}}\,w_{{{o + 1},2,1,1}}" in text
    assert text.count(r"\delta y_") == 3


def test_transposed_direct_view_adds_every_input_channel():
    layer = symconv.conv_transpose((2, 2), 2, stride=2, in_channels=2)
    x = [[[1, 2], [3, -1]], [[2, 0], [-2, 5]]]
    w = [[[[1, -1], [2, 0]]], [[[3, 1], [-1, 2]]]]
    text = _caption(
        figure(layer, "transpose-conv", position=(2, 2), values={"x": x, "w": w}).scenes[0]
    )
    # y_{2,2} (0-based (1, 1)) = sum over input channels of x[c][0][0] * w[c][0][1][1]
    products = _numbers(text)
    assert sorted(products) == sorted(
        [(Fraction(w[c][0][1][1]), Fraction(x[c][0][0])) for c in range(2)]
    )
    total = sum(w[c][0][1][1] * x[c][0][0] for c in range(2))
    assert text.rstrip("$").endswith(f"= {total}")


# ---------------------------------------------------------------------- the document's letters


def _node_texts(tex: str) -> list:
    return re.findall(r"\\node\[[^\]]*\] at \([^)]*\) \{(.*)\};", tex)


def test_document_pictures_use_the_documents_letters():
    layer = symconv.conv((4, 4), 3, stride=2, padding=1)
    tex = render_latex(layer, document="article", notation="seed003")
    nodes = _node_texts(tex)
    assert r"$\partial \mathit{Div}/\partial z$" in nodes  # the dE/dy grid's title
    assert r"$\partial \mathit{Div}/\partial Y$" in nodes  # dE/dx
    assert "$Y$ (padded)" in nodes and "$w$" in nodes and "$z$" in nodes
    assert r"$\delta z_{11}$" in nodes and "$Y_{11}$" in nodes
    assert not [n for n in nodes if "dE/d" in n or n in ("x", "y", "x (padded)")]


def test_seed001_deck_pictures_say_X_F_O():
    tex = render_latex(symconv.conv((3, 3), 2), document="beamer", notation="seed001")
    nodes = _node_texts(tex)
    assert "$X$" in nodes and "$F$" in nodes and "$O$" in nodes
    assert "$F_{11}$" in nodes and r"$\partial L/\partial O$" in nodes


def test_transposed_deck_speaks_the_documents_letters():
    """seed 001 names x, w, y as X, F, O: the stamp and direct views of a transposed
    convolution, their notes and the frame title say so, never a plain y or x."""
    layer = symconv.conv_transpose((2, 2), 3, stride=2)
    tex = render_latex(layer, document="beamer", notation="seed001")
    nodes = _node_texts(tex)
    stamps = [n for n in nodes if "outlined outputs" in n]
    assert stamps and all(r"($O \leftarrow O + F \cdot X$)" in n for n in stamps)
    assert any("so $O$ is complete" in n for n in nodes)
    direct = [n for n in nodes if "stride-1 convolution" in n]
    assert direct and all("the same $O$" in n and "over $X$" in n for n in direct)
    assert r"\begin{frame}{Forward pass: the same $O$ as a convolution}" in tex
    assert "the last slide $O$." in tex and "The same $O$ as a stride-1" in tex
    words = " ".join(nodes)
    assert not re.search(r"(?<![\\$_{])\b[xy]\b(?![_}$])", re.sub(r"\$[^$]*\$", "", words))


def test_standalone_figures_keep_the_plain_words():
    layer = symconv.conv((4, 4), 3, stride=2, padding=1)
    titles = [g.title for g in figure(layer, "grad-input", position=(2, 2)).scenes[0].grids]
    assert titles[0].startswith("dE/dy") and titles[-1] == "dE/dx"
    titles = [g.title for g in figure(layer, "window").scenes[0].grids]
    assert titles == ["x (padded)", "w", "y"]


def test_unknown_notation_is_refused_in_one_line():
    with pytest.raises(SpecError, match=r"figure: notation must be one of .*got 'seed9'"):
        figure(symconv.conv((3, 3), 2), notation="seed9")


def test_long_caption_wraps_to_the_pictures_width():
    from symconv.figures.forward import MIN_CAPTION_WIDTH
    from symconv.figures.scene import CHAR_WIDTH, text_width

    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=3, bias=True)
    scene = figure(layer, "window", position=(2, 2)).scenes[0]
    left = min(g.x for g in scene.grids)
    right = max(g.x + g.width + g.sheets for g in scene.grids)
    room = max(MIN_CAPTION_WIDTH, right - left)
    lines = [t.text for t in scene.texts if t.text.startswith("$")]
    assert len(lines) >= 2  # 8 products and the bias do not fit one line of this picture
    assert all(text_width(line) * CHAR_WIDTH <= room for line in lines)
    assert sum(line.count(r"\,x_{") for line in lines) == 8
