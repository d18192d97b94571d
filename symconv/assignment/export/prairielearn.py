"""An assignment as PrairieLearn questions (docs/EXPORT_PRAIRIELEARN.md).

:func:`export_prairielearn` writes a folder laid out like the top of a PrairieLearn course::

    OUT/questions/<slug>/<question id>/info.json              uuid, type "v3", title, topic, tags
    OUT/questions/<slug>/<question id>/question.html          prompt, given matrices, one
                                                              pl-matrix-component-input per answer
    OUT/questions/<slug>/<question id>/server.py              generate, parse, grade
    OUT/questions/<slug>/<question id>/symconv-question.json  the question and the secret seed
    OUT/serverFilesCourse/symconv/                            symconv, vendored for server.py
    OUT/README.md                                             what to copy where

``<slug>`` is made from the assignment's title, so the question ids (QIDs) are
``<slug>/<question id>``. The teacher copies ``OUT/questions`` and ``OUT/serverFilesCourse``
into the course repository; PrairieLearn puts ``serverFilesCourse`` on the Python path of
``server.py``, which imports the vendored symconv from there (its dependencies, NumPy and SymPy,
are part of PrairieLearn's Python runtime). Each uuid is derived from the seed and the question
id (uuid5), so a new export of the same assignment keeps the questions PrairieLearn knows. The
export is deterministic: the same assignment and symconv give the same bytes.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import uuid
from pathlib import Path

from ...core.errors import SymconvError
from ...templating import render, templates_dir
from ..output import staged_folder, write_text
from ..spec import Assignment
from ..variants import draw_question
from .prairielearn_server import SPEC_FILE, ExportedQuestion, figure_name, question_data

__all__ = ["export_prairielearn", "question_uuid", "slug"]

#: The uuid5 namespace of exported questions.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "symconv:assignment-export:prairielearn")
#: Variant seeds drawn at export time to check that the exported question draws what the
#: assignment draws.
PROBES = (0, 1, 7, 123456789)
#: A question with ``"figure": true`` gets one picture per layer its template allows, drawn at
#: export time into clientFilesQuestion/ (the picture depends on the layer only); templates
#: allowing more layers than this get none.
MAX_FIGURES = 100
_WHAT = {
    "output": "Enter the output $y$ of the layer.",
    "grad-input": r"Enter the gradient $\partial E/\partial x$.",
    "grad-weight": r"Enter the gradient $\partial E/\partial w$.",
    "grad-bias": r"Enter the gradient $\partial E/\partial b$.",
    "toeplitz": r"Enter the unrolled (Toeplitz) matrix $W$ with "
    r"$\mathrm{vec}(x)\,W = \mathrm{vec}(y)$.",
    "output-size": "Enter the output size, one number per spatial axis.",
}
#: Said once under the prompt: how entries are read.
ENTRY_NOTE = "Entries are exact: write a fraction as a/b (1/3, not 0.333)."
_LABELS = {
    "output": "$y =$",
    "grad-input": r"$\partial E/\partial x =$",
    "grad-weight": r"$\partial E/\partial w =$",
    "grad-bias": r"$\partial E/\partial b =$",
    "toeplitz": "$W =$",
    "output-size": "size $=$",
}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def slug(title: str, limit: int = 32) -> str:
    """The folder name of an assignment's questions: its title in lower case ASCII (accents
    dropped), runs of other characters than letters and digits as one ``-``, cut at a word
    boundary within ``limit`` (a first word longer than that is cut)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_title.lower()).split()
    out = ""
    for w in words:
        nxt = f"{out}-{w}" if out else w
        if len(nxt) > limit:
            break
        out = nxt
    return out or (words[0][:limit] if words else "assignment")


def question_uuid(assignment: Assignment, qid: str) -> str:
    """The question's uuid: uuid5 of the assignment's seed and the question id (stable across
    exports; a new seed gives new questions)."""
    return str(uuid.uuid5(NAMESPACE, f"{assignment.seed}\x1f{qid}"))


def _text_html(text: str) -> str:
    """Teacher's text for question.html: HTML-escaped, braces as entities so that Mustache
    leaves them alone (MathJax still reads ``$...$`` and ``\\frac{a}{b}``)."""
    return html.escape(text, quote=False).replace("{", "&#123;").replace("}", "&#125;")


def _info(assignment, q) -> dict:
    kinds = sorted({opts["kind"] for opts, _ in q.layers})
    info = {
        "uuid": question_uuid(assignment, q.id),
        "title": f"{assignment.title}: {q.id}",
        "topic": assignment.title,
        "tags": ["symconv", *kinds, *q.quantities],
        "type": "v3",
    }
    if q.credit == "all-or-nothing":
        info["partialCredit"] = False
    return info


