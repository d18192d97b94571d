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
    ``[[1 2]\\n [3 4]]``, and the wrappers ``array(...)`` and ``Matrix(...)``.
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
    also bare ``1 & 2 \\\\ 3 & 4``.  Always 2-D, shaped as written (a single row
    gives shape ``(1, n)``).  Inside LaTeX, whitespace is multiplication.
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
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Callable, Mapping

import numpy as np
import sympy

try:
    from ..errors import AnswerError
except ImportError:  # errors.py not written yet, or imported outside the package

    class AnswerError(ValueError):
        """Raised when answer text cannot be parsed safely and unambiguously."""


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

#: Variable kinds passed to ``resolve``.
KINDS = ("x", "w", "b", "y", "dy", "yhat", "dx", "dw", "db")

#: Default letters and the base kind each one stands for.
DEFAULT_ALIASES = {"x": "x", "w": "w", "b": "b", "y": "y"}

_BASE_KINDS = ("x", "w", "b", "y")
_MAX_EXPONENT = 8  # |n| in x^n
_MAX_NUMBER_DIGITS = 1000  # digits in one number literal
_MAX_DECIMAL_EXPONENT = 1000  # |e| in 1e-3
_MAX_INDEX_DIGITS = 6  # digits in one comma-separated index
_MAX_BITS = 20_000  # size estimate of any rational coefficient
_MAX_TERMS = 10_000  # estimate of the expanded size of one entry
_MAX_TOTAL_TERMS = 200_000  # the same, summed over all entries

_ALLOWED_CHARS = frozenset(
    string.ascii_letters + string.digits + " \t\r\n" + "+-*/^()[]{},.&\\_$=;'\"|"
)
_UNICODE = str.maketrans(
    {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00a0": " "}
)
_OPEN_CHARS = "([{"
_CLOSE_CHARS = ")]}"
_NUM_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUM_PARTS_RE = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_WORD_RE = re.compile(r"[A-Za-z]+\d*")
_WORD_PARTS_RE = re.compile(r"([A-Za-z]+)(\d*)")
_LETTERS_RE = re.compile(r"[A-Za-z]+")
_OP_CHARS = "+-/^()[]{},&;=_|"
# LaTeX commands that are operators, and those that are only spacing.
_CMD_OPS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}
_CMD_SPACES = frozenset({"quad", "qquad", "displaystyle", "textstyle", "hline", "nonumber"})
_FRACS = frozenset({"frac", "dfrac", "tfrac"})
_HATS = frozenset({"hat", "widehat"})
_ENVS = frozenset({"bmatrix", "pmatrix", "matrix", "vmatrix", "Bmatrix", "Vmatrix", "smallmatrix"})
_KNOWN_CMDS = _FRACS | _HATS | {"partial", "begin", "end"}
_LOSS_LETTERS = ("E", "L")
_PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclasses.dataclass(frozen=True, eq=False)
class ParsedAnswer:
    """The result of :func:`parse_answer_ex`.

    Attributes:
        values: object ndarray of SymPy expressions, shaped as written.
        has_decimals: True when a decimal literal (``0.5``, ``1e-3``) occurred;
            decimals are stored exactly as rationals, so a caller applying a
            tolerance knows to do so.
        fmt: the detected format: ``"json"``, ``"list"``, ``"rows"``,
            ``"latex"`` or ``"scalar"``.
    """

    values: np.ndarray
    has_decimals: bool
    fmt: str


# --------------------------------------------------------------------------
# small helpers


def _q(text: str) -> str:
    """Quote ``text`` for a one-line error message, shortened if long."""
    if len(text) > 40:
        text = text[:37] + "..."
    if text.isprintable() and "'" not in text:
        return f"'{text}'"
    return repr(text)


