"""Issue 13's notation glitches, grepped in the rendered LaTeX of every document kind, and the
answer always shown (the final matrices; routed max-pool gradients never elided); issue 21's
one notation across a deck (weights before inputs, one correlation operator, every symbol
defined before its first use, indices apart as soon as a channel index appears)."""

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
    # kernel 2x1x3x3: w_{1,1,1} ... w_{2,3,3} (a filter index: every index apart)
    assert r"w_{s,i,j} \leftarrow w_{s,i,j}" in conv_tex
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


# ---------------------------------------------------------------------- issue 21: one notation
DECKS = {
    "seed000": (symconv.conv((3, 3), 2), None),
    "5x5-s2-p1": (
        symconv.conv((5, 5), 3, stride=2, padding=1),
        {
            "x": [[(i + 2 * j) % 5 - 2 for j in range(5)] for i in range(5)],
            "w": [[1, 0, -1]] * 3,
            "target": [[0] * 3] * 3,
        },
    ),
    "2to3-bias": (symconv.conv((4, 4), 3, in_channels=2, out_channels=3, bias=True), None),
    "max-pool": (POOL, POOL_VALUES),
    "transposed": (symconv.conv_transpose((3, 3), 3, stride=2), None),
    "12x12": (symconv.conv((12, 12), 3), None),
}
SYMBOL = re.compile(r"(?<![A-Za-z\\])([xwy])_\{([0-9,]+)\}")


@pytest.fixture(
    scope="module",
    params=[(n, d) for n in DECKS for d in ("article", "beamer")],
    ids=lambda p: f"{p[1]}-{p[0]}",
)
def deck(request):
    name, document = request.param
    layer, values = DECKS[name]
    return name, layer, render_latex(layer, document=document, values=values)


def test_products_put_the_weight_before_the_input(deck):
    """One order of factors everywhere: w_{kl} x_{ij}, as the pictures and seed 003's formula."""
    _, _, tex = deck
    assert not re.search(r"x_\{[0-9,]+\}\s*(\\,)?\s*w_\{", tex)
    if "w_{" in tex:
        assert re.search(r"w_\{[0-9,]+\}\s*(\\,)?\s*x_\{", tex)


def test_one_correlation_operator_defined_before_use(deck):
    """Cross-correlation is written $\\star$ only, and said so before its first use."""
    _, layer, tex = deck
    assert not re.search(r"[xyw]\s*\*\s*[xyw]", tex)  # no 'x * w' for a correlation
    if r"\star" in tex:
        definition = tex.index(r"$\star$ denotes cross-correlation")
        assert tex.index(r"\star") >= tex.rindex("$", 0, definition) - 200
        assert tex.index(r"\star") <= definition + 1


def test_delta_is_defined_before_the_pictures_use_it(deck):
    _, _, tex = deck
    body = tex[tex.index(r"\begin{document}") :]
    if r"\delta" not in body:
        return
    first = body.index(r"\delta")
    definition = body.index(r"$\delta$ stands for")
    assert definition <= first
    # the pictures draw after it
    pictures = [m.start() for m in re.finditer(r"\\begin\{tikzpicture\}", body)]
    grads = [p for p in pictures if r"\delta" in body[p : body.find(r"\end{tikzpicture}", p)]]
    assert all(p > definition for p in grads)


def test_size_letters_are_defined_before_the_formulas(deck):
    _, _, tex = deck
    legend = tex.index("with $L$ the input size, $K$ the")
    uses = [tex.find(f) for f in (r"\frac{L + P_{\mathrm{lo}}", "(L - 1)S")]
    first_use = min(u for u in uses if u >= 0)
    for letter in (
        "$S$ the stride",
        "$D$ the dilation",
        r"$P_{\mathrm{lo}}$ and",
        "$O$ the output",
    ):
        assert legend < tex.index(letter, legend) < first_use
    # the index formula's letters, in words, right after it
    assert re.search(r"\$i, j\$ the output position[;,] ", tex)


def test_indices_print_one_way_per_deck(deck):
    """Every x, w and y of a deck joins its indices the same way: apart (w_{1,1,1,2}) as soon
    as any carries a channel index or an index above 9, else run together (x_{11})."""
    name, layer, tex = deck
    text = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", "", tex, flags=re.S)
    found = [idx for _, idx in SYMBOL.findall(text)]
    multi = [idx for idx in found if len(idx.replace(",", "")) > 1 or "," in idx]
    apart = {"," in idx for idx in multi}
    assert len(apart) == 1, (name, sorted(set(multi))[:10])
    spec = layer.spec
    channels = spec.in_channels > 1 or spec.out_channels > 1
    big = max(spec.input_size + spec.output_size) > 9
    assert apart == {channels or big}
    assert not re.search(r"[xwy]_\{\d{3,}\}", text) or not (channels or big)


def test_jupyter_display_uses_one_index_style():
    d = symconv.derive(symconv.conv((32, 32), 5, out_channels=6, bias=True))
    text = d._repr_latex_()
    found = SYMBOL.findall(text)
    assert found and all("," in idx for _, idx in found), sorted(set(found))[:5]
