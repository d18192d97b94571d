"""Benchmark: generated NumPy kernels (symconv.generate_numpy) against PyTorch on the CPU.

Times forward + backward (dx, dw, db) of the generated module against ``torch.nn.functional``
(conv2d / max_pool2d) + autograd, float32 and float64, on a fixed shape suite. Each side of a
row runs in its own Python process (a warm-up call, then the minimum of 7 calls; three rounds
of the two processes, alternating, the minimum taken), so that OpenBLAS's spinning threads and
either library's memory state cannot slow the other down;
PyTorch runs with ``torch.set_num_threads`` equal to NumPy's BLAS threads. Prints the CPU model
and its SIMD level, the time per shape, the ratio symconv / torch, their geometric mean per
dtype, and GFLOP/s of the convolutions against the machine's measured sgemm throughput (a 2048
x 2048 float32 matmul), with the ceilings (GEMMs alone, writing the columns) timed alongside.
Every dense conv row (groups=1) also shows its three GEMMs alone (forward, dE/dw, dE/dx, on
operands of the module's shapes, timed in the same process) and the module's time over them:
the floor of an im2col path, and how much of the module runs outside its GEMMs. Below the
table, each such row's least possible ratio: its GEMMs plus the time merely writing (a plain
fill, two threads) the columns every im2col path of that layer produces, over its GEMMs; a row
whose least ratio is above the target (1.2) cannot meet it with columns written to memory.

Without PyTorch the torch columns are skipped and the rest is printed.

    python examples/benchmark_kernels.py            # the full suite
    python examples/benchmark_kernels.py --quick    # fewer repetitions
    python examples/benchmark_kernels.py --only 3x3 --dtype float32 --profile
    python examples/benchmark_kernels.py --threads  # where worker threads pay
    python examples/benchmark_kernels.py --implicit # where the implicit GEMM pays
    python examples/benchmark_kernels.py --winograd # where Winograd F(2x2, 3x3) pays
    python examples/benchmark_kernels.py --outside  # each module without its GEMMs

Figures, not assertions: run it on a quiet machine, and compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import math
import os
import json
import platform
import subprocess
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

try:  # run from a checkout without installing
    import symconv
except ModuleNotFoundError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import symconv

from symconv.codegen import generate_numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ModuleNotFoundError:  # pragma: no cover - torch is optional
    torch = None

#: (name, kind, N, C_in, H, W, parameters)
SUITE = [
    ("32x3x32x32 5x5->16", "conv", 32, 3, 32, dict(kernel_size=5, out_channels=16)),
    (
        "16x64x56x56 3x3->64 p1",
        "conv",
        16,
        64,
        56,
        dict(kernel_size=3, out_channels=64, padding=1),
    ),
    (
        "8x128x28x28 3x3->128 p1",
        "conv",
        8,
        128,
        28,
        dict(kernel_size=3, out_channels=128, padding=1),
    ),
    (
        "32x64x56x56 3x3->64 s2 p1",
        "conv",
        32,
        64,
        56,
        dict(kernel_size=3, out_channels=64, stride=2, padding=1),
    ),
    ("32x256x14x14 1x1->256", "conv", 32, 256, 14, dict(kernel_size=1, out_channels=256)),
    (
        "32x64x56x56 depthwise 3x3 p1",
        "conv",
        32,
        64,
        56,
        dict(kernel_size=3, out_channels=64, padding=1, groups=64),
    ),
    ("16x64x56x56 max 2x2 s2", "max_pool", 16, 64, 56, dict(kernel_size=2, stride=2)),
]


#: Pause before every timed call (see :func:`_timed`).
SETTLE = 0.15

#: Targets of issue 16: the geometric mean of symconv / torch per dtype (at most), and the
#: largest conv's float32 throughput as a fraction of sgemm (at least).
TARGETS = {"float32": 1.5, "float64": 0.85}
LARGEST_TARGET = 0.45

#: Target of issue 27: every dense conv's module within this factor of its three GEMMs alone
#: (the floor of an im2col path: the time outside the GEMMs made visible).
FLOOR_TARGET = 1.2


def numpy_threads() -> int:
    """The number of threads NumPy's BLAS uses."""
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    except Exception:  # threadpoolctl is optional
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


SGEMM_FLOP = 2 * 2048**3


def sgemm_call():
    """One 2048 x 2048 float32 matmul (the throughput reference), ready to time."""
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    b = a.T.copy()
    out = np.empty_like(a)
    call = lambda: np.matmul(a, b, out=out)  # noqa: E731
    call()
    return call


def sgemm_gflops(repeat: int = 7) -> float:
    call = sgemm_call()
    return SGEMM_FLOP / min(_timed(call) for _ in range(repeat)) / 1e9


def _timed(fn, settle: float = 0.0) -> float:
    """Seconds of one call; ``settle`` seconds of sleep before it let the other library's
    worker threads (OpenBLAS, OpenMP) stop spinning, so that the two do not slow each other."""
    if settle:
        time.sleep(settle)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def statement_times(source: str, function: str, namespace: dict, args: tuple, repeat: int = 3):
    """Milliseconds of every top-level statement of a generated function (best of ``repeat``):
    where the time of forward() / backward() goes."""
    import ast

    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) else fn.body
    body = [s for s in body if not isinstance(s, ast.Return)]
    compiled = [
        (
            " / ".join(ast.unparse(s).splitlines()[:2]),
            compile(ast.Module([s], []), function, "exec"),
        )
        for s in body
    ]
    best = [math.inf] * len(compiled)
    for _ in range(repeat):
        ns = dict(namespace)
        ns.update(zip((a.arg for a in fn.args.args), args))
        for i, (_, code) in enumerate(compiled):
            t0 = time.perf_counter()
            exec(code, ns)
            best[i] = min(best[i], time.perf_counter() - t0)
    return [(text, t * 1e3) for (text, _), t in zip(compiled, best)]


