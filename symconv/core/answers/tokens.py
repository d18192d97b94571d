"""Stages 1-3 of the answer parser: the character whitelist, the nesting check and the tokens.

The character whitelist and the iterative bracket count run on the raw text before anything
recursive.  :func:`_tokenize` then splits the text into :class:`_Tok` tokens (numbers, words, a
few operators, the LaTeX commands the parser knows, row separators, newlines and quotes) and
checks that brackets and quotes pair up.  :class:`_TokenCursor` is how the expression grammar
reads a token list.
"""

from __future__ import annotations

import re
import string

from ..errors import AnswerError
from .context import _Context, _q, _where
from .wrappers import ACCEPTED

_ALLOWED_CHARS = frozenset(
    string.ascii_letters + string.digits + " \t\r\n" + "+-*/^()[]{},.&\\_$=;'\"|"
)
_UNICODE = str.maketrans(
    {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00a0": " "}
)
_OPEN_CHARS = "([{"
_CLOSE_CHARS = ")]}"
_NUM_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD_RE = re.compile(r"[A-Za-z]+\d*")
_LETTERS_RE = re.compile(r"[A-Za-z]+")
_OP_CHARS = "+-/^()[]{},&;=_|"
# LaTeX commands that are operators, and those that are only spacing.
_CMD_OPS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}
_CMD_SPACES = frozenset({"quad", "qquad", "displaystyle", "textstyle", "hline", "nonumber"})
_FRACS = frozenset({"frac", "dfrac", "tfrac"})
_HATS = frozenset({"hat", "widehat"})
_KNOWN_CMDS = _FRACS | _HATS | {"partial", "begin", "end"}
_PAIRS = {"(": ")", "[": "]", "{": "}"}


class _Tok:
    """One token: ``kind`` is num, word, cmd, op, rowsep, nl, qopen or qclose.

    ``text`` is the number or word as written, the command name without its
    backslash, or the operator (``**`` is stored as ``^``).  ``start``/``end``
    are offsets into the answer text; ``ws`` tells whether whitespace preceded
    the token.
    """

    __slots__ = ("kind", "text", "start", "end", "ws", "delta")

    def __init__(self, kind: str, text: str, start: int, end: int, ws: bool):
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.ws = ws
        #: nesting change caused by this token (+1 opens, -1 closes, 0 otherwise)
        self.delta = _DELTAS.get((kind, text), 0)

    def is_op(self, *ops: str) -> bool:
        """True if this is one of the operators ``ops``."""
        return self.kind == "op" and self.text in ops

    def __repr__(self) -> str:
        return f"_Tok({self.kind!r}, {self.text!r}, {self.start})"


_DELTAS = {("op", c): 1 for c in _OPEN_CHARS}
_DELTAS.update({("op", c): -1 for c in _CLOSE_CHARS})
_DELTAS.update({("qopen", q): 1 for q in "'\""})
_DELTAS.update({("qclose", q): -1 for q in "'\""})


def _delta(tok: _Tok) -> int:
    """Nesting change caused by ``tok`` (+1 opens, -1 closes)."""
    return tok.delta


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
        elif c == "_" and text.startswith("__", i):
            raise ctx.error(f"'__' (a Python dunder name) is not accepted; {ACCEPTED}", i)
        elif c in _OP_CHARS:
            emit("op", c, i, i + 1)
            i += 1
        elif c == ".":
            raise ctx.error(
                "'.' is not allowed here (attribute access and other Python syntax are not "
                f"accepted; {ACCEPTED})",
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


class _TokenCursor:
    """Reads a token list front to back (newlines dropped), for the expression grammar."""

    def __init__(self, ctx: _Context, toks: list[_Tok]):
        self.ctx = ctx
        self.toks = [t for t in toks if t.kind != "nl"]
        self.i = 0

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