def _question_html(assignment, q, spec) -> str:
    from ..._version import __version__

    answers = [
        {
            "name": a["name"],
            "label": html.escape(_LABELS[a["quantity"]], quote=True),
            "what": _text_html(_WHAT[a["quantity"]]),
            "hint": "" if len(spec["answers"]) == 1 else f"(answer {_text_html(a['label'])})",
        }
        for a in spec["answers"]
    ]
    return render(
        "prairielearn/question.html.jinja",
        title=_text_html(assignment.title).replace("--", "- -"),
        qid=q.id,
        version=__version__,
        prompt=_text_html(q.prompt),
        note=_text_html(ENTRY_NOTE),
        figures=spec["question"]["figures"],
        answers=answers,
        partial="false" if q.credit == "all-or-nothing" else "true",
        mu=lambda s: "{{" + s + "}}",
        mu3=lambda s: "{{{" + s + "}}}",
    )


def _figures(q) -> list:
    """``(file name, SVG text)`` of the layers of a question asking for a figure: the
    handout's picture (the forward window, symbols in the cells)."""
    if not q.figure or len(q.layers) > MAX_FIGURES:
        return []
    from ...figures import figure

    return [
        (figure_name(i), figure(layer, "window", heading=False, labels=True).svg())
        for i, (_, layer) in enumerate(q.layers)
    ]


def _check_rebuilt(assignment, q, spec) -> None:
    """The exported question must draw exactly what the assignment draws (a bug otherwise)."""
    rebuilt = ExportedQuestion(json.loads(json.dumps(spec)))
    for seed in PROBES:
        key = f"pl-{seed}"
        want = draw_question(assignment, q, key, verify=False).fingerprint()
        got = draw_question(rebuilt.assignment, rebuilt.question, key, verify=False)
        if got.fingerprint() != want:
            raise SymconvError(
                f"prairielearn: question {q.id}: the exported question draws another variant "
                f"than the assignment for variant_seed {seed} (a symconv bug)"
            )


def _vendored_files():
    """``(path inside serverFilesCourse, bytes)`` of symconv itself and its templates, in a
    fixed order (sources only, no caches)."""
    package = Path(__file__).resolve().parents[2]
    out = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in _SKIP_SUFFIXES:
            continue
        if any(p.startswith(".") for p in rel.parts) or rel.parts[0] == "templates":
            continue
        out.append((("symconv",) + rel.parts, path.read_bytes()))
    templates = templates_dir()
    for path in sorted(templates.rglob("*")):
        rel = path.relative_to(templates)
        if path.is_file() and not any(p.startswith(".") for p in rel.parts):
            out.append((("symconv", "templates") + rel.parts, path.read_bytes()))
    return out


def _readme(assignment, folder, qids) -> str:
    lines = [
        f"# {assignment.title}: PrairieLearn questions written by symconv",
        "",
        "Copy both folders into the root of your course repository:",
        "",
        "    cp -r questions serverFilesCourse /path/to/your/course/",
        "",
        f"- `questions/{folder}/`: one question per folder (QIDs "
        + ", ".join(f"`{folder}/{q}`" for q in qids)
        + "); add them to an assessment's infoAssessment.json.",
        "- `serverFilesCourse/symconv/`: symconv itself; server.py imports it from there.",
        "",
        f'Declare the topic "{assignment.title}" and the tags in infoCourse.json. The '
        "assignment's secret seed is in each question's symconv-question.json (server-side "
        "only): keep the course repository private.",
        "",
    ]
    return "\n".join(lines)


def export_prairielearn(assignment: Assignment, path) -> Path:
    """Write the PrairieLearn questions of ``assignment`` into the folder ``path`` (new, empty
    or an earlier export, replaced as a whole) and return it. See the module docstring for
    the layout."""
    from ..._version import __version__

    folder = slug(assignment.title)
    files = []
    for q in assignment.questions:
        pictures = _figures(q)
        spec = question_data(assignment, q, figures=bool(pictures))
        _check_rebuilt(assignment, q, spec)
        base = ("questions", folder, q.id)
        files += [(base + ("clientFilesQuestion", name), svg) for name, svg in pictures]
        info = json.dumps(_info(assignment, q), indent=2, ensure_ascii=False) + "\n"
        server = render("prairielearn/server.py.jinja", qid=q.id, version=__version__)
        files += [
            (base + ("info.json",), info),
            (base + ("question.html",), _question_html(assignment, q, spec)),
            (base + ("server.py",), server),
            (base + (SPEC_FILE,), json.dumps(spec, indent=1, sort_keys=True) + "\n"),
        ]
    files += [(("serverFilesCourse",) + rel, data) for rel, data in _vendored_files()]
    files.append(
        (("README.md",), _readme(assignment, folder, [q.id for q in assignment.questions]))
    )
    with staged_folder(path, "prairielearn export") as stage:
        for rel, data in files:
            target = stage.joinpath(*rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                write_text(target, data)
    return Path(path)
