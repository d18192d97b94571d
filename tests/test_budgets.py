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
    ("avg-window1e6", "avg-pool --input-size 1000x1000 --kernel-size 1000x1000"),
    ("avg-64x64-1e6ch", "avg-pool --input-size 64x64 --kernel-size 2 --channels 1000000"),
    ("avg-ceil-1e9", f"avg-pool --input-size {E9} --kernel-size 2 --ceil-mode"),
]

COMMANDS = ("derive", "toeplitz", "latex", "draw", "codegen", "check")
LIMIT_AS = 2 * 1024**3
TIME_LIMIT = 60
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


def _run(argv):
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "symconv", *argv],
        capture_output=True,
        text=True,
        preexec_fn=_limit,
        timeout=TIME_LIMIT,
        env=env,
    )
    return proc, time.monotonic() - start


@pytest.mark.parametrize("options", [o for _, o in EXTREME], ids=[i for i, _ in EXTREME])
def test_every_command_is_bounded_or_refuses_in_one_line(options, tmp_path):
    for command in COMMANDS:
        proc, seconds = _run(_argv(command, options, tmp_path))
        where = f"symconv {command} {options}"
        for bad in ALLOCATION:
            assert bad not in proc.stderr, f"{where}: {proc.stderr[-2000:]}"
        if proc.returncode == 2:
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1, f"{where}: {proc.stderr[-2000:]}"
            assert lines[0].startswith("error: "), f"{where}: {lines}"
            assert len(lines[0]) > len("error: ") + 20, f"{where}: {lines}"
            assert "ran out of memory" not in lines[0], f"{where}: not refused up front"
            if "budget" in lines[0]:
                assert seconds < 20, f"{where}: refused after {seconds:.1f} s"
        else:
            ok = (0, 1) if command == "check" else (0,)
            assert proc.returncode in ok, f"{where}: exit {proc.returncode}: {proc.stderr[-2000:]}"
            if command == "codegen":  # a module written to -o, bounded
                module = tmp_path / "module.py"
                assert 0 < module.stat().st_size < 2_000_000, where
                compile(module.read_text(), str(module), "exec")
                continue
            assert proc.stdout.strip(), where
            assert len(proc.stdout) < 2_000_000, f"{where}: {len(proc.stdout)} characters"
