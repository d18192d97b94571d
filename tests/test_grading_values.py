"""One value format: Derivation.evaluate, check, problem files and the CLI read given values
the same way; exact results print cleanly; the CLI's messages for bad options.

Expected numbers are computed here by hand (seed 000: 3x3 input, 2x2 kernel)."""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np
import pytest

import symconv
from symconv.check import check, load_problem
from symconv.cli import build_parser, main
from symconv.errors import SpecError

X = [[1, 2, 0], [0, 1, 3], [2, 1, 1]]
W_HALF = [[Fraction(1, 2), -1], [2, 0]]
# y_ij = x_ij / 2 - x_i,j+1 + 2 x_i+1,j
Y_HALF = [[Fraction(1, 2) - 2 + 0, 1 - 0 + 2], [0 - 1 + 4, Fraction(1, 2) - 3 + 2]]

FORMS = {
    "nested lists with Fractions": W_HALF,
    "entry strings": [["1/2", "-1"], ["2", "0"]],
    "answer text": "[[1/2, -1], [2, 0]]",
    "LaTeX text": r"\begin{bmatrix} \frac{1}{2} & -1 \\ 2 & 0 \end{bmatrix}",
    "rows text": "0.5 -1; 2 0",
    "numpy object array": np.array(W_HALF, dtype=object),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_evaluate_and_check_read_the_same_values(form):
    w = FORMS[form]
    layer = symconv.conv((3, 3), 2)
    y = symconv.derive(layer).evaluate(x=X, w=w)["y"]
    assert y.reshape(2, 2).tolist() == Y_HALF
    assert all(isinstance(v, Fraction) for v in y.reshape(-1))
    assert check(layer, "output", [[str(v) for v in row] for row in Y_HALF], x=X, w=w).correct
    layer_data = {"kind": "conv", "input_size": [3, 3], "kernel_size": 2}
    problem = load_problem({"layer": layer_data, "quantity": "output", "x": X, "w": w})
    assert problem.check("[[-3/2, 3], [3, -1/2]]").correct


def test_exact_results_print_cleanly():
    d = symconv.derive(symconv.conv((3, 3), 2))
    y = d.evaluate(x=X, w=W_HALF)["y"]
    text = repr(y)
    assert "Fraction" not in text and "[[[-3/2, 3]," in text and "[3, -1/2]" in text
    assert str(y[0, 0, 0]) == repr(y[0, 0, 0]) == "-3/2"
    floats = d.evaluate(x=np.array(X, dtype=float), w=W_HALF)["y"]
    assert floats.dtype == np.float64 and floats[0, 0, 0] == -1.5


def test_bias_for_a_layer_without_bias_is_an_error():
    d = symconv.derive(symconv.conv((3, 3), 2))
    with pytest.raises(SpecError, match="no bias"):
        d.evaluate(x=X, w=W_HALF, b=[1])
    with pytest.raises(SpecError, match="no bias"):
        check(symconv.conv((3, 3), 2), "output", "[[1, 2], [3, 4]]", x=X, w=W_HALF, b=[1])


def test_a_ragged_list_names_the_row():
    ragged = [[1, 2, 0], [0, 1], [2, 1, 1]]
    message = r"x is ragged: x\[1\] has 2 entries, x\[0\] has 3"
    with pytest.raises(SpecError, match=message):
        symconv.derive(symconv.conv((3, 3), 2)).evaluate(x=ragged, w=W_HALF)
    with pytest.raises(SpecError, match=message):
        check(symconv.conv((3, 3), 2), "output", "[[1, 2], [3, 4]]", x=ragged, w=W_HALF)
    with pytest.raises(SpecError, match=message):
        load_problem(
            {
                "layer": {"kind": "conv", "input_size": [3, 3], "kernel_size": 2},
                "quantity": "output",
                "x": ragged,
            }
        )
    deep = [[[1, 2], [3, 4]], [[1, 2], [3]]]
    with pytest.raises(SpecError, match=r"w\[1\]\[1\] has 1 entries, w\[1\]\[0\] has 2"):
        check(symconv.conv((3, 3), 2, out_channels=2), "output", "1", x=X, w=deep)


def test_str_of_a_check_result_is_its_text():
    r = check(symconv.conv((3, 3), 2), "output", "[[-3/2, 3], [3, -1/2]]", x=X, w=W_HALF)
    assert str(r) == r.to_text() and str(r).startswith("check output of conv2d")


# ---------------------------------------------------------------------- CLI messages
def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_padding_errors_list_the_accepted_forms(capsys):
    code, _, err = run(["derive", "conv", "--padding", "lots"], capsys)
    assert code == 2
    for form in ("1x2", "same", "same_lower", "valid", "lo:hi"):
        assert form in err


@pytest.mark.parametrize("option", ["--input-size", "--kernel-size", "--stride"])
def test_a_negative_size_gets_a_message_about_the_size(option, capsys):
    code, _, err = run(["derive", "conv", option, "-3x3"], capsys)
    assert code == 2
    assert "expected one argument" not in err
    assert option.lstrip("-").replace("-", "_") in err and "positive" in err


def test_check_cli_reads_ragged_values_with_the_row(capsys):
    code, _, err = run(
        [
            "check",
            "conv",
            "--quantity",
            "output",
            "--answer",
            "[[1, 2], [3, 4]]",
            "--x",
            "[[1, 2, 0], [0, 1], [2, 1, 1]]",
            "--w",
            "[[1, 0], [0, 1]]",
        ],
        capsys,
    )
    assert code == 2 and "--x: ragged rows" in err and "2 entries instead of 3" in err


def test_grade_into_a_missing_folder_says_so(tmp_path, capsys):
    problem = tmp_path / "problem.json"
    problem.write_text(
        '{"layer": {"kind": "conv", "input_size": [3, 3], "kernel_size": 2},'
        ' "quantity": "output-size"}'
    )
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.txt").write_text("2x2")
    target = tmp_path / "missing" / "report.csv"
    code, _, err = run(["grade", str(subs), "--problem", str(problem), "-o", str(target)], capsys)
    assert code == 2
    assert "does not exist" in err and str(tmp_path / "missing") in err
    assert ".tmp" not in err and not target.parent.exists()


@pytest.mark.parametrize("command", ["check", "grade"])
def test_every_option_has_help(command):
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [a.dest for a in sub.choices[command]._actions if not a.help]
    assert missing == []
