"""Assignment walk-through: make per-student variants, fill in submissions (some with
mistakes), grade the class and print the cohort report.

Run from anywhere::

    python examples/assignment/walkthrough.py [--keep DIR]

Uses examples/assignment/assignment.json (3 questions) and roster.csv (6 students). Everything
is written into a temporary folder (or DIR with --keep): out/ (handouts, blank submissions,
keys, variants.csv), submissions/, grades.csv, grades.json, grades-feedback/, report.html.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from symconv.cli import main

HERE = Path(__file__).resolve().parent


def run(argv) -> int:
    print("$ symconv " + " ".join(str(a) for a in argv))
    code = main([str(a) for a in argv])
    print(f"[exit status {code}]\n")
    return code


def negate(v):
    return [negate(u) for u in v] if isinstance(v, list) else -v


def walk(work: Path) -> None:
    a, roster = HERE / "assignment.json", HERE / "roster.csv"
    run(["assignment", "make", a, "--roster", roster, "-o", work / "out", "--jobs", "2"])
    print((work / "out" / "submissions" / "ada.json").read_text())
    subs = work / "submissions"
    subs.mkdir(exist_ok=True)
    for sid in ("ada", "alan", "grace", "john", "kurt"):
        key = json.loads((work / "out" / "keys" / f"{sid}.json").read_text())
        answers = {
            lab: ans for q in key["questions"].values() for lab, ans in q["answers"].items()
        }
        if sid == "alan":  # dE/dy taken as yhat - y: every gradient has the wrong sign
            answers["q2.grad-weight"] = negate(answers["q2.grad-weight"])
        if sid == "grace":  # forgot q3
            del answers["q3"]
        if sid == "john":  # a plain-text submission with labels
            lines = []
            for label, ans in answers.items():
                rows = ans[0] if label != "q2.grad-weight" else ans[0][0]
                lines.append(f"{label}:")
                lines += [" ".join(str(v) for v in row) for row in rows]
            (subs / "john.txt").write_text("\n".join(lines) + "\n")
            continue
        (subs / f"{sid}.json").write_text(json.dumps(answers, indent=1))
    (subs / "kurt.json").write_text('{"q1": "[[1, 2], [3, 4]]"}')  # one wrong answer only
    # emmy submits nothing
    run(
        [
            "assignment",
            "grade",
            a,
            subs,
            "--roster",
            roster,
            "-o",
            work / "grades.csv",
            "--jobs",
            "2",
        ]
    )
    print((work / "grades.csv").read_text())
    print((work / "grades-feedback" / "alan.md").read_text())
    run(["assignment", "report", work / "grades.json", "-o", work / "report.html"])
    print(f"files in {work}")


def cli() -> None:
    ap = argparse.ArgumentParser(description="symconv assignment walk-through")
    ap.add_argument("--keep", help="write into this folder and keep it")
    args = ap.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        walk(Path(args.keep))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            walk(Path(tmp))


if __name__ == "__main__":
    cli()