def _where(text: str, offset: int) -> str:
    """Return ``"line L, column C"`` (1-based) for an offset into ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _bits(expr: sympy.Basic) -> int:
    """Size in bits of a rational number, 0 for anything else."""
    if isinstance(expr, sympy.Rational):
        return max(int(expr.p).bit_length(), int(expr.q).bit_length())
    return 0


class _Tok:
    """One token: ``kind`` is num, word, cmd, op, rowsep, nl, qopen or qclose.

    ``text`` is the number or word as written, the command name without its
    backslash, or the operator (``**`` is stored as ``^``).  ``start``/``end``
    are offsets into the answer text; ``ws`` tells whether whitespace preceded
    the token.
    """

    __slots__ = ("kind", "text", "start", "end", "ws")

    def __init__(self, kind: str, text: str, start: int, end: int, ws: bool):
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.ws = ws

    def is_op(self, *ops: str) -> bool:
        """True if this is one of the operators ``ops``."""
        return self.kind == "op" and self.text in ops

    def __repr__(self) -> str:
        return f"_Tok({self.kind!r}, {self.text!r}, {self.start})"


def _delta(tok: _Tok) -> int:
    """Nesting change caused by ``tok`` (+1 opens, -1 closes)."""
    if tok.kind == "op":
        if tok.text in _OPEN_CHARS:
            return 1
        if tok.text in _CLOSE_CHARS:
            return -1
    elif tok.kind == "qopen":
        return 1
    elif tok.kind == "qclose":
        return -1
    return 0


def _ends_operand(tok: _Tok) -> bool:
    """True if ``tok`` can be the last token of an entry (``d`` of ``d y`` cannot)."""
    if tok.kind == "word":
        return tok.text != "d"
    return tok.kind in ("num", "qclose") or tok.is_op(")", "]", "}")


def _starts_operand(tok: _Tok) -> bool:
    """True if ``tok`` can be the first token of an entry (not counting signs)."""
    if tok.kind in ("num", "word", "qopen"):
        return True
    if tok.kind == "cmd":
        return tok.text not in ("begin", "end")
    return tok.is_op("(", "[", "{")


class _Node:
    """A parsed SymPy expression with cost estimates.

    ``terms`` bounds the number of terms after ``sympy.expand``; ``bits``
    bounds the size of the rational coefficients.  Both are checked before
    SymPy is asked to evaluate anything that could grow.
    """

    __slots__ = ("expr", "terms", "bits")

    def __init__(self, expr: sympy.Basic, terms: int = 1, bits: int = 0):
        self.expr = expr
        self.terms = terms
        self.bits = bits


class _Entry:
    """A parsed entry and where it started."""

    __slots__ = ("expr", "start")

    def __init__(self, expr: sympy.Basic, start: int):
        self.expr = expr
        self.start = start


class _Seq:
    """A parsed list (row, sublist) and where it started."""

    __slots__ = ("items", "start")

    def __init__(self, items: list, start: int):
        self.items = items
        self.start = start


class _Context:
    """Everything one call of :func:`parse_answer_ex` shares."""

    def __init__(self, text, resolve, aliases, max_entries):
        self.text = text
        self.resolve = resolve
        self.aliases = aliases
        self.max_entries = max_entries
        self.entries = 0
        self.total_terms = 0
        self.has_decimals = False
        self.math_mode = False  # saw $...$, \[...\] or \(...\)

    def error(self, message: str, offset: int | None = None) -> AnswerError:
        """Build an :class:`AnswerError` for ``message`` at ``offset``."""
        if offset is None:
            return AnswerError(f"answer: {message}")
        return AnswerError(f"answer: {message} at {_where(self.text, offset)}")

    def src(self, start: int, end: int) -> str:
        """The answer text between two offsets."""
        return self.text[start:end]

    def kind_of(self, letters: str) -> str | None:
        """Map a word's letters (``x``, ``dy``, ``yhat``, ``dEdw``) to a kind."""
        aliases = self.aliases
        if letters in aliases:
            return aliases[letters]
        if letters.startswith("d") and letters[1:] in aliases:
            return "d" + aliases[letters[1:]]
        if letters.endswith("hat") and aliases.get(letters[:-3]) == "y":
            return "yhat"
        for loss in _LOSS_LETTERS:
            prefix = "d" + loss + "d"
            if letters.startswith(prefix) and letters[3:] in aliases:
                return "d" + aliases[letters[3:]]
        return None

    def lookup(self, kind: str, indices: tuple, start: int, end: int) -> _Node:
        """Resolve a variable through the caller's callback."""
        written = self.src(start, end)
        if self.resolve is None:
            raise self.error(
                f"unknown symbol {_q(written)} (only numbers are accepted here)",
                start,
            )
        expr = self.resolve(kind, indices)
        if expr is None:
            raise self.error(
                f"unknown symbol {_q(written)} (kind {kind!r}, indices "
                f"{indices!r} is not a variable of this layer)",
                start,
            )
        if isinstance(expr, int) and not isinstance(expr, bool):
            expr = sympy.Integer(expr)
        if not isinstance(expr, sympy.Basic):
            raise TypeError(
                "resolve must return a SymPy expression or None, got "
                f"{type(expr).__name__} for {kind!r} {indices!r}"
            )
        return _Node(expr, len(sympy.Add.make_args(expr)), _bits(expr))

    def count_entry(self, node: _Node, start: int) -> _Entry:
        """Count an entry against ``max_entries`` and the term budget."""
        self.entries += 1
        if self.entries > self.max_entries:
            raise self.error(f"more than max_entries={self.max_entries} entries", start)
        self.total_terms += node.terms
        if self.total_terms > _MAX_TOTAL_TERMS:
            raise self.error(
                f"too large: the entries so far would expand to more than "
                f"{_MAX_TOTAL_TERMS} terms",
                start,
            )
        return _Entry(node.expr, start)


# --------------------------------------------------------------------------
# stage 1-3: characters, nesting, tokens


def _check_characters(text: str) -> None:
    """Reject any character outside the whitelist, naming it and its place."""
    for offset, char in enumerate(text):
        if char not in _ALLOWED_CHARS:
            raise AnswerError(
                f"answer: character {char!r} is not allowed at {_where(text, offset)}"
            )


def _check_nesting(text: str, max_depth: int) -> None:
    """Count brackets iteratively and reject nesting deeper than ``max_depth``."""
    depth = 0
    for offset, char in enumerate(text):
        if char in _OPEN_CHARS:
            depth += 1
            if depth > max_depth:
                raise AnswerError(
                    f"answer: brackets nested deeper than max_depth={max_depth} "
                    f"at {_where(text, offset)}"
                )
        elif char in _CLOSE_CHARS:
            depth -= 1
            if depth < 0:
                raise AnswerError(f"answer: unmatched {char!r} at {_where(text, offset)}")


def _tokenize(ctx: _Context) -> list[_Tok]:
    """Split the answer text into tokens; raise on anything unknown."""
    text = ctx.text
    n = len(text)
    toks: list[_Tok] = []
    i = 0
    ws = False
    quote = None
    quote_start = 0

    def emit(kind: str, value: str, start: int, end: int) -> None:
        nonlocal ws
        toks.append(_Tok(kind, value, start, end, ws))
        ws = False

    while i < n:
        c = text[i]
        if c in " \t\r$":
            ctx.math_mode = ctx.math_mode or c == "$"
            ws = True
            i += 1
        elif c == "\n":
            emit("nl", c, i, i + 1)
            ws = True
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            if c == "." and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "."):
                raise ctx.error(f"unexpected '.' in {_q(text[i - 1 : i + 2])}", i)
            end = _NUM_RE.match(text, i).end()
            if end < n and text[end] == ".":
                raise ctx.error(f"malformed number {_q(text[i : end + 1])}", i)
            emit("num", text[i:end], i, end)
            i = end
        elif c.isalpha():
            end = _WORD_RE.match(text, i).end()
            emit("word", text[i:end], i, end)
            i = end
        elif c == "\\":
            i, spacing = _tokenize_backslash(ctx, i, quote is not None, emit)
            ws = ws or spacing
        elif c in "'\"":
            if quote is None:
                quote, quote_start = c, i
                emit("qopen", c, i, i + 1)
            elif quote == c:
                quote = None
                emit("qclose", c, i, i + 1)
            else:
                raise ctx.error(f"unexpected {c!r} inside a {quote}-quoted entry", i)
            i += 1
        elif c == "*":
            if i + 1 < n and text[i + 1] == "*":
                emit("op", "^", i, i + 2)
                i += 2
            else:
                emit("op", "*", i, i + 1)
                i += 1
        elif c in _OP_CHARS:
            emit("op", c, i, i + 1)
            i += 1
        elif c == ".":
            raise ctx.error(
                "'.' is not allowed here (attribute access and other Python "
                "syntax are not accepted)",
                i,
            )
        else:  # pragma: no cover - the character whitelist runs first
            raise ctx.error(f"character {c!r} is not allowed", i)
    if quote is not None:
        raise ctx.error(f"unclosed quote {quote}", quote_start)
    _check_balance(ctx, toks)
    return toks


