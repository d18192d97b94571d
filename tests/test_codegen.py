"""Generated NumPy kernels (symconv.codegen): the committed modules of generated/ and a seeded
grid of specs against the symbolic derivation, reference.py, central finite differences and
PyTorch (when installed); exact Fraction arithmetic; determinism; the standalone-module
contract; the manifest and the regenerate / codegen commands."""

from __future__ import annotations

import ast
import doctest
import hashlib
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import types
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import symconv
from symconv.cli import main as cli_main
from symconv.codegen import strategies
from symconv.codegen import (
    MANIFEST_NAME,
    forward_plan,
    generate_numpy,
    inverse_plan,
    load_manifest,
    parse_manifest_text,
    regenerate,
    strategy,
    write_atomic,
)
from symconv.layers import Layer
from symconv.spec import LayerSpec

from kernel_oracle import assert_close, fractions, inputs, run_reference

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
MANIFEST = load_manifest(GENERATED / MANIFEST_NAME)
ENTRIES = {entry.file: entry for entry in MANIFEST.entries}


# ---------------------------------------------------------------------- helpers
def import_path(path: Path) -> types.ModuleType:
    """Import a generated file by path (under a unique name)."""
    name = "symconv_generated_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def committed(file: str) -> types.ModuleType:
    return import_path(GENERATED / file)


@lru_cache(maxsize=None)
def module_for(layer: Layer) -> types.ModuleType:
    """Generate the module of ``layer`` and execute it in a fresh module object."""
    module = types.ModuleType(f"generated_{abs(hash(layer.spec))}")
    exec(compile(generate_numpy(layer), module.__name__, "exec"), module.__dict__)
    return module


def threaded_source(layer: Layer) -> str:
    """The module of ``layer`` as if it were large: with worker threads and workspace."""
    saved = strategies.THREAD_MIN_READS
    strategies.THREAD_MIN_READS = 0
    try:
        return generate_numpy(layer)
    finally:
        strategies.THREAD_MIN_READS = saved


@lru_cache(maxsize=None)
def threaded_module_for(layer: Layer) -> types.ModuleType:
    """:func:`module_for` of the threaded module of ``layer`` (see :func:`threaded_source`)."""
    module = types.ModuleType(f"threaded_{abs(hash(layer.spec))}")
    exec(compile(threaded_source(layer), module.__name__, "exec"), module.__dict__)
    return module


def rebuild(spec: LayerSpec, **changes) -> Layer:
    params = dict(
        in_channels=spec.in_channels,
        out_channels=spec.out_channels,
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
        flip=spec.flip,
        output_padding=spec.output_padding,
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
        ties=spec.ties,
    )
    input_size = changes.pop("input_size", spec.input_size)
    params.update(changes)
    return Layer(LayerSpec.build(spec.kind, input_size, spec.kernel_size, **params))


