"""The cohort report: what the class got wrong, from the detailed grades (``grades.json``).

Per question: the score distribution, each diagnosis code's count and share of students, a
heat map of the most often wrong entries over the answer's grid, and a few anonymised wrong
answers per code. :func:`report_html` gives one self-contained HTML page (inline SVG, no
script, no network; ``templates/html/report.html.jinja``), :func:`report_markdown` the same
summary as Markdown for a terminal. Both read only the grades, so they can be rebuilt later.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

from ..core.errors import SpecError
from ..grading.files import read_capped
from ..templating import render

__all__ = ["load_grades", "summarise", "report_html", "report_markdown"]

#: Wrong answers shown per code.
EXAMPLES_PER_CODE = 3
_STATUSES = ("correct", "wrong", "invalid", "missing")


def load_grades(source) -> dict:
    """The detailed grades: a dict, a :class:`~.grade.Gradebook` or a grades.json path."""
    if hasattr(source, "to_dict"):
        return source.to_dict()
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(read_capped(path, "grades file", limit=2_000_000_000))
        except OSError as exc:
            raise SpecError(f"assignment report: cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise SpecError(f"assignment report: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not {"questions", "students"} <= set(data):
        raise SpecError("assignment report: grades must hold 'questions' and 'students'")
    return data


def _anon(sid) -> str:
    return hashlib.sha256(str(sid).encode()).hexdigest()


def summarise(grades) -> list:
    """Per question: statuses, score histogram, code counts/shares, wrong-entry counts per
    (label, shape) and example answers per code."""
    grades = load_grades(grades)
    students = grades["students"]
    n = len(students)
    out = []
    for q in grades["questions"]:
        qid, maxp = q["id"], Fraction(q["points"])
        scores = Counter()
        codes = Counter()
        examples = defaultdict(list)
        statuses = Counter()
        heat = {}
        for s in sorted(students, key=lambda s: _anon(s["id"])):
            sq = s["questions"][qid]
            scores[Fraction(sq["points"]).limit_denominator(1000)] += 1
            seen = set()
            for label, p in sq["parts"].items():
                statuses[p["status"]] += 1
                for c in p["codes"]:
                    seen.add(c)
                    if len(examples[c]) < EXAMPLES_PER_CODE and p["answer"]:
                        examples[c].append({"label": label, "answer": p["answer"]})
                if p["wrong_index"]:
                    key = (label, tuple(p["shape"]))
                    grid = heat.setdefault(key, {"counts": Counter(), "names": {}, "n": 0})
                    for idx, name in zip(p["wrong_index"], p["wrong"]):
                        grid["counts"][tuple(idx)] += 1
                        grid["names"][tuple(idx)] = name
                if p["status"] != "missing" and list(p["shape"]):
                    key = (label, tuple(p["shape"]))
                    heat.setdefault(key, {"counts": Counter(), "names": {}, "n": 0})["n"] += 1
            codes.update(seen)
        out.append(
            {
                "id": qid,
                "points": q["points"],
                "max": maxp,
                "students": n,
                "mean": (sum(k * v for k, v in scores.items()) / n) if n else Fraction(0),
                "scores": dict(sorted(scores.items())),
                "statuses": {k: statuses.get(k, 0) for k in _STATUSES},
                "codes": [(c, k, k / n if n else 0.0) for c, k in codes.most_common()],
                "examples": dict(examples),
                "heat": heat,
            }
        )
    return out


def _fmt(p) -> str:
    p = Fraction(p)
    return str(p.numerator) if p.denominator == 1 else f"{float(p):.2f}"


def _histogram_svg(summary) -> str:
    items = list(summary["scores"].items())
    top = max((v for _, v in items), default=1) or 1
    bw, gap, hmax = 34, 8, 110
    width = max(1, len(items)) * (bw + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{hmax + 44}" '
        f'role="img" aria-label="score distribution of {html.escape(summary["id"])}">'
    ]
    for i, (score, count) in enumerate(items):
        h = max(3, round(hmax * count / top))
        x = gap + i * (bw + gap)
        parts.append(
            f'<rect x="{x}" y="{hmax - h + 14}" width="{bw}" height="{h}" fill="#0072B2">'
            f"<title>{count} student(s) with {_fmt(score)} points</title></rect>"
        )
        parts.append(
            f'<text x="{x + bw / 2}" y="{hmax - h + 10}" font-size="11" '
            f'text-anchor="middle">{count}</text>'
        )
        parts.append(
            f'<text x="{x + bw / 2}" y="{hmax + 30}" font-size="11" '
            f'text-anchor="middle">{_fmt(score)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _planes(shape):
    """(plane title, leading index, rows, cols) of an answer grid: singleton leading axes
    dropped, vectors one row, further leading axes one plane each."""
    shape = tuple(shape)
    lead = []
    while len(shape) > 2 and shape[0] == 1:
        lead.append(0)
        shape = shape[1:]
    if len(shape) <= 1:
        return [("", tuple(lead), 1, shape[0] if shape else 1, True)]
    import numpy as np

    out = []
    for idx in np.ndindex(shape[:-2]) if len(shape) > 2 else [()]:
        title = "[" + ",".join(str(i + 1) for i in idx) + "]" if idx else ""
        out.append((title, tuple(lead) + tuple(idx), shape[-2], shape[-1], False))
    return out


def _heat_svg(label, shape, grid) -> str:
    counts, names, n = grid["counts"], grid["names"], max(grid["n"], 1)
    top = max(counts.values(), default=0) or 1
    cell = max(14, min(40, 360 // max(shape[-1], 1)))
    planes = _planes(shape)
    x0, parts, height = 4, [], 0
    for title, lead, rows, cols, vector in planes:
        for r in range(rows):
            for c in range(cols):
                idx = lead + ((c,) if vector else (r, c))
                k = counts.get(idx, 0)
                a = k / top
                fill = f"rgb({255 - round(42 * a)},{255 - round(161 * a)},{255 - round(255 * a)})"
                name = html.escape(names.get(idx, str(tuple(i + 1 for i in idx))))
                x, y = x0 + c * cell, 18 + r * cell
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                    f'stroke="#999"><title>{name}: wrong in {k} of {n} answers</title></rect>'
                )
                if k and cell >= 20:
                    colour = "#fff" if a > 0.6 else "#000"
                    parts.append(
                        f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" font-size="10" '
                        f'text-anchor="middle" fill="{colour}">{k}</text>'
                    )
        if title:
            parts.append(f'<text x="{x0}" y="12" font-size="11">{html.escape(title)}</text>')
        x0 += cols * cell + 16
        height = max(height, 18 + rows * cell + 4)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{x0}" height="{height}" role="img" '
        f'aria-label="wrong entries of {html.escape(label)}">'
    )
    return head + "".join(parts) + "</svg>"


def report_html(grades) -> str:
    """The self-contained HTML report (inline SVG, no script, no network)."""
    grades = load_grades(grades)
    questions = []
    for s in summarise(grades):
        heat = []
        grids = [kv for kv in s["heat"].items() if kv[1]["counts"]]
        for (label, shape), grid in sorted(grids, key=lambda kv: -kv[1]["n"])[:4]:
            top = sorted(grid["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            heat.append(
                {
                    "label": label,
                    "shape": "x".join(str(d) for d in shape),
                    "answers": grid["n"],
                    "svg": _heat_svg(label, shape, grid),
                    "top": [(grid["names"][i], k) for i, k in top],
                }
            )
        questions.append(
            dict(
                s,
                mean=_fmt(s["mean"]),
                histogram=_histogram_svg(s),
                codes=[(c, k, f"{100 * sh:.0f}%") for c, k, sh in s["codes"]],
                heat=heat,
            )
        )
    issues = Counter(i["kind"] for i in grades.get("issues", []))
    return render(
        "html/report.html.jinja",
        title=grades.get("title", "Assignment"),
        course=grades.get("course", ""),
        students=len(grades["students"]),
        total=grades.get("total_points", ""),
        questions=questions,
        issues=sorted(issues.items()),
    )


def report_markdown(grades) -> str:
    """The same summary as Markdown, for a terminal."""
    grades = load_grades(grades)
    lines = [f"# {grades.get('title', 'Assignment')}: class report", ""]
    lines.append(f"{len(grades['students'])} students")
    for s in summarise(grades):
        st = s["statuses"]
        lines += [
            "",
            f"## {s['id']}: mean {_fmt(s['mean'])} / {s['points']} points",
            "answers: " + ", ".join(f"{st[k]} {k}" for k in _STATUSES),
        ]
        if s["codes"]:
            lines += ["", "| diagnosis | students | share |", "| --- | --- | --- |"]
            lines += [f"| {c} | {k} | {100 * sh:.0f}% |" for c, k, sh in s["codes"]]
        for (label, _), grid in sorted(s["heat"].items(), key=lambda kv: -kv[1]["n"])[:4]:
            top = sorted(grid["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            if top:
                words = ", ".join(f"{grid['names'][i]} ({k})" for i, k in top)
                lines.append(f"most often wrong in {label}: {words}")
    issues = Counter(i["kind"] for i in grades.get("issues", []))
    if issues:
        lines += ["", "issues: " + ", ".join(f"{k} {v}" for v, k in sorted(issues.items()))]
    return "\n".join(lines) + "\n"
