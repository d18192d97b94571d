"""SymPy sums assembled fast, and the max-pool routing rule.

For linear layers the sums are assembled with ``Add._from_args``-style construction in SymPy's
canonical argument order: the terms are known to be distinct products of two symbols, so
SymPy's canonicalizing constructors (which would re-check and re-sort every term) are not
needed, and the result still compares equal to what ``sympy.Add(*terms)`` builds. Used by the
full derivation (:mod:`symconv.core.derive`) and by single-entry previews
(:mod:`symconv.core.preview`).
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy import Add, Mul

__all__ = ["fast_add", "max_routing", "mul2", "name_rank"]

_new = object.__new__
_MUL_ASSUMPTIONS = Mul.default_assumptions
_ADD_ASSUMPTIONS = Add.default_assumptions


def mul2(a, b):
    """``a*b`` for two distinct commutative symbols already in canonical order (a's name first):
    what ``Mul._from_args((a, b))`` builds, minus the call overhead (this is the hot loop)."""
    obj = _new(Mul)
    obj._assumptions = _MUL_ASSUMPTIONS
    obj._mhash = None
    obj._args = (a, b)
    obj.is_commutative = True
    return obj


def fast_add(terms):
    """Sum of distinct terms given in canonical order (see the module docstring)."""
    if not terms:
        return sympy.Integer(0)
    if len(terms) == 1:
        return terms[0]
    obj = _new(Add)
    obj._assumptions = _ADD_ASSUMPTIONS
    obj._mhash = None
    obj._args = tuple(terms)
    obj.is_commutative = True
    return obj


def name_rank(symbols) -> np.ndarray:
    """Position of each symbol in SymPy's order of symbols (by name)."""
    names = [s.name for s in symbols]
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return rank


def max_routing(vals, ties):
    """dy/dx of ``Max(*vals)`` for each argument under a tie policy, as Piecewise indicators."""
    wins = []
    for t, v in enumerate(vals):
        if ties == "first":
            conds = [v > u for u in vals[:t]] + [v >= u for u in vals[t + 1 :]]
        else:
            conds = [v >= u for u in vals[:t] + vals[t + 1 :]]
        wins.append(sympy.Piecewise((1, sympy.And(*conds)), (0, True)))
    if ties == "split" and len(wins) > 1:
        total = Add(*wins)
        return [win / total for win in wins]
    return wins