def _tokenize_backslash(ctx: _Context, i: int, in_quote: bool, emit) -> tuple[int, bool]:
    """Tokenize the backslash sequence at ``i``.

    Returns the offset after it and whether the sequence was only spacing or a
    math delimiter (``\\,``, ``\\quad``, ``\\[``), which counts as whitespace.
    """
    text = ctx.text
    n = len(text)
    j = i + 1
    if j >= n:
        raise ctx.error("lone backslash", i)
    d = text[j]
    if d == "\\":
        if in_quote and j + 1 < n and text[j + 1].isalpha():
            return j, False  # an escaped backslash in a quoted entry: "\\frac"
        emit("rowsep", "\\\\", i, j + 1)
        return j + 1, False
    if d.isalpha():
        name = _LETTERS_RE.match(text, j).group()
        end = j + len(name)
        if name in ("left", "right"):
            k = end
            while k < n and text[k] in " \t":
                k += 1
            if k >= n or text[k] not in "()[]":
                got = text[k] if k < n else "the end"
                raise ctx.error(
                    f"unsupported delimiter after '\\{name}' (only ( ) [ ]), got {_q(got)}",
                    i,
                )
            emit("op", "(" if name == "left" else ")", i, k + 1)
            return k + 1, False
        if name in _CMD_OPS:
            emit("op", _CMD_OPS[name], i, end)
            return end, False
        if name in _CMD_SPACES:
            return end, True
        emit("cmd", name, i, end)
        return end, False
    if d in "[]()":
        ctx.math_mode = True
        return j + 1, True
    if d in ",; ":
        return j + 1, True
    raise ctx.error(f"unknown LaTeX command {_q(text[i : j + 1])}", i)


def _check_balance(ctx: _Context, toks: list[_Tok]) -> None:
    """Check that brackets and quotes pair up (iteratively, with positions)."""
    stack: list[_Tok] = []
    for tok in toks:
        step = _delta(tok)
        if step > 0:
            stack.append(tok)
        elif step < 0:
            if not stack:
                raise ctx.error(f"unmatched {_q(ctx.src(tok.start, tok.end))}", tok.start)
            opener = stack.pop()
            if opener.kind == "qopen" or tok.kind == "qclose":
                ok = opener.kind == "qopen" and tok.kind == "qclose"
            else:
                ok = _PAIRS[opener.text] == tok.text
            if not ok:
                raise ctx.error(
                    f"{_q(ctx.src(opener.start, opener.end))} at "
                    f"{_where(ctx.text, opener.start)} is closed by "
                    f"{_q(ctx.src(tok.start, tok.end))}",
                    tok.start,
                )
    if stack:
        tok = stack[-1]
        raise ctx.error(f"unclosed {_q(ctx.src(tok.start, tok.end))}", tok.start)


def _split_top(toks: list[_Tok], is_sep) -> tuple[list[list[_Tok]], list[_Tok]]:
    """Split ``toks`` at top-level tokens for which ``is_sep`` is true."""
    chunks: list[list[_Tok]] = [[]]
    seps: list[_Tok] = []
    depth = 0
    for tok in toks:
        if depth == 0 and is_sep(tok):
            chunks.append([])
            seps.append(tok)
            continue
        depth += _delta(tok)
        chunks[-1].append(tok)
    return chunks, seps


def _split_whitespace(toks: list[_Tok]) -> tuple[list[list[_Tok]], _Tok | None]:
    """Split a comma-free row at whitespace, MATLAB-style.

    Whitespace separates two entries when the token before it can end an entry
    and the token after it can start one; a sign written right before its
    operand after whitespace (``1 -2``) also starts a new entry.  Returns the
    chunks and, when the row also contains a binary ``+``/``-`` (so that
    whitespace might have meant multiplication), that operator token.
    """
    chunks: list[list[_Tok]] = [[]]
    depth = 0
    binary_pm = None
    separated = False
    for k, tok in enumerate(toks):
        if tok.kind == "nl":
            continue
        if depth == 0 and chunks[-1]:
            prev = chunks[-1][-1]
            is_sign = tok.is_op("+", "-")
            if tok.ws and _ends_operand(prev):
                nxt = toks[k + 1] if k + 1 < len(toks) else None
                if _starts_operand(tok) or (
                    is_sign and nxt is not None and not nxt.ws and _starts_operand(nxt)
                ):
                    chunks.append([])
                    separated = True
                elif is_sign and binary_pm is None:
                    binary_pm = tok
            elif is_sign and _ends_operand(prev) and binary_pm is None:
                binary_pm = tok
        depth += _delta(tok)
        chunks[-1].append(tok)
    return chunks, (binary_pm if separated else None)


def _strip_label(ctx: _Context, toks: list[_Tok]) -> list[_Tok]:
    """Drop a leading label such as ``W =`` (anything before one top-level ``=``)."""
    chunks, seps = _split_top(toks, lambda t: t.is_op("="))
    if len(seps) > 1:
        raise ctx.error("more than one '=' in the answer", seps[1].start)
    if seps:
        rest = chunks[1]
        if not any(t.kind != "nl" for t in rest):
            raise ctx.error("nothing after '='", seps[0].start)
        return rest
    return toks


# --------------------------------------------------------------------------
# stage 4: expressions