def print_breakdown(layer, module, arrays, top: int = 8) -> None:
    """The most expensive statements of forward() and backward() of one shape."""
    for name, args in zip(("forward", "backward"), call_args(layer.spec, arrays)):
        rows = statement_times(module._source, name, module.__dict__, args)
        total = sum(t for _, t in rows)
        print(f"  {name}: {total:.1f} ms")
        for text, t in sorted(rows, key=lambda r: -r[1])[:top]:
            if t >= 0.02 * total:
                print(f"    {t:7.2f} ms {100 * t / total:5.1f}%  {text[:110]}")


def gemm_call(layer, n, dtype, scatter=False, folded=False):
    """The three GEMMs alone (forward, dE/dw, dE/dx) that the generated module runs for a
    groups=1 conv, on operands of the same shapes and layouts but without any gather or scatter,
    ready to time: no im2col-plus-GEMM kernel can be faster. The dE/dx GEMM is W^T times the
    gathered dE/dy (one GEMM per phase of the inverse map, as the module runs them), or with
    ``scatter`` the col2im form W'^T dE/dy whose product is scattered back; the generated module
    picks one of the two per spec. ``folded``: the batch folded into each GEMM's long
    dimension (one GEMM per pass, as a lean folded module runs them; scattered dE/dx)."""
    from symconv.codegen.plans import inverse_plan

    spec = layer.spec
    rng = np.random.default_rng(1)
    cout, cin = spec.out_channels, spec.in_channels
    taps = math.prod(spec.kernel_size)
    l_out = math.prod(spec.output_size)
    w = rng.standard_normal((cout, cin * taps)).astype(dtype)
    if folded:  # one "sample" whose positions are every sample's
        n, l_out, scatter = 1, n * l_out, True
    cols = rng.standard_normal((n, cin * taps, l_out)).astype(dtype)
    dy = rng.standard_normal((n, cout, l_out)).astype(dtype)
    y = np.empty((n, cout, l_out), dtype)
    if scatter:
        wt = rng.standard_normal((cin * taps, cout)).astype(dtype)
        operand = dy
        dx = np.empty((n, cin * taps, l_out), dtype)
    else:
        phases = [ph for ph in inverse_plan(layer).phases if ph.n_taps]
        wt = [rng.standard_normal((cin, cout * ph.n_taps)).astype(dtype) for ph in phases]
        operand = [
            rng.standard_normal((n, cout * ph.n_taps, ph.size)).astype(dtype) for ph in phases
        ]
        dx = [np.empty((n, cin, ph.size), dtype) for ph in phases]

    def gemms():
        np.matmul(w, cols, out=y)
        np.matmul(cols, dy.transpose(0, 2, 1)).sum(axis=0)
        if scatter:
            np.matmul(wt, operand, out=dx)
        else:
            for a, b, out in zip(wt, operand, dx):
                np.matmul(a, b, out=out)

    gemms()
    return gemms


#: The three forms of the GEMMs an im2col module runs (:func:`gemm_call`'s options), by the
#: key their time has among a row's extra figures.
GEMM_FORMS = {
    "gemms": {},
    "gemms_scatter": dict(scatter=True),
    "gemms_folded": dict(folded=True),
}


def gemm_form(layer) -> str:
    """The :data:`GEMM_FORMS` key of the form ``layer``'s module runs: the batch folded into
    each GEMM, dE/dx scattered (col2im), or dE/dx gathered per phase."""
    from symconv.codegen.strategies import choose

    strategy = choose(layer)
    if strategy.fold_batch:
        return "gemms_folded"
    return "gemms_scatter" if strategy.dx_scatter else "gemms"


def gemm_floor(layer, extra):
    """Seconds of the three GEMMs alone in the form the layer's module runs (:func:`gemm_form`),
    or None when they were not timed; a module with another strategy (Winograd) is set against
    the same im2col GEMMs."""
    if "gemms" not in extra:
        return None
    return extra.get(gemm_form(layer), extra["gemms"])


def _gemms(extra) -> float:
    """The fastest of the timed GEMM sets (gathered, scattered or folded dE/dx)."""
    return min(extra[key] for key in GEMM_FORMS if key in extra)


def column_bytes(layer, n, itemsize=4) -> int:
    """Bytes of the columns every im2col path of ``layer`` writes for ``n`` samples: x's
    (channels x taps x output positions of every gathered phase) and dE/dx's, the smaller of
    its two forms: dE/dy gathered through the inverse map's phases, or the col2im product
    W'^T dE/dy (as many values as x's columns). A direct GEMM (one tap reading x itself)
    writes none."""
    from symconv.codegen.plans import forward_plan, inverse_plan

    spec = layer.spec
    x_cols = spec.in_channels * sum(
        ph.n_taps * ph.size for ph in forward_plan(layer).phases if not ph.identity
    )
    if not x_cols:
        return 0
    gathered = spec.out_channels * sum(
        ph.n_taps * ph.size for ph in inverse_plan(layer).phases if not ph.identity
    )
    return itemsize * n * (x_cols + min(gathered, x_cols))


