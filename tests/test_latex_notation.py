"""Issue 13's notation glitches, grepped in the rendered LaTeX of every document kind, and the
answer always shown (the final matrices; routed max-pool gradients never elided)."""

from __future__ import annotations

import re

import pytest

import symconv
from symconv.latex import render_latex

DOCUMENTS = ("snippet", "article", "beamer")
CONV_MC = symconv.conv((4, 4), 3, stride=2, padding=1, out_channels=2, bias=True)
CONV_MC_VALUES = {
    "x": [[1, 2, 3, 4], [5, 6, 7, 8], [1, 0, 1, 0], [2, 2, 2, 2]],
    "w": [[[[1, 0, 1], [0, 1, 0], [1, 0, 1]]], [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]]],
    "b": [1, 2],
    "dy": [[[1, 2], [3, 4]], [[1, 1], [1, 1]]],
    "eta": "1/2",
}
POOL = symconv.max_pool((4, 4), 2, stride=2)
POOL_VALUES = {
    "x": [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 3], [1, 0, 4, 2]],
    "dy": [[1, 2], [3, 4]],
}


@pytest.fixture(scope="module", params=DOCUMENTS)
def conv_tex(request):
    return render_latex(CONV_MC, document=request.param, values=CONV_MC_VALUES)


@pytest.fixture(scope="module", params=DOCUMENTS)
def pool_tex(request):
    return render_latex(POOL, document=request.param, values=POOL_VALUES)


def test_update_rule_indices_follow_the_kernel_and_bias_is_math(conv_tex):
    assert r"w_{sij} \leftarrow w_{sij}" in conv_tex  # kernel 2x1x3x3: w_{111} ... w_{233}
    assert r"w_{ij} \leftarrow" not in conv_tex
    assert r"b_{s} \leftarrow b_{s}" in conv_tex
    assert not re.search(r"\$ and b[ .]", conv_tex)  # no text-mode "b"


def test_summary_has_the_bias(conv_tex):
    assert r"x W + b = y" in conv_tex
    assert not re.search(r"x W = y\$", conv_tex)


def test_channel_pairs_are_defined_and_crops_are_sized():
    for document in DOCUMENTS:
        tex = render_latex(
            symconv.conv((5, 5), 3, in_channels=2, out_channels=2, stride=2), document=document
        )
        assert "channel pair $" not in tex
        assert "output channel $s=1$ and input channel $p=1$" in tex
        assert "first positions" not in tex


def test_option_names_print_as_typed():
    big = symconv.conv((12, 12), 3)
    for document in DOCUMENTS:
        tex = render_latex(big, document=document)
        assert "{\\ttfamily --" not in tex
        assert not re.search(r"[^{]--max", tex.replace("\\texttt{-{}-", ""))
    article = render_latex(big, document="article")  # a handout speaks to the reader
    assert "-{}-max" not in article and "too large for the page" in article


def test_pool_decks_do_not_speak_of_products(pool_tex):
    assert "one product at a time" not in pool_tex


def test_the_answer_ends_the_computation(conv_tex):
    assert "The answer" in conv_tex
    for entry in ("w - \\eta\\, \\frac{\\partial E}{\\partial w}", "b - \\eta\\,"):
        assert entry in conv_tex
    # every weight of the updated w is shown (18 of them), and the bias update
    block = conv_tex[conv_tex.index("The answer") :]
    assert r"\cdots" not in block.split("Summary")[0]
    assert r"b_{2} &\leftarrow" in conv_tex


def test_max_pool_shows_every_routed_gradient_and_the_full_dx(pool_tex):
    # the routed non-zeros: x22 <- 1, x14 <- 2, x31 <- 3, x43 <- 4
    worked = pool_tex[pool_tex.rindex(r"\frac{\partial E}{\partial x_{11}} &") :]
    for x, v in (("x_{22}", 1), ("x_{14}", 2), ("x_{31}", 3), ("x_{43}", 4)):
        at = worked.index(rf"\partial {x}}} &")
        entry = worked[at : worked.find(r"\frac{\partial E}{\partial x_{", at)]
        last = [line for line in entry.split("\\end{")[0].splitlines() if "=" in line][-1]
        assert re.search(rf"= {v}\s*(\\\\)?$", last.strip()), (x, entry)
    answer = pool_tex[pool_tex.index("The answer") :]
    assert "0 & 0 & 0 & 2 \\\\\n0 & 1 & 0 & 0 \\\\\n3 & 0 & 0 & 0 \\\\\n0 & 0 & 4 & 0" in answer


def test_max_entries_is_honoured_by_the_slides():
    tex = render_latex(POOL, document="beamer", values=POOL_VALUES, max_entries=16)
    assert tex.count(r"\frac{\partial E}{\partial x_{") >= 16
    assert len(re.findall(r"\\partial x_{\d\d}} &= ", tex)) >= 16


def test_text_identities_follow_the_row_convention_of_the_printed_w(capsys):
    """The text CLI prints W in the row convention (x W = y), so it must state dE/dx as the row
    vector dE/dy times W^T, never the column form W^T dE/dy."""
    from symconv.cli import main

    assert main(["derive", "conv", "--input-size", "3x3", "--kernel-size", "2x2"]) == 0
    out = capsys.readouterr().out
    assert "W (row convention, x W = y):" in out
    assert "dE/dx = dE/dy W^T" in out
    assert "W^T dE/dy" not in out
    for ident in symconv.derive(CONV_MC).identities:
        assert "W^T dE/dy" not in ident.statement
