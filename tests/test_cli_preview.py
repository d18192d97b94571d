"""Bounded previews: ``symconv derive`` / ``toeplitz`` and the Jupyter display stay small on
real-size layers, say what they left out, and give everything with ``--full``."""

from __future__ import annotations

import json

import pytest

import symconv
from symconv.cli import main

MEDIUM = "conv --input-size 16x16 --kernel-size 3x3 --in-channels 8 --out-channels 8".split()


def _run(capsys, *args):
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_derive_preview_of_a_medium_layer(capsys):
    status, out, _ = _run(capsys, "derive", *MEDIUM)
    assert status == 0
    lines = out.splitlines()
    # 8x14x14 = 1,568 outputs: 63 shown, the gap, then the last one
    forward = [l for l in lines if l.startswith("  y_")]
    assert len(forward) == 64 and forward[-1].startswith("  y_8,14,14 = ")
    assert "  ... 1,504 more entries not shown" in out
    assert "W is 2048x1568 with 112,896 non-zeros: showing its top-left 40x40 corner" in out
    # dE/dw_1111 sums 14x14 = 196 products, shown as its first 31 and its last
    line = next(l for l in lines if l.startswith("  dE/dw_1111 = "))
    assert line.startswith("  dE/dw_1111 = dy_1,1,1*x_1,1,1 + dy_1,1,2*x_1,1,2 + ")
    assert line.endswith(" + ... + dy_1,14,14*x_1,14,14   [196 terms]")
    assert line.count(" + ") == 32
    assert len(out) < 200_000


def test_full_prints_everything(capsys):
    args = "conv --input-size 5x5 --kernel-size 2x2 --in-channels 2 --out-channels 3".split()
    status, out, _ = _run(capsys, "derive", *args, "--max-entries", "4", "--full")
    assert status == 0 and "more entries" not in out and "corner" not in out
    assert sum(l.startswith("  y_") for l in out.splitlines()) == 3 * 4 * 4
    _, out, _ = _run(capsys, "derive", *args, "--max-entries", "4")
    assert sum(l.startswith("  y_") for l in out.splitlines()) == 4
    assert "  ... 44 more entries not shown" in out


def test_json_keeps_all_data_only_with_full(capsys):
    _, out, _ = _run(capsys, "derive", *MEDIUM, "--format", "json")
    data = json.loads(out)
    assert len(data["y"]) == 64 and data["elided"]["left_out"]["y"] == 1568 - 64
    assert data["elided"]["left_out"]["toeplitz_row"] == {
        "shape": [2048, 1568],
        "corner": [40, 40],
    }
    small = "conv --input-size 4x4 --kernel-size 2x2 --max-entries 3".split()
    _, out, _ = _run(capsys, "derive", *small, "--format", "json", "--full")
    data = json.loads(out)
    assert "elided" not in data and len(data["y"]) == 9 and len(data["toeplitz_row"]) == 16


def test_toeplitz_corner_of_a_real_size_layer(capsys):
    big = "conv --input-size 64x64 --kernel-size 3x3 --in-channels 64 --out-channels 64"
    status, out, _ = _run(capsys, "toeplitz", *big.split(), "--max-matrix", "4")
    assert status == 0
    assert "x W = y, shape 262144x246016:" in out
    assert "W is 262144x246016 with 141,705,216 non-zeros" in out
    rows = [l.strip(" []").split() for l in out.splitlines() if l.startswith("  [")]
    assert rows[0] == ["w_1,1,1,1", "0", "0", "0"]
    assert rows[3] == ["0", "w_1,1,1,3", "w_1,1,1,2", "w_1,1,1,1"]


@pytest.mark.parametrize("option", ["--max-entries", "--max-matrix", "--max-terms"])
def test_limits_below_two_are_refused(capsys, option):
    status, _, err = _run(capsys, "derive", option, "1")
    assert status == 2 and err.startswith(f"error: {option} must be at least 2, got 1")


def test_jupyter_display_of_lenet_conv1_is_small():
    d = symconv.derive(symconv.conv((32, 32), 5, out_channels=6, bias=True))
    tex = d._repr_latex_()
    assert len(tex) <= 20_000 and not d.is_built
    assert r"\text{(26 terms)}" in tex and tex.startswith("$$") and tex.endswith("$$")
