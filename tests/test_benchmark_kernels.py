"""The kernel benchmark script runs end to end on one small shape, and its ceiling arithmetic
holds on hand-made figures."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "benchmark_kernels.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_kernels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(bench, capsys, monkeypatch, only, shape):
    """One quick run of the script on the shapes matching ``only``: (its output, the table rows
    of ``shape``)."""
    monkeypatch.setattr(bench, "SETTLE", 0.0)
    assert bench.main(["--quick", "--repeat", "1", "--only", only]) == 0
    out = capsys.readouterr().out
    return out, [line for line in out.splitlines() if line.startswith(shape)]


def test_one_shape_runs_and_agrees_with_torch(bench, capsys, monkeypatch):
    out, rows = run_quick(bench, capsys, monkeypatch, "5x5", "32x3x32x32 5x5->16")
    assert [row.split()[2] for row in rows] == ["float32", "float64"]
    assert "summary" in out and "largest conv (32x3x32x32 5x5->16, float32)" in out
    if bench.torch is None:
        assert "PyTorch is not installed" in out
        assert all(row.split()[-1] == "-" for row in rows)
        return
    # the last column is the largest relative difference from torch's forward and gradients
    diffs = [float(row.split()[-1]) for row in rows]
    assert diffs[0] < 1e-4 and diffs[1] < 1e-12
    assert re.search(r"float64: geometric mean symconv/torch \d+\.\d\d \(target <= 0\.85", out)
    assert re.search(r"32x3x32x32 5x5->16 +GEMMs alone +\d+\.\d\d +\(measured \d+\.\d\d\)", out)


def test_pool_only_run_has_no_conv_rows_and_matches_torch_exactly(bench, capsys, monkeypatch):
    out, rows = run_quick(bench, capsys, monkeypatch, "max", "16x64x56x56 max 2x2 s2")
    assert [row.split()[4] for row in rows] == ["float32", "float64"]
    assert "largest conv" not in out and "ceilings" not in out
    if bench.torch is not None:  # max pooling only routes values: bit-identical to torch
        assert [float(row.split()[-1]) for row in rows] == [0.0, 0.0]


def test_column_bytes_counts_both_gathers(bench):
    import symconv

    layer = symconv.conv((56, 56), 3, in_channels=64, out_channels=64, padding=1)
    # x: 64 channels x 9 taps x 56*56 outputs; dE/dy: 64 x 9 x 56*56 inputs; 16 samples
    assert bench.column_bytes(layer, 16) == 4 * 16 * (64 * 9 * 3136 + 64 * 9 * 3136)
    # stride 2: each input phase gathers only its own taps, 28x28 each; the phase of one tap
    # (the centre) reads dE/dy itself, the others gather 2 + 2 + 4 taps
    layer = symconv.conv((56, 56), 3, in_channels=64, out_channels=64, stride=2, padding=1)
    assert bench.column_bytes(layer, 2, 8) == 8 * 2 * (64 * 9 * 784 + 64 * 8 * 784)
    # few input channels: col2im's product (3 x 25 x 28*28) is smaller than dE/dy gathered
    # (16 x 25 x 32*32), so that is the least dE/dx must write
    layer = symconv.conv((32, 32), 5, in_channels=3, out_channels=16)
    assert bench.column_bytes(layer, 1) == 4 * (3 * 25 * 784 + 3 * 25 * 784)
    # a 1x1 convolution multiplies x itself: no columns
    assert bench.column_bytes(symconv.conv((14, 14), 1, in_channels=8, out_channels=8), 4) == 0


def test_bounds_name_the_rows_no_im2col_module_can_bring_within_the_target(bench, capsys):
    bounds = [
        ("thin", 2e-3, 0.6e-3, 4e-3, 15 * 2**20),  # writing alone is 30% of its GEMMs
        ("wide", 70e-3, 8e-3, 90e-3, 220 * 2**20),  # 11%: within reach
    ]
    assert bench.print_bounds(bounds) == ["thin"]
    out = capsys.readouterr().out
    assert re.search(
        r"thin +GEMMs +2\.00 ms, +15\.0 MiB .* 0\.60 ms: at least 1\.30 +\(measured 2\.00\)", out
    )
    assert re.search(r"wide +GEMMs +70\.00 ms, +220\.0 MiB .* 8\.00 ms: at least 1\.11 ", out)
    assert bench.print_bounds([("direct", 1e-3, 0.0, 1e-3, 0)]) == []


def test_float64_floor_bound(bench, capsys):
    times = {
        ("a", "float64"): dict(ours=0.6, torch=1.0, flops=1.0, extra={"gemms": 0.5}),
        ("b", "float64"): dict(
            ours=0.9, torch=1.0, flops=1.0, extra={"gemms": 0.9, "gemms_scatter": 0.8}
        ),
        ("pool", "float64"): dict(ours=2.0, torch=1.0, flops=0.0, extra={}),
    }
    bench.print_ceilings(times)
    out = capsys.readouterr().out
    assert re.search(r"a +GEMMs alone +0\.50 +\(measured 0\.60\)", out)
    assert re.search(r"b +GEMMs alone +0\.80 +\(measured 0\.90\)", out)  # the faster form
    bound = (0.5 * 0.8 * 2.0) ** (1 / 3)
    assert f"geometric mean would be {bound:.2f}" in out
    need = 0.85**3 / (0.5 * 0.8)  # issue 16's float64 target
    assert f"reaching 0.85 would take the other rows (pool) to {need:.2f} each" in out
    assert math.isclose(bound, 0.93, abs_tol=0.005)


def test_the_three_sweeps_run_on_a_tiny_layer(bench, capsys, monkeypatch):
    """--threads, --implicit and --winograd each time their two modules on one small layer and
    print a ratio row (the sweeps share their helpers; one shadowing another broke --threads)."""
    monkeypatch.setattr(bench, "IMPLICIT_SWEEP", [(2, 4, 8, 4, 3)])
    monkeypatch.setattr(bench, "WINOGRAD_SWEEP", [(2, 4, 8)])
    bench.thread_sweep(2, 1, sizes=(8,), channels=(2,))
    bench.implicit_sweep(1)
    bench.winograd_sweep(1)
    out = capsys.readouterr().out
    ratios = re.findall(r"^\S.* (\d+\.\d\d)$", out, flags=re.M)
    assert len(ratios) >= 2 + 2 + 2, out  # a row per dtype and sweep (threads: per layer kind)
    assert all(float(r) > 0 for r in ratios)
    assert "2x4x8 -> 4, 3x3" in out and "2x4x8, 3x3 p1" in out


def test_a_module_without_its_gemms_runs_everything_else(bench):
    """--outside times a generated module whose np.matmul multiplies nothing: the copies and
    scatters still run (the real module's workspace is untouched), the products do not."""
    import numpy as np
    import symconv
    from symconv.codegen import generate_numpy

    from kernel_oracle import run_reference

    fake = bench._NoGemm()
    a, b = np.ones((2, 3, 4)), np.ones((4, 5))
    assert fake.matmul(a, b).shape == (2, 3, 5)
    out = np.full((2, 3, 5), 7.0)
    assert fake.matmul(a, b, out=out) is out and (out == 7.0).all()
    assert fake.float32 is np.float32 and fake.lib is np.lib

    layer = symconv.conv((6, 6), 3, in_channels=2, out_channels=3, padding=1, bias=True)
    source = generate_numpy(layer)
    real, bare = bench._load(source, "real"), bench.without_gemms(source, "bare")
    rng = np.random.default_rng(3)
    x, w, bias, dy = bench.arrays_for(layer.spec, 2, np.float64, rng)
    y_ref = run_reference(layer.spec, x, w, bias, dy)[0]
    assert np.allclose(real.forward(x, w, bias), y_ref)
    with np.errstate(all="ignore"):
        y_bare = bare.forward(x, w, bias)
        grads = bare.backward(dy, x, w)
    assert y_bare.shape == y_ref.shape and [g.shape for g in grads] == [x.shape, w.shape, (3,)]
    assert not np.allclose(y_bare, y_ref)  # no multiplication ran
    assert np.allclose(real.forward(x, w, bias), y_ref)  # the real module is unaffected


def test_outside_sweep_prints_a_row_per_dense_conv_and_dtype(bench, capsys, monkeypatch):
    import numpy as np

    monkeypatch.setattr(
        bench,
        "SUITE",
        [
            (
                "4x16x16x16 3x3->16 p1",
                "conv",
                4,
                16,
                16,
                dict(kernel_size=3, out_channels=16, padding=1),
            ),
            ("4x16x16x16 max 2x2", "max_pool", 4, 16, 16, dict(kernel_size=2, stride=2)),
        ],
    )
    bench.outside_sweep(1, dtypes=(np.float32,))
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("4x16x16x16")]
    assert len(rows) == 1 and rows[0].split()[3] == "float32"  # the pool has no GEMMs
    module, gemms, outside, share, ratio = map(float, rows[0].split()[4:])
    assert module > 0 and gemms >= 0.01 and outside > 0
    # the printed ratios agree with the printed times, up to their rounding to 0.01 ms
    for value, top in ((share, outside), (ratio, module)):
        assert (top - 0.005) / (gemms + 0.005) - 0.005 <= value
        assert value <= (top + 0.005) / (gemms - 0.005) + 0.005
