"""How long previews of real-size and huge layers take and how much memory they use.

Prints, for each case, the wall time, the peak resident memory of the process (``ru_maxrss``
of the child) and the size of the output, or the one ``error:`` line of a refusal. Each case
runs in its own process (a fresh ``python -m symconv``), so no cache carries over; the child
gets a 2 GiB address-space limit, so a regression fails instead of taking the machine down.

The targets (issue 22): ``derive`` and ``toeplitz`` previews of a 3000x3000 image with a 3x3
kernel, of a 64x64 layer with 100,000 channels in and out, of a 1,000,000-long 1-D layer and
of a padding of 10^9 each answer in at most 5 s and 300 MB, or refuse in under a second. The
budgets behind them are in :mod:`symconv.core.budget`.

    python examples/benchmark_previews.py
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

LAYERS = [
    ("3000x3000, 3x3", "conv --input-size 3000x3000 --kernel-size 3x3"),
    (
        "64x64, 100,000 -> 100,000 channels",
        "conv --input-size 64x64 --kernel-size 3x3 --in-channels 100000 --out-channels 100000",
    ),
    ("1-D, 1,000,000 long", "conv --input-size 1000000 --kernel-size 3"),
    ("5x5, padding 10^9", "conv --input-size 5x5 --kernel-size 3x3 --padding 1000000000"),
    (
        "64x64, 64 -> 64 channels",
        "conv --input-size 64x64 --kernel-size 3x3 --in-channels 64 --out-channels 64",
    ),
]
COMMANDS = ("derive", "toeplitz")
LIMIT_AS = 2 * 1024**3


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def run_case(argv):
    """``(seconds, peak MB, exit status, output bytes, first stderr line)`` of ``symconv
    ARGV`` in a fresh child (fork and exec), its peak memory from ``wait4`` of that child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: limit, redirect, exec
            try:
                _limit()
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.execv(sys.executable, [sys.executable, "-m", "symconv", *argv])
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        size = out.seek(0, os.SEEK_END)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, code, size, lines[0] if lines else ""


def main() -> int:
    print(
        f"machine: {describe()}, python "
        f"{platform.python_version()} (peak: the child's ru_maxrss)"
    )
    print(f"{'case':50s} {'seconds':>8s} {'peak MB':>8s} {'result':>14s}")
    for name, options in LAYERS:
        for command in COMMANDS:
            seconds, peak, code, size, first = run_case([command, *options.split()])
            result = f"{size:,} B" if code == 0 else f"exit {code}"
            print(f"{command + ' ' + name:50s} {seconds:8.2f} {peak:8.0f} {result:>14s}")
            if code:
                print(f"    {first[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