def reduced(layer: Layer) -> Layer:
    """The same kernel, stride, padding, dilation, flip and pooling rules with at most 2
    channels per group, 2 groups and a small input (same residue modulo the stride), so that
    SymPy derives it in milliseconds."""
    spec = layer.spec
    sizes = []
    for n, e, (lo, hi), s in zip(
        spec.input_size, spec.effective_kernel, spec.padding, spec.stride
    ):
        if spec.kind == "conv_transpose":
            sizes.append(min(n, 3))
            continue
        base = max(e - lo - hi, 1) + 2 * s
        base += (n - base) % s
        sizes.append(min(n, base))
    if spec.is_pool:
        c = min(spec.in_channels, 2)
        return rebuild(spec, input_size=tuple(sizes), in_channels=c, out_channels=c)
    g = min(spec.groups, 2)
    cin = g * min(spec.in_channels // spec.groups, 2)
    cout = g * min(spec.out_channels // spec.groups, 2)
    return rebuild(spec, input_size=tuple(sizes), in_channels=cin, out_channels=cout, groups=g)


def run(module, spec, x, w, b, dy):
    """(y, dx, dw, db) of a generated module."""
    if spec.has_weight:
        y = module.forward(x, w, b)
        dx, dw, db = module.backward(dy, x, w)
        return y, dx, dw, db
    return module.forward(x), module.backward(dy, x), None, None


def reference_cost(spec, n) -> int:
    per = math.prod(spec.y_shape) * math.prod(spec.kernel_size)
    return n * per * max(1, spec.in_channels // spec.groups)


# ---------------------------------------------------------------------- the manifest
def test_manifest_lists_the_required_modules():
    kinds = {}
    for entry in MANIFEST.entries:
        spec = entry.layer().spec
        kinds.setdefault(spec.kind, []).append(spec)
    convs = kinds["conv"]
    assert any(s.input_size == (3, 3) and s.kernel_size == (2, 2) for s in convs)  # seed 000
    for name in ("lenet5_conv1", "lenet5_pool1", "lenet5_conv2", "lenet5_pool2"):
        assert f"{name}.py" in ENTRIES
    assert any(
        s.kernel_size == (3, 3)
        and s.stride == (1, 1)
        and s.in_channels == 64 == s.out_channels
        and s.padding == ((1, 1),) * 2
        for s in convs
    )
    assert any(
        s.kernel_size == (3, 3) and s.stride == (2, 2) and s.padding == ((1, 1),) * 2
        for s in convs
    )
    assert any(s.kernel_size == (1, 1) for s in convs)
    assert any(s.groups == s.in_channels > 1 for s in convs)  # depthwise
    assert any(s.dilation == (2, 2) and s.kernel_size == (3, 3) for s in convs)
    assert any(s.kernel_size == (4, 4) and s.stride == (2, 2) for s in kinds["conv_transpose"])
    pools = kinds["max_pool"]
    assert any(s.kernel_size == (2, 2) and s.stride == (2, 2) for s in pools)
    assert any(
        s.kernel_size == (3, 3) and s.stride == (2, 2) and s.padding == ((1, 1),) * 2
        for s in pools
    )
    assert any(
        s.kernel_size == (3, 3) and s.ceil_mode and not s.count_include_pad
        for s in kinds["avg_pool"]
    )
    assert any(s.ndim == 1 for s in convs) and any(s.ndim == 3 for s in convs)


def test_manifest_fallback_parser_matches_tomllib(monkeypatch):
    text = (GENERATED / MANIFEST_NAME).read_text()
    tomllib = pytest.importorskip("tomllib")
    expected = tomllib.loads(text)["module"]
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10
    assert parse_manifest_text(text) == expected


def test_committed_files_are_exactly_the_manifest():
    on_disk = {p.name for p in GENERATED.glob("*.py")}
    assert on_disk == set(ENTRIES)


# ---------------------------------------------------------------------- committed modules
@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_committed_module_against_reference(file, rng):
    """The committed module at full size, against reference.py where the loops are cheap, and
    otherwise against the same spec's generated module reduced in size."""
    layer = ENTRIES[file].layer()
    spec = layer.spec
    module = committed(file)
    assert module.SPEC == repr(spec)
    n = 2
    if reference_cost(spec, n) <= 400_000:
        x, w, b, dy = inputs(spec, n, rng)
        expected = run_reference(spec, x, w, b, dy)
        got = run(module, spec, x, w, b, dy)
    else:
        small = reduced(layer)
        x, w, b, dy = inputs(small.spec, n, rng)
        expected = run_reference(small.spec, x, w, b, dy)
        got = run(module_for(small), small.spec, x, w, b, dy)
        assert module_for(small).STRATEGY == module.STRATEGY or spec.groups != small.spec.groups
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, expected):
        assert_close(ours, theirs, 1e-12, f"{file} {name}")


@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_committed_module_usage_example_runs(file):
    """The usage example of every module docstring is a doctest that passes (its values are
    the reference loops', so this cross-checks the kernels too)."""
    module = committed(file)
    finder = doctest.DocTestFinder(recurse=False)
    (test,) = finder.find(module, file, globs=dict(vars(module)))
    assert ">>> y = forward(" in module.__doc__ and len(test.examples) >= 6
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_small_modules_are_lean_and_large_ones_threaded():
    """Worker threads and workspace only where the layer is large enough (the measured
    threshold of strategies.THREAD_MIN_READS); a small layer's module imports NumPy alone."""
    kinds = set()
    for file, entry in ENTRIES.items():
        layer = entry.layer()
        source = (GENERATED / file).read_text()
        strat = strategies.choose(layer, entry.implicit)
        threaded = strat.threads
        kinds.add(threaded)
        assert ("from concurrent.futures import ThreadPoolExecutor" in source) == threaded, file
        assert ("THREADS = None" in source) == threaded, file
        # a lean module that folds its batch keeps its batch-sized buffers as well
        workspace = (threaded and layer.spec.has_weight) or strat.fold_batch
        assert ("_WORKSPACE" in source) == workspace, file
        assert ("import os" in source) == threaded, file
        if not workspace:
            assert "_buffer(" not in source and "_keep(" not in source, file
    assert kinds == {False, True}
    # a direct GEMM has no copies for threads, whatever its size
    assert not strategies.choose(
        symconv.conv((64, 64), 1, in_channels=64, out_channels=64)
    ).threads
    assert strategies.choose(symconv.conv((64, 64), 3, in_channels=64, out_channels=64)).threads


def test_seed000_module_is_short_enough_to_read_in_class():
    source = (GENERATED / "seed000_conv2d.py").read_text()
    assert len(source.splitlines()) <= 150
    for dead in ("xb = xg", "_parallel", "_split", "THREADS", "_WORKSPACE", "BLOCK_BYTES"):
        assert dead not in source, dead
    assert ">>> y = forward(x, w)" in source and "[[37.0, 47.0], [67.0, 77.0]]" in source


def _names(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def test_no_dead_aliases_or_overwritten_buffers():
    """No ``name = other`` alias, and no array allocated and then rebound before any use."""
    layers = [
        symconv.conv((9, 9), 3, in_channels=2, out_channels=3, padding=1, bias=True),
        symconv.conv((8, 8), 3, in_channels=4, out_channels=6, groups=2, padding=1),
        symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=4, padding=1),
        symconv.conv_transpose((4, 4), 4, in_channels=2, out_channels=3, stride=2, padding=1),
        symconv.max_pool((8, 8), 3, stride=2, padding=1, channels=4),
    ]
    for layer in layers:
        for source in (generate_numpy(layer), threaded_source(layer)):
            for fn in ast.parse(source).body:
                if not isinstance(fn, ast.FunctionDef) or fn.name not in ("forward", "backward"):
                    continue
                for i, node in enumerate(fn.body):
                    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                        continue
                    target = node.targets[0]
                    if not isinstance(target, ast.Name):
                        continue
                    assert not isinstance(node.value, ast.Name), ast.unparse(node)
                    if not ast.unparse(node.value).startswith(("np.empty(", "np.zeros(")):
                        continue
                    later = next(n for n in fn.body[i + 1 :] if target.id in _names(n))
                    rebound = (
                        isinstance(later, ast.Assign)
                        and [ast.unparse(t) for t in later.targets] == [target.id]
                        and target.id not in _names(later.value)
                    )
                    assert not rebound, f"{fn.name}: {ast.unparse(node)} overwritten"


def _torch_call(torch, spec, x, w, b, dy):
    """Forward + autograd backward with torch.nn.functional (symmetric padding only)."""
    F = torch.nn.functional
    nd = spec.ndim
    pad = tuple(lo for lo, _ in spec.padding)
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True) if w is not None else None
    tb = torch.from_numpy(b).requires_grad_(True) if b is not None else None
    if spec.kind == "conv":
        kernel = torch.flip(tw, dims=tuple(range(2, 2 + nd))) if spec.flip else tw
        fn = getattr(F, f"conv{nd}d")
        y = fn(tx, kernel, tb, spec.stride, pad, spec.dilation, spec.groups)
    elif spec.kind == "conv_transpose":
        fn = getattr(F, f"conv_transpose{nd}d")
        y = fn(tx, tw, tb, spec.stride, pad, spec.output_padding, spec.groups, spec.dilation)
    elif spec.kind == "max_pool":
        fn = getattr(F, f"max_pool{nd}d")
        y = fn(tx, spec.kernel_size, spec.stride, pad, spec.dilation, spec.ceil_mode)
    else:
        fn = getattr(F, f"avg_pool{nd}d")
        y = fn(tx, spec.kernel_size, spec.stride, pad, spec.ceil_mode, spec.count_include_pad)
    y.backward(torch.from_numpy(dy))
    grads = [t.grad.numpy() if t is not None else None for t in (tx, tw, tb)]
    return (y.detach().numpy(), *grads)


@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_committed_module_against_torch(file, torch_or_skip, rng):
    spec = ENTRIES[file].layer().spec
    if any(lo != hi for lo, hi in spec.padding):
        pytest.skip("asymmetric padding")
    x, w, b, dy = inputs(spec, 2, rng)
    got = run(committed(file), spec, x, w, b, dy)
    expected = _torch_call(torch_or_skip, spec, x, w, b, dy)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, expected):
        assert_close(ours, theirs, 1e-12, f"{file} {name}")


