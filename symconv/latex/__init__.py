"""LaTeX for teaching: derivations, worked examples and Beamer slides that compile.

A :class:`~symconv.core.derive.Derivation` is turned into plain data (lists of equations, sums
split into lines, matrices as rows of cells, all elided to a readable size) by one frame
builder per topic, and laid out by the jinja2 templates in ``templates/latex/``. Python prints
single expressions and matrices only, through :class:`SlidePrinter`, a SymPy ``LatexPrinter``
in the slides' notation (``w_{11}x_{11}``, ``\\frac{\\partial E}{\\partial y_{11}} w_{11}``:
weights before inputs, dE/dy first, terms in kernel-tap or output order; indices apart,
``w_{1,1,1,2}``, as soon as a symbol carries a channel index or an index above 9).

Modules:

* :mod:`.printer` - :class:`SlidePrinter`, :func:`latex_expr`, :func:`latex_matrix`, numbers;
* :mod:`.layout` - the layout model (terms, sums, matrices, equations), width and height
  estimates, elision;
* :mod:`.values` - worked numbers: :func:`parse_values_text`, validation, evaluation;
* :mod:`.options`, :mod:`.document` - :func:`render_latex`: ``document="snippet"`` (a body
  to paste into a document that loads amsmath, amssymb, graphicx and xcolor), ``"article"``
  or ``"beamer"``;
* :mod:`.handout` - a deck to print: Beamer's handout mode, each frame in the state of its
  last slide, 1, 2 or 4 slides per page (``render_latex(..., handout=2)``);
* :mod:`.frames` - one builder per part of a document (set-up, forward, Toeplitz, loss,
  gradients, identities, update, pooling, summary);
* :mod:`.compile` - :func:`compile_pdf` (pdflatex twice in a temporary folder,
  :class:`LatexError` with the log's first error and its line on failure),
  :func:`overfull_boxes`, :func:`pdf_to_png` (pdftoppm);
* :mod:`.display` - :func:`repr_latex` / :func:`derivation_repr_latex`: ``$$...$$`` for
  Jupyter (MathJax-safe).

The ``symconv latex`` command lives in :mod:`symconv.cli.latex`.
"""

from __future__ import annotations

from .compile import LatexError, compile_pdf, overfull_boxes, pdf_to_png, wrap_snippet
from .display import derivation_repr_latex, repr_latex
from .document import PARTS, render_latex
from .options import ASPECTS, DOCUMENTS  # noqa: F401  (ASPECTS: importable, as before)
from .printer import SlidePrinter, latex_expr, latex_matrix
from .values import LatexValueError, parse_values_text

__all__ = [
    "DOCUMENTS",
    "PARTS",
    "LatexError",
    "LatexValueError",
    "SlidePrinter",
    "render_latex",
    "latex_expr",
    "latex_matrix",
    "compile_pdf",
    "overfull_boxes",
    "pdf_to_png",
    "wrap_snippet",
    "repr_latex",
    "derivation_repr_latex",
    "parse_values_text",
]
