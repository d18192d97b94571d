"""The Gradescope autograder archive of an assignment (docs/EXPORT_GRADESCOPE.md).

    >>> from symconv.assignment.export.gradescope import export_gradescope
    >>> export_gradescope(a, "autograder.zip", roster="roster.csv")  # doctest: +SKIP

The zip holds, at its root (Gradescope unpacks it to ``/autograder/source``):

- ``setup.sh``: run once when Gradescope builds the image; makes a virtual environment,
  installs symconv from the bundled wheel (its dependencies from PyPI) and self-tests;
- ``run_autograder``: run for every submission; calls
  :mod:`symconv.assignment.export.autograder`, which writes ``results/results.json``;
- ``symconv-<version>-py3-none-any.whl``: the running symconv, packed as a wheel;
- ``assignment.json`` (with the secret seed: Gradescope never shows the archive to students),
  ``roster.csv`` (the id column and the name/email columns) and ``symconv-autograder.json``
  (how submitters are matched to roster rows).

The archive is deterministic: the same assignment, roster and symconv give a byte-identical zip
(fixed order, timestamps and permissions; the wheel is packed here the same way).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import re
import zipfile
from fractions import Fraction
from pathlib import Path

from ...core.errors import SpecError
from ...fileio import check_folder, write_atomic
from ...templating import render, templates_dir
from ..roster import Roster, read_roster
from ..spec import Assignment, load_assignment
from ..variants import draw_variant
from .autograder import CONFIG

__all__ = ["export_gradescope", "assignment_data", "symconv_wheel", "MATCHES"]

#: How a submitter (Gradescope's ``users[]`` entry) is matched to a roster row.
MATCHES = ("email", "sid")
#: The timestamp of every archive member (zip's earliest date).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_OP = "assignment export"


def export_gradescope(assignment, path, *, roster, id_column="id", match=None) -> Path:
    """Write the autograder zip for ``assignment`` at ``path`` and return the path.

    ``roster``: the CSV (or a :class:`Roster`, or a list of ids/dicts) of who may submit;
    ``id_column``: its column identifying a student; ``match``: which field of Gradescope's
    ``users[]`` identifies the submitter: ``"email"`` (compared case-insensitively with the
    roster's first column whose header contains "email", or with the ids when they are email
    addresses) or ``"sid"`` (Gradescope's student ID, compared with the id column). Default:
    ``email`` when the roster has an email column or email ids, else ``sid``."""
    if not isinstance(assignment, Assignment):
        assignment = load_assignment(assignment)
    if not isinstance(id_column, str) or not id_column:
        raise SpecError(f"{_OP}: --id-column must be a column name, got {id_column!r}")
    path = Path(path)
    if path.suffix.lower() != ".zip":
        raise SpecError(f"{_OP}: -o must be a .zip file for gradescope, got {str(path)!r}")
    check_folder(path, _OP)
    if not isinstance(roster, Roster):
        roster = read_roster(roster, id_column)
    match, key_column = _matching(roster, id_column, match)
    data = assignment_data(assignment)
    _verify(assignment, data, roster.ids[:3])
    wheel_name, wheel = symconv_wheel()
    config = {
        "format": 1,
        "title": assignment.title,
        "id_column": id_column,
        "match": match,
        "key_column": key_column,
        "wheel": wheel_name,
    }
    title = " ".join(assignment.title.split())  # one line: the scripts quote it in a comment
    context = {"title": title, "wheel": wheel_name, "version": _version()}
    members = [
        ("setup.sh", render("gradescope/setup.sh.jinja", **context), 0o755),
        ("run_autograder", render("gradescope/run_autograder.jinja", **context), 0o755),
        (wheel_name, wheel, 0o644),
        ("assignment.json", json.dumps(data, indent=1) + "\n", 0o644),
        ("roster.csv", _roster_csv(roster, id_column), 0o644),
        (CONFIG, json.dumps(config, indent=1, sort_keys=True) + "\n", 0o644),
    ]
    write_atomic(path, _zip(members))
    return path


def _matching(roster: Roster, id_column: str, match) -> tuple:
    """``(match, roster column compared)``, checked: every row has a distinct, non-empty
    value in that column."""
    emails = [c for c in roster.columns if "email" in c.lower()]
    email_ids = all("@" in sid for sid in roster.ids)
    if match is None:
        match = "email" if emails or email_ids else "sid"
    if match not in MATCHES:
        raise SpecError(f"{_OP}: --match must be one of {', '.join(MATCHES)}, got {match!r}")
    if match == "sid":
        return match, id_column
    if not emails and not email_ids:
        raise SpecError(
            f"{_OP}: --match email needs a roster column whose header contains 'email' (or "
            f"email addresses in the id column {id_column!r}); the roster's columns are "
            f"{[id_column, *roster.columns]}"
        )
    column = emails[0] if emails else id_column
    seen = {}
    for sid in roster.ids:
        value = (sid if column == id_column else roster.info[sid][column]).strip().lower()
        if not value:
            raise SpecError(
                f"{_OP}: roster: student {sid!r} has no {column}, so Gradescope's users[] "
                "email cannot be matched to them (fill it in or use --match sid)"
            )
        if value in seen:
            raise SpecError(
                f"{_OP}: roster: {column} {value!r} belongs to both {seen[value]!r} and {sid!r}"
            )
        seen[value] = sid
    return match, column


def _roster_csv(roster: Roster, id_column: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([id_column, *roster.columns])
    for sid in roster.ids:
        w.writerow([sid, *(roster.info[sid][c] for c in roster.columns)])
    return buf.getvalue()


# -- the assignment as a file that loads to the same questions ---------------------------------


def _unique(values) -> list:
    out, seen = [], set()
    for v in values:
        key = (type(v).__name__, repr(v))
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _ordered(rows, names, n) -> list:
    """The values of option ``names[n]`` in an order under which ``rows`` (the kept layers'
    options, in the order the template enumerated them) are still in enumeration order: a
    topological order of "comes first" read off consecutive rows that differ first there."""
    values = _unique(r[names[n]] for r in rows)
    key = [(type(v).__name__, repr(v)) for v in values]
    before = {k: set() for k in key}
    for r, s in zip(rows, rows[1:]):
        for m in range(len(names)):
            if repr(r[names[m]]) != repr(s[names[m]]) or type(r[names[m]]) is not type(
                s[names[m]]
            ):
                if m == n:
                    a = (type(r[names[n]]).__name__, repr(r[names[n]]))
                    b = (type(s[names[n]]).__name__, repr(s[names[n]]))
                    before[b].add(a)
                break
    order, done = [], set()
    while len(order) < len(values):
        for k, v in zip(key, values):
            if k not in done and before[k] <= done:
                order.append(v)
                done.add(k)
                break
        else:  # cannot happen for rows enumerated from a product
            raise SpecError(f"{_OP}: the layers of a question are not in template order")
    return order


def _template(q) -> dict:
    rows = [opts for opts, _ in q.layers]
    names = ["kind"] + sorted(k for k in rows[0] if k != "kind")
    out = {"ndim": len(rows[0]["input_size"])}
    for n, name in enumerate(names):
        out[name] = {"choice": _json_value(_ordered(rows, names, n))}
    return out


def _json_value(v):
    if isinstance(v, (list, tuple)):
        return [_json_value(u) for u in v]
    return v


def _number(p):
    return p.numerator if p.denominator == 1 else float(p)


def assignment_data(a: Assignment) -> dict:
    """The assignment as a JSON-ready dict (seed included) that loads to the same questions:
    each layer template is rewritten as the choices its kept layers use, in an order that
    enumerates them as before, so every student's variant is drawn exactly as from the
    original file."""
    questions = []
    for q in a.questions:
        givens = {
            name: {
                "range": [g.low, g.high],
                "max_nonzeros": g.max_nonzeros,
                "exclude_zero": g.exclude_zero,
            }
            for name, g in q.givens.items()
        }
        questions.append(
            {
                "id": q.id,
                "points": _number(q.points),
                "prompt": q.prompt,
                "layer": _template(q),
                "quantities": list(q.quantities),
                "givens": givens,
                "constraints": dict(q.constraints),
                "credit": q.credit,
                "figure": q.figure,
            }
        )
    out = {"title": a.title, "course": a.course, "seed": a.seed, "questions": questions}
    if a.description:
        out["description"] = a.description
    return out


def _verify(a: Assignment, data: dict, students) -> None:
    """The written assignment must load to the same questions and draw the same variants."""
    b = load_assignment(json.loads(json.dumps(data), parse_float=Fraction))
    same = len(a.questions) == len(b.questions) and all(
        repr([o for o, _ in p.layers]) == repr([o for o, _ in q.layers])
        and (p.id, p.points, p.quantities, p.givens, p.constraints, p.credit, p.prompt)
        == (q.id, q.points, q.quantities, q.givens, q.constraints, q.credit, q.prompt)
        for p, q in zip(a.questions, b.questions)
    )
    for sid in students if same else ():
        same = same and (
            draw_variant(a, sid, verify=False).fingerprint()
            == draw_variant(b, sid, verify=False).fingerprint()
        )
    if not same:
        raise SpecError(f"{_OP}: the assignment cannot be written so that it draws the same")


# -- the running symconv as a wheel ------------------------------------------------------------


def _version() -> str:
    from ..._version import __version__

    return __version__


def _package_files() -> dict:
    """archive name -> bytes of every file of the running symconv (no caches, no hidden files),
    the templates under ``symconv/templates`` as the project's wheel ships them."""
    package = Path(__file__).resolve().parents[2]  # symconv/
    roots = [(package, "symconv")]
    templates = templates_dir().resolve()
    if package not in templates.parents:
        roots.append((templates, "symconv/templates"))
    files = {}
    for root, prefix in roots:
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            if p.is_file() and not p.is_symlink() and p.suffix not in (".pyc", ".pyo"):
                files[f"{prefix}/{rel.as_posix()}"] = p.read_bytes()
    return files


def _metadata(version: str) -> tuple:
    try:
        dist = importlib.metadata.distribution("symconv")
        metadata, entry_points = dist.read_text("METADATA"), dist.read_text("entry_points.txt")
    except importlib.metadata.PackageNotFoundError:
        metadata = None
    if not metadata or dist.version != version:
        raise SpecError(
            f"{_OP}: the running symconv {version} has no installed package metadata to pack "
            "into the wheel; install it (pip install . or pip install -e .) and export again"
        )
    return metadata, entry_points or "[console_scripts]\nsymconv = symconv.cli:main\n"


def symconv_wheel() -> tuple:
    """``(file name, bytes)`` of a wheel of the running symconv: its files, the installed
    METADATA (dependencies) and entry points, a RECORD of sha256 digests; deterministic."""
    version = _version()
    metadata, entry_points = _metadata(version)
    safe = re.sub(r"[^A-Za-z0-9.]+", "_", version)
    info = f"symconv-{safe}.dist-info"
    files = dict(sorted(_package_files().items()))  # one order however symconv is laid out
    files[f"{info}/METADATA"] = metadata.encode("utf-8")
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\n"
        f"Generator: symconv {version} (assignment export)\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    ).encode()
    files[f"{info}/entry_points.txt"] = entry_points.encode("utf-8")
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    members = [(name, data, 0o644) for name, data in files.items()]
    return f"symconv-{safe}-py3-none-any.whl", _zip(members)


def _zip(members) -> bytes:
    """A zip of ``(name, str or bytes, mode)`` in the given order, with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so that the permission bits are read
            info.external_attr = (0o100000 | mode) << 16
            payload = data.encode("utf-8") if isinstance(data, str) else data
            zf.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()
