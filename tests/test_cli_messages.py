"""The CLI's messages for a teacher's slips: a missing output folder, numbers checked without the
values they need, a layer named as symconv prints it, a TeX installation that lacks a package.
Each is one line ``error: ...`` on stderr, exit status 2, never a usage dump or a traceback."""

from __future__ import annotations

import pytest

from symconv.cli import main
from symconv.fileio import OutputError, write_atomic
from symconv.latex import compile as latex_compile
from symconv.latex.compile import LatexError

X = "[[1,2,3],[4,5,6],[7,8,9]]"
W = "[[1,0],[0,-1]]"


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["codegen", "conv", "-o", "{out}/layer.py"],
        ["latex", "conv", "-o", "{out}/deck.tex"],
        ["latex", "conv", "--document", "beamer", "-o", "{out}/deck.tex", "--pdf"],
        ["network", "--example", "lenet5", "--latex", "-o", "{out}/net.tex"],
        ["network", "--example", "lenet5", "--graph", "{out}/net.dot"],
        ["draw", "conv", "--figure", "windows", "-o", "{out}/w.tex"],
    ],
    ids=["codegen", "latex", "latex-pdf", "network-latex", "network-graph", "draw"],
)
def test_missing_output_folder_is_named(tmp_path, capsys, argv):
    folder = tmp_path / "no_such_folder"
    argv = [a.replace("{out}", str(folder)) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"folder {folder} does not exist" in err
    assert f"cannot write {argv[argv.index('-o' if '-o' in argv else '--graph') + 1]}" in err
    assert ".tmp" not in err and "Traceback" not in err
    assert not folder.exists()


def test_write_atomic_names_the_folder_not_the_temporary_file(tmp_path):
    target = tmp_path / "missing" / "x.py"
    with pytest.raises(OutputError) as info:
        write_atomic(target, "print(1)\n")
    assert str(info.value) == f"cannot write {target}: folder {target.parent} does not exist"
    assert isinstance(info.value, OSError)
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="is not a folder"):
        write_atomic(tmp_path / "file" / "x.py", "")


@pytest.mark.parametrize(
    "quantity, given, needs",
    [
        ("grad-weight", ["--x", X, "--w", W], ["--target or --dy"]),
        ("grad-weight", ["--x", X], ["--target or --dy"]),
        ("grad-input", ["--x", X], ["--target or --dy", "--w"]),
        ("output", ["--x", X], ["--w"]),
        ("output", ["--w", W], ["--x"]),
    ],
)
def test_check_names_the_missing_value(capsys, quantity, given, needs):
    argv = ["check", "conv", "--quantity", quantity, "--answer", "[[48,64],[96,112]]", *given]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: check: {quantity} needs ")
    for option in needs:
        assert f"({option})" in err
    assert "WRONG" not in err


def test_check_with_every_value_still_judges(capsys):
    argv = ["check", "conv", "--quantity", "grad-weight", "--answer", "[[48,64],[96,112]]"]
    code, out, err = run(argv + ["--x", X, "--w", W, "--target", "[[0,0],[0,0]]"], capsys)
    assert code == 1 and "sign" in out and err == ""
    # a symbolic answer needs no values: it is judged, not refused
    code, out, err = run(argv[:-1] + ["[[dy_11,0],[0,0]]"], capsys)
    assert code == 1 and "WRONG" in out and err == ""


@pytest.mark.parametrize(
    "name, kind, args",
    [
        ("conv2d", "conv", []),
        ("Conv2d", "conv", ["--input-size", "4x4"]),
        ("conv1d", "conv", ["--input-size", "5"]),
        ("conv_transpose1d", "conv-transpose", ["--input-size", "3"]),
        ("ConvTranspose2d", "conv-transpose", []),
        ("max_pool2d", "max-pool", ["--input-size", "4x4"]),
        ("MaxPool1d", "max-pool", ["--input-size", "6"]),
        ("avg_pool3d", "avg-pool", ["--input-size", "4x4x4"]),
        ("AveragePool", "avg-pool", ["--input-size", "4x4"]),
    ],
)
def test_layer_names_are_kinds(capsys, name, kind, args):
    code, named, err = run(["derive", name, *args, "--format", "json"], capsys)
    assert code == 0 and err == ""
    code, plain, _ = run(["derive", kind, *args, "--format", "json"], capsys)
    assert named == plain


def test_a_named_dimension_sets_the_default_sizes(capsys):
    code, named, _ = run(["derive", "conv1d", "--format", "json"], capsys)
    code, plain, _ = run(["derive", "conv", "--input-size", "3", "--kernel-size", "2"], capsys)
    assert '"output_size": [\n    2\n  ]' in named
    code, named, _ = run(["derive", "avg_pool3d", "--format", "json"], capsys)
    assert '"output_size": [\n    1,\n    1,\n    1\n  ]' in named


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["derive", "conv2d", "--input-size", "5"],
            "error: conv2d: --input-size must have 2 dimensions for a 2-D layer, got '5'",
        ),
        (
            ["toeplitz", "max_pool1d", "--input-size", "4x4"],
            "error: max_pool1d: --input-size must have 1 dimension for a 1-D layer, got '4x4'",
        ),
        (["derive", "convolution"], "error: kind must be one of conv, conv-transpose, max-pool"),
        (["latex", "conv4d"], "error: kind must be one of conv, conv-transpose, max-pool"),
    ],
)
def test_bad_kinds_are_one_line(capsys, argv, message):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith(message), err
    assert err.count("\n") == 1 and "usage:" not in err


@pytest.mark.parametrize("program", ["pdflatex", "pdftoppm"])
def test_missing_tex_names_every_debian_package(monkeypatch, tmp_path, program):
    real = latex_compile.shutil.which
    monkeypatch.setattr(latex_compile.shutil, "which", lambda p: None if p == program else real(p))
    with pytest.raises(LatexError) as info:
        if program == "pdflatex":
            latex_compile.compile_pdf("x", tmp_path / "x.pdf")
        else:
            latex_compile.pdf_to_png(tmp_path / "x.pdf", tmp_path)
    message = str(info.value)
    assert message.startswith(f"{program} not found on PATH")
    for package in (
        "texlive-latex-base",
        "texlive-latex-recommended",
        "texlive-fonts-recommended",
        "texlive-pictures",
        "lmodern",
        "poppler-utils",
    ):
        assert package in message


def test_a_missing_latex_package_names_the_debian_packages(tmp_path):
    if latex_compile.shutil.which("pdflatex") is None:
        pytest.skip("needs pdflatex")
    tex = "\\documentclass{article}\\usepackage{symconvnosuchpackage}\\begin{document}x\\end{document}"
    with pytest.raises(LatexError) as info:
        latex_compile.compile_pdf(tex, tmp_path / "x.pdf")
    assert "symconvnosuchpackage.sty is not installed" in str(info.value)
    assert "texlive-pictures" in str(info.value)
