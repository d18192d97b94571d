"""How long previews of real-size layers take and how large they are.

Prints, for each case, the wall time and the size of what a user sees first:

- ``symconv derive`` on a 16x16, 8 -> 8 conv (text, the default limits) and with ``--full``
  skipped (its identities alone take minutes): the full structural build of the same layer
  (forward, gradients, W) is timed instead as the reference;
- ``symconv derive`` and ``symconv toeplitz`` on a 64x64, 64 -> 64 conv (141 million
  non-zeros in W: only the preview is feasible);
- the Jupyter display (``_repr_latex_``) of LeNet-5 conv1.

Each case runs in its own process (a fresh ``python -c``), so no cache carries over.

    python examples/benchmark_previews.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

CASES = [
    (
        "derive conv 16x16 8->8 (preview)",
        "from symconv.cli import main; main('derive conv --input-size 16x16 --kernel-size 3x3 "
        "--in-channels 8 --out-channels 8'.split())",
    ),
    (
        "  reference: full build of the same layer (y, grads, W)",
        "import symconv; d = symconv.derive(symconv.conv((16, 16), 3, in_channels=8, "
        "out_channels=8)); d.y; W = d.toeplitz('row'); print(len(str(d.grad_w)) + len(str(W)))",
    ),
    (
        "derive conv 64x64 64->64 (preview)",
        "from symconv.cli import main; main('derive conv --input-size 64x64 --kernel-size 3x3 "
        "--in-channels 64 --out-channels 64'.split())",
    ),
    (
        "toeplitz conv 64x64 64->64 (corner)",
        "from symconv.cli import main; main('toeplitz conv --input-size 64x64 --kernel-size 3x3 "
        "--in-channels 64 --out-channels 64'.split())",
    ),
    (
        "_repr_latex_ of LeNet-5 conv1",
        "import symconv; d = symconv.derive(symconv.conv((32, 32), 5, out_channels=6, "
        "bias=True)); print(d._repr_latex_())",
    ),
    (
        "  reference: import symconv",
        "import symconv",
    ),
]


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    print(f"machine: {_cpu()}, {os.cpu_count()} logical CPUs, python {platform.python_version()}")
    print(f"{'case':58s} {'seconds':>8s} {'output':>12s}")
    for name, code in CASES:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        seconds = time.perf_counter() - start
        print(f"{name:58s} {seconds:8.2f} {len(out.stdout):>10,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
