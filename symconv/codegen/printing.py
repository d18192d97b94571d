"""Printers for generated NumPy code: index expressions, slices and the plain-text formulas.

:class:`NumPyKernelPrinter` subclasses SymPy's ``NumPyPrinter``: it prints SymPy expressions
the way NumPy code needs them and adds the small things kernel code is made of (Python
``slice`` objects as ``a:b:c``, index tuples, shape tuples). :class:`FormulaPrinter` prints the
general index formulas of a module docstring (``x[n, c, 2*i - 1 + k]``) in plain text.
Templates only lay the printed pieces out.
"""

from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.str import StrPrinter

__all__ = ["NumPyKernelPrinter", "FormulaPrinter", "py", "index", "formula"]


class NumPyKernelPrinter(NumPyPrinter):
    """SymPy's NumPy printer plus Python slices, index tuples and plain shape tuples."""

    def _print_slice(self, s: slice) -> str:
        start = "" if s.start in (None, 0) else self._print(s.start)
        stop = "" if s.stop is None else self._print(s.stop)
        if s.step in (None, 1):
            return f"{start}:{stop}"
        return f"{start}:{stop}:{self._print(s.step)}"

    def _print_int(self, n: int) -> str:
        return str(int(n))

    def _print_bool(self, v: bool) -> str:
        return "True" if v else "False"

    def _print_str(self, s: str) -> str:
        return s

    def _print_tuple(self, t: tuple) -> str:
        items = [self._print(v) for v in t]
        if len(items) == 1:
            return f"({items[0]},)"
        return "(" + ", ".join(items) + ")"

    def _print_list(self, t: list) -> str:
        return "[" + ", ".join(self._print(v) for v in t) + "]"

    def index(self, items) -> str:
        """``[a, b:c, ::2]`` for a sequence of ints, slices and strings (``'...'``)."""
        return "[" + ", ".join(self._print(v) for v in items) + "]"

    def _print_ndarray(self, a) -> str:
        return self._print(a.tolist())


class FormulaPrinter(StrPrinter):
    """Plain-text formulas: ``Indexed`` prints as ``x[n, c, i + k]``."""

    def _print_Indexed(self, expr) -> str:
        return f"{self._print(expr.base.label)}[{', '.join(self._print(i) for i in expr.indices)}]"


_KERNEL = NumPyKernelPrinter({"fully_qualified_modules": True})
_FORMULA = FormulaPrinter()


def py(value) -> str:
    """Python source of ``value`` (an int, slice, tuple, list or SymPy expression)."""
    if isinstance(value, sympy.Basic):
        return _KERNEL.doprint(value)
    return _KERNEL._print(value)


def index(items) -> str:
    """Python source of the subscript ``[...]`` selecting ``items``."""
    return _KERNEL.index(items)


def formula(expr) -> str:
    """Plain text of a SymPy expression for a docstring."""
    return _FORMULA.doprint(sympy.sympify(expr))
