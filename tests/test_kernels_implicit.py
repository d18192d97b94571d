"""The implicit GEMM strategy (tap accumulation over a zero-bordered wide flat copy, no column
buffer; ``generate_numpy(layer, implicit=True)``): where it can run, and its y, dE/dx, dE/dw,
dE/db against the float64 reference loops (symconv.core.reference), PyTorch (float32), exact
Fractions, and bit-identical whatever the number of threads."""

from __future__ import annotations

import types
from fractions import Fraction

import numpy as np
import pytest

import symconv
from symconv import reference
from symconv.codegen import generate_numpy, strategy
from symconv.core.errors import CodegenError, SpecError

from kernel_oracle import inputs


def load(layer, implicit=True) -> types.ModuleType:
    module = types.ModuleType(f"implicit_{abs(hash(layer.spec))}")
    exec(compile(generate_numpy(layer, implicit), module.__name__, "exec"), module.__dict__)
    return module


def run(module, x, w, b, dy):
    y = module.forward(x, w, b)
    return (y,) + tuple(module.backward(dy, x, w))


def run_reference(spec, x, w, b, dy):
    """(y, dx, dw, db) of the reference loops, sample by sample (dw, db summed)."""
    ys, dxs, dw, db = [], [], 0, 0
    for i in range(len(x)):
        ys.append(reference.forward(spec, x[i], w, b))
        dx_i, dw_i, db_i = reference.backward(spec, dy[i], x[i], w)
        dxs.append(dx_i)
        dw = dw + dw_i
        db = db + db_i if spec.bias else None
    return np.stack(ys), np.stack(dxs), dw, db


def assert_close(ours, theirs, rtol, what):
    if theirs is None:
        assert ours is None, what
        return
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    err = float(np.abs(ours - theirs).max()) / max(float(np.abs(theirs).max()), 1.0)
    assert err <= rtol, f"{what}: relative error {err:.1e}"


#: Stride-1 dense layers the implicit GEMM can run: dilation, asymmetric padding,
#: groups, 1-D/2-D/3-D, bias on and off, flipped kernels, a transposed convolution.
IMPLICIT = [
    symconv.conv((7, 6), 3, in_channels=3, out_channels=4, padding=1, bias=True),
    symconv.conv((9, 8), 3, in_channels=4, out_channels=2, dilation=2, padding=((0, 2), (3, 1))),
    symconv.conv((8, 7), (2, 3), in_channels=4, out_channels=6, groups=2, padding=1, bias=True),
    symconv.conv(
        (11,), 4, in_channels=2, out_channels=3, padding=((2, 1),), dilation=2, flip=True
    ),
    symconv.conv((5, 4, 6), (2, 3, 2), in_channels=2, out_channels=3, padding=1, bias=True),
    symconv.conv((6, 6), 3, in_channels=2, out_channels=2, padding=((0, 0), (2, 0)), flip=True),
    symconv.conv_transpose((5, 6), 3, in_channels=4, out_channels=2, padding=1, bias=True),
    symconv.conv_transpose((4, 5), 2, in_channels=4, out_channels=6, groups=2, dilation=2),
]

#: Layers the implicit GEMM cannot run, with the strategy they get.
OTHERS = [
    (
        symconv.conv((9, 9), 3, in_channels=2, out_channels=3, stride=2, padding=1, bias=True),
        "im2col GEMM",
    ),
    (
        symconv.conv((9, 8), 3, in_channels=2, out_channels=3, stride=(1, 2)),
        "im2col GEMM",
    ),
    (symconv.conv((6, 6), 1, in_channels=4, out_channels=3, bias=True), "direct GEMM"),
    (
        symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=4, padding=1),
        "depthwise taps",
    ),
    (
        symconv.conv_transpose((4, 4), 4, in_channels=2, out_channels=2, stride=2, padding=1),
        "polyphase im2col GEMM",
    ),
]


def _id(layer):
    return repr(layer.spec).split(" ->")[0]


@pytest.mark.parametrize("layer", IMPLICIT, ids=_id)
def test_implicit_gemm_against_reference_loops(layer, rng):
    assert strategy(layer, implicit=True) == "implicit GEMM"
    assert strategy(layer) != "implicit GEMM"  # only on request
    module = load(layer)
    spec = layer.spec
    x, w, b, dy = inputs(spec, 3, rng)
    got = run(module, x, w, b, dy)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, run_reference(spec, x, w, b, dy)):
        assert_close(ours, theirs, 1e-12, name)
    # b=None counts as zero; float32 stays float32
    assert_close(module.forward(x, w), run_reference(spec, x, w, None, dy)[0], 1e-12, "y, b=None")
    x32, w32, b32, dy32 = (None if a is None else a.astype(np.float32) for a in (x, w, b, dy))
    assert all(a is None or a.dtype == np.float32 for a in run(module, x32, w32, b32, dy32))


