"""Size caps of the answer parser and the cost-estimated node the grammar builds.

Every power, product and sum is checked against these budgets before SymPy evaluates it
(see :meth:`symconv.core.answers.expr._ExprParser.check`), so inputs such as ``9**9**9`` or
``((9^8)^8)^8`` fail fast instead of hanging.  The caps on whole answers (``max_chars``,
``max_depth``, ``max_entries``) are arguments of :func:`symconv.core.answers.parse_answer_ex`.
"""

from __future__ import annotations

import sympy

_MAX_EXPONENT = 8  # |n| in x^n
_MAX_NUMBER_DIGITS = 1000  # digits in one number literal
_MAX_DECIMAL_EXPONENT = 1000  # |e| in 1e-3
_MAX_INDEX_DIGITS = 6  # digits in one comma-separated index
_MAX_BITS = 20_000  # size estimate of any rational coefficient
_MAX_TERMS = 10_000  # estimate of the expanded size of one entry
_MAX_TOTAL_TERMS = 200_000  # the same, summed over all entries


def _bits(expr: sympy.Basic) -> int:
    """Size in bits of a rational number, 0 for anything else."""
    if isinstance(expr, sympy.Rational):
        return max(int(expr.p).bit_length(), int(expr.q).bit_length())
    return 0


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