@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_manifest_spec_against_derivation(file, rng):
    """The derivation's evaluate (SymPy) and the generated module agree to 1e-12 relative, on the
    manifest spec reduced to a size SymPy handles."""
    layer = reduced(ENTRIES[file].layer())
    spec = layer.spec
    module = module_for(layer)
    deriv = symconv.derive(layer)
    x, w, b, dy = inputs(spec, 2, rng)
    y, dx, dw, db = run(module, spec, x, w, b, dy)
    dw_sum = db_sum = 0
    for i in range(2):
        ev = deriv.evaluate(x=x[i], w=w, b=b, dy=dy[i])
        assert_close(y[i], ev["y"], 1e-12, f"{file} y")
        assert_close(dx[i], ev["grad_x"], 1e-12, f"{file} dx")
        if spec.has_weight:
            dw_sum = dw_sum + ev["grad_w"]
        if spec.bias:
            db_sum = db_sum + ev["grad_b"]
    if spec.has_weight:
        assert_close(dw, dw_sum, 1e-12, f"{file} dw")
    if spec.bias:
        assert_close(db, db_sum, 1e-12, f"{file} db")


@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_manifest_spec_exact_with_fractions(file, rng):
    """Object arrays of Fraction go through exactly: equal to the exact derivation."""
    layer = reduced(ENTRIES[file].layer())
    spec = layer.spec
    module = module_for(layer)
    deriv = symconv.derive(layer)
    n = 2
    if spec.kind == "max_pool":  # small integers: many ties, exercising the tie policy
        x = fractions(rng, (n,) + spec.x_shape, -2, 3)
    else:
        x = fractions(rng, (n,) + spec.x_shape)
    dy = fractions(rng, (n,) + spec.y_shape)
    w = fractions(rng, spec.w_shape) if spec.has_weight else None
    b = fractions(rng, spec.b_shape) if spec.bias else None
    y, dx, dw, db = run(module, spec, x, w, b, dy)
    for arr in (y, dx, dw, db):
        if arr is not None:
            assert arr.dtype == object
            assert all(isinstance(v, (Fraction, int)) for v in arr.flat)
    dw_sum = db_sum = 0
    for i in range(n):
        ev = deriv.evaluate(x=x[i], w=w, b=b, dy=dy[i])
        assert (y[i] == ev["y"]).all()
        assert (dx[i] == ev["grad_x"]).all()
        if spec.has_weight:
            dw_sum = dw_sum + ev["grad_w"]
        if spec.bias:
            db_sum = db_sum + ev["grad_b"]
    if spec.has_weight:
        assert (dw == dw_sum).all()
    if spec.bias:
        assert (db == db_sum).all()


def _loss(module, spec, x, w, b, dy):
    y = module.forward(x, w, b) if spec.has_weight else module.forward(x)
    return float((y * dy).sum())


@pytest.mark.parametrize("file", sorted(ENTRIES))
def test_manifest_spec_finite_differences(file, rng):
    """Central differences of E = sum(dy * y) in float64 match backward()."""
    layer = reduced(ENTRIES[file].layer())
    spec = layer.spec
    module = module_for(layer)
    x, w, b, dy = inputs(spec, 2, rng)
    _, dx, dw, db = run(module, spec, x, w, b, dy)
    h = 1e-6
    arrays = [("x", x, dx)]
    if spec.has_weight:
        arrays.append(("w", w, dw))
    if spec.bias:
        arrays.append(("b", b, db))
    for name, arr, grad in arrays:
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 12), replace=False):
            old = flat[i]
            flat[i] = old + h
            plus = _loss(module, spec, x, w, b, dy)
            flat[i] = old - h
            minus = _loss(module, spec, x, w, b, dy)
            flat[i] = old
            fd = (plus - minus) / (2 * h)
            assert abs(fd - grad.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(fd)), (file, name, i)


