"""Safe parsing of student answers: numbers, vectors, matrices and expressions.

Answer text comes from students, so it is never handed to ``eval``, ``exec``,
``sympify``, ``parse_expr`` or ``ast.literal_eval``.  It goes through four
stages, each of which rejects anything it does not know with an
:class:`AnswerError` whose one-line message names the offending text and its
line and column:

1. **Character whitelist** and size caps (``max_chars``).
2. **Nesting check**: brackets are counted iteratively, before any recursive
   parsing, so deep nesting is an error and never a ``RecursionError``.
3. **Tokenizer**: numbers, words (``x11``, ``dy``), a few operators, and the
   LaTeX commands this module knows.
4. **Grammar**: a small recursive-descent parser that builds SymPy objects
   directly (``sympy.Integer``, ``sympy.Rational``, ``sympy.Add``, ``sympy.Mul``,
   ``sympy.Pow``) from validated tokens.  Every power, product and sum is
   checked against a size budget before SymPy evaluates it, so inputs such as
   ``9**9**9`` or ``((9^8)^8)^8`` fail fast instead of hanging.

Formats (detected automatically, see :func:`parse_answer_ex`)
-------------------------------------------------------------
``json``
    JSON nested lists of numbers and strings: ``[[1, 2.5], [-3, "3/4"]]``.
    Strings are parsed as entries.
``list``
    Python/NumPy/SymPy list literals whose entries may be expressions:
    ``[[x11*w11 + x12 w12, 0], [1, 2]]``, NumPy's printed form
    ``[[1 2]\\n [3 4]]``, and the wrappers ``array(...)``, ``tensor(...)``,
    ``Matrix(...)``, ``np.array(...)``, ``numpy.array(...)`` and ``torch.tensor(...)``
    with ``dtype=...`` keywords (:mod:`.wrappers`: recognised, never evaluated).
``matlab``
    ``[1 2; 3 4]``: rows ended by ``;`` (or by newlines in a list without commas).
``rows``
    One row per line (``;`` also ends a row).  **If any line contains a comma,
    commas separate entries and whitespace is implicit multiplication.**
    Otherwise whitespace separates entries, MATLAB-style: ``1 -2 3`` is three
    entries, while whitespace next to an operator joins (``1 - 2`` is one
    entry).  A line that both has whitespace-separated parts and a binary
    ``+``/``-`` (``x11 w11 + x12 w12``) is ambiguous: a one-line answer is then
    read as a single expression, in a multi-line answer it is an error that
    asks for commas or ``*``.  One line gives a 1-D vector (a single entry on
    one line gives a scalar), several lines a 2-D matrix.  Text without commas
    that looks like LaTeX (a command such as ``\\frac`` or ``\\cdot``, or
    ``$`` delimiters) is one expression, as in LaTeX, and so is any rows-format
    text when the caller passes ``expect_scalar=True``.
``latex``
    ``\\begin{bmatrix} ... \\end{bmatrix}`` (also ``pmatrix``, ``matrix``,
    ``vmatrix``, ``Bmatrix``, ``Vmatrix``, ``smallmatrix`` and
    ``\\begin{array}{cc}``), ``&`` between entries and ``\\\\`` between rows;
    also bare ``1 & 2 \\\\ 3 & 4``, or inside ``\\left[ ... \\right]``.  Always
    2-D, shaped as written (a single row gives shape ``(1, n)``).  Inside LaTeX,
    whitespace is multiplication.
``scalar``
    A single number or expression.

Anywhere, the answer may be wrapped in ``$...$``, ``$$...$$``, ``\\[...\\]`` or
``\\(...\\)`` and may start with a label such as ``W =`` (everything before a
single top-level ``=`` is ignored).

Entries
-------
Integers, decimals (``1.5``, ``-0.25``, ``1e-3``, kept exact as rationals),
fractions ``3/4``, ``\\frac{3}{4}`` (``\\dfrac``, ``\\tfrac``, ``\\frac34``),
``+ - * /``, ``\\cdot``, ``\\times``, ``\\div``, powers ``^`` or ``**`` with a
small integer exponent (``|n| <= 8``, written ``2``, ``-1``, ``{-1}`` or
``(2)``), parentheses ``()``, LaTeX groups ``{}``, ``\\left( \\right)``, and
implicit multiplication (``2x11``, ``x11 w11``, ``(a)(b)``).  Implicit
multiplication binds like ``*`` (so ``1/2x`` is ``(1/2)*x``); two numbers in a
row inside one entry (``x11 + 2 3``) are an error.

Variables are mapped to the layer's symbols by the caller's ``resolve(kind,
indices)`` callback.  Letters come from ``aliases`` (default ``x``, ``w``,
``b``, ``y``).  Accepted spellings, shown for ``x``:

* ``x11``, ``x_11``, ``x_{11}`` -> indices ``(1, 1)`` (a digit run without
  commas gives one index per digit), ``x_{1,10}`` -> ``(1, 10)``, ``x_1`` ->
  ``(1,)``, ``b`` -> ``()``.
* upstream gradient (kind ``"dy"``): ``dy11``, ``dy_{11}``, ``dE/dy_{11}``,
  ``dEdy11``, ``\\partial E/\\partial y_{11}``,
  ``\\frac{\\partial E}{\\partial y_{11}}``, ``\\frac{dE}{dy_{11}}``; ``L``
  may stand for ``E``.  The same forms with ``x``, ``w``, ``b`` give kinds
  ``"dx"``, ``"dw"``, ``"db"``.
* prediction (kind ``"yhat"``): ``yhat11``, ``\\hat{y}_{11}``, ``\\hat y_{11}``.

Any other word (Greek letters, ``lambda``, ``import``...) or LaTeX command is
an error.

Budgets: a number literal has at most 1000 digits (decimal exponent at most
1000), coefficients stay below about 20000 bits, one entry would expand to at
most 10000 terms and the whole answer to at most 200000 (estimated from the
parse tree, before SymPy builds anything big).

Modules
-------
``limits``
    The size caps and the cost-estimated node the grammar builds.
``context``
    Per-call state: symbol resolution through ``resolve`` and ``aliases``,
    entry and term counting, error messages with line and column.
``tokens``
    Character whitelist, nesting check, tokenizer (LaTeX commands included)
    and the token cursor.
``expr`` and ``notation``
    The grammar of one entry: arithmetic, and the course's notation
    (variables, subscripts, hats, gradients, fractions).
``layouts``
    Lists, rows, LaTeX environments and JSON; format detection; the array.
``wrappers``
    The NumPy / PyTorch calls pasted around a list, blanked before tokenizing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping

import numpy as np
import sympy

from ..errors import AnswerError
from .context import DEFAULT_ALIASES, KINDS, _check_aliases, _Context, _q
from .layouts import _dispatch, _strip_label, _to_array
from .tokens import _UNICODE, _check_characters, _check_nesting, _tokenize
from .wrappers import _unwrap

__all__ = [
    "AnswerError",
    "ParsedAnswer",
    "parse_answer",
    "parse_answer_ex",
    "parse_number",
    "answer_to_text",
    "KINDS",
    "DEFAULT_ALIASES",
]


@dataclasses.dataclass(frozen=True, eq=False)
class ParsedAnswer:
    """The result of :func:`parse_answer_ex`.

    Attributes:
        values: object ndarray of SymPy expressions, shaped as written.
        has_decimals: True when a decimal literal (``0.5``, ``1e-3``) occurred;
            decimals are stored exactly as rationals, so a caller applying a
            tolerance knows to do so.
        fmt: the detected format: ``"json"``, ``"list"``, ``"matlab"``,
            ``"rows"``, ``"latex"`` or ``"scalar"``.
    """

    values: np.ndarray
    has_decimals: bool
    fmt: str


def parse_answer_ex(
    text: str,
    *,
    resolve: Callable[[str, tuple[int, ...]], sympy.Expr | None] | None = None,
    aliases: Mapping[str, str] | None = None,
    expect_scalar: bool = False,
    max_chars: int = 100_000,
    max_depth: int = 32,
    max_entries: int = 100_000,
) -> ParsedAnswer:
    """Parse student answer text safely; return values, decimal flag and format.

    Args:
        text: the answer as the student wrote it (see the module docstring for
            the accepted formats and entry grammar).
        resolve: ``resolve(kind, indices)`` maps a variable to the layer's SymPy
            symbol, or returns None if there is no such variable.  ``kind`` is
            one of :data:`KINDS`; ``indices`` are the integers as written (no
            base conversion), ``()`` for an unindexed ``b``.  Without
            ``resolve``, only numbers are accepted.
        aliases: letters accepted for variables, mapped to ``"x"``, ``"w"``,
            ``"b"`` or ``"y"`` (default :data:`DEFAULT_ALIASES`); ``d<letter>``
            and ``<letter>hat`` follow.  Example: ``{"X": "x", "F": "w"}``.
        expect_scalar: read a rows-format answer as one expression, whitespace
            and newlines included (``x11 w11`` is then a product, not two
            entries).  Bracket and LaTeX answers are unaffected.
        max_chars: longer text is rejected before anything else.
        max_depth: deeper bracket nesting is rejected (counted iteratively).
        max_entries: more entries are rejected as soon as they are read.

    Returns:
        A :class:`ParsedAnswer`.

    Raises:
        AnswerError: with a one-line message naming what is wrong, the offending
            text and its line and column.
    """
    if not isinstance(text, str):
        raise AnswerError(f"answer: expected text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise AnswerError(
            f"answer: text is {len(text)} characters long, more than max_chars={max_chars}"
        )
    text = text.translate(_UNICODE)
    _check_characters(text)
    _check_nesting(text, max_depth)
    fast = _integer_lists(text, max_entries)
    if fast is not None:
        return ParsedAnswer(fast, False, "json")
    ctx = _Context(text, resolve, _check_aliases(aliases), max_entries)
    _unwrap(ctx)
    toks = _tokenize(ctx)
    toks = _strip_label(ctx, toks)
    if not any(t.kind != "nl" for t in toks):
        raise AnswerError("answer: the answer is empty")
    try:
        tree, fmt = _dispatch(ctx, toks, expect_scalar)
    except RecursionError:
        raise AnswerError(
            f"answer: nested too deeply to parse (max_depth={max_depth} is too "
            "large for this Python)"
        ) from None
    return ParsedAnswer(_to_array(ctx, tree), ctx.has_decimals, fmt)


#: an answer of integers in brackets and nothing else: ``[[1, -2], [3, 4]]``
_INTEGER_LISTS = re.compile(r"\s*\[[\s\[\],0-9-]*\]\s*")
_INTEGER_TOKENS = re.compile(r"-?[0-9]+|[\[\],]|-")


def _integer_lists(text: str, max_entries: int):
    """The fast path for the commonest answer, nested brackets of integers (a large W pasted
    from a program), read token by token by a small state machine instead of the full
    grammar. ``None`` unless the text is exactly comma-separated, rectangular lists of
    integers within the limits: the full parser then decides, and words its errors."""
    if not _INTEGER_LISTS.fullmatch(text):
        return None
    stack, top, expect_value = [], None, True
    for tok in _INTEGER_TOKENS.findall(text):
        if tok == "[":
            if not expect_value:
                return None
            stack.append([])
        elif tok == "]":
            if not stack or (expect_value and stack[-1]):
                return None  # "[" followed by "]" after a comma, or one "]" too many
            done = stack.pop()
            if not stack:
                if top is not None:
                    return None
                top = done
            else:
                stack[-1].append(done)
            expect_value = False
        elif tok == ",":
            if expect_value or not stack:
                return None
            expect_value = True
        else:
            if not expect_value or not stack or tok == "-" or tok.lstrip("-")[:1] == "0" != tok:
                return None  # "1 2", a lone "-", a leading zero ("01")
            stack[-1].append(int(tok))
            expect_value = False
    if stack or top is None:
        return None
    arr = np.array(top, dtype=object)
    if arr.size == 0 or arr.size > max_entries or any(type(v) is not int for v in arr.flat):
        return None  # empty, too large, or ragged (lists where numbers should be)
    out = np.empty(arr.shape, dtype=object)
    out.flat[:] = [sympy.Integer(v) for v in arr.flat]
    return out


def parse_answer(
    text: str,
    *,
    resolve: Callable[[str, tuple[int, ...]], sympy.Expr | None] | None = None,
    aliases: Mapping[str, str] | None = None,
    expect_scalar: bool = False,
    max_chars: int = 100_000,
    max_depth: int = 32,
    max_entries: int = 100_000,
) -> np.ndarray:
    """Parse student answer text safely into an object ndarray of SymPy values.

    A scalar gives a 0-d array, ``[1, 2]`` shape ``(2,)``, a matrix shape
    ``(rows, cols)`` and nested lists N-d arrays.  See :func:`parse_answer_ex`
    for the arguments; this returns only its ``values``.
    """
    return parse_answer_ex(
        text,
        resolve=resolve,
        aliases=aliases,
        expect_scalar=expect_scalar,
        max_chars=max_chars,
        max_depth=max_depth,
        max_entries=max_entries,
    ).values


def parse_number(text: str) -> sympy.Rational:
    """Parse one exact number: ``3``, ``-0.25``, ``1e-3``, ``3/4``, ``\\frac{3}{4}``.

    Decimals are returned exactly as rationals (``0.1`` is ``1/10``).

    Raises:
        AnswerError: if the text is not a single number.
    """
    values = parse_answer(text, max_chars=10_000)
    if values.ndim != 0 or not isinstance(values[()], sympy.Rational):
        raise AnswerError(f"answer: expected a single number, got {_q(text)}")
    return values[()]


def answer_to_text(values) -> str:
    """Render parsed values as a nested list such as ``[[1, 3/4], [x_11, 0]]``.

    This is for display (in reports and messages); entries are printed with
    SymPy's ``sstr``, so symbols appear under the names the caller gave them.
    """
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 0:
        return sympy.sstr(arr[()])

    def render(a: np.ndarray) -> str:
        if a.ndim == 1:
            return "[" + ", ".join(sympy.sstr(v) for v in a) + "]"
        return "[" + ", ".join(render(sub) for sub in a) + "]"

    return render(arr)