@pytest.mark.parametrize(
    "layer, name", OTHERS, ids=lambda v: _id(v) if not isinstance(v, str) else ""
)
def test_implicit_gemm_needs_stride_one_windows(layer, name, rng):
    """Asked for where it cannot run (strided, 1x1, depthwise), the implicit GEMM is a clear
    error; by default those layers keep their strategies (and agree with the reference loops)."""
    assert strategy(layer) == name
    with pytest.raises(CodegenError, match=r"implicit=True needs a dense convolution .* stride 1"):
        generate_numpy(layer, implicit=True)
    spec = layer.spec
    x, w, b, dy = inputs(spec, 2, rng)
    got = run(load(layer, implicit=False), x, w, b, dy)
    for what, ours, theirs in zip(("y", "dx", "dw", "db"), got, run_reference(spec, x, w, b, dy)):
        assert_close(ours, theirs, 1e-12, what)


def test_implicit_must_be_a_bool():
    layer = symconv.conv((5, 5), 3)
    with pytest.raises(SpecError, match="implicit must be True or False, got 'yes'"):
        generate_numpy(layer, implicit="yes")


def test_implicit_gemm_is_exact_with_fractions(rng):
    layer = symconv.conv((4, 5), (2, 3), in_channels=2, out_channels=2, padding=(1, 0), bias=True)
    spec = layer.spec

    def fractions(shape):
        p = rng.integers(-6, 7, shape)
        q = rng.integers(1, 5, shape)
        return np.vectorize(Fraction, otypes=[object])(p, q)

    x, dy = fractions((2,) + spec.x_shape), fractions((2,) + spec.y_shape)
    w, b = fractions(spec.w_shape), fractions(spec.b_shape)
    got = run(load(layer), x, w, b, dy)
    for ours, theirs in zip(got, run_reference(spec, x, w, b, dy)):
        assert ours.dtype == object and (ours == theirs).all()


def test_threads_and_blocks_do_not_change_a_bit(rng):
    """Every copy split over 1, 2 or 3 threads and the accumulation cut into blocks of one
    sample: bit-identical results."""
    layer = symconv.conv((9, 7), 3, in_channels=4, out_channels=6, padding=(2, 1), bias=True)
    module = load(layer)
    x, w, b, dy = inputs(layer.spec, 5, rng)
    whole = run(module, x, w, b, dy)
    module.PARALLEL_BYTES, module.BLOCK_BYTES = 0, 1
    module._EXECUTORS.clear()
    for k in (1, 2, 3):
        module.THREADS = k
        module.clear_workspace()
        for ours, theirs in zip(run(module, x, w, b, dy), whole):
            assert np.array_equal(ours, theirs)
    assert sorted(module._EXECUTORS) == [2, 3]


def test_real_size_module_reads_runs_at_offsets_off_the_index_map():
    layer = symconv.conv((56, 56), 3, in_channels=64, out_channels=64, padding=1)
    assert strategy(layer) == "im2col GEMM"  # the default (see strategies' docstring)
    source = generate_numpy(layer, implicit=True)
    assert 'STRATEGY = "implicit GEMM"' in source and "_window(" not in source
    # every tap reads one run of the wide copy (rows of 58) at an offset a*58 + b, and dE/dx
    # the taps of the rotated kernel
    for t, offset in enumerate(a * 58 + b for a in range(3) for b in range(3)):
        assert f"np.matmul(wk[{t}], xg[s, :, :, {offset}:{offset + 56 * 58}], out=" in source
        back = 2 * 58 + 2 - offset
        assert f"np.matmul(wd[{t}], dyg[s, :, :, {back}:{back + 56 * 58}], out=" in source


def test_float32_against_torch(torch_or_skip, rng):
    """A threaded-size layer, float32 against torch's conv2d + autograd."""
    torch = torch_or_skip
    layer = symconv.conv((40, 36), 3, in_channels=48, out_channels=32, padding=(1, 2), bias=True)
    spec = layer.spec
    x, w, b, dy = inputs(spec, 2, rng, np.float32)
    w *= 0.1
    got = run(load(layer), x, w, b, dy)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=(1, 2))
    ty.backward(torch.from_numpy(dy))
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, (ty, tx.grad, tw.grad, tb.grad)):
        assert_close(ours, theirs.detach().numpy(), 2e-5, name)


def test_cli_codegen_implicit(capsys):
    from symconv.cli import main

    args = ["codegen", "conv", "--input-size", "8x8", "--kernel-size", "3x3", "--padding", "1"]
    args += ["--in-channels", "4", "--out-channels", "4"]
    assert main(args + ["--implicit"]) == 0
    source = capsys.readouterr().out
    assert 'STRATEGY = "implicit GEMM"' in source
    namespace = {}
    exec(compile(source, "implicit_cli", "exec"), namespace)  # our own generated module
    x = np.random.default_rng(0).standard_normal((2, 4, 8, 8))
    w = np.random.default_rng(1).standard_normal((4, 4, 3, 3))
    layer = symconv.conv((8, 8), 3, in_channels=4, out_channels=4, padding=1)
    y = namespace["forward"](x, w)
    for n in range(2):  # the reference loops take one sample
        assert np.allclose(y[n], reference.forward(layer.spec, x[n], w))
    assert (
        main(
            [
                "codegen",
                "conv",
                "--input-size",
                "8x8",
                "--kernel-size",
                "3x3",
                "--stride",
                "2",
                "--implicit",
            ]
        )
        == 2
    )
    assert "implicit=True needs a dense convolution" in capsys.readouterr().err