# ---------------------------------------------------------------------- a random grid of specs
def _random_specs(count, seed=1234):
    rng = np.random.default_rng(seed)
    out = []
    kinds = ["conv", "conv", "conv", "conv_transpose", "max_pool", "avg_pool"]
    while len(out) < count:
        kind = kinds[len(out) % len(kinds)]
        nd = int(rng.choice([1, 2, 2, 3]))
        k = tuple(int(v) for v in rng.integers(1, 4, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd)) if kind != "avg_pool" else (1,) * nd
        size = tuple(int(v) for v in rng.integers(3, 9 if nd < 3 else 6, nd))
        pad = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(nd))
        g = int(rng.choice([1, 1, 2]))
        params = dict(stride=s, dilation=d, padding=pad)
        try:
            if kind in ("conv", "conv_transpose"):
                params.update(
                    in_channels=g * int(rng.integers(1, 3)),
                    out_channels=g * int(rng.integers(1, 3)),
                    groups=g,
                    bias=bool(rng.integers(0, 2)),
                )
                if kind == "conv":
                    params["flip"] = bool(rng.integers(0, 2))
                    layer = symconv.conv(size, k, **params)
                else:
                    params["output_padding"] = tuple(
                        int(rng.integers(0, max(a, b_))) for a, b_ in zip(s, d)
                    )
                    layer = symconv.conv_transpose(size, k, **params)
            else:
                pad = tuple(
                    (min(lo, ((kk - 1) * dd + 1) // 2), min(hi, ((kk - 1) * dd + 1) // 2))
                    for (lo, hi), kk, dd in zip(pad, k, d)
                )
                params.update(padding=pad, channels=int(rng.integers(1, 3)))
                params["ceil_mode"] = bool(rng.integers(0, 2))
                if kind == "max_pool":
                    params["ties"] = str(rng.choice(["first", "split"]))
                    layer = symconv.max_pool(size, k, **params)
                else:
                    del params["dilation"]
                    params["count_include_pad"] = bool(rng.integers(0, 2))
                    layer = symconv.avg_pool(size, k, **params)
        except symconv.SpecError:
            continue
        out.append(layer)
    return out


GRID = _random_specs(36)


@pytest.mark.parametrize(
    "layer, threaded",
    [(layer, False) for layer in GRID] + [(layer, True) for layer in GRID[::3]],
    ids=lambda v: repr(v.spec).split(" ->")[0] if isinstance(v, Layer) else str(v),
)
def test_random_grid_against_reference(layer, threaded, rng):
    """The (small, so lean) modules of the grid, and a third of them in their threaded form."""
    spec = layer.spec
    module = threaded_module_for(layer) if threaded else module_for(layer)
    n = 3
    x, w, b, dy = inputs(spec, n, rng)
    if spec.kind == "max_pool":  # ties on purpose
        x = np.round(x)
    got = run(module, spec, x, w, b, dy)
    expected = run_reference(spec, x, w, b, dy)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, expected):
        assert_close(ours, theirs, 1e-12, name)
    # float32 stays float32
    x32, w32, b32, dy32 = (None if a is None else a.astype(np.float32) for a in (x, w, b, dy))
    for arr in run(module, spec, x32, w32, b32, dy32):
        assert arr is None or arr.dtype == np.float32


#: Small layers whose lean module folds the batch into its GEMMs (one GEMM per group for the
#: whole batch): 1-D to 3-D, groups, dilation, stride, padding, flip, transposed, bias or not.
FOLDED = [
    symconv.conv((9,), 3, in_channels=1, out_channels=4, padding=1),
    symconv.conv(
        (6, 7),
        (3, 2),
        in_channels=2,
        out_channels=6,
        groups=2,
        dilation=(2, 1),
        padding=((1, 2), (0, 1)),
        bias=True,
    ),
    symconv.conv((5, 5), 3, in_channels=1, out_channels=5, stride=2, bias=True, flip=True),
    symconv.conv_transpose((4, 5), 3, in_channels=1, out_channels=4, padding=1, bias=True),
    symconv.conv((4, 4, 4), 2, in_channels=1, out_channels=6, padding=1),
]


def test_folded_layers_cover_both_scatters():
    """FOLDED holds layers scattering dE/dx from the wide layout and others (strided)."""
    assert {strategies.choose(layer).wide_scatter for layer in FOLDED} == {True, False}


@pytest.mark.parametrize("layer", FOLDED, ids=lambda l: repr(l.spec).split(" ->")[0])
@pytest.mark.parametrize("n", [1, 3])
def test_batch_folded_gemms_against_reference(layer, n, rng):
    """The folded layout (columns (group, row, sample, position), dE/dy reordered once for
    dE/dx and dE/dw) gives the reference loops' values for any batch size, bias or none, and
    exact Fractions."""
    spec = layer.spec
    strat = strategies.choose(layer)
    assert strat.fold_batch and not strat.threads
    source = symconv.generate_numpy(layer)
    assert "np.matmul(wm0, cbase" in source
    # stride-1 windows: dE/dx scattered from the wide layout, one contiguous run per tap
    assert strat.wide_scatter == strat.plan.unit_window
    assert ("dxw[:, :, :, " in source) == strat.wide_scatter
    module = module_for(layer)
    x, w, b, dy = inputs(spec, n, rng)
    # twice: the second call reuses the buffers the first kept; then after clear_workspace()
    for bias in ([b, None, b] if spec.bias else [None, None]):
        got = run(module, spec, x, w, bias, dy)
        expected = run_reference(spec, x, w, bias, dy)
        for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, expected):
            assert_close(ours, theirs, 1e-12, name)
        assert module._WORKSPACE
        module.clear_workspace()
    exact = [None if a is None else fractions(rng, a.shape) for a in (x, w, b, dy)]
    got = run(module, spec, *exact)
    expected = run_reference(spec, *exact)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), got, expected):
        if theirs is not None:
            assert ours.dtype == object and (ours == theirs).all(), name


@pytest.mark.parametrize("layer", FOLDED, ids=lambda l: repr(l.spec).split(" ->")[0])
def test_batch_folded_backward_reuses_columns_only_for_the_same_x(layer, rng):
    """A lean folded module's backward reads the forward's kept columns when x is unchanged,
    and gathers again when x was changed in place, has another batch size or dtype."""
    spec = layer.spec
    assert strategies.choose(layer).reuse_columns
    assert "_seen_columns(" in symconv.generate_numpy(layer)
    module = module_for(layer)
    x, w, b, dy = inputs(spec, 2, rng)

    def check(x, dy, what):
        for name, ours, theirs in zip(
            ("dx", "dw", "db"),
            module.backward(dy, x, w),
            run_reference(spec, x, w, b, dy)[1:],
        ):
            assert_close(ours, theirs, 1e-12, f"{what}: {name}")

    module.forward(x, w, b)
    check(x, dy, "same x")
    module.forward(x, w, b)
    x[1, 0, ...] += 1.0  # changed in place after forward: the kept columns are stale
    check(x, dy, "changed x")
    check(x, dy, "backward again")  # its own gather kept for the next call
    x3, _, _, dy3 = inputs(spec, 3, rng)
    module.forward(x, w, b)
    check(x3, dy3, "another batch")
    module.forward(x3.astype(np.float32), w.astype(np.float32))
    check(x3, dy3, "another dtype")


