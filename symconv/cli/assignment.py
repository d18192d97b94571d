"""``symconv assignment make|grade|report|export``: assignments for a whole class."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import SpecError
from ..fileio import write_atomic

__all__ = ["register"]


def _positive(value, flag="--jobs", op="assignment") -> int:
    """``value`` (a command-line string) as a positive integer, or :class:`SpecError`."""
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise SpecError(f"{op}: {flag} must be a positive integer, got {value!r}")
    return n


def run_make(args) -> int:
    from ..assignment import load, make

    a = load(args.assignment)
    s = make(
        a,
        args.roster,
        args.output,
        pdf=args.pdf,
        jobs=_positive(args.jobs),
        figures=not args.no_figures,
        id_column=args.id_column,
    )
    print(
        f"made {s['students']} variant(s) of {a.title!r} in {args.output}: handouts/, "
        f"submissions/, keys/, variants.csv" + (f"; {s['pdf']} PDF(s)" if args.pdf else "")
    )
    if s["redrawn"]:
        print(f"redrawn to keep variants distinct: {', '.join(s['redrawn'])}")
    for note in s["notes"]:
        print(f"note: {note}")
    for group in s["shared"][:20]:
        print(f"note: students {' and '.join(group)} share a variant")
    return 0


def run_grade(args) -> int:
    import json

    from ..assignment.grade import grade
    from ..assignment.output import staged_folder, write_text
    from ..assignment import load

    a = load(args.assignment)
    out = Path(args.output)
    if not out.parent.is_dir() and str(out.parent):
        raise SpecError(f"assignment grade: folder {out.parent} of -o does not exist")
    if out.suffix.lower() == ".json":
        raise SpecError(
            f"assignment grade: -o must be the CSV gradebook (the details go next to it as "
            f".json), got {str(out)!r}"
        )
    skip = [args.assignment, args.roster, out]
    gb = grade(
        a,
        args.submissions,
        args.roster,
        jobs=_positive(args.jobs),
        reveal=args.reveal,
        id_column=args.id_column,
        skip=skip,
    )
    details = out.with_suffix(".json")
    feedback = Path(args.feedback) if args.feedback else out.parent / f"{out.stem}-feedback"
    with staged_folder(feedback, "assignment feedback") as stage:
        for s in gb.students:
            write_text(stage / f"{s['id']}.md", gb.feedback(s["id"]))
    write_atomic(details, json.dumps(gb.to_dict(), indent=1, sort_keys=True) + "\n")
    write_atomic(out, gb.csv_text())
    kinds = {}
    for i in gb.issues:
        kinds[i.kind] = kinds.get(i.kind, 0) + 1
    print(
        f"graded {len(gb.students)} student(s): gradebook {out}, details {details}, "
        f"feedback {feedback}/"
    )
    if kinds:
        print("issues: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return 0


def run_report(args) -> int:
    from ..assignment.report import load_grades, report_html, report_markdown

    grades = load_grades(args.grades)
    if args.output:
        write_atomic(args.output, report_html(grades))
    sys.stdout.write(report_markdown(grades))
    return 0


def run_export(args) -> int:
    from ..assignment.export import OPTIONS, export

    given = {
        "roster": args.roster,
        "id_column": args.id_column,
        "match": args.match,
        "variants": (
            None
            if args.variants is None
            else _positive(args.variants, "--variants", "assignment export")
        ),
    }
    options = {k: v for k, v in given.items() if v is not None}
    if args.to == "gradescope" and "roster" not in options:
        raise SpecError("assignment export: --to gradescope needs --roster (who may submit)")
    written = export(args.assignment, args.to, args.output, **options)
    print(f"exported for {args.to}: {written}")
    return 0


def register(sub) -> None:
    """Add ``assignment`` (make, grade, report) to the ``symconv`` command line."""
    p = sub.add_parser(
        "assignment",
        help="per-student assignment variants, class grading and the cohort report",
        description="Assignments for a whole class (docs/ASSIGNMENT.md): 'make' writes one "
        "variant per roster row (handout, blank submission, answer key), 'grade' grades a "
        "folder of submissions, 'report' draws what the class got wrong.",
    )
    s = p.add_subparsers(dest="assignment_command", metavar="SUBCOMMAND", required=True)
    m = s.add_parser(
        "make",
        help="write every student's handout, blank submission file and answer key",
        description="Draw one variant per roster row, deterministically from the assignment's "
        "secret seed and the student id (adding a student changes no one else's), verify it "
        "(derivation against the reference loops, constraints) and write OUT/handouts/<id>.tex "
        "(.pdf with --pdf), OUT/submissions/<id>.json (blank), OUT/keys/<id>.json and .tex, "
        "OUT/variants.csv. The folder is replaced as a whole.",
    )
    m.add_argument("assignment", metavar="ASSIGNMENT.json")
    m.add_argument("--roster", required=True, help="CSV roster with a header row")
    m.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder (new, empty or an earlier make output)",
    )
    m.add_argument(
        "--pdf", action="store_true", help="also compile handouts and keys with pdflatex"
    )
    m.add_argument("--jobs", default="1", help="worker processes (default 1)")
    m.add_argument(
        "--id-column", default="id", help="roster column identifying a student (default id)"
    )
    m.add_argument(
        "--no-figures", action="store_true", help="leave out the figures questions ask for"
    )
    m.set_defaults(func=run_make)
    g = s.add_parser(
        "grade",
        help="grade a folder of submissions (one file per student)",
        description="Regenerate each roster student's variant and check every labelled answer "
        "of SUBMISSIONS/<id>.* (the blank JSON filled in, or text/LaTeX with 'label: answer' "
        "lines). Writes the gradebook CSV (-o), the detailed JSON next to it (.json) and one "
        "Markdown feedback file per student (FEEDBACK/<id>.md). Missing answers, unknown "
        "labels or students, duplicates and unreadable files are reported; grading goes on.",
    )
    g.add_argument("assignment", metavar="ASSIGNMENT.json")
    g.add_argument("submissions", metavar="SUBMISSIONS")
    g.add_argument("--roster", required=True, help="CSV roster with a header row")
    g.add_argument("-o", "--output", required=True, help="gradebook CSV (its folder must exist)")
    g.add_argument("--feedback", help="feedback folder (default: <output stem>-feedback/)")
    g.add_argument("--jobs", default="1", help="worker processes (default 1)")
    g.add_argument(
        "--id-column", default="id", help="roster column identifying a student (default id)"
    )
    g.add_argument("--reveal", action="store_true", help="put the right values in the feedback")
    g.set_defaults(func=run_grade)
    r = s.add_parser(
        "report",
        help="the class at a glance: HTML (-o) and a Markdown summary on stdout",
        description="Read the detailed grades (the .json 'grade' writes) and print a Markdown "
        "summary; with -o also write a self-contained HTML page (inline SVG, no network): per "
        "question the score distribution, each diagnosis code's count and share, a heat map of "
        "the most often wrong entries and anonymised wrong answers per code.",
    )
    r.add_argument("grades", metavar="GRADES.json")
    r.add_argument("-o", "--output", help="HTML report file")
    r.set_defaults(func=run_report)
    e = s.add_parser(
        "export",
        help="the assignment for Gradescope, PrairieLearn or Moodle (docs/ASSIGNMENT.md, Exports)",
        description="Write the assignment in the form a platform imports as it is: "
        "gradescope (-o autograder.zip: setup.sh, run_autograder and a bundled symconv wheel; "
        "needs --roster), prairielearn (-o questions/: one question folder per question, "
        "symconv vendored for server.py) or moodle (-o questions.xml: --variants pre-drawn "
        "Cloze variants per question, the predicted wrong values with their diagnoses).",
    )
    e.add_argument("assignment", metavar="ASSIGNMENT.json")
    e.add_argument("--to", required=True, choices=["gradescope", "prairielearn", "moodle"])
    e.add_argument("-o", "--output", required=True, help="the file or folder to write")
    e.add_argument("--roster", help="gradescope: CSV roster with a header row")
    e.add_argument(
        "--id-column", help="gradescope: roster column identifying a student (default id)"
    )
    e.add_argument(
        "--match",
        help="gradescope: the submission metadata's users[] field that identifies the student: "
        "email (matched with the roster's email column, or email ids) or sid (matched with the "
        "id column); default: email when the roster has emails, else sid",
    )
    e.add_argument(
        "--variants", help="moodle: pre-drawn variants per question (default 20, at most 500)"
    )
    e.set_defaults(func=run_export)
