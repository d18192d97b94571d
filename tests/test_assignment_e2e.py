"""End to end: make an assignment for a roster of 50, build submissions from the keys with
mistakes computed independently (loops over Fractions, no symconv) for known students, grade,
and check every student's points, codes and feedback, and the report's counts."""

from __future__ import annotations

import csv
import json
from fractions import Fraction

import pytest

from symconv import assignment
from symconv.assignment.grade import grade
from symconv.assignment.report import report_html, report_markdown, summarise
from symconv.cli import main

from test_assignment import conv_out, grads

A = {
    "title": "E2E",
    "course": "Test course",
    "seed": "e2e-seed",
    "questions": [
        {
            "id": "q1",
            "points": 4,
            "layer": {
                "kind": "conv",
                "input_size": [5, 5],
                "kernel_size": 2,
                "stride": {"choice": [1, 2]},
            },
            "quantities": ["output"],
            "givens": {"x": {"range": [-3, 3]}, "w": {"range": [-2, 2], "exclude_zero": True}},
        },
        {
            "id": "q2",
            "points": 6,
            "layer": {"kind": "conv", "input_size": [4, 4], "kernel_size": 2},
            "quantities": ["grad-input", "grad-weight"],
            "givens": {"dy": {"range": [-2, 2], "exclude_zero": True}},
        },
        {
            "id": "q3",
            "points": 2,
            "layer": {"kind": "max_pool", "input_size": [4, 4], "kernel_size": 2},
            "quantities": ["grad-input"],
            "givens": {"x": {"range": [0, 20]}, "dy": {"range": [1, 4]}},
            "credit": "all-or-nothing",
        },
    ],
}
IDS = [f"s{i:02d}" for i in range(50)]


def _rot(w):
    return [row[::-1] for row in w[::-1]]


def _neg(m):
    return [[-v for v in row] for row in m]


def _ints(m):
    return [[int(v) for v in row] for row in m]


