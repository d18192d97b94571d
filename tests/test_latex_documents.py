"""Documents a teacher uses unedited: the title page's texts printed verbatim, handouts that
speak to the reader, Beamer's handout mode.

The PDF tests compile with pdflatex and read the text back with pdftotext (skipped when TeX Live
or poppler is missing)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from symconv import derive
from symconv.cli import main
from symconv.core.errors import SpecError
from symconv.core.layers import conv, conv_transpose, max_pool
from symconv.latex import compile_pdf, render_latex
from symconv.latex.network import network_latex
from symconv.latex.options import escape_text
from symconv.nn.network import example

#: A title with each of LaTeX's ten special characters, and the ligatures that would change it.
SPECIALS = r"Conv & pool: 100% of $5, #1 a_b {x} ~y^2 C:\temp -- x<y>|z"

needs_tex = pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
    reason="needs pdflatex and pdftotext",
)


def pdf_text(pdf, first=None, last=None) -> str:
    cmd = ["pdftotext", "-layout"]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    out = subprocess.run(cmd + [str(pdf), "-"], check=True, stdout=subprocess.PIPE).stdout
    return out.decode("utf-8")


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "text, tex",
    [
        ("a & b", r"a \& b"),
        ("100%", r"100\%"),
        ("$5", r"\$5"),
        ("#1", r"\#1"),
        ("a_b", r"a\_b"),
        ("{x}", r"\{x\}"),
        ("~", r"\textasciitilde{}"),
        ("x^2", r"x\textasciicircum{}2"),
        ("C:\\t", r"C:\textbackslash{}t"),
        ("a -- b --- c", r"a -{}- b -{}-{}- c"),
        ("``q''", r"`{}`q'{}'"),
        ("a<b>c|d", r"a\textless{}b\textgreater{}c\textbar{}d"),
        ("two\n\nlines  here", "two lines here"),
        ("plain text", "plain text"),
    ],
)
def test_escape_text(text, tex):
    assert escape_text(text) == tex


@pytest.mark.parametrize("field", ["title", "subtitle", "author", "institute", "date"])
def test_text_options_must_be_strings(field):
    with pytest.raises(SpecError, match=f"latex: {field} must be a string, got 3"):
        render_latex(derive(conv((3, 3), (2, 2))), document="article", **{field: 3})
    with pytest.raises(SpecError, match=f"network latex: {field} must be a string, got 3"):
        network_latex(example("lenet5"), **{field: 3})


@needs_tex
@pytest.mark.parametrize("document", ["article", "beamer"])
def test_title_page_with_every_special_compiles_verbatim(tmp_path, document):
    texts = dict(
        title=SPECIALS,
        subtitle="sub_title ^ ~",
        author="A. B & C_D",
        institute="Dept. #3 {CS}",
        date="4 Dec 2026 (50%)",
    )
    tex = render_latex(derive(conv((3, 3), (2, 2))), document=document, figures=False, **texts)
    pdf = compile_pdf(tex, tmp_path / f"{document}.pdf")
    page = squash(pdf_text(pdf, 1, 1))
    for value in texts.values():
        assert value in page, (value, page[:400])
    assert "symconv" not in page  # the author replaces the default


@needs_tex
@pytest.mark.parametrize("document", ["article", "beamer"])
def test_network_cli_title_page(tmp_path, document, capsys):
    out = tmp_path / "net.tex"
    argv = ["network", "--example", "lenet5", "--latex", "--document", document, "-o", str(out)]
    argv += ["--title", SPECIALS, "--author", "Ann & Bo", "--date", "May_1", "--institute", "#9"]
    assert main(argv) == 0
    capsys.readouterr()
    pdf = compile_pdf(out.read_text(encoding="utf-8"), tmp_path / "net.pdf")
    page = squash(pdf_text(pdf, 1, 1))
    for value in (SPECIALS, "Ann & Bo", "May_1", "#9"):
        assert value in page, (value, page[:400])


def test_cli_latex_passes_the_texts(tmp_path, capsys):
    out = tmp_path / "d.tex"
    argv = ["latex", "conv", "--document", "beamer", "-o", str(out), "--no-figures"]
    argv += ["--author", "Ann_B", "--institute", "U & V", "--date", "today", "--subtitle", "s%"]
    assert main(argv) == 0
    capsys.readouterr()
    tex = out.read_text(encoding="utf-8")
    assert r"\author{Ann\_B}" in tex
    assert r"\institute{U \& V}" in tex
    assert r"\date{today}" in tex
    assert r"\subtitle{s\%}" in tex
    assert re.search(r"\\author\{symconv\}", tex) is None


# ------------------------------------------------------------------ handouts (Beamer)
SEED000 = dict(x=[[1, 2, 3], [4, 5, 6], [7, 8, 9]], w=[[1, 0], [0, -1]], target=[[0, 0], [0, 0]])


def pdf_pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, stdout=subprocess.PIPE).stdout
    return int(re.search(rb"^Pages:\s+(\d+)", info, re.M).group(1))


@pytest.mark.parametrize(
    "spec, on, off",
    [("2", [2], [1, 3]), ("2-", [2, 9], [1]), ("-2", [1, 2], [3]), ("1,3-4", [1, 3, 4], [2, 5])],
)
def test_slide_active(spec, on, off):
    from symconv.latex.handout import slide_active

    assert all(slide_active(spec, s) for s in on)
    assert not any(slide_active(spec, s) for s in off)


def test_handout_marks_the_last_slide_of_each_frame():
    from symconv.latex.handout import handout_overlays

    tex = (
        "\\begin{frame}\\only<1>{A}\\only<2-3>{B}\\uncover<2->{C}\\alt<1,3>{D}{E}"
        "$\\left< x \\right>$\\end{frame}\n\\begin{frame}\\only<1>{\\global\\setbox0\\hbox{}}"
        "\\only<2>{F}\\end{frame}\\only<5>{outside}"
    )
    out = handout_overlays(tex)
    assert "\\only<1| handout:0>{A}" in out
    assert "\\only<2-3| handout:1>{B}" in out
    assert "\\uncover<2-| handout:1>{C}" in out
    assert "\\alt<1,3| handout:1>{D}{E}" in out
    assert "\\left< x \\right>" in out
    assert "\\only<1| handout:1>{\\global" in out  # a saved background still runs
    assert "\\only<2| handout:1>{F}" in out
    assert "\\only<5>{outside}" in out
    with pytest.raises(SpecError, match="cannot read the overlay specification <\\+->"):
        handout_overlays("\\begin{frame}\\item<+-> a\\end{frame}")


def test_handout_only_for_slides():
    with pytest.raises(SpecError, match="handout applies to document 'beamer' only"):
        render_latex(derive(conv((3, 3), (2, 2))), document="article", handout=True)
    with pytest.raises(SpecError, match="handout must be one of \\[1, 2, 4\\]"):
        render_latex(derive(conv((3, 3), (2, 2))), document="beamer", handout=3)


@needs_tex
def test_seed000_handout_prints_in_at_most_25_pages(tmp_path, capsys):
    """The README's seed-000 deck with worked numbers: 58 slides as a deck; as a handout one
    page per frame (overlays collapsed), two frames a page."""
    argv = ["latex", "conv", "--document", "beamer", "--x", "[[1,2,3],[4,5,6],[7,8,9]]"]
    argv += ["--w", "[[1,0],[0,-1]]", "--target", "[[0,0],[0,0]]", "--pdf"]
    assert main(argv + ["--handout", "-o", str(tmp_path / "h.tex")]) == 0
    assert main(argv + ["--handout", "1", "-o", str(tmp_path / "h1.tex")]) == 0
    capsys.readouterr()
    frames = (tmp_path / "h.tex").read_text().count("\\begin{frame}")
    assert pdf_pages(tmp_path / "h.pdf") <= 25
    assert pdf_pages(tmp_path / "h.pdf") == -(-frames // 2)
    assert pdf_pages(tmp_path / "h1.pdf") == frames
    text = pdf_text(tmp_path / "h1.pdf")
    # the step-by-step frame of dE/dw_11 prints its last step only, not its steps overlaid
    assert "Expanding:" in text and "Let's compute" not in text
    assert "Let's compute" in (tmp_path / "h.tex").read_text()
    log = (tmp_path / "h.log").read_text(encoding="latin-1")
    assert "Overfull" not in log


# ------------------------------------------------------------------ articles (handouts)
def _kept_together(tmp_path, keep: bool) -> list:
    """Pages where "With the numbers:" and its matrix land, the heading pushed down the page by
    a filler of each height in turn."""
    from symconv.templating import environment

    display = environment().from_string(
        "{% import 'latex/macros.tex.jinja' as m %}"
        "{% call m.display() %}"
        "\\frac{\\partial E}{\\partial w} = \\begin{bmatrix} \\text{MARK} \\\\ 1 \\\\ 2 \\\\ 3 "
        "\\\\ 4 \\\\ 5 \\end{bmatrix}{% endcall %}"
    )
    body = display.render()
    if not keep:
        body = body.replace("{symconvcentre}", "{center}")
    preamble = environment().get_template("latex/preamble.tex.jinja").render()
    out = []
    for h in range(560, 700, 12):
        tex = (
            "\\documentclass[10pt,a4paper]{article}\\usepackage[margin=2cm]{geometry}"
            "\\usepackage{amsmath,amssymb,graphicx,xcolor}" + preamble + "\\begin{document}"
            f"\\noindent\\rule{{1pt}}{{{h}pt}}\n\nWith the numbers:\n{body}\\end{{document}}"
        )
        pdf = compile_pdf(tex, tmp_path / f"k{h}.pdf", runs=1)
        pages = [pdf_text(pdf, p, p) for p in range(1, pdf_pages(pdf) + 1)]
        where = [next(k for k, t in enumerate(pages) if w in t) for w in ("With the", "MARK")]
        out.append(where)
    return out


@needs_tex
def test_a_heading_stays_with_its_display(tmp_path):
    together = _kept_together(tmp_path, keep=True)
    assert all(a == b for a, b in together), together
    # the filler sweep does strand the heading with a plain centred display
    assert any(a != b for a, b in _kept_together(tmp_path, keep=False))


def _bmatrix_after(tex: str, marker: str) -> list:
    """The rows (lists of cell texts) of the first bmatrix after ``marker``."""
    body = tex[tex.index(marker) :]
    body = body[
        body.index("\\begin{bmatrix}") + len("\\begin{bmatrix}") : body.index("\\end{bmatrix}")
    ]
    return [[c.strip() for c in row.split("&")] for row in body.strip().split("\\\\")]


def test_article_shows_a_25x9_w_whole():
    """5x5 input, 3x3 kernel: W (x W = y) is 25x9 and fits the page; every entry is checked
    against W built by loops here."""
    tex = render_latex(derive(conv((5, 5), (3, 3))), document="article", figures=False)
    rows = _bmatrix_after(tex, "% symconv: W (row convention)")
    assert len(rows) == 25 and all(len(r) == 9 for r in rows)
    for i in range(25):  # input x_(r+1)(c+1)
        r, c = divmod(i, 5)
        for j in range(9):  # output y_(p+1)(q+1)
            p, q = divmod(j, 3)
            a, b = r - p, c - q
            want = f"w_{{{a + 1}{b + 1}}}" if 0 <= a < 3 and 0 <= b < 3 else "0"
            assert rows[i][j] == want, (i, j, rows[i][j])
    assert "\\cdots" not in "".join(map("".join, rows)) and "too large" not in tex


def test_article_shows_a_list_that_fits_the_page_whole():
    """7x7 input, 3x3 kernel: 25 outputs of one line each fit a page (the old limit was 16)."""
    tex = render_latex(derive(conv((7, 7), (3, 3))), document="article", figures=False)
    forward = tex[tex.index("\\section{Forward pass}") : tex.index("\\section{The forward")]
    lhs = re.findall(r"^y_\{(\d)(\d)\} &=", forward, re.M)
    assert sorted(lhs) == [(str(p), str(q)) for p in range(1, 6) for q in range(1, 6)]
    assert "\\vdots" not in forward and "in all" not in forward
    # with 16 entries asked for explicitly, the list is cut
    tex = render_latex(
        derive(conv((7, 7), (3, 3))), document="article", figures=False, max_entries=16
    )
    assert "(Outputs: 25 in all; the dots stand for those not shown.)" in tex


@pytest.mark.parametrize(
    "layer, note",
    [
        (conv((5, 5), (3, 3), stride=2, padding=1), "(Inputs: 25 in all; the dots stand"),
        (conv((3, 3), (2, 2), in_channels=2, out_channels=3, bias=True), "(Weights: 24 in all;"),
        (conv_transpose((3, 3), (3, 3), stride=2), "is $9\\times49$, too large for the page"),
        (max_pool((4, 4), (2, 2)), ""),
        (conv((12, 12), (5, 5)), "is $144\\times64$, too large for the page"),
    ],
    ids=["5x5-s2-p1", "2to3-bias", "transposed", "max-pool", "12x12"],
)
def test_article_speaks_to_the_reader(layer, note):
    """No command-line advice in a handout; what is elided says so in the reader's words."""
    tex = render_latex(derive(layer), document="article")
    text = "\n".join(line for line in tex.splitlines() if not line.lstrip().startswith("%"))
    for advice in ("-{}-", "--max", "max\\_", "raise", "symconv draw", "\\texttt{symconv"):
        assert advice not in text, advice
    assert note in text
