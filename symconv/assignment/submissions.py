"""Reading submission files: one per student (the file name without extension is the student
id), holding labelled answers.

Formats: the blank JSON filled in (``{"student": "s01", "q1": "...", "q2.grad-input":
[[1, 2], [3, 4]]}``; an answer is text in any format ``check`` reads, or a nested list), or
plain text / LaTeX where a line ``<label>: <answer>`` (or ``<label> =``) starts an answer that
runs until the next label line. LaTeX ``%`` comments and ``#`` lines are dropped first, so a
label may also be written as ``\\textbf{q1:}``. What cannot be read is reported, never fatal.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from ..core.errors import AnswerError
from ..grading import strip_comments
from ..grading.files import read_capped

__all__ = ["Submission", "Issue", "collect", "parse_submission"]

_LABEL = re.compile(
    r"^[ \t]*(?:\\(?:textbf|texttt|item|subsection\*?|section\*?)\s*)?\{?\s*"
    r"([A-Za-z][A-Za-z0-9_-]*(?:\.[a-z-]+)?)\s*\}?\s*[:=](?!=)\s*\}?[ \t]*(.*)$"
)


@dataclasses.dataclass
class Issue:
    """Something wrong with a submission: ``kind`` is ``unreadable``, ``unknown-student``,
    ``duplicate``, ``unknown-label``, ``missing-answer`` or ``invalid``."""

    kind: str
    file: str
    message: str
    student: str = ""
    label: str = ""


@dataclasses.dataclass
class Submission:
    """One student's file: ``answers`` label -> answer (text or list)."""

    student: str
    file: str
    answers: dict


def parse_submission(text: str, labels, name="submission"):
    """``(answers, issues)`` of a submission's text: label -> answer; unknown labels are
    reported (as :class:`Issue` without file) and left out."""
    labels = set(labels)
    issues = []
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise AnswerError(f"{name} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise AnswerError(f"{name} must be a JSON object of label: answer")
        answers = {}
        for key, value in data.items():
            if key == "student":
                continue
            if key not in labels:
                issues.append(Issue("unknown-label", name, f"unknown label {key!r}", label=key))
                continue
            if isinstance(value, str) and not value.strip():
                continue
            if value is None:
                continue
            answers[key] = value
        return answers, issues
    answers, current, lines = {}, None, []
    for line in strip_comments(text).splitlines():
        m = _LABEL.match(line)
        if m and (m.group(1) in labels or not _looks_like_answer(m.group(1))):
            if current is not None:
                answers[current] = "\n".join(lines).strip()
            current, lines = m.group(1), [m.group(2)]
            if current not in labels:
                issues.append(
                    Issue("unknown-label", name, f"unknown label {current!r}", label=current)
                )
                current = "\x00unknown"
            continue
        if current is not None:
            lines.append(line)
    if current is not None:
        answers[current] = "\n".join(lines).strip()
    answers.pop("\x00unknown", None)
    return {k: v for k, v in answers.items() if v}, issues


def _looks_like_answer(word: str) -> bool:
    """A symbol such as ``x11`` or ``dy`` at the start of a line is part of an answer."""
    return bool(re.match(r"^(x|w|b|y|dy|dx|dw|yhat|E)\d*$", word))


def collect(folder, roster_ids, labels, skip=()):
    """``(submissions, issues)`` of every regular, non-hidden file in ``folder``: unknown
    students, duplicates (two files for one student: the first in name order is graded),
    unreadable files and unknown labels become :class:`Issue`s."""
    folder = Path(folder)
    known = set(roster_ids)
    skip = {Path(p).resolve() for p in skip}
    files = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.is_file() and p.resolve() not in skip
    )
    subs, issues = {}, []
    for path in files:
        sid = path.name.split(".")[0] if "." in path.name else path.name
        sid = path.stem if path.stem in known else sid
        if sid not in known:
            issues.append(
                Issue("unknown-student", path.name, f"{path.name}: no student {sid!r} in roster")
            )
            continue
        if sid in subs:
            issues.append(
                Issue(
                    "duplicate",
                    path.name,
                    f"{path.name}: a second submission of {sid} (graded: {subs[sid].file})",
                    student=sid,
                )
            )
            continue
        try:
            text = read_capped(path, "submission", name=path.name)
            answers, found = parse_submission(text, labels, path.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            issues.append(Issue("unreadable", path.name, f"{path.name}: {reason}", student=sid))
            subs[sid] = Submission(sid, path.name, {})
            continue
        except AnswerError as exc:
            issues.append(Issue("unreadable", path.name, str(exc), student=sid))
            subs[sid] = Submission(sid, path.name, {})
            continue
        for issue in found:
            issue.student = sid
        issues.extend(found)
        subs[sid] = Submission(sid, path.name, answers)
    return subs, issues