def _parse_number_literal(ctx: _Context, tok: _Tok) -> _Node:
    """Turn a validated number token into an exact ``sympy.Rational``."""
    m = _NUM_PARTS_RE.fullmatch(tok.text)
    whole, frac, exp = m.group(1), m.group(2), m.group(3)
    frac = frac or ""
    digits = (whole + frac).lstrip("0") or "0"
    if len(whole) + len(frac) > _MAX_NUMBER_DIGITS:
        raise ctx.error(
            f"number {_q(tok.text)} has more than {_MAX_NUMBER_DIGITS} digits",
            tok.start,
        )
    p = int(digits)
    q = 10 ** len(frac)
    if exp is not None:
        if len(exp.lstrip("+-")) > 4 or abs(int(exp)) > _MAX_DECIMAL_EXPONENT:
            raise ctx.error(
                f"exponent of {_q(tok.text)} is larger than {_MAX_DECIMAL_EXPONENT}",
                tok.start,
            )
        e = int(exp)
        if e >= 0:
            p *= 10**e
        else:
            q *= 10 ** (-e)
    if "." in tok.text or exp is not None:
        ctx.has_decimals = True
    value = sympy.Rational(p, q)
    return _Node(value, 1, _bits(value))


class _ExprParser:
    """Recursive-descent parser for one entry.

    Grammar (``implicit`` is juxtaposition, e.g. ``2x11`` or ``x11 w11``)::

        expr     := term (('+' | '-') term)*
        term     := unary (('*' | '/' | implicit) factor)*
        unary    := ('+' | '-')* factor
        factor   := primary [('^' | '**') exponent]
        exponent := ['+'|'-'] INT | '{' ['+'|'-'] INT '}' | '(' ['+'|'-'] INT ')'
        primary  := NUMBER | variable | gradient | '(' expr ')' | '{' expr '}'
                  | '\\frac' group group

    Recursion happens only through brackets, whose depth was checked before.
    """

    def __init__(self, ctx: _Context, toks: list[_Tok]):
        self.ctx = ctx
        self.toks = [t for t in toks if t.kind != "nl"]
        self.i = 0

    # token access ---------------------------------------------------------

    def peek(self, k: int = 0) -> _Tok | None:
        """The token ``k`` places ahead, or None at the end."""
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> _Tok:
        """Consume and return the next token (the caller checked it exists)."""
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def end_offset(self) -> int:
        """Offset just after the last token, for errors at the end."""
        return self.toks[-1].end if self.toks else 0

    def unexpected(self, tok: _Tok | None, wanted: str = "") -> AnswerError:
        """Error for an unexpected token (or an early end)."""
        extra = f", expected {wanted}" if wanted else ""
        if tok is None:
            return self.ctx.error(f"the expression ends too early{extra}", self.end_offset())
        written = self.ctx.src(tok.start, tok.end)
        if tok.kind == "cmd":
            if tok.text in ("begin", "end"):
                return self.ctx.error(f"{_q(written)} is not allowed inside an entry", tok.start)
            if tok.text not in _KNOWN_CMDS:
                return self.ctx.error(f"unknown LaTeX command {_q(written)}", tok.start)
        if tok.kind in ("qopen", "qclose"):
            return self.ctx.error(
                f"unexpected quote {written} (quotes may only surround a whole entry)",
                tok.start,
            )
        return self.ctx.error(f"unexpected {_q(written)}{extra}", tok.start)

    def expect_op(self, op: str) -> _Tok:
        """Consume operator ``op`` or raise."""
        tok = self.peek()
        if tok is None or not tok.is_op(op):
            raise self.unexpected(tok, f"'{op}'")
        return self.next()

    # grammar --------------------------------------------------------------

    def parse(self) -> _Node:
        """Parse the whole token list as one expression."""
        if not self.toks:
            raise self.ctx.error("empty entry")
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise self.unexpected(tok)
        return node

    def expr(self) -> _Node:
        """``term (('+' | '-') term)*``"""
        start = self.peek().start if self.peek() else self.end_offset()
        terms = [self.term()]
        while True:
            tok = self.peek()
            if tok is None or not tok.is_op("+", "-"):
                break
            self.next()
            node = self.term()
            if tok.text == "-":
                node = _Node(-node.expr, node.terms, node.bits)
            terms.append(node)
        if len(terms) == 1:
            return terms[0]
        return self.add(terms, start)

    def term(self) -> _Node:
        """``unary (('*' | '/' | implicit) factor)*``"""
        start = self.peek().start if self.peek() else self.end_offset()
        factors = [self.unary()]
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok.is_op("*"):
                self.next()
                factors.append(self.unary())
            elif tok.is_op("/"):
                self.next()
                where = self.peek()
                node = self.unary()
                if node.expr.is_zero:
                    raise self.ctx.error(
                        "division by zero",
                        where.start if where else self.end_offset(),
                    )
                factors.append(_Node(sympy.Pow(node.expr, -1), node.terms, node.bits))
            elif tok.kind == "num" and self.toks[self.i - 1].kind == "num":
                prev = self.toks[self.i - 1]
                raise self.ctx.error(
                    f"two numbers in a row, {_q(prev.text)} and {_q(tok.text)} "
                    "(write an operator between them)",
                    tok.start,
                )
            elif _starts_operand(tok) and tok.kind != "qopen" and not tok.is_op("["):
                factors.append(self.factor())
            else:
                break
        if len(factors) == 1:
            return factors[0]
        return self.mul(factors, start)

    def unary(self) -> _Node:
        """``('+' | '-')* factor`` (signs are counted in a loop)."""
        negative = False
        while True:
            tok = self.peek()
            if tok is None or not tok.is_op("+", "-"):
                break
            self.next()
            if tok.text == "-":
                negative = not negative
        node = self.factor()
        if negative:
            node = _Node(-node.expr, node.terms, node.bits)
        return node

    def factor(self) -> _Node:
        """``primary [('^' | '**') exponent]``; chained powers are refused."""
        base = self.primary()
        tok = self.peek()
        if tok is None or not tok.is_op("^"):
            return base
        self.next()
        n = self.exponent()
        node = self.power(base, n, tok.start)
        after = self.peek()
        if after is not None and after.is_op("^"):
            raise self.ctx.error(
                "chained exponents are not accepted (use parentheses)", after.start
            )
        return node

    def exponent(self) -> int:
        """A small integer exponent, optionally signed and in ``{}`` or ``()``."""
        tok = self.peek()
        closer = None
        if tok is not None and tok.is_op("{", "("):
            closer = _PAIRS[tok.text]
            self.next()
        sign = 1
        tok = self.peek()
        if tok is not None and tok.is_op("+", "-"):
            self.next()
            sign = -1 if tok.text == "-" else 1
        tok = self.peek()
        if tok is None or tok.kind != "num" or not tok.text.isdigit():
            raise self.ctx.error(
                "an exponent must be a small integer such as 2 or -1"
                + (f", got {_q(self.ctx.src(tok.start, tok.end))}" if tok else ""),
                tok.start if tok else self.end_offset(),
            )
        self.next()
        if len(tok.text) > 3 or int(tok.text) > _MAX_EXPONENT:
            raise self.ctx.error(
                f"exponent {_q(tok.text)} is too large (at most {_MAX_EXPONENT})",
                tok.start,
            )
        if closer is not None:
            self.expect_op(closer)
        return sign * int(tok.text)

    def primary(self) -> _Node:
        """A number, a variable, a gradient, a bracketed expression or a fraction."""
        tok = self.peek()
        if tok is None:
            raise self.unexpected(None, "a number or a variable")
        if tok.kind == "num":
            self.next()
            return _parse_number_literal(self.ctx, tok)
        if tok.kind == "word":
            return self.word()
        if tok.is_op("(", "{"):
            self.next()
            node = self.expr()
            self.expect_op(_PAIRS[tok.text])
            return node
        if tok.kind == "cmd":
            if tok.text in _FRACS:
                return self.frac()
            if tok.text == "partial":
                return self.partial_gradient()
            if tok.text in _HATS:
                return self.hat()
        raise self.unexpected(tok, "a number or a variable")

    # variables --------------------------------------------------------------

    def word(self) -> _Node:
        """A variable written as a word (``x11``, ``dy``, ``yhat2``) or ``dE/d..``."""
        tok = self.next()
        letters, digits = _WORD_PARTS_RE.fullmatch(tok.text).groups()
        if letters in ("dE", "dL") and not digits:
            nxt = self.peek()
            if nxt is not None and nxt.is_op("/"):
                self.next()
                return self.differential(tok.start)
        kind = self.ctx.kind_of(letters)
        if kind is None:
            raise self.ctx.error(f"unknown symbol {_q(tok.text)}", tok.start)
        return self.finish_variable(kind, digits, tok.start)

    def finish_variable(self, kind: str, digits: str, start: int) -> _Node:
        """Read the indices (from ``digits`` or a ``_`` subscript) and resolve."""
        nxt = self.peek()
        if digits:
            if nxt is not None and nxt.is_op("_"):
                raise self.ctx.error(
                    f"indices given twice: {_q(self.ctx.src(start, nxt.start))} is followed "
                    "by '_'",
                    nxt.start,
                )
            indices = tuple(int(d) for d in digits)
        elif nxt is not None and nxt.is_op("_"):
            self.next()
            indices = self.subscript()
        else:
            indices = ()
        end = self.toks[self.i - 1].end
        return self.ctx.lookup(kind, indices, start, end)

    def subscript(self) -> tuple[int, ...]:
        """Indices after ``_``: ``11``, ``{11}``, ``{1,10}``."""
        tok = self.peek()
        if tok is not None and tok.kind == "num":
            self.next()
            return self.index_digits(tok, split=True)
        self.expect_op("{")
        parts = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "num":
                raise self.unexpected(tok, "an index")
            self.next()
            parts.append(tok)
            sep = self.peek()
            if sep is not None and sep.is_op(","):
                self.next()
                continue
            self.expect_op("}")
            break
        if len(parts) == 1:
            return self.index_digits(parts[0], split=True)
        return tuple(self.index_digits(p, split=False)[0] for p in parts)

    def index_digits(self, tok: _Tok, split: bool) -> tuple[int, ...]:
        """Indices from a digit run: one per digit, or one integer."""
        if not tok.text.isdigit():
            raise self.ctx.error(f"an index must be a whole number, got {_q(tok.text)}", tok.start)
        if split:
            return tuple(int(d) for d in tok.text)
        if len(tok.text) > _MAX_INDEX_DIGITS:
            raise self.ctx.error(f"index {_q(tok.text)} is too large", tok.start)
        return (int(tok.text),)

    def hat(self) -> _Node:
        """``\\hat{y}_{11}``, ``\\hat y_{11}`` or ``\\hat{y_{11}}`` (kind ``yhat``)."""
        cmd = self.next()
        braced = False
        tok = self.peek()
        if tok is not None and tok.is_op("{"):
            self.next()
            braced = True
        tok = self.peek()
        if tok is None or tok.kind != "word":
            raise self.unexpected(tok, "a variable after '\\hat'")
        self.next()
        letters, digits = _WORD_PARTS_RE.fullmatch(tok.text).groups()
        if self.ctx.aliases.get(letters) != "y":
            raise self.ctx.error(
                f"'\\hat' only applies to the output y, got {_q(tok.text)}", tok.start
            )
        if braced:
            nxt = self.peek()
            if nxt is not None and nxt.is_op("_"):
                self.next()
                indices = self.subscript()
                self.expect_op("}")
                end = self.toks[self.i - 1].end
                return self.ctx.lookup("yhat", indices, cmd.start, end)
            self.expect_op("}")
        return self.finish_variable("yhat", digits, cmd.start)

    # gradients ------------------------------------------------------------

    def partial_gradient(self) -> _Node:
        """``\\partial E / \\partial y_{11}``."""
        cmd = self.next()
        tok = self.peek()
        if tok is None or tok.kind != "word" or tok.text not in _LOSS_LETTERS:
            raise self.unexpected(tok, "'E' after '\\partial'")
        self.next()
        self.expect_op("/")
        return self.differential(cmd.start)

    def differential(self, start: int) -> _Node:
        """The ``dy_{11}`` or ``\\partial y_{11}`` after ``dE/``."""
        tok = self.peek()
        if tok is not None and tok.kind == "cmd" and tok.text == "partial":
            self.next()
            tok = self.peek()
            if tok is None or tok.kind != "word":
                raise self.unexpected(tok, "a variable after '\\partial'")
            self.next()
            letters, digits = _WORD_PARTS_RE.fullmatch(tok.text).groups()
        elif tok is not None and tok.kind == "word" and tok.text.startswith("d"):
            self.next()
            letters, digits = _WORD_PARTS_RE.fullmatch(tok.text).groups()
            letters = letters[1:]
            if not letters and not digits:  # "d y_{11}"
                tok = self.peek()
                if tok is None or tok.kind != "word":
                    raise self.unexpected(tok, "a variable after 'd'")
                self.next()
                letters, digits = _WORD_PARTS_RE.fullmatch(tok.text).groups()
        else:
            raise self.unexpected(tok, "'d' or '\\partial' and a variable")
        base = self.ctx.aliases.get(letters)
        if base is None:
            raise self.ctx.error(
                f"cannot take a gradient with respect to {_q(tok.text)}", tok.start
            )
        return self.finish_variable("d" + base, digits, start)

    def frac(self) -> _Node:
        """``\\frac{a}{b}`` (or ``\\frac34``), and ``\\frac{\\partial E}{\\partial y}``."""
        cmd = self.next()
        tok = self.peek()
        if tok is not None and tok.kind == "num":
            if len(tok.text) != 2 or not tok.text.isdigit():
                raise self.ctx.error(
                    f"write {_q(self.ctx.src(cmd.start, tok.end))} with braces, "
                    "as \\frac{a}{b}",
                    cmd.start,
                )
            self.next()
            num, den = int(tok.text[0]), int(tok.text[1])
            if den == 0:
                raise self.ctx.error("division by zero", tok.start)
            return _Node(sympy.Rational(num, den), 1, 4)
        if tok is None or not tok.is_op("{"):
            raise self.unexpected(tok, "'{' after '\\frac'")
        numerator = self.group_tokens()
        if self.is_loss(numerator):
            self.i += len(numerator) + 2
            self.expect_op("{")
            node = self.differential(cmd.start)
            self.expect_op("}")
            return node
        self.next()
        top = self.expr()
        self.expect_op("}")
        self.expect_op("{")
        where = self.peek()
        bottom = self.expr()
        self.expect_op("}")
        if bottom.expr.is_zero:
            raise self.ctx.error("division by zero", where.start if where else self.end_offset())
        inverse = _Node(sympy.Pow(bottom.expr, -1), bottom.terms, bottom.bits)
        return self.mul([top, inverse], cmd.start)

    def group_tokens(self) -> list[_Tok]:
        """The tokens inside the ``{...}`` group that starts at the next token."""
        depth = 0
        for j in range(self.i, len(self.toks)):
            depth += _delta(self.toks[j])
            if depth == 0:
                return self.toks[self.i + 1 : j]
        raise self.unexpected(None, "'}'")  # pragma: no cover - balance checked

    @staticmethod
    def is_loss(toks: list[_Tok]) -> bool:
        """True for ``\\partial E``, ``dE`` or ``d E`` (the numerator of dE/d.)."""
        texts = [(t.kind, t.text) for t in toks]
        for loss in _LOSS_LETTERS:
            if texts in (
                [("cmd", "partial"), ("word", loss)],
                [("word", "d" + loss)],
                [("word", "d"), ("word", loss)],
            ):
                return True
        return False

    # arithmetic with budgets -----------------------------------------------

    def check(self, terms: int, bits: int, offset: int) -> None:
        """Raise if an expression would be too large to expand or compare."""
        if terms > _MAX_TERMS:
            raise self.ctx.error(
                f"expression too large: it would expand to more than {_MAX_TERMS} terms",
                offset,
            )
        if bits > _MAX_BITS:
            raise self.ctx.error(f"number too large: more than {_MAX_BITS} bits", offset)

    def add(self, nodes: list[_Node], offset: int) -> _Node:
        """``sympy.Add`` of the nodes, within budget."""
        terms = sum(n.terms for n in nodes)
        bits = max(n.bits for n in nodes) + len(nodes).bit_length()
        self.check(terms, bits, offset)
        return _Node(sympy.Add(*(n.expr for n in nodes)), terms, bits)

    def mul(self, nodes: list[_Node], offset: int) -> _Node:
        """``sympy.Mul`` of the nodes, within budget."""
        terms = 1
        bits = 0
        for n in nodes:
            terms *= n.terms
            bits += n.bits
            self.check(terms, bits, offset)
        return _Node(sympy.Mul(*(n.expr for n in nodes)), terms, bits)

    def power(self, base: _Node, n: int, offset: int) -> _Node:
        """``sympy.Pow(base, n)`` for a small integer ``n``, within budget."""
        if n < 0 and base.expr.is_zero:
            raise self.ctx.error("division by zero (0 to a negative power)", offset)
        terms = base.terms ** abs(n) if n else 1
        bits = base.bits * abs(n)
        self.check(terms, bits, offset)
        return _Node(sympy.Pow(base.expr, n), terms, bits)