@pytest.mark.parametrize("size", [(8,), (6, 4), (4, 2, 6)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("threaded", [False, True], ids=["lean", "threaded"])
def test_max_pool_first_maximum_routed_by_stages(size, threaded, rng):
    """A size-2 stride-2 max pool routes dy stage by stage (one comparison and one subtraction
    per axis) and still gives each window's first maximum in row-major order, on inputs
    full of ties; float32, float64, integers and Fractions."""
    layer = symconv.max_pool(size, 2, channels=2)
    assert "np.subtract(" in symconv.generate_numpy(layer)
    module = threaded_module_for(layer) if threaded else module_for(layer)
    spec = layer.spec
    x = rng.integers(0, 3, (3,) + spec.x_shape)  # ties everywhere
    dy = rng.standard_normal((3,) + spec.y_shape)
    expected = run_reference(spec, x.astype(np.float64), None, None, dy)
    for dtype in (np.float64, np.float32, np.int32):
        got = run(
            module,
            spec,
            x.astype(dtype),
            None,
            None,
            dy.astype(np.float32 if dtype == np.float32 else np.float64),
        )
        for name, ours, theirs in zip(("y", "dx"), got, expected):
            assert_close(ours, theirs, 1e-6, f"{name} {np.dtype(dtype).name}")
    exact = fractions(rng, dy.shape)
    dx = module.backward(exact, np.array(x, dtype=object))
    assert dx.dtype == object
    assert (dx == run_reference(spec, x.astype(object), None, None, exact)[1]).all()


def test_plans_reproduce_the_index_map():
    for layer in GRID + [e.layer() for e in MANIFEST.entries[:4]]:
        spec = layer.spec
        plan = forward_plan(layer)
        n_out = math.prod(spec.output_size)
        flat = np.full((n_out, plan.n_taps), -1)
        out_index = np.arange(n_out).reshape(spec.output_size)
        in_index = np.arange(math.prod(spec.input_size)).reshape(spec.input_size)
        for ph in plan.phases:
            for t in ph.taps:
                flat[out_index[ph.out][t.dst].reshape(-1), t.tap] = in_index[t.src].reshape(-1)
        assert (flat == layer.index_map).all()
        # the inverse plan covers the same (input, output, tap) triples
        inv = inverse_plan(layer)
        pairs = set()
        for ph in inv.phases:
            for t in ph.taps:
                for i, o in zip(in_index[ph.out][t.dst].reshape(-1), out_index[t.src].reshape(-1)):
                    pairs.add((int(o), t.tap, int(i)))
        o_idx, t_idx = np.nonzero(layer.index_map >= 0)
        expected = {(int(o), int(t), int(layer.index_map[o, t])) for o, t in zip(o_idx, t_idx)}
        assert pairs == expected


@pytest.mark.parametrize("n", [1, 4])
def test_any_batch_size(n, rng):
    for file in (
        "conv2d_3x3_s2_p1.py",
        "conv_transpose2d_4x4_s2_p1.py",
        "max_pool2d_3x3_s2_p1.py",
    ):
        spec = ENTRIES[file].layer().spec
        x, w, b, dy = inputs(spec, n, rng, np.float32)
        y, dx, dw, db = run(committed(file), spec, x, w, b, dy)
        assert y.shape == (n,) + spec.y_shape and dx.shape == (n,) + spec.x_shape
        assert y.dtype == dx.dtype == np.float32


# ---------------------------------------------------------------------- threads
THREADED = [
    symconv.conv((9, 8), 3, in_channels=3, out_channels=4, padding=1, bias=True),
    symconv.conv((7, 6), 3, in_channels=2, out_channels=3, stride=2, padding=1, bias=True),
    symconv.conv((12, 12), 5, in_channels=1, out_channels=4, bias=True),  # col2im scatter
    symconv.conv((8, 8), 3, in_channels=4, out_channels=6, groups=2, padding=1),
    symconv.conv((9, 9), 3, in_channels=2, out_channels=2, dilation=2, padding=2),
    symconv.conv_transpose((4, 4), 4, in_channels=2, out_channels=3, stride=2, padding=1),
    symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=4, padding=1),  # depthwise
    symconv.conv((9, 9), 3, in_channels=4, out_channels=4, groups=4, stride=2, padding=1),
    symconv.max_pool((8, 8), 3, stride=2, padding=1, channels=4),
    symconv.max_pool((8, 8), 2, stride=1, channels=3, ties="split"),
    symconv.avg_pool(
        (7, 7), 3, stride=2, padding=1, channels=3, ceil_mode=True, count_include_pad=False
    ),
]


def _threaded_run(module, spec, arrays, threads):
    """run() with ``threads`` workers and every step split (tiny thresholds and blocks)."""
    saved = {
        k: getattr(module, k)
        for k in ("THREADS", "PARALLEL_BYTES", "BLOCK_BYTES")
        if hasattr(module, k)
    }
    try:
        module.THREADS = threads
        module.PARALLEL_BYTES = 0
        if "BLOCK_BYTES" in saved:
            module.BLOCK_BYTES = 1  # one channel (or group) per block
        getattr(module, "clear_workspace", lambda: None)()  # pools keep no workspace
        return run(module, spec, *arrays)
    finally:
        for k, v in saved.items():
            setattr(module, k, v)


@pytest.mark.parametrize("layer", THREADED, ids=lambda l: repr(l.spec).split(" ->")[0])
def test_threads_split_the_work_without_changing_a_bit(layer, rng):
    """With every step split over 1, 2 or 3 threads the results are bit-identical (each slice
    is computed the same way whoever runs it) and agree with reference.py; ties included."""
    spec = layer.spec
    module = threaded_module_for(layer)
    x, w, b, dy = inputs(spec, 5, rng)
    if spec.kind == "max_pool":
        x = np.round(x)  # many ties
    expected = run_reference(spec, x, w, b, dy)
    module._EXECUTORS.clear()
    results = [_threaded_run(module, spec, (x, w, b, dy), k) for k in (1, 2, 3)]
    assert sorted(module._EXECUTORS) == [2, 3]  # the work did go to worker threads
    for result in results[1:]:
        for ours, theirs in zip(result, results[0]):
            assert (ours is None and theirs is None) or np.array_equal(ours, theirs)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), results[0], expected):
        assert_close(ours, theirs, 1e-12, name)


