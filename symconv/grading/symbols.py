"""The symbols a symbolic answer may use, and what each stands for in this check.

An answer may name the layer's variables as written on the slides (``x_11``, ``w_12``,
``dE/dy_21``, ``y_11``, ``yhat_11``); each resolves to its given value or, when no value was
given, to the symbol itself. Symbols of an unvalued kind just outside the layer (``x_00`` for
a 1-based layer) are accepted as stand-ins, so that an off-by-one answer can be diagnosed.
"""

from __future__ import annotations

import numpy as np
import sympy

from ..core.symbols import index_label, parse_name

__all__ = ["SymbolTable"]


class SymbolTable:
    """(kind, indices as written) -> value for one :class:`~.compute.Computation`.

    ``used`` collects the kinds an answer used; ``outside`` the stand-in symbols it used
    (reset by the caller before each answer).
    """

    def __init__(self, calc):
        self.base = calc.base
        rows = [("x", calc.sx, calc.X), ("w", calc.sw, calc.W), ("b", calc.sb, calc.B)]
        if calc.quantity != "toeplitz":  # a Toeplitz matrix holds weights, never y or dE/dy
            rows.append(("y", calc.sy, calc.Y))
            rows.append(("dy", calc.sdy, calc.dy_value))
        if calc.T is not None:
            rows.append(("yhat", calc.syhat, calc.T))
        elif calc.symbolic_dy:
            rows.append(("yhat", calc.syhat, calc.syhat))
        self.table, self.arity, self.bounds = {}, {}, {}
        #: kinds whose values are their own symbols (nothing given for them)
        self.lenient = set()
        for kind, syms, vals in rows:
            if syms is None or vals is None:
                continue
            if vals is syms:
                self.lenient.add(kind)
            for idx in np.ndindex(syms.shape):
                _, written = parse_name(syms[idx].name)
                self.table[(kind, written)] = vals[idx]
                self.table.setdefault((kind, tuple(i + self.base for i in idx)), vals[idx])
                self.arity[kind] = len(written)
                hi = self.bounds.setdefault(kind, [0] * len(written))
                for a, i in enumerate(written):
                    hi[a] = max(hi[a], i)
        self.used = set()
        self.outside = set()

    def sym(self, kind, indices):
        """The layer's symbol for (kind, indices), or a stand-in symbol just outside it."""
        found = self.table.get((kind, tuple(indices)))
        if found is not None:
            return found
        return sympy.Symbol(f"{kind}_{index_label(indices)}", real=True)

    def resolve(self, kind, indices):
        """The value of a symbol named in an answer, or None if it is not one of the layer's
        (the answer parser's ``resolve`` hook)."""
        indices = tuple(indices)
        value = self.table.get((kind, indices))
        if value is not None:
            self.used.add(kind)
            return value
        if kind in self.lenient and len(indices) == self.arity.get(kind, -1):
            lo = self.base - 1
            if all(lo <= i <= hi + 1 for i, hi in zip(indices, self.bounds[kind])):
                self.used.add(kind)
                self.outside.add(f"{kind}_{index_label(indices)}")
                return self.sym(kind, indices)
        return None

    def renaming(self, delta):
        """Symbol -> the symbol with every index shifted by ``delta`` (unvalued kinds only)."""
        ren = {}
        for (kind, written), value in self.table.items():
            if kind in self.lenient and isinstance(value, sympy.Symbol):
                if len(written) != self.arity[kind] or not written:
                    continue
                ren[value] = self.sym(kind, tuple(i + delta for i in written))
        return ren
