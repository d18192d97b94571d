"""The command line: the default job, formats, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from symconv.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_default_job_is_seed000(capsys):
    code, out, err = run([], capsys)
    assert code == 0 and err == ""
    assert "y_11 = w_11*x_11 + w_12*x_12 + w_21*x_21 + w_22*x_22" in out
    assert "dE/dw_12 = dy_11*x_12 + dy_12*x_13 + dy_21*x_22 + dy_22*x_23" in out
    assert "dE/dx_22 = dy_11*w_22 + dy_12*w_21 + dy_21*w_12 + dy_22*w_11" in out
    assert "[w_22  w_21  w_12  w_11]" in out  # row 5 of the slides' W


def test_derive_json(capsys):
    code, out, _ = run(
        ["derive", "conv", "--input-size", "4", "--kernel-size", "2", "--format", "json"], capsys
    )
    data = json.loads(out)
    assert code == 0
    assert data["output_size"] == [3]
    assert data["y"]["y_1"] == "w_1*x_1 + w_2*x_2"
    assert data["toeplitz_row"][1] == ["w_2", "w_1", "0"]


def test_toeplitz_column_latex(capsys):
    code, out, _ = run(
        [
            "toeplitz",
            "conv",
            "--input-size",
            "3",
            "--kernel-size",
            "2",
            "--convention",
            "column",
            "--format",
            "latex",
        ],
        capsys,
    )
    assert code == 0
    assert out.strip() == r"\begin{bmatrix}w_{1} & w_{2} & 0\\0 & w_{1} & w_{2}\end{bmatrix}"


def test_pool_and_transpose_options(capsys):
    code, out, _ = run(
        ["derive", "avg-pool", "--input-size", "4x4", "--kernel-size", "2x2"], capsys
    )
    assert code == 0 and "y_11 = x_11/4 + x_12/4 + x_21/4 + x_22/4" in out
    code, out, _ = run(
        ["toeplitz", "conv-transpose", "--input-size", "2", "--kernel-size", "2", "--stride", "2"],
        capsys,
    )
    assert code == 0 and "shape 2x4" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["derive", "--kernel-size", "5x5"],
            "error: conv2d: effective kernel 5x5 (kernel 5x5) is larger than the padded input 3x3",
        ),
        (
            ["derive", "--input-size", "3xa"],
            "error: --input-size must be integers joined by 'x' (e.g. 3x3), got '3xa'",
        ),
        (["derive", "--padding", "lots"], "error: --padding must be integers joined by 'x'"),
        (
            ["derive", "conv", "--groups", "2", "--in-channels", "3"],
            "error: conv2d: groups must divide",
        ),
        (
            ["toeplitz", "max-pool", "--input-size", "4x4"],
            "error: max_pool2d: max pooling is not linear",
        ),
    ],
    ids=["kernel-too-large", "bad-size", "bad-padding", "groups", "maxpool-toeplitz"],
)
def test_errors_exit_2_with_one_line(argv, message, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err and err.count("\n") == 1


def test_module_entry_point_runs_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "symconv", "derive", "--stride", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr == "error: conv2d: stride must be positive integers, got 0\n"


def test_wheel_ships_templates_and_runs_outside_the_repository(tmp_path):
    """Build the wheel, unpack it as an installer would, run the CLI from another folder."""
    pytest.importorskip("hatchling")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("symconv-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    assert any(n.startswith("symconv/templates/") for n in names)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "import symconv, symconv.templating as t; from symconv.cli import main; "
            "print(t.templates_dir()); sys.exit(main(['derive']))",
            str(site),
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(site) in proc.stdout.splitlines()[0]
    assert "y_11 = w_11*x_11" in proc.stdout