def fill_call(nbytes: int, pool):
    """Writing ``nbytes`` of memory once, split over two threads, ready to time: the least any
    gather producing that many bytes of columns needs."""
    buf = np.zeros(nbytes // 4, np.float32)
    half = buf.size // 2

    def fill():
        done = pool.submit(buf[:half].fill, 1.0)
        buf[half:].fill(1.0)
        done.result()

    fill()
    return fill


def print_bounds(bounds) -> list:
    """Print, per dense conv row (name, GEMMs' seconds, seconds merely writing its columns,
    the module's seconds, the columns' bytes), the least an im2col module that writes its
    columns to memory could take against its GEMMs alone: (GEMMs + writing the columns) /
    GEMMs, as if every gather, scatter and reorder ran no slower than a plain write of the
    columns it must produce and nothing else ran outside the GEMMs. (A module that wrote its
    columns block by block into a buffer kept in cache could write faster; its GEMMs would be
    short ones.) Returns the rows where that bound alone is above :data:`FLOOR_TARGET`."""
    if not any(fill for _, _, fill, _, _ in bounds):
        return []
    print(
        f"  the least an im2col module writing its columns to memory could take, (its GEMMs + "
        f"merely writing its columns) / its GEMMs (target <= {FLOOR_TARGET}):"
    )
    unreachable = []
    for name, gemms, fill, module, nbytes in bounds:
        least = (gemms + fill) / gemms
        if least > FLOOR_TARGET:
            unreachable.append(name)
        print(
            f"    {name:30s} GEMMs {1e3 * gemms:7.2f} ms, {nbytes / 2**20:6.1f} MiB of columns "
            f"written in {1e3 * fill:6.2f} ms: at least {least:.2f}  (measured {module / gemms:.2f})"
        )
    return unreachable


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def print_ceilings(times) -> None:
    """What this machine allows, from the figures timed alongside the rows: the largest conv's
    GEMMs alone against sgemm, the time merely writing its columns takes, torch's own rate on
    that layer, and in float64 every dense conv's GEMMs alone against torch's whole layer."""
    print("ceilings (timed alongside the rows above)")
    for (name, dtype), row in times.items():
        extra = row["extra"]
        if "sgemm" not in extra or "gemms" not in extra:
            continue
        fl, gemms = row["flops"], _gemms(extra)
        peak = SGEMM_FLOP / extra["sgemm"] / 1e9
        rate = fl / gemms / 1e9
        print(
            f"  {name}, {dtype}: its three GEMMs alone take {1e3 * gemms:.2f} ms = "
            f"{rate:.1f} GFLOP/s = {100 * rate / peak:.0f}% of sgemm"
        )
        if "fill" in extra:
            best = fl / (gemms + extra["fill"]) / 1e9
            print(
                f"  its two im2col gathers write {row['col_bytes'] / 2**20:.0f} MiB of "
                f"columns; merely writing that much memory takes {1e3 * extra['fill']:.1f} ms "
                f"here, so im2col + GEMM tops out at {best:.1f} GFLOP/s = "
                f"{100 * best / peak:.0f}% of sgemm"
            )
        if row["torch"]:
            rate = fl / row["torch"] / 1e9
            print(
                f"  torch on the same layer: {rate:.1f} GFLOP/s = {100 * rate / peak:.0f}% of "
                "sgemm"
            )
    ratios = {
        name: row["ours"] / row["torch"]
        for (name, dtype), row in times.items()
        if dtype == "float64" and row["torch"]
    }
    floors = {
        name: _gemms(times[(name, "float64")]["extra"]) / times[(name, "float64")]["torch"]
        for name in ratios
        if "gemms" in times[(name, "float64")]["extra"]
    }
    if not floors:
        return
    print("  float64, each dense conv's three GEMMs alone against torch's whole layer (the least")
    print("  that row's ratio can be while its GEMMs run through NumPy's BLAS):")
    for name, floor in floors.items():
        print(f"    {name:30s} GEMMs alone {floor:5.2f}  (measured {ratios[name]:.2f})")
    others = [name for name in ratios if name not in floors]
    gm = geomean([floors.get(name, ratio) for name, ratio in ratios.items()])
    print(
        f"  with those rows at their GEMM-only floors and the other rows as measured, the "
        f"float64 geometric mean would be {gm:.2f}"
    )
    goal = TARGETS["float64"]
    if others and gm > goal:
        need = (goal ** len(ratios) / math.prod(floors.values())) ** (1 / len(others))
        print(
            f"  (reaching {goal} would take the other rows ({', '.join(others)}) to "
            f"{need:.2f} each)"
        )


def build(entry):
    """(layer, generated module) of a suite entry."""
    name, kind, n, c, size, params = entry
    params = dict(params)
    k = params.pop("kernel_size")
    if kind == "conv":
        layer = symconv.conv((size, size), k, in_channels=c, bias=True, **params)
    else:
        layer = symconv.max_pool((size, size), k, channels=c, **params)
    source = generate_numpy(layer)
    module = _load(source, "bench_" + name.replace(" ", "_"))
    module._source = source
    return layer, module


def release(module) -> None:
    """Free the scratch buffers a threaded module keeps between calls (a small layer's module
    and a pool module keep none)."""
    clear = getattr(module, "clear_workspace", None)
    if clear is not None:
        clear()


def flops(spec, n) -> float:
    """Multiply-adds x 2 of forward + backward (dx, dw): three passes of the same size."""
    if not spec.has_weight:
        return 0.0
    per = 2 * n * spec.out_channels * math.prod(spec.output_size)
    per *= (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)
    return 3.0 * per


def call_args(spec, arrays):
    """(forward's arguments, backward's arguments) of the generated module, from the arrays of
    :func:`arrays_for`: (x, w, b, dy) for a conv, (x, dy) for a pool."""
    if spec.has_weight:
        x, w, b, dy = arrays
        return (x, w, b), (dy, x, w)
    x, dy = arrays
    return (x,), (dy, x)


def run_numpy(module, spec, arrays):
    forward_args, backward_args = call_args(spec, arrays)
    module.forward(*forward_args)
    module.backward(*backward_args)


def torch_forward(spec, x, *params):
    """PyTorch's forward of the layer (conv2d with w, b, or max_pool2d)."""
    if spec.has_weight:
        return F.conv2d(
            x,
            *params,
            stride=spec.stride,
            padding=spec.padding[0][0],
            dilation=spec.dilation,
            groups=spec.groups,
        )
    return F.max_pool2d(x, spec.kernel_size, spec.stride, spec.padding[0][0])


def torch_tensors(arrays):
    """The arrays as torch tensors, all but the last (dy) requiring gradients."""
    tensors = [torch.from_numpy(a) for a in arrays]
    for t in tensors[:-1]:
        t.requires_grad_(True)
    return tensors


def torch_runner(spec, arrays):
    if torch is None:
        return None
    *inputs, dy = torch_tensors(arrays)

    def run():
        for t in inputs:
            t.grad = None
        torch_forward(spec, *inputs).backward(dy)

    return run


def arrays_for(spec, n, dtype, rng):
    x = rng.standard_normal((n,) + spec.x_shape).astype(dtype)
    dy = rng.standard_normal((n,) + spec.y_shape).astype(dtype)
    if spec.has_weight:
        w = (rng.standard_normal(spec.w_shape) * 0.1).astype(dtype)
        b = rng.standard_normal(spec.b_shape).astype(dtype)
        return x, w, b, dy
    return x, dy


def check_agreement(module, spec, arrays):
    """Max relative difference of symconv and torch outputs (sanity, not timing)."""
    if torch is None:
        return None
    forward_args, backward_args = call_args(spec, arrays)
    y = module.forward(*forward_args)
    grads = module.backward(*backward_args)
    *inputs, dy = torch_tensors(arrays)
    ty = torch_forward(spec, *inputs)
    ty.backward(dy)
    grads = grads if spec.has_weight else (grads,)  # conv: (dx, dw, db); pool: dx
    pairs = [(y, ty)] + [(g, t.grad) for g, t in zip(grads, inputs)]
    worst = 0.0
    for ours, theirs in pairs:
        theirs = theirs.detach().numpy()
        scale = max(float(np.abs(theirs).max()), 1e-30)
        worst = max(worst, float(np.abs(ours - theirs).max()) / scale)
    return worst


def profile(module, spec, arrays):
    """Where the time of one forward + backward goes (cProfile, top entries)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    run_numpy(module, spec, arrays)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(8)


#: (family, builder(size, channels)) of the thread sweep (``--threads``)
SWEEP = [
    (
        "conv 3x3 p1",
        lambda h, c: symconv.conv((h, h), 3, in_channels=c, out_channels=c, padding=1, bias=True),
    ),
    (
        "conv 3x3 s2 p1",
        lambda h, c: symconv.conv(
            (h, h), 3, in_channels=c, out_channels=c, stride=2, padding=1, bias=True
        ),
    ),
    (
        "depthwise 3x3 p1",
        lambda h, c: symconv.conv(
            (h, h), 3, in_channels=c, out_channels=c, groups=c, padding=1, bias=True
        ),
    ),
    ("max 2x2 s2", lambda h, c: symconv.max_pool((h, h), 2, channels=c)),
    ("avg 3x3 s2 p1", lambda h, c: symconv.avg_pool((h, h), 3, stride=2, padding=1, channels=c)),
]


def _load(source: str, name: str = "sweep"):
    """The module whose source is ``source``, imported from the text."""
    module = types.ModuleType(name)
    exec(compile(source, module.__name__, "exec"), module.__dict__)
    return module


def _module(layer, threads: bool):
    """The generated module of ``layer``, threaded or lean whatever its size."""
    from symconv.codegen import strategies

    saved = strategies.THREAD_MIN_READS
    strategies.THREAD_MIN_READS = 0 if threads else math.inf
    try:
        source = generate_numpy(layer)
    finally:
        strategies.THREAD_MIN_READS = saved
    return _load(source)


def thread_sweep(n: int, repeat: int, sizes=(4, 8, 16, 32, 64), channels=(1, 4, 16, 64)) -> None:
    """Where worker threads pay: forward + backward of each sweep layer as the lean (serial)
    module and as the threaded module with 1 and 2 threads, against the tap reads of one
    sample (the quantity strategies.THREAD_MIN_READS bounds)."""
    from symconv.codegen.strategies import THREAD_MIN_READS, reads_per_sample
    from symconv.codegen.plans import forward_plan

    print(f"thread sweep: batch {n}, best of {repeat}; THREAD_MIN_READS = {THREAD_MIN_READS}")
    print(
        f"{'layer':18s} {'x (C, H, W)':>14s} {'dtype':8s} {'reads':>9s} {'lean ms':>9s} "
        f"{'1 thread':>9s} {'2 threads':>9s} {'lean/2thr':>9s}"
    )
    rng = np.random.default_rng(0)
    for name, make in SWEEP:
        for h in sizes:
            for c in channels:
                if name.startswith("depthwise") and c == 1:
                    continue
                layer = make(h, c)
                reads = reads_per_sample(layer, forward_plan(layer))
                lean, threaded = _module(layer, False), _module(layer, True)
                for dtype in (np.float32, np.float64):
                    arrays = arrays_for(layer.spec, n, dtype, rng)
                    best = {}
                    for _ in range(repeat):  # interleaved: drifts hit all three alike
                        for key, module, k in (
                            ("lean", lean, None),
                            (1, threaded, 1),
                            (2, threaded, 2),
                        ):
                            if k is not None:
                                module.THREADS = k
                            t = _timed(lambda: run_numpy(module, layer.spec, arrays))
                            best[key] = min(best.get(key, math.inf), t)
                    print(
                        f"{name:18s} {str(layer.spec.x_shape):>14s} {np.dtype(dtype).name:8s} "
                        f"{reads:9d} {1e3 * best['lean']:9.3f} {1e3 * best[1]:9.3f} "
                        f"{1e3 * best[2]:9.3f} {best['lean'] / best[2]:9.2f}",
                        flush=True,
                    )


def time_side(request: dict) -> dict:
    """Time one side of one row (``request["side"]``: "symconv" or "torch") in this process:
    a warm-up call, then the minimum of ``repeat`` calls; the symconv side also times the
    row's extra figures (sgemm, GEMMs alone, a plain write of the columns), interleaved with
    its own calls. Returns the times in seconds and the module's strategy."""
    entry = next(e for e in SUITE if e[0] == request["name"])
    dtype = np.dtype(request["dtype"]).type
    layer, module = build(entry)
    spec, n = layer.spec, entry[2]
    arrays = arrays_for(spec, n, dtype, np.random.default_rng(0))
    extras = {}
    if request["side"] == "torch":
        torch.set_num_threads(request["threads"])
        call = torch_runner(spec, arrays)
    else:
        call = lambda: run_numpy(module, spec, arrays)  # noqa: E731
        if "sgemm" in request["extras"]:
            extras["sgemm"] = sgemm_call()
        if "gemms" in request["extras"]:
            for key, form in GEMM_FORMS.items():
                extras[key] = gemm_call(layer, n, dtype, **form)
        if "fill" in request["extras"]:
            nbytes = column_bytes(layer, n, np.dtype(dtype).itemsize)
            if nbytes:
                extras["fill"] = fill_call(nbytes, ThreadPoolExecutor(1))
    call()
    best = {key: math.inf for key in ("time", *extras)}
    for _ in range(request["repeat"]):
        best["time"] = min(best["time"], _timed(call, request["settle"]))
        for key, extra in extras.items():
            best[key] = min(best[key], _timed(extra, request["settle"]))
    release(module)
    return dict(best, strategy=module.STRATEGY)


def run_side(side: str, name: str, dtype, repeat: int, threads: int, extras=()) -> dict:
    """:func:`time_side` in a fresh Python process, so that neither library's worker threads
    (OpenBLAS spins for a while after each call) nor its memory state touch the other side."""
    request = dict(
        side=side,
        name=name,
        dtype=np.dtype(dtype).name,
        repeat=repeat,
        threads=threads,
        extras=list(extras),
        settle=SETTLE,
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(request)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark worker ({side}, {name}, {request['dtype']}) failed:\n" f"{proc.stderr}"
        )
    return json.loads(proc.stdout.splitlines()[-1])


def _fastest(a, b):
    """Two :func:`time_side` results of one side merged: every time the smaller."""
    if a is None:
        return b
    return {key: value if key == "strategy" else min(value, b[key]) for key, value in a.items()}


def run_sides(name: str, dtype, repeat: int, rounds: int, threads: int, extras=()):
    """(symconv's times, torch's times or None) of one row: ``rounds`` rounds, each a symconv
    process then a torch process, every figure the minimum over the rounds. Alternating the
    processes lets a burst of load from other jobs on a shared machine hit both sides alike."""
    ours = theirs = None
    for _ in range(rounds):
        ours = _fastest(ours, run_side("symconv", name, dtype, repeat, threads, extras))
        if torch is not None:
            theirs = _fastest(theirs, run_side("torch", name, dtype, repeat, threads))
    return ours, theirs


def print_machine(threads: int) -> None:
    print(
        f"symconv {symconv.__version__}, numpy {np.__version__}, python {platform.python_version()}"
        + (f", torch {torch.__version__}" if torch else "")
    )
    print(
        f"CPU: {describe()}; NumPy BLAS threads {threads}"
        + (f", torch threads {threads}" if torch else "")
    )
    if torch is None:
        print("PyTorch is not installed: the torch columns are skipped")


#: (N, C_in, H = W, C_out, kernel) of the implicit GEMM sweep (``--implicit``): 3x3 and 5x5
#: stride-1 "same" convolutions over channel counts, their ratio and spatial sizes
IMPLICIT_SWEEP = [
    (16, 16, 56, 16, 3),
    (16, 32, 56, 32, 3),
    (16, 32, 56, 16, 3),
    (16, 16, 56, 32, 3),
    (16, 64, 56, 64, 3),
    (8, 64, 56, 32, 3),
    (8, 256, 28, 64, 3),
    (8, 64, 28, 256, 3),
    (8, 128, 28, 128, 3),
    (8, 256, 14, 256, 3),
    (8, 16, 112, 16, 3),
    (8, 64, 112, 64, 3),
    (16, 64, 56, 64, 5),
]


def _forced(layer, implicit: bool):
    """The threaded module of ``layer``, with the implicit GEMM or with im2col."""
    from symconv.codegen import strategies

    saved = strategies.THREAD_MIN_READS
    strategies.THREAD_MIN_READS = 0
    try:
        source = generate_numpy(layer, implicit=implicit)
    finally:
        strategies.THREAD_MIN_READS = saved
    return _load(source)


def _interleaved(modules: dict, arrays, repeat: int) -> dict:
    """{key: (best forward s, best backward s)} of each module on ``arrays`` (x, w, b, dy),
    after a warm-up (workspace, worker threads), the modules' calls interleaved so that a
    drift of the machine's speed hits them alike."""
    x, w, b, dy = arrays
    for module in modules.values():
        module.forward(x, w, b)
        module.backward(dy, x, w)
    best = {}
    for _ in range(repeat):
        for key, module in modules.items():
            t0 = time.perf_counter()
            module.forward(x, w, b)
            t1 = time.perf_counter()
            module.backward(dy, x, w)
            t2 = time.perf_counter()
            fwd, bwd = best.get(key, (math.inf, math.inf))
            best[key] = (min(fwd, t1 - t0), min(bwd, t2 - t1))
    return best


def _pair_sweep(cases, repeat: int) -> None:
    """For each ``(label, n, layer, {base: module, other: module})`` of ``cases``: forward and
    backward of both modules on a batch of ``n``, float32 and float64, interleaved in one
    process (:func:`_interleaved`), one row each with the ratio other / base."""
    rng = np.random.default_rng(0)
    header = False
    for label, n, layer, modules in cases:
        base, other = modules
        if not header:
            print(
                f"{'layer':24s} {'dtype':8s} {base + ' fwd+bwd ms':>20s} "
                f"{other + ' fwd+bwd ms':>21s} {'fwd':>5s} {'bwd':>5s} {'total':>6s}"
            )
            header = True
        for dtype in (np.float32, np.float64):
            best = _interleaved(modules, arrays_for(layer.spec, n, dtype, rng), repeat)
            (f0, b0), (f1, b1) = best[base], best[other]
            print(
                f"{label:24s} {np.dtype(dtype).name:8s} "
                f"{1e3 * f0:9.2f}+{1e3 * b0:10.2f} {1e3 * f1:9.2f}+{1e3 * b1:11.2f} "
                f"{f1 / f0:5.2f} {b1 / b0:5.2f} {(f1 + b1) / (f0 + b0):6.2f}",
                flush=True,
            )
        for module in modules.values():
            release(module)


def implicit_sweep(repeat: int) -> None:
    """Where the implicit GEMM pays: forward and backward of each sweep layer with the implicit
    GEMM and with im2col (the measurements behind the choice described in
    symconv.codegen.strategies)."""
    print(f"implicit GEMM sweep: best of {repeat}, threaded modules; ratio = implicit / im2col")

    def cases():
        for n, c, h, o, k in IMPLICIT_SWEEP:
            layer = symconv.conv(
                (h, h), k, in_channels=c, out_channels=o, padding=k // 2, bias=True
            )
            modules = {"im2col": _forced(layer, False), "implicit": _forced(layer, True)}
            yield f"{n}x{c}x{h} -> {o}, {k}x{k}", n, layer, modules

    _pair_sweep(cases(), repeat)


class _NoGemm(types.ModuleType):
    """NumPy as a generated module sees it, but with a matmul that multiplies nothing: it
    returns its ``out=`` array, or an uninitialised array of the product's shape and dtype."""

    def __init__(self):
        super().__init__("numpy_without_matmul")

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def matmul(a, b, out=None):
        if out is not None:
            return out
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        return np.empty(shape, np.result_type(a, b))


def without_gemms(source: str, name: str = "outside"):
    """The generated module of ``source`` with every np.matmul a no-op (:class:`_NoGemm`):
    timing it times what the module runs outside its GEMMs (copies, scatters, reorders,
    comparisons, Python). Its results are meaningless."""
    module = _load(source, name)
    module.np = _NoGemm()
    return module


def _quietly(module, x, w, b, dy):
    """Forward + backward of a module without its GEMMs: it sums uninitialised products, so
    NumPy's overflow warnings are silenced."""
    with np.errstate(all="ignore"):
        module.forward(x, w, b)
        module.backward(dy, x, w)


def outside_sweep(repeat: int, only=None, dtypes=(np.float32, np.float64)) -> None:
    """Per dense conv row of the suite, in one process with calls interleaved: the module's
    forward + backward, the same module without its GEMMs (:func:`without_gemms`) and the three
    GEMMs alone in the module's form (:func:`gemm_call`); the share outside the GEMMs is what
    issue 27's target (module / GEMMs <= FLOOR_TARGET) bounds."""
    print(f"outside the GEMMs: best of {repeat}, the three timed in turn in one process")
    print(
        f"{'shape':30s} {'dtype':8s} {'module ms':>10s} {'GEMMs ms':>9s} {'outside ms':>10s} "
        f"{'outside/GEMMs':>13s} {'module/GEMMs':>12s}"
    )
    rng = np.random.default_rng(0)
    for entry in SUITE:
        if only is not None and only not in entry[0]:
            continue
        layer, module = build(entry)
        spec, n = layer.spec, entry[2]
        if not spec.has_weight or spec.groups != 1:
            continue
        form = GEMM_FORMS[gemm_form(layer)]
        bare = without_gemms(module._source, "outside_" + entry[0].replace(" ", "_"))
        for dtype in dtypes:
            x, w, b, dy = arrays_for(spec, n, dtype, rng)
            calls = {
                "module": lambda m=module: (m.forward(x, w, b), m.backward(dy, x, w)),
                "outside": lambda m=bare: _quietly(m, x, w, b, dy),
                "gemms": gemm_call(layer, n, dtype, **form),
            }
            for call in calls.values():
                call()
            best = {key: math.inf for key in calls}
            for _ in range(repeat):
                for key, call in calls.items():
                    best[key] = min(best[key], _timed(call))
            g = best["gemms"]
            print(
                f"{entry[0]:30s} {np.dtype(dtype).name:8s} {1e3 * best['module']:10.2f} "
                f"{1e3 * g:9.2f} {1e3 * best['outside']:10.2f} {best['outside'] / g:13.2f} "
                f"{best['module'] / g:12.2f}",
                flush=True,
            )
        release(module)
        release(bare)


#: (N, C_in = C_out, H = W) of the Winograd sweep (``--winograd``): 3x3 padding-1 convolutions
WINOGRAD_SWEEP = [
    (16, 8, 56),
    (16, 16, 56),
    (16, 32, 56),
    (16, 64, 56),
    (16, 16, 28),
    (16, 64, 28),
    (8, 128, 28),
    (16, 32, 14),
    (8, 128, 14),
    (8, 256, 14),
    (16, 64, 8),
    (8, 256, 8),
]


def winograd_sweep(repeat: int) -> None:
    """Where the Winograd kernels pay: forward and backward of each sweep layer as generated by
    default (im2col, lean or threaded by size) and with ``winograd=True`` (the measurements
    behind the choice described in symconv.codegen.strategies)."""
    print(f"CPU: {describe()}; numpy {np.__version__}")
    print(f"Winograd sweep: best of {repeat}; ratio = winograd / default (im2col) module")

    def cases():
        for n, c, h in WINOGRAD_SWEEP:
            layer = symconv.conv((h, h), 3, in_channels=c, out_channels=c, padding=1, bias=True)
            modules = {
                "default": _load(generate_numpy(layer)),
                "winograd": _load(generate_numpy(layer, winograd=True)),
            }
            yield f"{n}x{c}x{h}, 3x3 p1", n, layer, modules

    _pair_sweep(cases(), repeat)


def main(argv=None) -> int:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="timed repetitions per side")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="processes per side and row, alternating with the other side's (default 3)",
    )
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--only", default=None, help="run the shapes whose name contains this")
    parser.add_argument("--profile", action="store_true", help="cProfile one run per shape")
    parser.add_argument(
        "--breakdown", action="store_true", help="always print the largest conv's breakdown"
    )
    parser.add_argument(
        "--no-ceilings", action="store_true", help="skip the GEMM-only and bandwidth figures"
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="only the thread sweep: lean against threaded modules over layer sizes",
    )
    parser.add_argument(
        "--outside",
        action="store_true",
        help="time each dense conv's module without its GEMMs, against the GEMMs alone",
    )
    parser.add_argument("--batch", type=int, default=8, help="batch of the thread sweep")
    parser.add_argument(
        "--implicit",
        action="store_true",
        help="only the implicit GEMM sweep: tap accumulation against im2col over layer shapes",
    )
    parser.add_argument(
        "--winograd",
        action="store_true",
        help="only the Winograd sweep: F(2x2, 3x3) against the default im2col module, 3x3 p1",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # one side of one row, in its own process (see run_side)
        print(json.dumps(time_side(json.loads(args.worker))))
        return 0
    repeat = args.repeat or (3 if args.quick else 7)
    rounds = args.rounds or (1 if args.quick else 3)
    if args.threads:
        thread_sweep(args.batch, args.repeat or (5 if args.quick else 15))
        return 0
    if args.implicit:
        implicit_sweep(args.repeat or (3 if args.quick else 7))
        return 0
    if args.winograd:
        winograd_sweep(args.repeat or (3 if args.quick else 5))
        return 0
    if args.outside:
        dtypes = [np.float32, np.float64] if args.dtype == "both" else [np.dtype(args.dtype).type]
        outside_sweep(args.repeat or (5 if args.quick else 15), args.only, dtypes)
        return 0
    threads = numpy_threads()
    print_machine(threads)
    peak = sgemm_gflops()
    print(f"sgemm 2048x2048 float32: {peak:.1f} GFLOP/s")
    print(
        f"each side of a row timed in its own process: the minimum of {repeat} calls after a "
        f"warm-up, over {rounds} alternating round(s) of the two processes"
    )
    print()
    dtypes = [np.float32, np.float64] if args.dtype == "both" else [np.dtype(args.dtype).type]
    suite = [e for e in SUITE if args.only is None or args.only in e[0]]
    rng = np.random.default_rng(0)
    built = [(entry, *build(entry)) for entry in suite]
    summary = {}
    times = {}
    header = (
        f"{'shape':30s} {'dtype':8s} {'strategy':22s} {'symconv ms':>10s} {'torch ms':>9s} "
        f"{'ratio':>6s} {'GFLOP/s':>8s} {'%sgemm':>7s} {'GEMMs ms':>8s} {'/GEMMs':>6s} "
        f"{'max rel diff':>12s}"
    )
    print(header)
    print("-" * len(header))
    largest = max(
        (e for e in built if e[1].spec.has_weight),
        key=lambda e: flops(e[1].spec, e[0][2]),
        default=None,
    )
    for dtype in dtypes:
        ratios = []
        floors = []
        bounds = []
        for entry, layer, module in built:
            spec = layer.spec
            n = entry[2]
            # figures timed alongside the row in the symconv process (this shared machine's
            # throughput drifts by 20-30% over a run): for the largest conv the sgemm reference,
            # its GEMMs alone and a plain write of its columns; for every dense conv in float64
            # its GEMMs alone
            on_largest = largest is not None and entry is largest[0] and dtype == np.float32
            extras = []
            if on_largest:
                extras = ["sgemm"] + ([] if args.no_ceilings else ["gemms", "fill"])
            elif spec.has_weight and spec.groups == 1 and not args.no_ceilings:
                extras = ["gemms", "fill"]
            ours, theirs = run_sides(entry[0], dtype, repeat, rounds, threads, extras)
            extra = {k: v for k, v in ours.items() if k not in ("time", "strategy")}
            row_peak = SGEMM_FLOP / extra["sgemm"] / 1e9 if "sgemm" in extra else peak
            a = ours["time"]
            b = theirs["time"] if theirs else None
            fl = flops(spec, n)
            gflops = fl / a / 1e9 if fl else None
            diff = check_agreement(module, spec, arrays_for(spec, n, dtype, rng))
            release(module)
            ratio = a / b if b else None
            nbytes = column_bytes(layer, n, np.dtype(dtype).itemsize)
            times[(entry[0], np.dtype(dtype).name)] = dict(
                ours=a, torch=b, flops=fl, extra=extra, col_bytes=nbytes
            )
            if ratio:
                ratios.append(ratio)
            floor = gemm_floor(layer, extra)
            if floor:
                floors.append(a / floor)
                bounds.append((entry[0], floor, extra.get("fill", 0.0), a, nbytes))
            if on_largest:
                summary["largest"] = (entry[0], gflops, gflops / row_peak, row_peak)
            print(
                f"{entry[0]:30s} {np.dtype(dtype).name:8s} {ours['strategy']:22s} "
                f"{a * 1e3:10.2f} "
                + (f"{b * 1e3:9.2f} {ratio:6.2f} " if b else f"{'-':>9s} {'-':>6s} ")
                + (
                    f"{gflops:8.1f} {100 * gflops / row_peak:6.1f}% "
                    if gflops
                    else f"{'-':>8s} {'-':>7s} "
                )
                + (f"{floor * 1e3:8.2f} {a / floor:6.2f} " if floor else f"{'-':>8s} {'-':>6s} ")
                + (f"{diff:12.1e}" if diff is not None else f"{'-':>12s}"),
                flush=True,
            )
            if "sgemm" in extra:
                print(f"{'':30s} (sgemm timed alongside this row: {row_peak:.1f} GFLOP/s)")
            if args.profile:
                profile(module, spec, arrays_for(spec, n, dtype, rng))
                release(module)
        if ratios:
            gm = geomean(ratios)
            summary[np.dtype(dtype).name] = gm
            print(f"{'geometric mean ratio (' + np.dtype(dtype).name + ')':62s} {gm:6.2f}")
        if floors:
            worst = max(floors)
            summary["floor " + np.dtype(dtype).name] = worst
            print(
                f"{'module / its GEMMs alone (' + np.dtype(dtype).name + ')':62s} geometric "
                f"mean {geomean(floors):.2f}, worst {worst:.2f}"
            )
            summary["unreachable " + np.dtype(dtype).name] = print_bounds(bounds)
        print()
    if largest is not None and not args.no_ceilings:
        print_ceilings(times)
        print()
    print("summary")
    for name, target in TARGETS.items():
        if name in summary:
            gm = summary[name]
            verdict = "met" if gm <= target else "missed"
            print(
                f"  {name}: geometric mean symconv/torch {gm:.2f} (target <= {target}: {verdict})"
            )
    for name in TARGETS:
        if "floor " + name in summary:
            worst = summary["floor " + name]
            verdict = "met" if worst <= FLOOR_TARGET else "missed"
            unreachable = summary.get("unreachable " + name)
            if unreachable and worst > FLOOR_TARGET:
                verdict += "; its GEMMs plus merely writing its columns already exceed it on "
                verdict += ", ".join(unreachable)
            print(
                f"  {name}: dense convs, module / its three GEMMs alone at most {worst:.2f} "
                f"(target <= {FLOOR_TARGET}: {verdict})"
            )
    if "largest" in summary:
        shape, gflops, frac, _ = summary["largest"]
        verdict = "met" if frac >= LARGEST_TARGET else "missed"
        print(
            f"  largest conv ({shape}, float32): {gflops:.1f} GFLOP/s = {100 * frac:.0f}% of "
            f"sgemm (target >= {100 * LARGEST_TARGET:.0f}%: {verdict})"
        )
        if frac < LARGEST_TARGET or args.breakdown:
            entry, layer, module = largest
            arrays = arrays_for(layer.spec, entry[2], np.float32, rng)
            print()
            print(f"where the time goes: {entry[0]}, float32 (statements of the generated module)")
            module.forward(*call_args(layer.spec, arrays)[0])
            print_breakdown(layer, module, arrays)
            release(module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