def _parse_entry(ctx: _Context, toks: list[_Tok], fallback: int) -> _Entry:
    """Parse one entry (optionally surrounded by quotes) into an :class:`_Entry`."""
    toks = [t for t in toks if t.kind != "nl"]
    if not toks:
        raise ctx.error("empty entry", fallback)
    start = toks[0].start
    if toks[0].kind == "qopen":
        depth = 0
        for j, tok in enumerate(toks):
            depth += _delta(tok)
            if depth == 0 and j != len(toks) - 1:
                raise ctx.error(
                    "quotes may only surround a whole entry, got "
                    f"{_q(ctx.src(start, toks[-1].end))}",
                    toks[j + 1].start,
                )
        toks = toks[1:-1]
        if not toks:
            raise ctx.error("empty quoted entry", start)
    node = _ExprParser(ctx, toks).parse()
    return ctx.count_entry(node, start)


# --------------------------------------------------------------------------
# formats


def _parse_list(ctx: _Context, toks: list[_Tok]) -> _Seq:
    """Parse ``[ ... ]`` (``toks`` includes both brackets) into a :class:`_Seq`."""
    open_tok = toks[0]
    inner = [t for t in toks[1:-1] if t.kind != "nl"]
    chunks, commas = _split_top(inner, lambda t: t.is_op(","))
    if commas:
        if not chunks[-1]:
            chunks.pop()  # a trailing comma, as Python allows
        for chunk, comma in zip(chunks, commas):
            if not chunk:
                raise ctx.error("empty entry before ','", comma.start)
    elif inner:
        chunks, ambiguous = _split_whitespace(inner)
        if ambiguous is not None:
            raise ctx.error(
                f"ambiguous {_q(ambiguous.text)} in a list without commas "
                "(separate entries with commas, or write '*' for products)",
                ambiguous.start,
            )
    else:
        chunks = []
    items = []
    for chunk in chunks:
        if chunk[0].is_op("[") and _closes_at_end(chunk):
            items.append(_parse_list(ctx, chunk))
        else:
            items.append(_parse_entry(ctx, chunk, open_tok.start))
    return _Seq(items, open_tok.start)


