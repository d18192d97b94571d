"""Generated Winograd F(2x2, 3x3) modules (``generate_numpy(layer, winograd=True)``): forward
and backward against the reference loops (core/reference.py), PyTorch (when installed) in
float32 and float64, central finite differences and exact Fraction arithmetic; ragged tiles,
any padding (larger than the kernel, asymmetric), flip, bias, blocks of samples and bands of
tile rows; the rule's errors, the manifest key, the CLI flag and determinism."""

from __future__ import annotations

import ast
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import symconv
from symconv.cli import main as cli_main
from symconv.codegen import (
    CodegenError,
    MANIFEST_NAME,
    SpecError,
    generate_numpy,
    load_manifest,
    strategies,
    strategy,
)

from kernel_oracle import assert_close, fractions, inputs, run_reference

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"

#: (input size, padding, flip, bias, in channels, out channels, batch): odd and even sizes
#: (ragged last tiles in rows, columns or both), a 1x1 output, padding 0 to 3 and asymmetric
#: (dE/dx then crops dE/dy: padding 2 - p < 0), true convolutions and correlations.
LAYERS = [
    ((5, 5), 1, False, True, 2, 3, 2),
    ((6, 7), 0, True, False, 3, 2, 1),
    ((3, 3), 0, False, True, 1, 2, 3),
    ((6, 7), ((3, 0), (2, 1)), True, True, 2, 2, 2),
    ((4, 5), 3, False, False, 2, 3, 2),
    ((8, 8), 2, True, True, 4, 4, 3),
    ((6, 6), 1, False, False, 5, 1, 1),
    ((7, 6), ((0, 2), (1, 0)), False, True, 3, 4, 2),
    ((2, 9), ((2, 2), (0, 3)), True, False, 1, 1, 2),
]
IDS = [
    f"{s[0]}x{s[1]}-p{p}-{'flip' if f else 'corr'}-b{int(b)}-{c}to{o}-n{n}"
    for (s, p, f, b, c, o, n) in LAYERS
]


def layer_of(case):
    size, pad, flip, bias, cin, cout, _ = case
    return symconv.conv(
        size, 3, in_channels=cin, out_channels=cout, padding=pad, flip=flip, bias=bias
    )


def module_for(layer, block_bytes=None) -> types.ModuleType:
    """The Winograd module of ``layer``, executed in a fresh module object; ``block_bytes``
    overrides its BLOCK_BYTES (1: one band of one tile row of one sample per block)."""
    module = types.ModuleType("winograd_test")
    exec(compile(generate_numpy(layer, winograd=True), module.__name__, "exec"), module.__dict__)
    if block_bytes is not None:
        module.BLOCK_BYTES = block_bytes
    return module


def run(module, x, w, b, dy):
    return (module.forward(x, w, b),) + tuple(module.backward(dy, x, w))


NAMES = ("y", "dx", "dw", "db")


# ---------------------------------------------------------------------- against oracles
@pytest.mark.parametrize("block_bytes", [None, 1, 3000], ids=["default", "bands", "samples"])
@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_against_reference(case, block_bytes, rng):
    """float64 within 1e-12 of the reference loops, whether a block is the whole batch, a band
    of one tile row of one sample (block_bytes=1) or a few samples."""
    layer = layer_of(case)
    spec = layer.spec
    module = module_for(layer, block_bytes)
    assert module.STRATEGY == "Winograd"
    x, w, b, dy = inputs(spec, case[-1], rng)
    expected = run_reference(spec, x, w, b, dy)
    got = run(module, x, w, b, dy)
    for name, ours, theirs in zip(NAMES, got, expected):
        assert_close(ours, theirs, 1e-12, name)
    if spec.bias:  # b=None counts as zero
        assert_close(module.forward(x, w), expected[0] - b.reshape(-1, 1, 1), 1e-12, "y(b=None)")
    # float32 stays float32
    x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
    for arr in run(module, x32, w32, None, dy32):
        assert arr is None or arr.dtype == np.float32


@pytest.mark.parametrize("block_bytes", [None, 1], ids=["default", "bands"])
@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_exact_with_fractions(case, block_bytes, rng):
    """Object arrays of Fractions: the transforms' halves are exact, so every entry equals the
    reference loops' exact value."""
    layer = layer_of(case)
    spec = layer.spec
    n = case[-1]
    x, dy = fractions(rng, (n,) + spec.x_shape), fractions(rng, (n,) + spec.y_shape)
    w = fractions(rng, spec.w_shape)
    b = fractions(rng, spec.b_shape) if spec.bias else None
    got = run(module_for(layer, block_bytes), x, w, b, dy)
    expected = run_reference(spec, x, w, b, dy)
    for name, ours, theirs in zip(NAMES, got, expected):
        if theirs is None:
            assert ours is None
            continue
        assert ours.dtype == object and ours.shape == theirs.shape, name
        assert all(isinstance(v, (Fraction, int)) for v in ours.flat), name
        assert (ours == theirs).all(), name


