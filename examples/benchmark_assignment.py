"""Benchmark of ``symconv assignment``: make (no PDFs) and grade for a class of N students
with 5 questions, on --jobs worker processes. Prints the figures; asserts nothing.

    python examples/benchmark_assignment.py [--students 10000] [--jobs 2] [--wrong 0.05]

Submissions are built from the answer keys; a fraction ``--wrong`` of the answers is replaced
by its negative (a ``sign`` mistake), so that grading also pays for diagnoses.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import sys

from symconv import assignment
from symconv.assignment.grade import grade

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

ASSIGNMENT = {
    "title": "Benchmark",
    "seed": "benchmark-seed",
    "questions": [
        {
            "id": "q1",
            "points": 2,
            "layer": {
                "kind": "conv",
                "input_size": {"choice": [[4, 4], [5, 5]]},
                "kernel_size": 2,
                "stride": {"range": [1, 2]},
                "padding": {"choice": [0, 1]},
            },
            "quantities": ["output"],
        },
        {
            "id": "q2",
            "points": 4,
            "layer": {"kind": "conv", "input_size": [4, 4], "kernel_size": {"choice": [2, 3]}},
            "quantities": ["grad-input", "grad-weight"],
        },
        {
            "id": "q3",
            "points": 2,
            "layer": {
                "kind": {"choice": ["max_pool", "avg_pool"]},
                "input_size": [4, 4],
                "kernel_size": 2,
            },
            "quantities": ["grad-input"],
            "givens": {"x": {"range": [0, 9]}},
        },
        {
            "id": "q4",
            "points": 1,
            "layer": {
                "kind": "conv",
                "input_size": {"range": [5, 8]},
                "kernel_size": 3,
                "stride": {"range": [1, 3]},
            },
            "quantities": ["output-size"],
        },
        {
            "id": "q5",
            "points": 2,
            "layer": {
                "kind": "conv_transpose",
                "input_size": [2, 2],
                "kernel_size": 2,
                "stride": 2,
                "bias": True,
            },
            "quantities": ["output", "grad-bias"],
        },
    ],
}


def _cpu() -> tuple:
    """(user, system) CPU seconds of this process and its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + kids.ru_utime, own.ru_stime + kids.ru_stime)


def _since(start) -> tuple:
    now = _cpu()
    return now[0] - start[0], now[1] - start[1]


def _cpu_text(user_sys) -> str:
    user, system = user_sys
    return f"{user + system:.1f} s CPU in all processes ({user:.1f} s user, {system:.1f} s system)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--wrong", type=float, default=0.05)
    args = ap.parse_args()
    print(f"{args.students} students x 5 questions, --jobs {args.jobs}; {describe()}")
    a = assignment.load(ASSIGNMENT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ids = [f"s{i:05d}" for i in range(args.students)]
        roster = tmp / "roster.csv"
        roster.write_text("id,name\n" + "".join(f"{s},Student {s}\n" for s in ids))
        t, c = time.perf_counter(), _cpu()
        assignment.make(a, roster, tmp / "out", jobs=args.jobs)
        t_make, c_make = time.perf_counter() - t, _since(c)
        print(
            f"make (no PDFs): {t_make:.1f} s wall, {_cpu_text(c_make)} "
            f"({1000 * t_make / len(ids):.2f} ms wall per student); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        subs = tmp / "subs"
        subs.mkdir()
        n_wrong = 0
        step = max(1, round(1 / args.wrong)) if args.wrong > 0 else 0
        for i, sid in enumerate(ids):
            key = json.loads((tmp / "out" / "keys" / f"{sid}.json").read_text())
            answers = {}
            for j, q in enumerate(key["questions"].values()):
                for label, ans in q["answers"].items():
                    if step and (i * 7 + j) % step == 0 and label != "q4":
                        ans = _negate(ans)
                        n_wrong += 1
                    answers[label] = ans
            (subs / f"{sid}.json").write_text(json.dumps(answers))
        t, c = time.perf_counter(), _cpu()
        gb = grade(a, subs, roster, jobs=args.jobs)
        t_grade, c_grade = time.perf_counter() - t, _since(c)
        print(
            f"grade: {t_grade:.1f} s wall, {_cpu_text(c_grade)} "
            f"({1000 * t_grade / len(ids):.2f} ms wall per student; {n_wrong} wrong answers "
            f"diagnosed); load average {os.getloadavg()[0]:.1f}"
        )
        assert len(gb.students) == len(ids)
        shutil.rmtree(tmp / "out")


def _negate(v):
    if isinstance(v, list):
        return [_negate(u) for u in v]
    if isinstance(v, str):
        return v[1:] if v.startswith("-") else "-" + v
    return -v


if __name__ == "__main__":
    main()