def _closes_at_end(toks: list[_Tok]) -> bool:
    """True if the bracket opened by ``toks[0]`` is closed by ``toks[-1]``."""
    depth = 0
    for j, tok in enumerate(toks):
        depth += _delta(tok)
        if depth == 0:
            return j == len(toks) - 1
    return False  # pragma: no cover - balance checked


def _parse_rows(ctx: _Context, toks: list[_Tok], expect_scalar: bool) -> tuple[object, str]:
    """Parse the whitespace/comma-separated rows format (or a scalar).

    Without commas, LaTeX-looking text (a command such as ``\\frac`` or
    ``\\cdot``, or math delimiters) is one expression in which whitespace
    and newlines are multiplication, as in LaTeX; so is any text when
    ``expect_scalar`` is true.
    """
    lines, _ = _split_top(toks, lambda t: t.kind == "nl" or t.is_op(";"))
    lines = [line for line in lines if line]
    commas = any(seps for seps in (_split_top(line, lambda t: t.is_op(","))[1] for line in lines))
    latex = ctx.math_mode or any(
        t.kind == "cmd" or ctx.text.startswith("\\", t.start) for t in toks
    )
    if expect_scalar or (latex and not commas):
        return _parse_entry(ctx, toks, 0), "scalar"
    rows = []
    for line in lines:
        if commas:
            chunks, seps = _split_top(line, lambda t: t.is_op(","))
            for j, chunk in enumerate(chunks):
                if not chunk:
                    where = seps[j - 1].start if j else seps[0].start
                    raise ctx.error("empty entry in a comma-separated row", where)
        else:
            chunks, ambiguous = _split_whitespace(line)
            if ambiguous is not None:
                if len(lines) == 1:
                    chunks = [line]  # one line: read as a single expression
                else:
                    raise ctx.error(
                        f"ambiguous {_q(ambiguous.text)} in a row whose entries "
                        "are separated by spaces (separate entries with commas, "
                        "or write '*' for products)",
                        ambiguous.start,
                    )
        entries = [_parse_entry(ctx, chunk, line[0].start) for chunk in chunks]
        rows.append(_Seq(entries, line[0].start))
    if len(rows) == 1:
        row = rows[0]
        if len(row.items) == 1 and not commas:
            return row.items[0], "scalar"
        return row, "rows"
    return _Seq(rows, rows[0].start), "rows"