def _torch_call(torch, spec, x, w, b, dy):
    """Forward + autograd backward with torch: the padding (asymmetric too) by F.pad, the
    convolution unpadded; flip reads the kernel rotated."""
    F = torch.nn.functional
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True) if b is not None else None
    (top, bottom), (left, right) = spec.padding
    kernel = torch.flip(tw, dims=(2, 3)) if spec.flip else tw
    y = F.conv2d(F.pad(tx, (left, right, top, bottom)), kernel, tb)
    y.backward(torch.from_numpy(dy))
    return (
        y.detach().numpy(),
        tx.grad.numpy(),
        tw.grad.numpy(),
        tb.grad.numpy() if tb is not None else None,
    )


#: float32 tolerance (relative to the largest entry): F(2x2, 3x3) adds and subtracts up to four
#: values in each transform and scales by halves, so its rounding error can exceed a direct
#: sum's by a small factor (the literature quotes about 1e-6 relative); measured against torch in
#: float64, forward of 3x3 p1 layers with 16-256 channels: 2e-7 to 6e-7, about im2col's 4e-7 to
#: 5e-7. 1e-5 leaves room for the longest channel sums and still catches any wrong tap, sign or
#: crop (errors of order 1).
FLOAT32_RTOL = 1e-5


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_against_torch(case, dtype, torch_or_skip, rng):
    layer = layer_of(case)
    spec = layer.spec
    x, w, b, dy = inputs(spec, case[-1], rng, dtype)
    got = run(module_for(layer), x, w, b, dy)
    # torch in float64 on the same (rounded) values: the oracle of both dtypes
    expected = _torch_call(
        torch_or_skip, spec, *(None if a is None else a.astype(np.float64) for a in (x, w, b, dy))
    )
    rtol = 1e-12 if dtype == np.float64 else FLOAT32_RTOL
    for name, ours, theirs in zip(NAMES, got, expected):
        assert ours is None or ours.dtype == dtype
        assert_close(ours, theirs, rtol, f"{np.dtype(dtype).name} {name}")


def test_float32_error_of_a_wide_layer(torch_or_skip, rng):
    """64 channels, 14x14, float32 (bands of tile rows): within FLOAT32_RTOL of torch's float64."""
    layer = symconv.conv((14, 14), 3, in_channels=64, out_channels=32, padding=1, bias=True)
    module = module_for(layer, 1 << 14)
    x, w, b, dy = inputs(layer.spec, 2, rng, np.float32)
    got = run(module, x, w, b, dy)
    expected = _torch_call(
        torch_or_skip, layer.spec, *(a.astype(np.float64) for a in (x, w, b, dy))
    )
    for name, ours, theirs in zip(NAMES, got, expected):
        assert_close(ours, theirs, FLOAT32_RTOL, name)


@pytest.mark.parametrize("case", LAYERS[:6], ids=IDS[:6])
def test_finite_differences(case, rng):
    """Central differences of E = sum(dy * y) in float64 match backward()."""
    layer = layer_of(case)
    spec = layer.spec
    module = module_for(layer)
    x, w, b, dy = inputs(spec, case[-1], rng)
    dx, dw, db = module.backward(dy, x, w)

    def loss():
        return float((module.forward(x, w, b) * dy).sum())

    h = 1e-6
    pairs = [("x", x, dx), ("w", w, dw)] + ([("b", b, db)] if spec.bias else [])
    for name, arr, grad in pairs:
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 10), replace=False):
            old = flat[i]
            flat[i] = old + h
            plus = loss()
            flat[i] = old - h
            minus = loss()
            flat[i] = old
            fd = (plus - minus) / (2 * h)
            assert abs(fd - grad.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(fd)), (name, i)