def _match(a, b):
    fa = [v for row in a for v in row]
    fb = [v for row in b for v in row]
    return sum(1 for u, v in zip(fa, fb) if u == v), len(fa)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "a.json").write_text(json.dumps(A))
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name,email,section\n" + "".join(f"{s},Name {s},{s}@uni.edu,A\n" for s in IDS)
    )
    assert (
        main(
            [
                "assignment",
                "make",
                str(tmp / "a.json"),
                "--roster",
                str(roster),
                "-o",
                str(tmp / "out"),
                "--jobs",
                "2",
            ]
        )
        == 0
    )
    keys = {s: json.loads((tmp / "out" / "keys" / f"{s}.json").read_text()) for s in IDS}
    subs = tmp / "subs"
    subs.mkdir()
    expected = {s: {"q1": Fraction(4), "q2": Fraction(6), "q3": Fraction(2)} for s in IDS}
    codes = {}
    plan = {}
    # independent oracle for every key
    for s in IDS:
        q1 = keys[s]["questions"]["q1"]
        stride = q1["layer"]["stride"]
        x, w = q1["givens"]["x"][0], q1["givens"]["w"][0][0]
        assert q1["answers"]["q1"][0] == _ints(conv_out(x, w, stride, 0))
        q2 = keys[s]["questions"]["q2"]
        dx, dw, _ = grads(q2["givens"]["x"][0], q2["givens"]["w"][0][0], q2["givens"]["dy"][0])
        assert q2["answers"]["q2.grad-input"][0] == _ints(dx)
        assert q2["answers"]["q2.grad-weight"][0][0] == _ints(dw)
    free = [s for s in IDS[1:] if s not in ("s15", "s19", "s23", "s27", "s31", "s40")]

    def pick(pred):
        for s in free:
            if s not in plan and pred(keys[s]["questions"]):
                return s
        raise AssertionError("no student fits")

    # flipped kernel (true convolution) on q1
    def flips(q):
        w = q["q1"]["givens"]["w"][0][0]
        return _rot(w) != w

    s = pick(flips)
    q1 = keys[s]["questions"]["q1"]
    x, w, st = q1["givens"]["x"][0], q1["givens"]["w"][0][0], q1["layer"]["stride"]
    right, wrong = conv_out(x, w, st, 0), conv_out(x, _rot(w), st, 0)
    plan[s] = ("q1", _ints(wrong))
    n, tot = _match(right, wrong)
    expected[s]["q1"] = Fraction(4 * n, tot)
    codes[s] = {"q1": "flipped-kernel"}
    # stride mistake: a stride-2 layer computed with stride 1
    s = pick(lambda q: q["q1"]["layer"]["stride"] == 2)
    q1 = keys[s]["questions"]["q1"]
    plan[s] = ("q1", _ints(conv_out(q1["givens"]["x"][0], q1["givens"]["w"][0][0], 1, 0)))
    expected[s]["q1"] = Fraction(0)
    codes[s] = {"q1": "stride"}
    # sign mistake on dE/dw
    s = pick(lambda q: any(v for row in q["q2"]["answers"]["q2.grad-weight"][0][0] for v in row))
    q2 = keys[s]["questions"]["q2"]
    _, dw, _ = grads(q2["givens"]["x"][0], q2["givens"]["w"][0][0], q2["givens"]["dy"][0])
    plan[s] = ("q2.grad-weight", _ints(_neg(dw)))
    n, tot = _match(dw, _neg(dw))
    expected[s]["q2"] = Fraction(6) * (1 + Fraction(n, tot)) / 2
    codes[s] = {"q2": "sign"}
    for s in IDS:
        if s == "s40":
            continue  # no submission at all
        answers = {"student": s}
        for q in keys[s]["questions"].values():
            answers.update(q["answers"])
        if s in plan:
            label, value = plan[s]
            answers[label] = value
        if s == "s15":
            answers["q3"] = ""
        if s == "s23":
            answers["q2.grad-input"] = "__import__('os').system('echo pwned')"
        if s == "s19":
            (subs / f"{s}.json").write_bytes(b"\xff\xfe\x00\x81 not text")
        elif s == "s27":  # plain text with labels
            lines = []
            for label, val in answers.items():
                if label != "student":
                    rows = val[0] if label != "q2.grad-weight" else val[0][0]
                    lines.append(f"{label}:")
                    lines += [" ".join(str(v) for v in r) for r in rows]
            (subs / f"{s}.txt").write_text("# my answers\n" + "\n".join(lines) + "\n")
        elif s == "s31":  # LaTeX with labels
            out = []
            for label, val in answers.items():
                if label != "student":
                    rows = val[0] if label != "q2.grad-weight" else val[0][0]
                    body = r" \\ ".join(" & ".join(str(v) for v in r) for r in rows)
                    out.append(
                        f"\\textbf{{{label}:}} $\\begin{{bmatrix}} {body} \\end{{bmatrix}}$"
                    )
            (subs / f"{s}.tex").write_text("% homework\n" + "\n\n".join(out) + "\n")
        else:
            (subs / f"{s}.json").write_text(json.dumps(answers))
    (subs / "s02.txt").write_text("q1: 1 2\n")  # a duplicate
    (subs / "intruder.json").write_text("{}")  # an unknown student
    (subs / "s05.json").write_text(
        json.dumps(dict(json.loads((subs / "s05.json").read_text()), q9="1"))
    )  # an unknown label
    expected["s15"]["q3"] = Fraction(0)
    expected["s19"] = {"q1": Fraction(0), "q2": Fraction(0), "q3": Fraction(0)}
    expected["s40"] = {"q1": Fraction(0), "q2": Fraction(0), "q3": Fraction(0)}
    expected["s23"]["q2"] = Fraction(3)
    rc = main(
        [
            "assignment",
            "grade",
            str(tmp / "a.json"),
            str(subs),
            "--roster",
            str(roster),
            "-o",
            str(tmp / "grades.csv"),
            "--jobs",
            "2",
        ]
    )
    assert rc == 0
    return tmp, expected, codes


def test_gradebook_points(graded):
    tmp, expected, _ = graded
    rows = list(csv.DictReader((tmp / "grades.csv").open()))
    assert list(rows[0]) == ["id", "name", "email", "q1", "q2", "q3", "total"]
    assert [r["id"] for r in rows] == IDS
    for r in rows:
        exp = expected[r["id"]]
        for q in ("q1", "q2", "q3"):
            assert abs(float(r[q]) - float(exp[q])) < 0.006, (r["id"], q, r[q], exp[q])
        assert abs(float(r["total"]) - float(sum(exp.values()))) < 0.006
        assert r["email"] == f"{r['id']}@uni.edu"