def _parse_latex_rows(ctx: _Context, toks: list[_Tok], start: int) -> _Seq:
    """Split LaTeX matrix body tokens at ``\\\\`` and ``&`` and parse the cells."""
    row_toks, row_seps = _split_top(toks, lambda t: t.kind == "rowsep")
    if len(row_toks) > 1 and not row_toks[-1]:
        row_toks.pop()  # trailing \\ before \end
    rows = []
    for r, cells_toks in enumerate(row_toks):
        row_start = row_seps[r - 1].end if r else start
        cells, amps = _split_top(cells_toks, lambda t: t.is_op("&"))
        entries = []
        for c, cell in enumerate(cells):
            fallback = amps[c - 1].start if c else row_start
            entries.append(_parse_entry(ctx, cell, fallback))
        rows.append(_Seq(entries, cells_toks[0].start if cells_toks else row_start))
    return _Seq(rows, start)


def _read_braced_word(ctx: _Context, toks: list[_Tok], i: int, what: str):
    """Read ``{word}`` at ``toks[i]``; return the word token and the next index."""
    if (
        i + 2 < len(toks)
        and toks[i].is_op("{")
        and toks[i + 1].kind == "word"
        and toks[i + 2].is_op("}")
    ):
        return toks[i + 1], i + 3
    where = toks[i].start if i < len(toks) else toks[-1].end
    raise ctx.error(f"expected {{name}} after {what}", where)


