"""The LaTeX of a whole network in each document kind (the compile check is in
tests/test_latex_grid.py): how the slides split the layer table and the forward pass, what the
snippet leaves out, and the errors."""

from __future__ import annotations

import re

import pytest

from symconv.core.errors import SpecError
from symconv.latex.network import FORWARD_ROWS, TABLE_ROWS, network_latex
from symconv.nn.network import example


def _frames(tex: str, title: str) -> list:
    """The bodies of the frames whose title starts with ``title``."""
    pattern = r"\\begin\{frame\}\{" + re.escape(title) + r"[^\n]*\n(.*?)\\end\{frame\}"
    return re.findall(pattern, tex, re.S)


def test_alexnet_slides_split_the_table_and_forward_pass_evenly():
    net = example("alexnet")  # 20 layers and a cross-entropy loss
    tex = network_latex(net, document="beamer")
    tables = _frames(tex, "The layers")
    assert [t.count(r"\texttt{") for t in tables] == [10, 10]  # one name per layer row
    assert "input" in tables[0] and "total" in tables[1] and "total" not in tables[0]
    forward = _frames(tex, "Forward pass")
    rows = [f.count(r"\tag*{") for f in forward]  # every layer and the loss carry a tag
    assert sum(rows) == 21 and max(rows) <= FORWARD_ROWS and max(rows) - min(rows) <= 1
    # one backward frame per layer: the softmax is fused into the loss's start frame
    assert len(_frames(tex, "Backward pass, layer")) == 19
    assert len(_frames(tex, "Backward pass: the start")) == 1


def test_lenet5_table_fits_one_slide_in_both_aspects():
    for aspect in ("169", "4:3"):
        tex = network_latex(example("lenet5"), document="beamer", aspect=aspect)
        assert len(example("lenet5").layers) <= TABLE_ROWS
        assert len(_frames(tex, "The layers")) == 1
        assert f"aspectratio={aspect.replace(':', '')}," in tex


def test_snippet_is_the_article_body_and_standalone_false_means_snippet():
    net = example("seed004")
    article = network_latex(net, document="article")
    snippet = network_latex(net, document="snippet")
    assert snippet == network_latex(net, standalone=False)
    assert "\\documentclass" in article and "\\documentclass" not in snippet
    body = article.split("\\begin{document}\n", 1)[1].rsplit("\\end{document}", 1)[0]
    assert body in snippet  # the snippet adds only its header and the booktabs fallbacks
    assert "\\providecommand{\\toprule}{\\hline}" in snippet


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"document": "slides"},
            "document must be one of ('snippet', 'article', 'beamer'), got 'slides'",
        ),
        ({"document": "beamer", "aspect": "21:9"}, "aspect must be '169' or '43', got '219'"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        network_latex(example("seed004"), **kwargs)


def test_network_method_and_cli_reach_every_document(capsys):
    from symconv.cli import main

    net = example("lenet5")
    deck = net.latex(document="beamer", aspect="43")
    assert deck == network_latex(net, document="beamer", aspect="43")
    assert (
        deck.startswith("% generated") and "\\documentclass[aspectratio=43,11pt]{beamer}" in deck
    )
    assert net.latex(standalone=False) == network_latex(net, document="snippet")
    args = ["network", "--example", "lenet5", "--latex"]
    assert main(args + ["--document", "beamer", "--aspect", "43"]) == 0
    assert capsys.readouterr().out == deck
    assert main(args) == 0
    assert capsys.readouterr().out == network_latex(net, document="article")
