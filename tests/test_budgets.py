"""Bounded time and memory on any layer (issue 22).

The acceptance grid runs every command on extreme but valid (or plainly invalid) specs in a
child process limited to 2 GiB of address space and a time limit: each answers with a bounded
preview (exit 0; ``check`` may also say "wrong", exit 1) or refuses with exactly one designed
``error:`` line (exit 2); none is a traceback, an empty message or an allocation failure.
The lazy readings of the index map are checked against independent loops, the budgets'
estimates against counts made by brute force, and the Python API's refusals by name.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy

import symconv
from symconv.core import budget, lazymap, preview
from symconv.core.budget import BudgetError

E9 = "1000000000"

#: (id, layer options): sizes up to 10^9, paddings, strides, dilations up to 10^9, channels up
#: to 10^6, 1-D to 3-D, every layer kind
EXTREME = [
    ("conv-pad1e9", f"conv --input-size 5x5 --kernel-size 3x3 --padding {E9}"),
    ("conv-3000x3000", "conv --input-size 3000x3000 --kernel-size 3x3"),
    (
        "conv-64x64-1e5ch",
        "conv --input-size 64x64 --kernel-size 3x3 --in-channels 100000 " "--out-channels 100000",
    ),
    ("conv-1d-1e6", "conv --input-size 1000000 --kernel-size 3"),
    ("conv-1d-1e9", f"conv --input-size {E9} --kernel-size 3 --bias"),
    ("conv-1d-kernel1e9", f"conv --input-size {E9} --kernel-size {E9}"),
    ("conv-3d-1000^3", "conv --input-size 1000x1000x1000 --kernel-size 3x3x3"),
    ("conv-stride1e9", f"conv --input-size 8x8 --kernel-size 3 --stride {E9}"),
    ("conv-dilation1e8", f"conv --input-size {E9} --kernel-size 3 --dilation 100000000"),
    (
        "conv-depthwise-1e6",
        "conv --input-size 4x4 --kernel-size 2 --in-channels 1000000 "
        "--out-channels 1000000 --groups 1000000",
    ),
    (
        "conv-all1e9",
        f"conv --input-size 5 --kernel-size 3 --padding {E9} --stride {E9} " f"--dilation {E9}",
    ),
    ("conv-1e9x1e9-k1", f"conv --input-size {E9}x{E9} --kernel-size 1 --flip"),
    ("convT-stride1e9", f"conv-transpose --input-size {E9} --kernel-size 3 --stride {E9}"),
    ("convT-dilation1e9", f"conv-transpose --input-size 5x5 --kernel-size 3 --dilation {E9}"),
    (
        "convT-3d-1000ch",
        "conv-transpose --input-size 100x100x100 --kernel-size 3 "
        "--in-channels 1000 --out-channels 1000",
    ),
    (
        "convT-3000x3000",
        "conv-transpose --input-size 3000x3000 --kernel-size 3 --stride 2 " "--padding 1",
    ),
    ("convT-1-k1e9", f"conv-transpose --input-size 1 --kernel-size {E9}"),
    ("max-1d-1e9", f"max-pool --input-size {E9} --kernel-size 2"),
    ("max-3000x3000", "max-pool --input-size 3000x3000 --kernel-size 3 --stride 1 --padding 1"),
    ("max-window1e6", "max-pool --input-size 1000000 --kernel-size 1000000"),
    (
        "max-3d-1e6ch",
        "max-pool --input-size 5x5x5 --kernel-size 3 --padding 1 "
        "--channels 1000000 --ties split",
    ),
    ("max-pad1e9", f"max-pool --input-size 5 --kernel-size 3 --padding {E9}"),
    ("max-window1e9-pad", f"max-pool --input-size {E9} --kernel-size {E9} --padding 600000000"),
    (
        "avg-1d-1e9-tables",
        f"avg-pool --input-size {E9} --kernel-size 3 --stride 1 --padding 1 "
        "--no-count-include-pad",
    ),
    (
        "avg-3000x3000-divisors",
        "avg-pool --input-size 3000x3000 --kernel-size 3 --stride 1 --padding 1 "
        "--no-count-include-pad",
    ),
    ("avg-window1e6", "avg-pool --input-size 1000x1000 --kernel-size 1000x1000"),
    ("avg-64x64-1e6ch", "avg-pool --input-size 64x64 --kernel-size 2 --channels 1000000"),
    ("avg-ceil-1e9", f"avg-pool --input-size {E9} --kernel-size 2 --ceil-mode"),
]

COMMANDS = ("derive", "toeplitz", "latex", "draw", "codegen", "check")
LIMIT_AS = 2 * 1024**3
TIME_LIMIT = 30
ALLOCATION = ("Unable to allocate", "array is too big", "MemoryError", "Traceback")


def _limit():  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def _argv(command, options, tmp):
    args = [command] + options.split()
    if command == "draw":
        args += ["-o", str(tmp / "figure.svg")]
    elif command == "codegen":
        args += ["-o", str(tmp / "module.py")]
    elif command == "check":
        args += ["--quantity", "output", "--answer", "[[1, 2], [3, 4]]"]
    return args


#: Runs in the child (2 GiB address space): imports symconv once, then forks one process per
#: command (each inherits the limit and gets SIGALRM after TIME_LIMIT seconds), running it as
#: ``python -m symconv`` would (an uncaught exception prints its traceback), and reports
#: ``[exit status or -signal, stdout, stderr, seconds]`` per command as JSON.
_DRIVER = """
import json, os, sys, tempfile, time, traceback
import symconv.cli
runs, limit = json.loads(sys.argv[1]), int(sys.argv[2])
report = []
for argv in runs:
    files = [tempfile.TemporaryFile(mode="w+") for _ in range(2)]
    start = time.monotonic()
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.dup2(files[0].fileno(), 1); os.dup2(files[1].fileno(), 2)
        import signal
        signal.alarm(limit)
        try:
            code = symconv.cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    texts = []
    for f in files:
        f.seek(0); texts.append(f.read()); f.close()
    report.append([code, texts[0], texts[1], time.monotonic() - start])