def _parse_latex_env(ctx: _Context, toks: list[_Tok]) -> _Seq:
    """Parse ``\\begin{env} ... \\end{env}``, optionally inside ``\\left[ \\right]``."""
    begin = next(j for j, t in enumerate(toks) if t.kind == "cmd" and t.text == "begin")
    before = toks[:begin]
    if before and not (len(before) == 1 and before[0].is_op("(")):
        raise ctx.error(
            f"unexpected {_q(ctx.src(before[0].start, before[-1].end))} before \\begin",
            before[0].start,
        )
    name_tok, i = _read_braced_word(ctx, toks, begin + 1, "\\begin")
    env = name_tok.text
    if env != "array" and env not in _ENVS:
        raise ctx.error(f"unsupported LaTeX environment {_q(env)}", name_tok.start)
    if env == "array":
        if i >= len(toks) or not toks[i].is_op("{"):
            raise ctx.error(
                "expected a column spec such as {cc} after \\begin{array}", toks[i - 1].end
            )
        i += 1
        while i < len(toks) and not toks[i].is_op("}"):
            tok = toks[i]
            if not (tok.is_op("|") or (tok.kind == "word" and set(tok.text) <= set("lcr"))):
                raise ctx.error(f"bad column spec {_q(ctx.src(tok.start, tok.end))}", tok.start)
            i += 1
        i += 1
    body_start = i
    depth = 0
    end = None
    for j in range(body_start, len(toks)):
        tok = toks[j]
        if tok.kind == "cmd" and tok.text == "begin":
            raise ctx.error("nested \\begin is not supported", tok.start)
        if tok.kind == "cmd" and tok.text == "end" and depth == 0:
            end = j
            break
        depth += _delta(tok)
    if end is None:
        raise ctx.error(f"missing \\end{{{env}}}", toks[begin].start)
    end_name, after = _read_braced_word(ctx, toks, end + 1, "\\end")
    if end_name.text != env:
        raise ctx.error(f"\\begin{{{env}}} is closed by \\end{{{end_name.text}}}", end_name.start)
    rest = toks[after:]
    if rest and not (len(rest) == 1 and rest[0].is_op(")") and before):
        raise ctx.error(
            f"unexpected {_q(ctx.src(rest[0].start, rest[-1].end))} after \\end{{{env}}}",
            rest[0].start,
        )
    return _parse_latex_rows(ctx, toks[body_start:end], toks[begin].start)


def _is_json(toks: list[_Tok]) -> bool:
    """True if the bracket list uses only JSON syntax (numbers, strings, commas)."""
    quoted = False
    prev = None
    for k, tok in enumerate(toks):
        if (quoted and tok.kind != "qclose") or tok.kind == "nl":
            continue
        if tok.kind in ("qopen", "qclose"):
            if tok.text != '"':
                return False
            quoted = tok.kind == "qopen"
        elif tok.kind == "num":
            if tok.text.startswith(".") or tok.text.endswith("."):
                return False
        elif tok.is_op("-"):
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            if nxt is None or nxt.kind != "num" or nxt.ws:
                return False
        elif not tok.is_op("[", "]", ","):
            return False
        starts = tok.kind in ("num", "qopen") or tok.is_op("[", "-")
        if starts and prev is not None and _ends_operand(prev):
            return False  # two values without a comma between them
        prev = tok
    return True


def _dispatch(ctx: _Context, toks: list[_Tok], expect_scalar: bool):
    """Detect the format and parse; returns the parse tree and the format name."""
    content = [t for t in toks if t.kind != "nl"]
    if any(t.kind == "cmd" and t.text == "begin" for t in content):
        return _parse_latex_env(ctx, content), "latex"
    first = content[0]
    if first.is_op("[") and _closes_at_end(content):
        fmt = "json" if _is_json(toks) else "list"
        return _parse_list(ctx, content), fmt
    if (
        first.kind == "word"
        and first.text in ("array", "Matrix")
        and len(content) >= 4
        and content[1].is_op("(")
        and content[2].is_op("[")
        and content[-1].is_op(")")
        and _closes_at_end(content[1:])
        and _closes_at_end(content[2:-1])
    ):
        return _parse_list(ctx, content[2:-1]), "list"
    if first.is_op("["):
        depth = 0
        for k, tok in enumerate(content):
            depth += _delta(tok)
            if depth == 0:
                nxt = content[k + 1]
                raise ctx.error(
                    f"unexpected {_q(ctx.src(nxt.start, nxt.end))} after the list", nxt.start
                )
    _, seps = _split_top(content, lambda t: t.kind == "rowsep" or t.is_op("&"))
    if seps:
        return _parse_latex_rows(ctx, content, first.start), "latex"
    return _parse_rows(ctx, toks, expect_scalar)


def _to_array(ctx: _Context, tree) -> np.ndarray:
    """Turn the parse tree into an object ndarray, checking that it is rectangular."""
    if isinstance(tree, _Entry):
        out = np.empty((), dtype=object)
        out[()] = tree.expr
        return out
    shape = []
    level = [tree]
    depth = 0
    while True:
        depth += 1
        seqs = [x for x in level if isinstance(x, _Seq)]
        if len(seqs) != len(level):
            if seqs:
                entry = next(x for x in level if isinstance(x, _Entry))
                raise ctx.error(
                    f"lists and single entries are mixed at depth {depth - 1}: "
                    f"a list at {_where(ctx.text, seqs[0].start)} and an entry",
                    entry.start,
                )
            break
        lengths = [len(s.items) for s in seqs]
        if len(set(lengths)) > 1:
            odd = next(s for s in seqs if len(s.items) != lengths[0])
            shown = ", ".join(map(str, lengths[:10])) + (", ..." if len(lengths) > 10 else "")
            what = "rows" if depth == 2 else f"lists at depth {depth - 1}"
            raise ctx.error(
                f"ragged {what}: lengths {shown} differ (first different one has "
                f"{len(odd.items)} entries instead of {lengths[0]})",
                odd.start,
            )
        shape.append(lengths[0])
        level = [item for s in seqs for item in s.items]
        if not level:
            break
    out = np.empty(len(level), dtype=object)
    for k, entry in enumerate(level):
        out[k] = entry.expr
    return out.reshape(shape)


# --------------------------------------------------------------------------
# public API


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
    ctx = _Context(text, resolve, _check_aliases(aliases), max_entries)
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


def _check_aliases(aliases: Mapping[str, str] | None) -> dict[str, str]:
    """Validate the ``aliases`` mapping (letters -> base kind)."""
    if aliases is None:
        return dict(DEFAULT_ALIASES)
    checked = {}
    for letters, kind in aliases.items():
        if not (isinstance(letters, str) and letters.isascii() and letters.isalpha()):
            raise ValueError(f"aliases: keys must be letters, got {letters!r}")
        if kind not in _BASE_KINDS:
            raise ValueError(
                f"aliases: values must be one of {_BASE_KINDS}, got {kind!r} for {letters!r}"
            )
        checked[letters] = kind
    return checked
