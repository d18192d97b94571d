"""Exports of an assignment to the platforms courses already grade on (docs/ASSIGNMENT.md, Exports).

    >>> from symconv.assignment import export
    >>> export.export("A.json", "gradescope", "autograder.zip", roster="roster.csv")  # doctest: +SKIP
    >>> export.export("A.json", "prairielearn", "questions/")                       # doctest: +SKIP
    >>> export.export("A.json", "moodle", "questions.xml", variants=20)             # doctest: +SKIP

Each platform is one module with one entry point that takes the loaded assignment and the path
to write, plus the options that platform needs (:data:`OPTIONS`):

- :func:`symconv.assignment.export.gradescope.export_gradescope`: the autograder archive
  (``setup.sh``, ``run_autograder`` and a bundled symconv wheel); needs the roster;
- :func:`symconv.assignment.export.prairielearn.export_prairielearn`: one question folder per
  question (``info.json``, ``question.html``, ``server.py``) and symconv vendored for them;
- :func:`symconv.assignment.export.moodle.export_moodle`: Moodle XML, a category of pre-drawn
  Cloze variants per question.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ...core.errors import SpecError

__all__ = ["PLATFORMS", "OPTIONS", "export"]

#: The platforms, each with its module and entry point.
PLATFORMS = {
    "gradescope": ("gradescope", "export_gradescope"),
    "prairielearn": ("prairielearn", "export_prairielearn"),
    "moodle": ("moodle", "export_moodle"),
}
#: The keyword options each platform's entry point takes (the command line's flags).
OPTIONS = {
    "gradescope": ("roster", "id_column", "match"),
    "prairielearn": (),
    "moodle": ("variants",),
}


def export(assignment, to: str, path, **options) -> Path:
    """Write ``assignment`` (an :class:`~symconv.assignment.Assignment`, a path or a dict)
    for platform ``to`` at ``path`` and return the path written. ``options`` are the
    platform's own (:data:`OPTIONS`); an option another platform takes is refused by name."""
    if to not in PLATFORMS:
        raise SpecError(
            f"assignment export: --to must be one of {', '.join(PLATFORMS)}, got {to!r}"
        )
    for name in options:
        if name not in OPTIONS[to]:
            takers = [p for p, names in OPTIONS.items() if name in names]
            where = f"--to {' or '.join(takers)} only" if takers else "no platform"
            flag = "--" + name.replace("_", "-")
            raise SpecError(f"assignment export: {flag} applies to {where}, not to --to {to}")
    from .. import Assignment, load

    if not isinstance(assignment, Assignment):
        assignment = load(assignment)
    module, entry = PLATFORMS[to]
    write = getattr(importlib.import_module(f"{__name__}.{module}"), entry)
    return Path(write(assignment, path, **options))