print(json.dumps(report))
"""


def _run_all(runs):
    """Run ``symconv ARGV`` for each of ``runs`` in a child limited to 2 GiB (see _DRIVER)."""
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(runs), str(TIME_LIMIT)],
        capture_output=True,
        text=True,
        preexec_fn=_limit,
        timeout=TIME_LIMIT * len(runs) + 30,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("options", [o for _, o in EXTREME], ids=[i for i, _ in EXTREME])
def test_every_command_is_bounded_or_refuses_in_one_line(options, tmp_path):
    runs = [_argv(command, options, tmp_path) for command in COMMANDS]
    for command, (code, stdout, stderr, seconds) in zip(COMMANDS, _run_all(runs)):
        where = f"symconv {command} {options}"
        assert code >= 0, f"{where}: killed by signal {-code} after {seconds:.1f} s (time limit)"
        for bad in ALLOCATION:
            assert bad not in stderr, f"{where}: {stderr[-2000:]}"
        if code == 2:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1, f"{where}: {proc.stderr[-2000:]}"
            assert lines[0].startswith("error: "), f"{where}: {lines}"
            assert len(lines[0]) > len("error: ") + 20, f"{where}: {lines}"
            assert "ran out of memory" not in lines[0], f"{where}: not refused up front"
            if "budget" in lines[0]:
                assert seconds < 20, f"{where}: refused after {seconds:.1f} s"
        else:
            ok = (0, 1) if command == "check" else (0,)
            assert code in ok, f"{where}: exit {code}: {stderr[-2000:]}"
            if command == "codegen":  # a module written to -o, bounded
                module = tmp_path / "module.py"
                assert 0 < module.stat().st_size < 2_000_000, where
                compile(module.read_text(), str(module), "exec")
                continue
            assert stdout.strip(), where
            assert len(stdout) < 2_000_000, f"{where}: {len(stdout)} characters"


def test_out_of_memory_after_allow_large_is_one_designed_line(tmp_path):
    """--full --allow-large lifts the budgets: memory then runs out in the 2 GiB child, and
    the last line of defence still prints one designed line, not numpy's message."""
    runs = [["derive", *EXTREME[0][1].split(), "--full", "--allow-large"]]
    ((code, stdout, stderr, _),) = _run_all(runs)
    assert code == 2, stderr[-2000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: derive: ran out of memory"), lines
    assert "--allow-large lifted the budgets" in lines[0]


# ---------------------------------------------------------------------- closed-form arithmetic
@pytest.mark.parametrize("n", [0, 1, 2, 7, 30])
def test_floor_sum_against_a_loop(n):
    for m, a, b in itertools.product([1, 2, 3, 7], [0, 1, 2, 5, 9], [0, 1, 4, 11]):
        expected = sum((a * i + b) // m for i in range(n))
        assert lazymap.floor_sum(n, m, a, b) == expected, (n, m, a, b)


RULES = list(itertools.product([1, 2, 5], [1, 2, 3], [1, 4, 6], [1, 2, 3], [1, 2, 4], [0, 1, 3]))


@pytest.mark.parametrize("A,K,L,s,d,lo", RULES)
def test_axis_rule_against_loops(A, K, L, s, d, lo):
    rule = lazymap.AxisRule(A, K, L, s, d, lo)
    pairs = [(a, k) for a in range(A) for k in range(K) if 0 <= s * a + d * k - lo < L]
    assert rule.pairs() == len(pairs)
    for a in range(A):
        assert list(rule.k_for_a(a)) == [k for aa, k in pairs if aa == a]
    for k in range(K):
        assert list(rule.a_for_k(k)) == [a for a, kk in pairs if kk == k]
    for v in range(-3, L + 3):
        ks = [k for a, k in pairs if s * a + d * k - lo == v]
        assert list(rule.k_for_v(v)) == sorted(ks), v
        assert all(s * rule.a_of(v, k) + d * k - lo == v for k in ks)


def _loops_index_map(spec):
    """The flat index map by independent loops (``s*o + d*t - lo`` per axis; for a transposed
    convolution the input ``i`` with ``s*i + d*t - lo == o``)."""
    outs = list(itertools.product(*(range(o) for o in spec.output_size)))
    taps = list(itertools.product(*(range(k) for k in spec.kernel_size)))
    rows = []
    for o in outs:
        row = []
        for t in taps:
            pos = []
            for a in range(spec.ndim):
                s, d, lo = spec.stride[a], spec.dilation[a], spec.padding[a][0]
                n = spec.input_size[a]
                if spec.kind == "conv_transpose":
                    num = o[a] + lo - d * t[a]
                    pos.append(num // s if num % s == 0 and 0 <= num // s < n else None)
                else:
                    p = s * o[a] + d * t[a] - lo
                    pos.append(p if 0 <= p < n else None)
            row.append(-1 if None in pos else int(np.ravel_multi_index(pos, spec.input_size)))
        rows.append(row)
    return np.array(rows)


SMALL = {
    "conv2d_s2_d2_p3": lambda: symconv.conv((6, 5), (3, 2), stride=2, dilation=2, padding=3),
    "conv1d_s3_d2": lambda: symconv.conv(11, 3, stride=3, dilation=2, padding=((4, 1),)),
    "convT2d_s4_d2": lambda: symconv.conv_transpose((3, 2), 3, stride=4, dilation=2, padding=1),
    "convT1d_s6_d4": lambda: symconv.conv_transpose(4, 4, stride=6, dilation=4, padding=2),
    "convT3d": lambda: symconv.conv_transpose((2, 3, 2), 2, stride=(1, 2, 3)),
    "max2d_ceil": lambda: symconv.max_pool((5, 6), 3, stride=2, padding=1, ceil_mode=True),
    "avg2d_dil": lambda: symconv.avg_pool((7, 5), 2, stride=1, dilation=3, padding=1),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_lazy_readings_against_loops(name):
    layer = SMALL[name]()
    spec = layer.spec
    imap = _loops_index_map(spec)
    assert (imap == layer.index_map).all()
    pairs = sum(1 for _ in layer.channel_pairs())
    assert budget.connections(spec) == pairs * int((imap >= 0).sum())
    for o in range(imap.shape[0]):
        expected = [(t, int(i)) for t, i in enumerate(imap[o]) if i >= 0]
        assert list(layer.forward_row(o)) == expected
        by_input = [i for _, i in layer.forward_row(o, by_position=True)]
        assert by_input == sorted(i for _, i in expected)
    for i in range(math.prod(spec.input_size)):
        expected = [(int(t), int(o)) for o, t in zip(*np.nonzero(imap == i))]
        assert list(layer.input_row(i)) == expected
    for t in range(imap.shape[1]):
        expected = [(o, int(imap[o, t])) for o in range(imap.shape[0]) if imap[o, t] >= 0]
        assert list(layer.tap_column(t)) == expected
        assert layer.tap_column(t).first(2) == expected[:2]
        if expected:
            assert layer.tap_column(t).last() == expected[-1]


def test_window_sizes_from_the_axes():
    for count in (True, False):
        layer = symconv.avg_pool(
            (5, 4), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=count
        )
        spec = layer.spec
        imap = _loops_index_map(spec)
        for o, out in enumerate(itertools.product(*(range(n) for n in spec.output_size))):
            inside = 0
            for t in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = [2 * out[a] + t[a] - 1 for a in range(2)]
                inside += all(-1 <= p < n + 1 for p, n in zip(pos, spec.input_size))
            expected = inside if count else int((imap[o] >= 0).sum())
            assert layer.window_size(o) == expected == layer.window_sizes[o]


def test_pairs_of_against_channel_pairs():
    for layer in (
        symconv.conv(3, 2, in_channels=4, out_channels=6, groups=2),
        symconv.conv_transpose(3, 2, in_channels=4, out_channels=6, groups=2),
        symconv.avg_pool(3, 2, channels=3),
    ):
        every = list(layer.channel_pairs())
        spec = layer.spec
        for co in range(spec.out_channels):
            assert list(layer.pairs_of(c_out=co)) == [p for p in every if p[0] == co]
        for ci in range(spec.in_channels):
            assert list(layer.pairs_of(c_in=ci)) == [p for p in every if p[1] == ci]
        for p in every:
            if p[2] is not None:
                assert list(layer.pairs_of(w_index=p[2])) == [p]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_whole_terms_counts_the_built_sums(name):
    layer = SMALL[name]()
    if layer.kind == "max_pool":
        return
    d = symconv.derive(layer)
    n = 0
    for q in ("y", "grad_x", "grad_w"):
        arr = getattr(d, q)
        if arr is None:
            continue
        for e in sympy.flatten(arr.tolist()):
            e = sympy.expand(e)
            n += len(e.args) if isinstance(e, sympy.Add) else int(e != 0)
    assert budget.whole_terms(layer.spec) == n


# ---------------------------------------------------------------------- the Python API
def test_a_huge_layers_single_entries_answer_at_once():
    start = time.monotonic()
    d = symconv.derive(symconv.conv((5, 5), 3, padding=10**9))
    w = sympy.symbols("w_1:4(1:4)", real=True)
    x = {(i, j): sympy.Symbol(f"x_{i}{j}", real=True) for i in range(1, 6) for j in range(1, 6)}
    assert d.y[0, 0, 0] == 0  # a window of padding only
    centre = sum(w[3 * r + c] * x[r + 1, c + 1] for r in range(3) for c in range(3))
    assert sympy.expand(d.y[0, 10**9, 10**9] - centre) == 0
    assert d.y.shape == (1, 2 * 10**9 + 3, 2 * 10**9 + 3)
    dy = sympy.Symbol("dy_1000000000,1000000000", real=True)
    assert sympy.expand(d.grad_w[0, 0, 1, 1]).coeff(dy) == x[1, 1]
    assert time.monotonic() - start < 5
    assert not d.is_built


def test_a_huge_layers_whole_arrays_raise_naming_the_budget():
    layer = symconv.conv((64, 64), 3, in_channels=100_000, out_channels=100_000)
    d = symconv.derive(layer)
    for whole in (
        lambda: d.y.tolist(),
        lambda: list(d.grad_x),
        lambda: d.grad_w[0],
        lambda: d.toeplitz(),
        lambda: d.jacobian(),
        lambda: d.evaluate(x=[[1]]),
        lambda: d.x,
    ):
        with pytest.raises(BudgetError, match=r"symconv\.core\.budget\.MAX_(TERMS|SYMBOLS)"):
            whole()
    with pytest.raises(BudgetError, match="MAX_MAP_ENTRIES"):
        symconv.conv((3000, 3000), 3).index_map
    with pytest.raises(BudgetError, match="MAX_AXIS_ENTRIES"):
        symconv.conv(10**8, 3).axis_maps
    # a clipped entry of a million-term sum is built from its first terms and its last
    terms, n = preview.clipped_entry(d, "y", (0, 0, 0), 4)
    assert n == 100_000 * 9
    last = sympy.Symbol("w_1,100000,3,3", real=True) * sympy.Symbol("x_100000,3,3", real=True)
    assert terms[-1] == last and terms[-2] is None
    first = sympy.Symbol("w_1,1,1,1", real=True) * sympy.Symbol("x_1,1,1", real=True)
    assert terms[0] == first


def test_allow_large_lifts_a_budget(monkeypatch):
    layer = symconv.conv((4, 4), 2, out_channels=2)
    expected = symconv.derive(layer).y
    monkeypatch.setattr(budget, "MAX_TERMS", 10)
    d = symconv.derive(layer)
    with pytest.raises(BudgetError, match="MAX_TERMS"):
        d.y.tolist()
    with budget.allow_large():
        assert d.y == expected
    assert not budget.lifted()


def test_figures_documents_and_modules_are_refused_up_front():
    from symconv.codegen import generate_numpy
    from symconv.figures import figure
    from symconv.latex import render_latex

    with pytest.raises(BudgetError, match="MAX_FIGURE_CELLS"):
        figure(symconv.conv((300, 300), 3))
    with pytest.raises(BudgetError, match="MAX_TERMS"):
        render_latex(symconv.derive(symconv.conv((300, 300), 3)))
    tables = symconv.avg_pool(2 * 10**6, 3, stride=1, padding=1, count_include_pad=False)
    with pytest.raises(BudgetError, match="MAX_TABLE_ENTRIES"):
        generate_numpy(tables)
    assert "def forward" in generate_numpy(symconv.conv((3000, 3000), 3))


def test_preview_estimate_bounds_what_a_preview_builds():
    spec = symconv.conv((64, 64), 3, in_channels=100, out_channels=100).spec
    shown = budget.preview_terms(spec, 4, 5, 6)
    # 4 entries of y, grad_x, grad_w: at most 5 terms each, plus a 6x6 corner of W
    assert shown == 4 * 5 * 3 + 36
    with pytest.raises(BudgetError, match="lower --max-entries"):
        budget.check_preview(spec, 10**6, 10**3, 40)
    with pytest.raises(BudgetError, match="--full --allow-large"):
        budget.check_preview(spec, None, None, None)
    window = symconv.max_pool(10**6, 10**6).spec
    with pytest.raises(BudgetError, match="even the smallest preview"):
        budget.check_preview(window, 64, 32, 40)


def test_the_jupyter_display_of_an_unclippable_preview_says_why():
    shown = symconv.derive(symconv.max_pool(10**6, 10**6))._repr_latex_()
    assert shown.startswith(r"$$\text{max\_pool1d: the preview has")
    assert "MAX\\_PREVIEW\\_TERMS" in shown and "codegen" in shown
    huge = symconv.derive(symconv.conv((5, 5), 3, padding=10**9))._repr_latex_()
    # the centre windows read the input (indices apart: y's run to ten digits)
    assert "w_{1,1}" in huge and "x_{1,1}" in huge


def test_figure_budgets_count_frames_and_raster_cells(tmp_path):
    from symconv.figures import figure

    with pytest.raises(BudgetError, match="windows figure has .*MAX_FIGURE_CELLS"):
        figure(symconv.conv((100, 100), 3), "windows")  # 64 frames of 20,000 cells
    fig = figure(symconv.conv((70, 70), 3))  # 4,900 + 4,624 cells in one frame
    assert len(fig.scenes[0].cells) > budget.MAX_RASTER_CELLS
    with pytest.raises(BudgetError, match=r"\.png picture .*MAX_RASTER_CELLS.*\.svg"):
        fig.save(tmp_path / "big.png")
    assert not (tmp_path / "big.png").exists()
    assert fig.save(tmp_path / "big.svg").stat().st_size > 0
