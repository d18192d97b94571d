"""Homework checker: compare a hand-computed answer with the derivation and name the mistake.

API
---
:func:`check` compares one answer with the exact result and returns a :class:`CheckResult`::

    >>> import symconv
    >>> from symconv.check import check
    >>> layer = symconv.conv((3, 3), 2)
    >>> r = check(layer, "output", "[[37, 47], [67, 77]]",
    ...           x=[[1, 2, 3], [4, 5, 6], [7, 8, 9]], w=[[1, 2], [3, 4]])
    >>> r.correct, r.score
    (True, 1.0)

Quantities: ``output`` (y), ``grad-input`` (dE/dx), ``grad-weight`` (dE/dw), ``grad-bias``
(dE/db), ``toeplitz`` (the unrolled matrix; ``convention='row'`` is the slides' x W = y,
``'column'`` is vec(y) = T vec(x)) and ``output-size`` (``2x2``, ``[2, 2]``...).

Numbers or symbols. Every value not given stays symbolic: without ``x`` and ``w`` the answer is
expressions in the layer's symbols (``x11*w11 + x12 w12``, ``\\frac{\\partial E}{\\partial
y_{11}} x_{11}``...) and entries are compared with ``sympy.expand(answer - expected) == 0``.
Gradients use the upstream gradient ``dy`` (numbers, or the symbols dE/dy_ij when omitted) or,
with ``target`` (yhat), the loss E = 1/2 sum (y - yhat)^2 so that dE/dy = y - yhat. In a
symbolic gradient answer the student may also write y_ij and yhat_ij (dE/dy_ij is then read as
y_ij - yhat_ij with y_ij the forward expression). Numbers are exact (decimals such as ``0.1``
are read as 1/10); ``tolerance`` is applied only when the answer itself contains decimals.

Answer text goes through :func:`symconv.core.answers.parse_answer_ex` (a whitelist tokenizer and
grammar: never eval/sympify), after LaTeX ``%`` comments and lines starting with ``#`` are
dropped (:func:`strip_comments`). Its formats: JSON nested lists, rows of whitespace- or
comma-separated entries (CSV), LaTeX ``bmatrix``/``pmatrix``/``array``, NumPy-style literals
``[[1, 2], [3, 4]]`` and scalars. An answer may drop singleton channel axes (a 2x2 matrix for a
(1, 2, 2) output), and a multi-channel answer may be written as one matrix with the channels
(and kernel blocks) stacked vertically: shape (C*H, W) for (C, H, W).

Diagnosis
---------
When the answer is wrong, the quantity is recomputed under each mistake of the catalogue
(:mod:`.catalogue`, its entries in :mod:`.mistakes`; :data:`DIAGNOSES` lists the codes), always
by re-deriving a variant layer or transforming exact inputs/results, never by approximations.
The reporting rules (:mod:`.diagnose`):

- a code is reported when its recomputation reproduces the answer exactly; otherwise when it
  explains at least two wrong entries and at least half of them (the report says which; an
  entry counts as explained when the mistake gives the student's value and that value is not
  0). Partial diagnoses are dropped when some diagnosis reproduces the whole answer (only
  mistakes consistent with the whole answer are reported), and one that would also change
  entries the student got right says how many and ranks lower;
- when no single mistake reproduces the answer, pairs are tried (a mistake made on top of
  another, e.g. a flipped kernel and a forgotten bias) and both are reported;
- one or two wrong entries that nothing explains are an ``arithmetic-slip`` naming them, with
  the expected value of each unless the solution is hidden;
- mistakes that coincide on this problem (``flipped-kernel`` and ``unrotated-kernel`` for dE/dx
  with dE/dy given, ``flipped-kernel`` and ``swapped-operands`` for dE/dw, a transposed
  kernel and column-major numbering of a square input's Toeplitz matrix) are one line, under
  the more common code, saying why (:attr:`Diagnosis.same_as` names the other);
- order: by how much of the answer a diagnosis explains, then by how common the mistake is
  (``index-shift`` before ``padding`` when both give an off-by-one window), then catalogue
  order. Pure rearrangements of the result (transpose, displacement, rotation, renumbering)
  must reproduce the answer exactly. No code is reported for a correct answer.

The codes:

``wrong-shape``
    the answer cannot be laid out as the expected shape (the expected shape is stated; if the
    entries are right in row-major order, the explanation says so).
``flipped-kernel``
    the layer with ``flip`` toggled (true convolution instead of cross-correlation, or the
    reverse), the whole computation redone (with ``target``, dE/dy comes from the flipped
    forward pass).
``transposed``
    the answer is the transpose of the result (last two axes), or the result computed with the
    kernel transposed (w_ij read as w_ji; square kernels).
``padding``
    the layer with padding 0, padding one more or one less on each side, or all of it on one
    side; for dE/dx also the gradient over the zero-padded input, not cropped.
``stride``
    the layer with stride 1; for dE/dx and dE/dw of a strided conv also the backward pass with
    dE/dy not stride-dilated (as if the layer had stride 1).
``missing-bias``
    the layer without bias (output; gradients when dE/dy comes from ``target``).
``unrotated-kernel``
    dE/dx computed as the full correlation of dE/dy with the kernel not rotated by 180 degrees.
``valid-correlation``
    dE/dx as a valid instead of a full correlation (dE/dy not padded by k-1).
``stride-cropped``
    dE/dw of a strided conv with the stride-1 formula, cropped to the kernel's shape.
``bias-not-summed``
    dE/db not summed over the output positions (dE/dy itself, or its first position).
    (Layers have no batch axis, so a missing sum over the batch cannot occur.)
``channel-axis``
    the weights' channel axes swapped (w[c_in, c_out] for w[c_out, c_in]).
``first-filter``
    only the first filter used (every output channel, or the whole of dE/dx).
``avg-pool-count``
    an average pool divided by the count of real inputs instead of the window size, or the
    reverse (``count_include_pad`` toggled). Forgetting the 1/|window| is ``scale``.
``max-pool-broadcast``, ``max-pool-averaged``, ``max-pool-ties``, ``max-pool-overwrite``
    max-pool backward with dE/dy copied to every input of the window, averaged over it, sent to
    the wrong maximum on ties (the other policy, or the last maximum), or written with ``=``
    where windows overlap (instead of ``+=``). Numeric x only.
``sign``
    the answer is the negative of the result (yhat - y instead of y - yhat).
``scale``
    the answer is a constant multiple of the result (the factor is named: 2 = the 1/2 of E
    dropped, 1/N = mean instead of sum over the N outputs, ...); average pooling also with the
    window sum instead of the mean (per-window divisor).
``toeplitz-convention``
    the matrix of the other convention (W vs W^T), or rows/columns numbered column-major.
``index-shift``
    the result displaced by one position along spatial axes (zero-filled),
    the output recomputed with the window one position off, a symbolic answer whose symbol
    indices are all shifted by one (0-based x_00 for 1-based x_11), or an output size off by one.
``swapped-operands``
    dE/dw as dE/dy correlated with x (the result rotated by 180 degrees), or x convolved instead
    of correlated with dE/dy (dE/dy rotated).
``forward-size-formula``
    a transposed convolution's output size from the forward convolution's formula.
``arithmetic-slip``
    one or two entries wrong and no mistake explains them.

Codes that cannot occur for a layer are not tried (``missing-bias`` without bias, ``stride``
with stride 1, ``unrotated-kernel`` for pools...).

Values
------
Given values (``x``, ``w``, ``b``, ``dy``, ``target``) are read by the same function as
:meth:`Derivation.evaluate`'s, for the API, problem files and the CLI alike
(:func:`symconv.core.evaluate.read_values`): nested lists, arrays, Fractions, numbers and
text in the answer grammar; a ragged list names the row that differs. ``str(result)`` is the
readable report (:meth:`CheckResult.to_text`).

Problem files and grading
-------------------------
:func:`load_problem` reads a problem file (:mod:`.problems` describes the format);
:func:`grade_folder` checks a folder of answer files against it and :func:`report_text`
writes the CSV or JSON report (:mod:`.grade`). The commands ``symconv check`` and
``symconv grade`` live in :mod:`symconv.cli.check` and :mod:`symconv.cli.grade`.

Modules
-------
``values`` (given values as exact arrays), ``compute`` (the expected quantities for a layer or
a variant of it), ``symbols`` and ``answer`` (reading an answer), ``compare`` (entry
comparison), ``catalogue`` and ``mistakes/`` (the mistake catalogue), ``diagnose`` (naming the
mistakes), ``check`` (the entry point), ``result`` (:class:`CheckResult`), ``problems``,
``grade`` and ``files`` (problem and answer files, folder grading, reports).
"""

from __future__ import annotations

from .answer import strip_comments
from .catalogue import DIAGNOSES
from .check import check
from .compute import QUANTITIES
from .grade import REPORT_FIELDS, grade_folder, report_text
from .problems import Problem, load_problem
from .result import CheckResult, Diagnosis, Mismatch

__all__ = [
    "QUANTITIES",
    "DIAGNOSES",
    "CheckResult",
    "Diagnosis",
    "Mismatch",
    "Problem",
    "check",
    "load_problem",
    "grade_folder",
    "strip_comments",
    "REPORT_FIELDS",
    "report_text",
]