def test_thread_count_setting_is_checked(monkeypatch, rng):
    layer = symconv.max_pool((8, 8), 2, stride=2, channels=2)
    module = threaded_module_for(layer)
    x = rng.standard_normal((2,) + layer.spec.x_shape)
    monkeypatch.setattr(module, "THREADS", None)
    monkeypatch.setenv("SYMCONV_THREADS", "2")
    assert module._thread_count() == 2
    monkeypatch.setenv("SYMCONV_THREADS", "")
    assert module._thread_count() >= 1
    for bad in ("zero", "0", "-1"):
        monkeypatch.setenv("SYMCONV_THREADS", bad)
        with pytest.raises(ValueError, match=f"SYMCONV_THREADS.*positive integer, got '{bad}'"):
            module.forward(x)
    monkeypatch.setattr(module, "THREADS", 0)
    with pytest.raises(ValueError, match="THREADS .*got 0"):
        module.forward(x)


def test_errors_in_a_worker_reach_the_caller():
    layer = symconv.max_pool((8, 8), 2, stride=2, channels=2)
    module = threaded_module_for(layer)
    seen = []

    def task(slot, item):
        seen.append(item)
        if item == 3:
            raise RuntimeError("item 3 failed")

    module.THREADS = 2
    try:
        with pytest.raises(RuntimeError, match="item 3 failed"):
            module._parallel(task, range(4), np.dtype(np.float64))
    finally:
        module.THREADS = None
    assert sorted(seen) == [0, 1, 2, 3]


# ---------------------------------------------------------------------- strategies and text
@pytest.mark.parametrize(
    "layer, name",
    [
        (symconv.conv((8, 8), 1, in_channels=4, out_channels=5), "direct GEMM"),
        (symconv.conv((8, 8), 3, in_channels=4, out_channels=5, padding=1), "im2col GEMM"),
        (symconv.conv((8, 8), 3, in_channels=4, out_channels=4, groups=4), "depthwise taps"),
        (symconv.conv((8, 8), 3, in_channels=4, out_channels=8, groups=4), "im2col GEMM"),
        (
            symconv.conv_transpose((4, 4), 4, in_channels=2, out_channels=2, stride=2),
            "polyphase im2col GEMM",
        ),
        (symconv.max_pool((8, 8), 2), "pool taps"),
    ],
    ids=["1x1", "3x3", "depthwise", "grouped", "transposed", "pool"],
)
def test_strategy_is_chosen_per_spec_and_named(layer, name):
    assert strategy(layer) == name
    source = generate_numpy(layer)
    assert f'STRATEGY = "{name}"' in source
    assert "Strategy: " in source
    # threaded grouped layers work on blocks of groups (depthwise: of channels); the others,
    # and every small layer's module, have no loop
    threaded = threaded_source(layer)
    assert ("for g0 in range(" in threaded or "_parallel(block, range(0, " in threaded) == (
        layer.spec.groups > 1
    )
    assert "for g0 in range(" not in source and "_parallel(" not in source


def test_header_docstring_and_imports():
    layer = symconv.conv((3, 3), 2)
    source = generate_numpy(layer)
    lines = source.splitlines()
    # a single-channel layer is depthwise: the taps template
    assert lines[0] == (
        f"# generated by symconv {symconv.__version__} from templates/numpy/depthwise.py.jinja; "
        "do not edit"
    )
    assert generate_numpy(symconv.conv((4, 4), 2, in_channels=2)).startswith(
        f"# generated by symconv {symconv.__version__} from templates/numpy/conv.py.jinja; "
    )
    assert repr(layer.spec) in lines[1]
    doc = ast.get_docstring(ast.parse(source))
    for needle in ("y[n, f, i1, i2]", "dE/dx[", "dE/dw[", "y_11 = w_11*x_11", "Strategy:"):
        assert needle in doc
    assert "dE/db[" in generate_numpy(symconv.conv((3, 3), 2, bias=True))

    def imports(source):
        tree = ast.parse(source)
        nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        return [ast.unparse(node) for node in nodes]

    # a small layer runs serially: NumPy only; a large one has its worker threads
    assert imports(source) == ["import numpy as np"]
    assert imports(threaded_source(layer)) == [
        "import os",
        "from concurrent.futures import ThreadPoolExecutor, wait",
        "import numpy as np",
    ]


@pytest.mark.parametrize("threaded", [False, True], ids=["lean", "threaded"])
def test_no_python_loops_over_batch_or_positions(threaded):
    layer = symconv.conv((9, 9), 3, in_channels=2, out_channels=3, padding=1)
    source = threaded_source(layer) if threaded else generate_numpy(layer)
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    for name in ("forward", "backward") + (("_x_columns",) if threaded else ()):
        loops = [
            node
            for node in ast.walk(functions[name])
            if isinstance(node, (ast.For, ast.While, ast.comprehension))
        ]
        assert loops == [], name
    if threaded:
        # the thread helper loops over one worker's slices and over the workers' futures
        loops = [n for n in ast.walk(functions["_parallel"]) if isinstance(n, ast.For)]
        assert sorted(ast.unparse(n.iter) for n in loops) == ["futures", "runs[slot]"]
    else:
        assert set(functions) == {"_array", "_window", "forward", "backward"}
    # the taps are one strided window view whose offsets and steps come from the index map
    assert "_window(xp, (0, 0), (1, 1), (1, 1), (3, 3), (9, 9))" in source


