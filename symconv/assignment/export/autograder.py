"""The Gradescope autograder at run time: what ``run_autograder`` calls in Gradescope's container
for every submission (docs/EXPORT_GRADESCOPE.md).

    $ python -m symconv.assignment.export.autograder [ROOT]          # grade, write results.json
    $ python -m symconv.assignment.export.autograder --check [ROOT]  # setup.sh's self-test

``ROOT`` is the folder laid out like Gradescope's ``/autograder`` (default: the environment
variable ``SYMCONV_AUTOGRADER_ROOT``, else ``/autograder``): ``source/`` holds the unpacked
archive (``assignment.json`` with the secret seed, ``roster.csv``, ``symconv-autograder.json``),
``submission/`` the student's files, ``submission_metadata.json`` who submitted (its ``users[]``)
and ``results/results.json`` is written.

The student is the first of ``users[]`` whose ``email`` (case-insensitive) or ``sid`` (as the
export chose) is in the roster; their variant is regenerated from the seed and every labelled
answer found in the submitted files (the formats ``symconv assignment grade`` reads: the blank
JSON filled in, or text/LaTeX with ``label: answer`` lines) is graded with partial credit and
diagnoses. One Gradescope test per question. Whatever goes wrong (no metadata, a student not in
the roster, no file, an unreadable or hostile file, an internal error, the time limit) gives a
results.json with score 0 that says why: grading never ends in a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

from ...core.errors import AnswerError
from ...fileio import write_atomic
from ...grading.files import read_capped
from ..roster import read_roster
from ..spec import load_assignment
from ..submissions import parse_submission

__all__ = ["ROOT_VARIABLE", "DEFAULT_ROOT", "CONFIG", "root_folder", "results_for", "run", "main"]

#: The environment variable naming the root folder (tests use a temporary folder).
ROOT_VARIABLE = "SYMCONV_AUTOGRADER_ROOT"
#: Gradescope's root folder.
DEFAULT_ROOT = "/autograder"
#: The archive's settings file (written by the export).
CONFIG = "symconv-autograder.json"
#: The environment variable holding the time limit in seconds (default 240, below Gradescope's
#: own timeout, so that a submission too slow to grade still gets results that say so).
TIME_LIMIT_VARIABLE = "SYMCONV_AUTOGRADER_TIME_LIMIT"
#: At most this many submitted files are read, at most this many folders deep.
MAX_FILES = 20
MAX_DEPTH = 4
#: Gradescope's visibility of every test and of the results (results.json ``visibility``).
VISIBILITY = "visible"


class NotGraded(Exception):
    """Why a submission cannot be graded (the message is shown to the student)."""


class _TimeUp(Exception):
    pass


def root_folder(root=None) -> Path:
    """``root``, else ``$SYMCONV_AUTOGRADER_ROOT``, else ``/autograder``."""
    return Path(root or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def _points(p) -> float:
    return float(Fraction(p))


def _config(source: Path) -> dict:
    data = json.loads(read_capped(source / CONFIG, "autograder settings"))
    for key in ("id_column", "match", "key_column"):
        if not isinstance(data.get(key), str):
            raise NotGraded(f"the autograder's {CONFIG} lacks {key!r}: re-export the archive")
    return data


def _users(path: Path) -> list:
    try:
        data = json.loads(read_capped(path, "submission metadata"))
    except (OSError, AnswerError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NotGraded(
            f"Gradescope's submission metadata ({path.name}) could not be read ({reason}), so "
            "the submitter cannot be identified. Please tell your instructor."
        ) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list) or not users:
        raise NotGraded(
            f"Gradescope's submission metadata ({path.name}) lists no users, so the submitter "
            "cannot be identified. Please tell your instructor."
        )
    return [u for u in users if isinstance(u, dict)]


def _key(value, match: str) -> str:
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    text = str(value).strip()
    return text.lower() if match == "email" else text


def identify(users, roster, config) -> tuple:
    """``(student id, notes)`` of the first user in ``users`` the roster knows (matched by
    ``config['match']``: ``email`` or ``sid``); :class:`NotGraded` when none is."""
    match, column = config["match"], config["key_column"]
    index = {}
    for sid in roster.ids:
        value = sid if column == config["id_column"] else roster.info[sid].get(column, "")
        if _key(value, match):
            index[_key(value, match)] = sid
    found = [index[_key(u.get(match), match)] for u in users if _key(u.get(match), match) in index]
    if not found:
        what = "email address" if match == "email" else "student ID (sid)"
        given = ", ".join(repr(_key(u.get(match), match)) for u in users) or "none"
        raise NotGraded(
            f"No student of this assignment's roster has the {what} of this submission "
            f"({given}), so there is no variant to grade it against. Please tell your "
            "instructor: the roster must list you and the autograder be exported again."
        )
    notes = []
    if len(users) > 1:
        notes.append(
            f"Group submission: graded against the variant of {found[0]} (the first group "
            "member listed in the roster)."
        )
    return found[0], notes


def _files(folder: Path, notes: list) -> list:
    if not folder.is_dir():
        notes.append("The submission folder is missing: nothing was submitted.")
        return []
    paths = []
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = len(Path(dirpath).relative_to(folder).parts)
        keep = [d for d in dirnames if not d.startswith(".") and d != "__MACOSX"]
        dirnames[:] = sorted(keep) if depth < MAX_DEPTH else []
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if name.startswith("."):
                continue
            if path.is_symlink():
                notes.append(f"{rel}: a symbolic link, not read.")
            elif path.is_file():
                paths.append((rel, path))
    paths.sort()
    if len(paths) > MAX_FILES:
        notes.append(f"{len(paths)} files were submitted; only the first {MAX_FILES} are read.")
        paths = paths[:MAX_FILES]
    return paths


def read_answers(folder, labels, student="") -> tuple:
    """``(answers, files, notes)`` of the submitted files in ``folder``: label -> answer (the
    first file in name order that answers a label wins), the files read, and what was wrong
    with them (unreadable, not UTF-8, too large, unknown labels, answered twice...)."""
    notes, answers, where, files = [], {}, {}, []
    for rel, path in _files(Path(folder), notes):
        try:
            text = read_capped(path, "submitted file", name=rel)
            found, issues = parse_submission(text, labels, rel)
        except OSError as exc:
            notes.append(f"{rel} cannot be read ({exc.strerror or type(exc).__name__}).")
            continue
        except AnswerError as exc:
            notes.append(f"{exc}.")
            continue
        files.append(rel)
        notes.extend(f"{rel}: {i.message}." for i in issues)
        claimed = _claimed_student(text)
        if student and claimed and claimed != student:
            notes.append(
                f"{rel} says student {claimed!r}, but Gradescope says this is {student}: it is "
                f"graded against {student}'s variant."
            )
        for label, answer in found.items():
            if label in answers:
                notes.append(f"{label} is answered in {where[label]} and {rel}: {where[label]}'s")
                notes[-1] += " answer is graded."
                continue
            answers[label], where[label] = answer, rel
    return answers, files, notes


def _claimed_student(text: str) -> str:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith("{"):
        return ""
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return ""
    value = data.get("student") if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _part_lines(label, part) -> list:
    status = part["status"]
    if status == "correct":
        return [f"{label}: correct"]
    if status == "missing":
        return [f"{label}: no answer given (a line '{label}: ...' or the JSON key {label!r})"]
    if status == "invalid":
        return [f"{label}: the answer could not be read: {'; '.join(part['notes'])}"]
    size = 1
    for n in part["shape"]:
        size *= int(n)
    wrong = part["wrong"]
    head = f"{label}: wrong, score {part['score']:.2f}"
    if wrong and size >= len(wrong):
        head += f" ({size - len(wrong)} of {size} entries right)"
    lines = [head]
    if wrong:
        shown = ", ".join(wrong[:12]) + (", ..." if len(wrong) > 12 else "")
        lines.append(f"  wrong entries: {shown}")
    lines += [f"  likely mistake {d}" for d in part["diagnosis"]]
    lines += [f"  {n}" for n in part["notes"]]
    return lines


def _test(i, q, score, lines, parts=None) -> dict:
    return {
        "name": f"{q.id}: {', '.join(q.quantities)}",
        "number": str(i + 1),
        "score": score,
        "max_score": _points(q.points),
        "output": "\n".join(lines),
        "visibility": VISIBILITY,
        "extra_data": {"parts": parts or {}},
    }


def ungraded(assignment, reason: str) -> dict:
    """Results with score 0 that say ``reason`` (one zero test per question when the
    assignment could be read, so the student still sees what was asked)."""
    tests = []
    if assignment is not None:
        tests = [
            _test(i, q, 0.0, ["Not graded: see the message above."])
            for i, q in enumerate(assignment.questions)
        ]
    return {
        "score": 0.0,
        "output": f"Not graded (score 0): {reason}",
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"graded": False},
    }


def grade_answers(assignment, student, answers) -> tuple:
    """``(student dict, issues)`` of ``answers`` (label -> answer) for ``student``: the per
    question points and per label status, score, codes and diagnosis, through
    :func:`symconv.assignment.grade` (what ``symconv assignment grade`` computes)."""
    from ..grade import grade

    with tempfile.TemporaryDirectory(prefix="symconv-autograder-") as tmp:
        data = {"student": student, **answers}
        Path(tmp, f"{student}.json").write_text(json.dumps(data), encoding="utf-8")
        book = grade(assignment, tmp, read_roster([student]))
    return book.students[0], book.issues


def _grade(root: Path, state: dict) -> dict:
    source = root / "source"
    config = _config(source)
    assignment = load_assignment(source / "assignment.json")
    state["assignment"] = assignment
    roster = read_roster(source / "roster.csv", config["id_column"])
    users = _users(root / "submission_metadata.json")
    student, notes = identify(users, roster, config)
    answers, files, file_notes = read_answers(root / "submission", assignment.labels, student)
    record, _ = grade_answers(assignment, student, answers)
    name = next((v for c, v in roster.info[student].items() if "name" in c.lower() and v), "")
    head = [f"{assignment.title}: graded as {student}" + (f" ({name})" if name else "") + "."]
    if files:
        head.append(f"Read: {', '.join(files)}.")
    else:
        head.append("No readable file was submitted.")
    if files and not answers:
        head.append(
            "No answer was found: fill in the blank JSON or write one 'label: answer' line per "
            f"answer (labels: {', '.join(assignment.labels)})."
        )
    tests = []
    for i, q in enumerate(assignment.questions):
        sq = record["questions"][q.id]
        lines = [f"{sq['points']} / {sq['max']} points ({q.credit})"]
        parts = {}
        for label, part in sq["parts"].items():
            lines += _part_lines(label, part)
            parts[label] = {"status": part["status"], "score": part["score"]}
            parts[label]["codes"] = list(part["codes"])
        tests.append(_test(i, q, _points(sq["points"]), lines, parts))
    total = f"Total: {record['total']} / {_total(assignment)} points."
    return {
        "score": _points(record["total"]),
        "output": "\n".join(head + notes + file_notes + [total]),
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"graded": True, "student": student, "files": files},
    }


def _total(assignment) -> str:
    from ..grade import points_text

    return points_text(assignment.points)


def _alarm(signum, frame):
    raise _TimeUp()


def results_for(root=None) -> dict:
    """The results.json content for the submission under ``root`` (never raises)."""
    start = time.monotonic()
    root = root_folder(root)
    state = {}
    limit = _time_limit()
    timer = hasattr(signal, "SIGALRM") and limit > 0
    timer = timer and threading.current_thread() is threading.main_thread()
    try:
        if timer:
            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(limit)
        try:
            results = _grade(root, state)
        finally:
            if timer:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
    except NotGraded as exc:
        results = ungraded(state.get("assignment"), str(exc))
    except _TimeUp:
        msg = f"grading took longer than {limit} seconds and was stopped."
        results = ungraded(state.get("assignment"), msg)
    except Exception as exc:  # never a traceback instead of results.json
        detail = " ".join(str(exc).split())[:500] or type(exc).__name__
        results = ungraded(
            state.get("assignment"),
            f"the autograder could not grade this submission ({detail}). Please tell your "
            "instructor.",
        )
    results["execution_time"] = int(round(time.monotonic() - start))
    return results


def _time_limit() -> int:
    try:
        return max(0, int(os.environ.get(TIME_LIMIT_VARIABLE, "240")))
    except ValueError:
        return 240


def run(root=None) -> Path:
    """Grade the submission under ``root`` and write ``results/results.json``; its path."""
    root = root_folder(root)
    results = results_for(root)
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps(results, indent=1, sort_keys=True) + "\n")
    return out


def check(root=None) -> str:
    """setup.sh's self-test: the archive's settings, assignment and roster load."""
    source = root_folder(root) / "source"
    config = _config(source)
    a = load_assignment(source / "assignment.json")
    roster = read_roster(source / "roster.csv", config["id_column"])
    return (
        f"symconv autograder ready: {a.title!r}, {len(a.questions)} question(s), "
        f"{len(roster)} student(s) matched by {config['match']}"
    )


def main(argv=None) -> int:
    """``[--check] [ROOT]``: grade (always exit 0, results.json says what happened) or
    self-test (exit 1 with ``error: ...`` when the archive is broken)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--check":
        try:
            print(check(args[1] if len(args) > 1 else None))
        except Exception as exc:
            print(f"error: symconv autograder: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        print(f"wrote {run(args[0] if args else None)}")
    except Exception as exc:  # results.json itself cannot be written: say so on stdout
        print(f"error: symconv autograder: cannot write results.json: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
