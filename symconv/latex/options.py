"""The options of a LaTeX document, validated once, and the sizes that follow from them.

:func:`document_options` checks what :func:`symconv.latex.render_latex` was given and derives
the layout budget: the width of one display line (em), the frame's rows, and the slides'
shorter lists and sums.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import SpecError
from ..core.symbols import Notation
from .printer import resolve_notation

__all__ = ["DOCUMENTS", "ASPECTS", "LIMITS", "Options", "document_options"]

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
#: The side of the largest matrix drawn whole by default (W, the final results) on every document.
MATRIX_DEFAULT = 10


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


def document_options(
    document, notation, convention, aspect, max_entries, max_terms, max_matrix
) -> Options:
    """Check the options (:class:`SpecError` naming the bad one) and derive the budget.

    A limit left ``None`` takes the document's default (:data:`LIMITS`)."""
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
        max_matrix=MATRIX_DEFAULT if max_matrix is None else max_matrix,
        block_matrix=block if max_matrix is None else max_matrix,
        max_steps=min(8, max_terms),
        width=width,
        frame_rows=rows,
    )