@pytest.mark.parametrize("threaded", [False, True], ids=["lean", "threaded"])
def test_unrolled_tap_copies_when_a_window_does_not_fit(threaded, monkeypatch, rng):
    """Without affine windows every tap is one unrolled strided copy (with zero strips)."""
    from symconv.codegen import plans

    monkeypatch.setattr(plans, "axis_window", lambda phase, n: None)
    layer = symconv.conv((7, 6), 3, in_channels=2, out_channels=3, stride=2, padding=1, bias=True)
    source = threaded_source(layer) if threaded else generate_numpy(layer)
    # x's 9 taps (gathered again by the backward of a lean module, which keeps no columns),
    # then dE/dy's taps of the four phases of the inverse map
    again = 0 if threaded else 9
    assert "_window(" not in source and source.count("# tap ") == 9 + again + 2 + 2 + 4
    module = types.ModuleType("unrolled")
    exec(compile(source, "unrolled", "exec"), module.__dict__)
    spec = layer.spec
    x, w, b, dy = inputs(spec, 2, rng)
    for name, ours, theirs in zip(
        ("y", "dx", "dw", "db"), run(module, spec, x, w, b, dy), run_reference(spec, x, w, b, dy)
    ):
        assert_close(ours, theirs, 1e-12, name)


def test_backward_reuses_the_forward_columns_only_for_the_same_x(rng):
    """backward() may reuse the columns forward() gathered, but only when x is unchanged."""
    layer = symconv.conv((9, 8), 3, in_channels=3, out_channels=4, padding=1, bias=True)
    spec = layer.spec
    module = threaded_module_for(layer)  # the columns are kept in the workspace
    assert "_x_columns(xg, True)" in threaded_source(layer)
    assert "_x_columns" not in generate_numpy(layer)
    x, w, b, dy = inputs(spec, 2, rng)
    expected = run_reference(spec, x, w, b, dy)[1:]
    module.forward(x, w, b)
    for name, ours, theirs in zip(("dx", "dw", "db"), module.backward(dy, x, w), expected):
        assert_close(ours, theirs, 1e-12, f"same x: {name}")
    module.forward(x, w, b)
    x[0, 1, 2, 3] += 1.0  # changed in place after forward: must not reuse stale columns
    expected = run_reference(spec, x, w, b, dy)[1:]
    for name, ours, theirs in zip(("dx", "dw", "db"), module.backward(dy, x, w), expected):
        assert_close(ours, theirs, 1e-12, f"changed x: {name}")
    other = rng.standard_normal((3,) + spec.x_shape)  # another batch size in between
    module.forward(other, w, b)
    dy3 = rng.standard_normal((3,) + spec.y_shape)
    for name, ours, theirs in zip(
        ("dx", "dw", "db"),
        module.backward(dy3, other, w),
        run_reference(spec, other, w, b, dy3)[1:],
    ):
        assert_close(ours, theirs, 1e-12, f"other batch: {name}")
    module.clear_workspace()
    assert_close(module.backward(dy, x, w)[1], expected[1], 1e-12, "after clear_workspace")


def test_generated_source_is_black_formatted():
    import black

    source = generate_numpy(symconv.avg_pool((7, 7), 3, stride=2, padding=1, ceil_mode=True))
    assert black.format_str(source, mode=black.Mode(line_length=99)) == source


# ---------------------------------------------------------------------- errors
def test_wrong_shapes_and_dtypes_raise_value_error(rng):
    module = committed("seed000_conv2d.py")
    x = np.zeros((2, 1, 3, 3))
    w = np.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 3, 3\), got \(2, 1, 4, 3\)"):
        module.forward(np.zeros((2, 1, 4, 3)), w)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 3, 3\), got \(3, 3\)"):
        module.forward(np.zeros((3, 3)), w)
    with pytest.raises(ValueError, match=r"w must have shape \(1, 1, 2, 2\), got \(1, 1, 3, 3\)"):
        module.forward(x, np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"dtype float32, float64 or object.*got int64"):
        module.forward(x.astype(np.int64), w)
    with pytest.raises(
        ValueError, match=r"w must have dtype float64 \(the dtype of x\), got float32"
    ):
        module.forward(x, w.astype(np.float32))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 2, 2\).*got \(3, 1, 2, 2\)"):
        module.backward(np.zeros((3, 1, 2, 2)), x, w)
    with pytest.raises(ValueError, match=r"dy must have shape \(N, 1, 2, 2\), got \(2, 1, 3, 3\)"):
        module.backward(np.zeros((2, 1, 3, 3)), x, w)
    with pytest.raises(ValueError, match="no bias"):
        module.forward(x, w, np.zeros(1))
    pool = committed("max_pool2d_2x2_s2.py")
    with pytest.raises(
        ValueError, match=r"x must have shape \(N, 64, 56, 56\), got \(1, 64, 55, 56\)"
    ):
        pool.forward(np.zeros((1, 64, 55, 56)))
    with pytest.raises(ValueError, match="dy must have dtype float32"):
        pool.backward(np.zeros((1, 64, 28, 28)), np.zeros((1, 64, 56, 56), np.float32))


def test_generate_numpy_rejects_non_layers():
    with pytest.raises(symconv.SpecError, match="generate_numpy: layer must be"):
        generate_numpy("conv")


# ---------------------------------------------------------------------- determinism, golden
def test_golden_regenerate_matches_committed_files(tmp_path):
    result = regenerate(GENERATED, out=tmp_path)
    assert sorted(result.written) == sorted(ENTRIES)
    for file in ENTRIES:
        assert (tmp_path / file).read_bytes() == (GENERATED / file).read_bytes(), file
    assert regenerate(GENERATED, check=True).stale == []


