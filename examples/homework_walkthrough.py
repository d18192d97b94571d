"""Homework walk-through: check a correct and two wrong answers, then grade the folder.

Run from anywhere::

    python examples/homework_walkthrough.py

It prints what a student and an instructor see (the same text is in
examples/homework/README.md). The problem is seed 000's exercise: a 3x3 input, a 2x2 kernel,
the loss E = 1/2 sum (y - yhat)^2, and the weight gradient dE/dw.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import symconv
from symconv.grading import check
from symconv.cli import main

HERE = Path(__file__).resolve().parent / "homework"
ROOT = HERE.parent.parent


def show(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run(argv: list) -> int:
    print("$ symconv " + " ".join(argv))
    code = main(argv)
    print(f"[exit status {code}]\n")
    return code


def main_walkthrough() -> None:
    os.chdir(ROOT)  # the commands below use paths relative to the repository
    problem = HERE / "problem.json"
    subs = HERE / "submissions"
    print("=== the problem:", show(problem))
    print(problem.read_text())

    print("=== a student checks an answer (exit status 0: correct, 1: wrong, 2: bad input)\n")
    for name in ("alice.tex", "bob.txt", "carol.json"):
        answer = subs / name
        print(f"--- {show(answer)}:")
        print(answer.read_text().rstrip() + "\n")
        run(["check", "--problem", show(problem), "--answer", show(answer)])

    print("=== an instructor hides the solution\n")
    run(
        [
            "check",
            "--problem",
            show(problem),
            "--answer",
            show(subs / "bob.txt"),
            "--hide-solution",
        ]
    )

    print("=== an instructor grades the folder (the report never holds expected values)\n")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.csv"
        print(f"$ symconv grade {show(subs)} --problem {show(problem)} -o report.csv")
        os.chdir(tmp)  # so that the summary line names report.csv, not the temporary folder
        code = main(["grade", str(subs), "--problem", str(problem), "-o", "report.csv"])
        os.chdir(ROOT)
        print(f"[exit status {code}]")
        print("report.csv:")
        print(report.read_text())

    print("=== a symbolic answer (no numbers): 0-based indices are recognised\n")
    layer = symconv.conv((3, 3), 2)
    answer = json.dumps(
        [
            [
                "dy00 x00 + dy01 x01 + dy10 x10 + dy11 x11",
                "dy00 x01 + dy01 x02 + dy10 x11 + dy11 x12",
            ],
            [
                "dy00 x10 + dy01 x11 + dy10 x20 + dy11 x21",
                "dy00 x11 + dy01 x12 + dy10 x21 + dy11 x22",
            ],
        ]
    )
    print(f">>> check(symconv.conv((3, 3), 2), 'grad-weight', {answer!r})")
    print(check(layer, "grad-weight", answer).to_text(hide_solution=True))

    print("=== mistakes students really make (each answer worked out by hand)\n")
    x = [[1, 2, 0], [0, 1, 3], [2, 1, 1]]
    w = [[1, -1], [2, 0]]
    cases = [
        (
            "true convolution AND the bias forgotten: y = x * rot(w), no + 5",
            symconv.conv((3, 3), 2, bias=True),
            "output",
            "[[5, 2], [1, 6]]",
            dict(x=x, w=w, b=[5]),
        ),
        (
            "one slip: y_21 = 3 + 3",
            layer,
            "output",
            "[[-1, 4], [6, 0]]",
            dict(x=x, w=w),
        ),
        (
            "max pool: dE/dy copied to every input of its 2x2 window",
            symconv.max_pool((4, 4), 2),
            "grad-input",
            "[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]",
            dict(x=[[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 3], [1, 0, 4, 2]], dy=[[1, 2], [3, 4]]),
        ),
        (
            "dE/dx with the kernel not rotated (dE/dy given, so flipping w is the same)",
            layer,
            "grad-input",
            "[[0, 2, -4], [-1, 9, 0], [-3, 2, 1]]",
            dict(x=x, w=w, dy=[[1, -2], [3, 1]]),
        ),
    ]
    for title, lay, quantity, ans, values in cases:
        print(f"--- {title}")
        print(f">>> check({lay!r}, {quantity!r}, {ans!r}, ...)")
        print(check(lay, quantity, ans, **values))


if __name__ == "__main__":
    main_walkthrough()