def test_codes_feedback_and_issues(graded):
    tmp, expected, codes = graded
    data = json.loads((tmp / "grades.json").read_text())
    by_id = {s["id"]: s for s in data["students"]}
    for sid, s in by_id.items():
        for qid, sq in s["questions"].items():
            got = {c for p in sq["parts"].values() for c in p["codes"]}
            want = codes.get(sid, {}).get(qid)
            if want:
                assert want in got, (sid, qid, got)
            else:
                assert not got, (sid, qid, got)
    assert by_id["s23"]["questions"]["q2"]["parts"]["q2.grad-input"]["status"] == "invalid"
    assert by_id["s15"]["questions"]["q3"]["parts"]["q3"]["status"] == "missing"
    assert by_id["s27"]["total"] == "12" and by_id["s31"]["total"] == "12"
    kinds = {(i["kind"], i["student"] or i["file"]) for i in data["issues"]}
    assert ("unreadable", "s19") in kinds
    assert ("duplicate", "s02") in kinds
    assert ("unknown-student", "intruder.json") in kinds
    assert ("unknown-label", "s05") in kinds
    assert ("missing-answer", "s15") in kinds
    assert ("invalid", "s23") in kinds
    assert ("no-submission", "s40") in kinds
    fb = tmp / "grades-feedback"
    assert sorted(p.stem for p in fb.glob("*.md")) == IDS
    for sid, c in codes.items():
        text = (fb / f"{sid}.md").read_text()
        ((qid, code),) = c.items()
        assert f"likely mistake {code}" in text
        assert "right answer" not in text  # no --reveal
    assert "no answer given" in (fb / "s15.md").read_text()
    assert "could not be read" in (fb / "s23.md").read_text()
    assert "No submission was found" in (fb / "s40.md").read_text()


def test_report_counts_equal_injected(graded, tmp_path):
    tmp, _, codes = graded
    summary = {s["id"]: s for s in summarise(tmp / "grades.json")}
    injected = {}
    for c in codes.values():
        for qid, code in c.items():
            injected.setdefault(qid, {}).setdefault(code, 0)
            injected[qid][code] += 1
    for qid, want in injected.items():
        got = {c: k for c, k, _ in summary[qid]["codes"]}
        for code, n in want.items():
            assert got[code] == n
    assert {c for c, _, _ in summary["q3"]["codes"]} == set()
    assert summary["q3"]["statuses"]["missing"] == 3  # s15, s40 and the unreadable s19
    # heat map: the sign mistake's wrong entries are counted on dE/dw's grid
    heat = summary["q2"]["heat"][("q2.grad-weight", (1, 1, 2, 2))]
    assert sum(heat["counts"].values()) >= 1
    assert (
        main(["assignment", "report", str(tmp / "grades.json"), "-o", str(tmp_path / "r.html")])
        == 0
    )
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html
    assert "flipped-kernel" in html and "sign" in html
    for sid in IDS:
        assert sid not in html  # anonymised
    assert "<script" not in html.replace("&lt;script", "")
    md = report_markdown(tmp / "grades.json")
    assert "| flipped-kernel | 1 | 2% |" in md


def test_reveal_and_python_api(graded):
    tmp, _, codes = graded
    a = assignment.load(tmp / "a.json")
    gb = grade(a, tmp / "subs", tmp / "roster.csv", reveal=True)
    sid = next(iter(codes))
    assert "right answer" in gb.feedback(sid)
    assert report_html(gb).startswith("<!DOCTYPE html>")


def test_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(A, extra=1)))
    assert (
        main(["assignment", "make", str(bad), "--roster", "x.csv", "-o", str(tmp_path / "o")]) == 2
    )
    assert "error: assignment: unknown key(s) ['extra']" in capsys.readouterr().err
    good = tmp_path / "a.json"
    good.write_text(json.dumps(A))
    (tmp_path / "r.csv").write_text("id\na\n")
    rc = main(
        [
            "assignment",
            "make",
            str(good),
            "--roster",
            str(tmp_path / "r.csv"),
            "-o",
            str(tmp_path / "o"),
            "--jobs",
            "0",
        ]
    )
    assert rc == 2
    assert "--jobs must be a positive integer" in capsys.readouterr().err


def test_cli_grade_refuses_json_gradebook(tmp_path, capsys):
    good = tmp_path / "a.json"
    good.write_text(json.dumps(A))
    (tmp_path / "r.csv").write_text("id\na\n")
    (tmp_path / "subs").mkdir()
    argv = ["assignment", "grade", str(good), str(tmp_path / "subs"), "--roster"]
    assert main(argv + [str(tmp_path / "r.csv"), "-o", str(tmp_path / "g.json")]) == 2
    assert "-o must be the CSV gradebook" in capsys.readouterr().err
