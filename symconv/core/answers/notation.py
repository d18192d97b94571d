"""The notation-specific part of the expression grammar: variables, gradients, hats, fractions.

Words such as ``x11``, ``dy_{11}`` or ``yhat2``, subscripts (``x_{1,10}``), ``\\hat{y}``,
the gradient spellings ``dE/dy_{11}``, ``\\partial E/\\partial y_{11}`` and
``\\frac{\\partial E}{\\partial y_{11}}``, and ``\\frac{a}{b}``.  The arithmetic grammar in
:mod:`symconv.core.answers.expr` builds on :class:`_Notation`.
"""

from __future__ import annotations

import re

import sympy

from .context import _LOSS_LETTERS, _q
from .limits import _MAX_INDEX_DIGITS, _Node
from .tokens import _Tok, _TokenCursor, _delta
from .wrappers import ACCEPTED

_WORD_PARTS_RE = re.compile(r"([A-Za-z]+)(\d*)")


class _Notation(_TokenCursor):
    """The grammar rules for the course's notation, used by the arithmetic grammar.

    Rules (see :class:`~symconv.core.answers.expr._ExprParser` for the rest)::

        variable := WORD [subscript]                     x11, x_{1,10}, dy_{11}, yhat2
                  | '\\hat' WORD [subscript]              \\hat{y}_{11}, \\hat y_1, \\hat{y_{11}}
        gradient := ('dE' | '\\partial' 'E') '/' differential
                  | '\\frac' '{' loss '}' '{' differential '}'
        fraction := '\\frac' '{' expr '}' '{' expr '}' | '\\frac' DIGIT DIGIT

    ``frac`` parses the numerator and denominator with ``expr`` and multiplies
    with ``mul``, which the subclass provides.
    """

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
            nxt = self.peek()
            if nxt is not None and nxt.is_op("(") and not nxt.ws:
                raise self.ctx.error(
                    f"calls are not accepted: {_q(tok.text + '(')} is not a known wrapper "
                    f"({ACCEPTED})",
                    tok.start,
                )
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
