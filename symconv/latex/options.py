"""The options of a LaTeX document, validated once, and the sizes that follow from them.

:func:`document_options` checks what :func:`symconv.latex.render_latex` was given and derives
the layout budget: the width of one display line (em), the frame's rows, and the slides'
shorter lists and sums.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import SpecError
from ..core.symbols import Notation
from .printer import resolve_notation

__all__ = [
    "DOCUMENTS",
    "ASPECTS",
    "LIMITS",
    "TEXT_FIELDS",
    "MatrixLimit",
    "Options",
    "document_options",
    "document_texts",
    "escape_text",
]

DOCUMENTS = ("snippet", "article", "beamer")
ASPECTS = ("169", "43")

#: The default limits per document: (entries per list, terms per sum, matrix side). Slides show
#: shorter lists and matrices (a list too long for one frame continues on the next frames; a
#: matrix too big is elided). No default cuts a sum of up to :data:`TERMS` terms (a 5x5 window):
#: long sums wrap to more lines and continue on the next frames instead. A limit given
#: explicitly is honoured by every document.
TERMS = 25
LIMITS = {
    "snippet": (16, TERMS, 10),
    "article": (16, TERMS, 10),
    "beamer": (9, TERMS, 7),
}
#: The side of the largest matrix drawn whole by default (W, the final results) on a slide and
#: in a snippet.
MATRIX_DEFAULT = 10
#: An article's page (A4, 10pt, 2 cm margins, 700 pt of text): the matrix rows and columns it
#: shows whole (rows of 14.4 pt; columns of about 2.7 em in a 44 em line), and its height in
#: display lines of 15 pt (a line with a fraction counts two, :func:`list_lines`).
PAGE_MATRIX = (40, 16)
PAGE_LINES = 44


class MatrixLimit(int):
    """A matrix limit: ``int(limit)`` rows and ``limit.cols`` columns shown whole."""

    cols: int

    def __new__(cls, rows: int, cols: int):
        obj = super().__new__(cls, rows)
        obj.cols = cols
        return obj

    def __repr__(self) -> str:
        return f"MatrixLimit({int(self)}, {self.cols})"


@dataclass
class Options:
    """Validated document options and the layout budget derived from them."""

    document: str
    notation: Notation
    convention: str
    aspect: str
    max_entries: int
    max_terms: int
    max_matrix: int  # W and the final results
    block_matrix: int  # x, w, dE/dy ... shown beside other displays
    max_steps: int
    width: float  # em available for one display line
    frame_rows: int
    frame_lines: int = 6

    @property
    def beamer(self) -> bool:
        return self.document == "beamer"

    @property
    def row(self) -> bool:
        """The row convention (x W = y) rather than the column one (vec y = T vec x)."""
        return self.convention == "row"


def _page_matrix(document: str) -> int:
    """The default limit of W and the final results: what an article's page shows whole, else
    :data:`MATRIX_DEFAULT`."""
    return MatrixLimit(*PAGE_MATRIX) if document == "article" else MATRIX_DEFAULT


def document_options(
    document, notation, convention, aspect, max_entries, max_terms, max_matrix
) -> Options:
    """Check the options (:class:`SpecError` naming the bad one) and derive the budget.

    A limit left ``None`` takes the document's default (:data:`LIMITS`); an article's W and
    final results are shown whole while they fit the page (:data:`PAGE_MATRIX`)."""
    if document not in DOCUMENTS:
        raise SpecError(f"latex: document must be one of {DOCUMENTS}, got {document!r}")
    if convention not in ("row", "column"):
        raise SpecError(f"latex: convention must be 'row' or 'column', got {convention!r}")
    aspect = str(aspect).replace(":", "")
    if aspect not in ASPECTS:
        raise SpecError(f"latex: aspect must be '169' or '43', got {aspect!r}")
    for name, v in (
        ("max_entries", max_entries),
        ("max_terms", max_terms),
        ("max_matrix", max_matrix),
    ):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 3):
            raise SpecError(f"latex: {name} must be an integer >= 3, got {v!r}")
    if document == "beamer":
        width = 33.0 if aspect == "169" else 26.0
        rows = 5
    elif document == "article":
        width = 44.0
        rows = 0
    else:
        width = 32.0
        rows = 0
    entries, terms, block = LIMITS[document]
    max_entries = entries if max_entries is None else max_entries
    max_terms = terms if max_terms is None else max_terms
    return Options(
        document=document,
        notation=resolve_notation(notation),
        convention=convention,
        aspect=aspect,
        max_entries=max_entries,
        max_terms=max_terms,
        max_matrix=max_matrix if max_matrix is not None else _page_matrix(document),
        block_matrix=block if max_matrix is None else max_matrix,
        max_steps=min(8, max_terms),
        width=width,
        frame_rows=rows,
    )


#: The texts a user may give a document (title page, headings), escaped by :func:`escape_text`.
TEXT_FIELDS = ("title", "subtitle", "author", "institute", "date")

#: Each character LaTeX treats specially, as text that prints it. The ten specials, plus the
#: characters that print another glyph outside the T1 encoding (<, >, |) or start a ligature
#: (--, ``, '', !`, ?`: a "{}" after them keeps each character as typed).
_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _ESCAPES))
_LIGATURE_RE = re.compile(r"([-`'!?,])(?=[-`',])")


def escape_text(text: str) -> str:
    """``text`` as LaTeX that prints it verbatim: the ten special characters
    (``& % $ # _ { } ~ ^ \\``) and ``< > |`` become the commands that print them, ligatures
    (``--``, quotes) are broken, and every run of white space, line breaks included, becomes one
    space (a paragraph break is not allowed in a title)."""
    text = " ".join(str(text).split())
    text = _SPECIAL_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    return _LIGATURE_RE.sub(r"\1{}", text)


def document_texts(op: str, **texts) -> dict:
    """The user's texts (:data:`TEXT_FIELDS`; ``None``: not given) escaped for LaTeX.

    Each must be a string; :class:`SpecError` names the one that is not. ``op`` prefixes the
    message (``'latex'``, ``'network latex'``)."""
    out = {}
    for name in TEXT_FIELDS:
        value = texts.get(name)
        if value is None:
            out[name] = None
            continue
        if not isinstance(value, str):
            raise SpecError(f"{op}: {name} must be a string, got {value!r}")
        out[name] = escape_text(value)
    return out