# ---------------------------------------------------------------------- the module's shape
def test_module_text_and_contract(rng):
    layer = symconv.conv((9, 8), 3, in_channels=3, out_channels=4, padding=1, flip=True)
    source = generate_numpy(layer, winograd=True)
    assert source.startswith(
        f"# generated by symconv {symconv.__version__} from templates/numpy/winograd.py.jinja"
    )
    assert 'STRATEGY = "Winograd"' in source and "Strategy: Winograd F(2x2, 3x3)" in source
    # the transforms are vectorised: the only loops run over blocks / bands and the parities
    # of the rows and columns of the copy; the kernel's 9 taps (dE/dw) are unrolled

    loops = [
        ast.unparse(node.iter) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.For)
    ]
    assert sorted(loops) == [
        "(0, 1)",  # the two parities of an axis
        "_bands(n, tiles, max(cin, cout), src.itemsize)",
        "_blocks(n, 770, x.itemsize)",
        "enumerate(cols)",
        "enumerate(rows)",
    ], loops
    assert source.count("np.matmul(u, v.reshape(16, cin, wide), out=p)") == 1
    assert source.count("_winograd(") == 3  # defined once, called by forward and backward
    module = module_for(layer)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, 9, 8\), got \(2, 3, 8, 8\)"):
        module.forward(np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="no bias"):
        module.forward(np.zeros((1, 3, 9, 8)), np.zeros((4, 3, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"w must have dtype float64 \(the dtype of x\)"):
        module.forward(np.zeros((1, 3, 9, 8)), np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"dtype float32, float64 or object.*got int64"):
        module.forward(np.zeros((1, 3, 9, 8), np.int64), np.zeros((4, 3, 3, 3)))


def test_source_is_deterministic_and_black_formatted():
    import black

    layer = symconv.conv((7, 6), 3, in_channels=2, out_channels=3, padding=((0, 2), (1, 0)))
    first = generate_numpy(layer, winograd=True)
    assert generate_numpy(layer, winograd=True) == first
    assert black.format_str(first, mode=black.Mode(line_length=99)) == first


# ---------------------------------------------------------------------- the rule, errors
@pytest.mark.parametrize(
    "layer, lacks",
    [
        (symconv.conv((8, 8), 3, in_channels=2, out_channels=2, stride=2), "stride 1"),
        (symconv.conv((8, 8), 3, in_channels=2, out_channels=2, dilation=2), "dilation 1"),
        (symconv.conv((8, 8), 5, in_channels=2, out_channels=2), "a 3x3 kernel"),
        (symconv.conv((8, 8), (3, 1), in_channels=2, out_channels=2), "a 3x3 kernel"),
        (symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=2), "groups 1"),
        (symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=4), "groups 1"),
        (symconv.conv((8,), 3, in_channels=2, out_channels=2), "2-D"),
        (symconv.conv((5, 5, 5), 3, in_channels=2, out_channels=2), "2-D"),
        (symconv.conv_transpose((4, 4), 3, in_channels=2, out_channels=2), "not transposed"),
        (symconv.max_pool((8, 8), 3), "not a pool"),
    ],
    ids=[
        "stride",
        "dilation",
        "5x5",
        "3x1",
        "groups",
        "depthwise",
        "1d",
        "3d",
        "transposed",
        "pool",
    ],
)
def test_layers_winograd_cannot_run_are_refused(layer, lacks):
    with pytest.raises(CodegenError, match=r"winograd=True needs a 2-D convolution") as info:
        generate_numpy(layer, winograd=True)
    assert lacks in str(info.value) and repr(layer.spec) in str(info.value)
    assert not strategies.winograd_applies(layer)
    assert strategy(layer) != "Winograd"  # and the default never picks it


def test_default_choice_is_im2col():
    """The measured rule (symconv.codegen.strategies): Winograd on request only, whatever the
    size, channels or padding of a layer it could run."""
    for layer in (
        symconv.conv((56, 56), 3, in_channels=64, out_channels=64, padding=1),
        symconv.conv((14, 14), 3, in_channels=256, out_channels=256, padding=1, bias=True),
        symconv.conv((8, 8), 3, in_channels=16, out_channels=16, padding=1),
    ):
        assert strategies.winograd_applies(layer)
        assert strategy(layer) == "im2col GEMM"
        assert 'STRATEGY = "im2col GEMM"' in generate_numpy(layer)


def test_flag_errors():
    layer = symconv.conv((8, 8), 3, in_channels=2, out_channels=2, padding=1)
    with pytest.raises(CodegenError, match="implicit=True and winograd=True are two different"):
        generate_numpy(layer, implicit=True, winograd=True)
    with pytest.raises(
        SpecError, match="generate_numpy: winograd must be True or False, got .yes."
    ):
        generate_numpy(layer, winograd="yes")
    assert strategy(layer, winograd=True) == "Winograd"


# ---------------------------------------------------------------------- manifest and CLI
def test_manifest_winograd_key(rng):
    entries = {e.file: e for e in load_manifest(GENERATED / MANIFEST_NAME).entries}
    entry = entries["conv2d_3x3_p1_16_winograd.py"]
    assert entry.winograd and not entry.implicit
    assert not entries["conv2d_3x3_s1_p1_64.py"].winograd
    source = (GENERATED / entry.file).read_text()
    assert source == generate_numpy(entry.layer(), winograd=True)
    assert 'STRATEGY = "Winograd"' in source
    bad = type(entry)("bad.py", "", tuple({**dict(entry.params), "winograd": "yes"}.items()))
    with pytest.raises(CodegenError, match="bad.py: winograd must be true or false, got 'yes'"):
        bad.winograd


def test_cli_winograd_flag(tmp_path, capsys):
    out = tmp_path / "w.py"
    args = "codegen conv --input-size 6x7 --kernel-size 3 --in-channels 2 --out-channels 3"
    assert cli_main(args.split() + ["--padding", "1", "--winograd", "-o", str(out)]) == 0
    layer = symconv.conv((6, 7), 3, in_channels=2, out_channels=3, padding=1)
    assert out.read_text() == generate_numpy(layer, winograd=True)
    assert cli_main(args.split() + ["--stride", "2", "--winograd", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: codegen: winograd=True needs") and "stride 1" in err
    assert out.read_text() == generate_numpy(layer, winograd=True)  # nothing half-written
    assert cli_main(args.split() + ["--winograd", "--implicit"]) == 2
    assert "two different strategies" in capsys.readouterr().err
