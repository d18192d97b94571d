"""The machine a benchmark ran on, for the line every benchmark prints next to its figures:
CPU model, widest SIMD extension, usable cores and the load average (timings on a shared
machine drift with it).

    >>> from machine import describe
    >>> describe()  # doctest: +SKIP
    'AMD EPYC, AVX-512 (avx512f), 2 usable of 2 logical CPUs, load 1.12'
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _cpuinfo_field(name: str) -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def cpu_model() -> str:
    """The CPU's model name (lscpu's "Model name", else /proc/cpuinfo's "model name")."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return _cpuinfo_field("model name") or platform.processor() or "unknown"


def simd_level() -> str:
    """The widest x86 vector extension the CPU reports (flags of /proc/cpuinfo)."""
    flags = set(_cpuinfo_field("flags").split())
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")):
        if flag in flags:
            return f"{name} ({flag})"
    return "no AVX flag" if flags else "unknown (no /proc/cpuinfo flags)"


def usable_cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def describe() -> str:
    """One line: CPU model, SIMD, usable cores and the 1-minute load average."""
    try:
        load = f", load {os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - no load average
        load = ""
    return (
        f"{cpu_model()}, {simd_level()}, {usable_cpus()} usable of {os.cpu_count()} "
        f"logical CPUs{load}"
    )