def test_output_is_identical_across_hash_seeds():
    layers = [
        "symconv.conv((9, 8), (3, 2), in_channels=4, out_channels=6, stride=(2, 1), "
        "padding=((1, 0), (1, 1)), groups=2, bias=True)",
        "symconv.conv_transpose((4, 4), 4, in_channels=2, out_channels=2, stride=2, padding=1)",
        "symconv.avg_pool((9, 9), 3, stride=2, padding=1, ceil_mode=True)",
    ]
    code = (
        "import hashlib, symconv\n"
        "from symconv.codegen import generate_numpy\n"
        f"for layer in [{', '.join(layers)}]:\n"
        "    print(hashlib.sha256(generate_numpy(layer).encode()).hexdigest())\n"
    )
    outputs = []
    for seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    here = [
        hashlib.sha256(generate_numpy(eval(text, {"symconv": symconv})).encode()).hexdigest()
        for text in layers
    ]
    assert outputs[0].split() == here


def test_generated_module_runs_alone_with_only_numpy(tmp_path):
    for file in ("conv2d_3x3_s2_p1.py", "avg_pool2d_3x3_s2_p1_ceil.py"):
        shutil.copy(GENERATED / file, tmp_path / file)
    code = (
        "import sys\n"
        "sys.path.insert(0, '.')\n"
        "import numpy as np\n"
        "import conv2d_3x3_s2_p1 as conv, avg_pool2d_3x3_s2_p1_ceil as pool\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((2,) + conv.X_SHAPE)\n"
        "w = rng.standard_normal(conv.W_SHAPE)\n"
        "y = conv.forward(x, w)\n"
        "dx, dw, db = conv.backward(np.ones_like(y), x, w)\n"
        "p = pool.forward(rng.standard_normal((2,) + pool.X_SHAPE))\n"
        "assert y.shape == (2,) + conv.Y_SHAPE and dw.shape == conv.W_SHAPE and db is None\n"
        "bad = [m for m in ('symconv', 'sympy', 'jinja2', 'black') if m in sys.modules]\n"
        "print('ok', bad)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok []"


# ---------------------------------------------------------------------- CLI and files
def small_generated(tmp_path, files=("lenet5_pool1.py", "conv1d_k5_s2.py")) -> Path:
    """A copy of generated/ holding only ``files`` and their manifest tables."""
    folder = tmp_path / "generated"
    folder.mkdir()
    text = (GENERATED / MANIFEST_NAME).read_text()
    header, *tables = text.split("\n[[module]]\n")
    keep = [t for t in tables if any(f'file = "{f}"' in t for f in files)]
    (folder / MANIFEST_NAME).write_text(header + "".join("\n[[module]]\n" + t for t in keep))
    for f in files:
        shutil.copy(GENERATED / f, folder / f)
    return folder


def test_regenerate_check_detects_a_stale_file(tmp_path, capsys):
    folder = small_generated(tmp_path)
    target = folder / "lenet5_pool1.py"
    original = target.read_text()
    target.write_text(original.replace("return y", "return y * 2", 1))
    assert cli_main(["regenerate", "--check", "--dir", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "--- lenet5_pool1.py (committed)" in captured.out
    assert "-    return y * 2" in captured.out and "+    return y" in captured.out
    assert "stale" in captured.err and "lenet5_pool1.py" in captured.err
    assert cli_main(["regenerate", "--dir", str(folder)]) == 0
    assert target.read_text() == original
    assert cli_main(["regenerate", "--check", "--dir", str(folder)]) == 0
    assert not list(folder.glob(".*.tmp"))


def test_regenerate_reports_a_missing_file(tmp_path, capsys):
    folder = small_generated(tmp_path)
    (folder / "conv1d_k5_s2.py").unlink()
    assert cli_main(["regenerate", "--check", "--dir", str(folder)]) == 1
    assert "conv1d_k5_s2.py" in capsys.readouterr().err


def test_bad_manifest_is_a_user_error(tmp_path, capsys):
    (tmp_path / MANIFEST_NAME).write_text('[[module]]\nfile = "a.py"\nkind = "conv"\nwat = 1\n')
    assert cli_main(["regenerate", "--check", "--dir", str(tmp_path)]) == 2
    assert "unknown keys ['wat']" in capsys.readouterr().err


def test_codegen_command_writes_the_module(tmp_path):
    out = tmp_path / "k.py"
    argv = ["codegen", "conv", "--input-size", "6x5", "--kernel-size", "3x3", "--stride", "2"]
    argv += [
        "--padding",
        "1",
        "--in-channels",
        "2",
        "--out-channels",
        "3",
        "--bias",
        "-o",
        str(out),
    ]
    assert cli_main(argv) == 0
    layer = symconv.conv((6, 5), 3, stride=2, padding=1, in_channels=2, out_channels=3, bias=True)
    assert out.read_text() == generate_numpy(layer)
    # the header's rebuild command gives the same module back
    command = out.read_text().splitlines()[2].split("rebuild: symconv ")[1].split("  (or")[0]
    again = tmp_path / "again.py"
    assert cli_main(command.split() + ["-o", str(again)]) == 0
    assert again.read_text() == out.read_text()


def test_write_atomic_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "m.py"
    target.write_text("old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_manifest_implicit_key():
    from symconv.core.errors import CodegenError

    entry = ENTRIES["conv2d_3x3_p1_16_implicit.py"]
    assert entry.implicit and not ENTRIES["seed000_conv2d.py"].implicit
    assert committed("conv2d_3x3_p1_16_implicit.py").STRATEGY == "implicit GEMM"
    bad = type(entry)("bad.py", "", tuple({**dict(entry.params), "implicit": "yes"}.items()))
    with pytest.raises(CodegenError, match="bad.py: implicit must be true or false, got 'yes'"):
        bad.implicit
