"""Stage 4 of the answer parser: the arithmetic grammar of one entry.

A small recursive-descent parser that builds SymPy objects directly (``sympy.Integer``,
``sympy.Rational``, ``sympy.Add``, ``sympy.Mul``, ``sympy.Pow``) from validated tokens, checking
every sum, product and power against the budgets of :mod:`symconv.core.answers.limits` before
SymPy evaluates it.  Variables, gradients, hats and fractions come from
:class:`symconv.core.answers.notation._Notation`.
"""

from __future__ import annotations

import re

import sympy

from .context import _Context, _Entry, _q
from .limits import (
    _MAX_BITS,
    _MAX_DECIMAL_EXPONENT,
    _MAX_EXPONENT,
    _MAX_NUMBER_DIGITS,
    _MAX_TERMS,
    _Node,
    _bits,
)
from .notation import _Notation
from .tokens import _FRACS, _HATS, _PAIRS, _Tok, _delta, _starts_operand

_NUM_PARTS_RE = re.compile(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


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


class _ExprParser(_Notation):
    """Recursive-descent parser for one entry.

    Grammar (``implicit`` is juxtaposition, e.g. ``2x11`` or ``x11 w11``)::

        expr     := term (('+' | '-') term)*
        term     := unary (('*' | '/' | implicit) factor)*
        unary    := ('+' | '-')* factor
        factor   := primary [('^' | '**') exponent]
        exponent := ['+'|'-'] INT | '{' ['+'|'-'] INT '}' | '(' ['+'|'-'] INT ')'
        primary  := NUMBER | variable | gradient | fraction | '(' expr ')' | '{' expr '}'

    ``variable``, ``gradient`` and ``fraction`` are the rules of :class:`_Notation`.
    Recursion happens only through brackets, whose depth was checked before.
    """

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
    if toks[-1].kind == "num" and (len(toks) == 1 or (len(toks) == 2 and toks[0].is_op("-"))):
        node = _plain_number(ctx, toks[-1], negative=len(toks) == 2)
    else:
        node = _ExprParser(ctx, toks).parse()
    return ctx.count_entry(node, start)


_PLAIN = {}  # (number text, sign) -> (node, is a decimal): long answers repeat their numbers


def _plain_number(ctx: _Context, tok: _Tok, negative: bool) -> _Node:
    """An entry that is one number literal, optionally negated (the common case, memoised)."""
    key = (tok.text, negative)
    hit = _PLAIN.get(key)
    if hit is None:
        node = _parse_number_literal(ctx, tok)
        if negative:
            node = _Node(-node.expr, 1, node.bits)
        if len(_PLAIN) > 50_000:
            _PLAIN.clear()
        hit = _PLAIN[key] = (node, "." in tok.text or "e" in tok.text.lower())
    if hit[1]:
        ctx.has_decimals = True
    return hit[0]
