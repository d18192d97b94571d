"""Printers that an earlier stage offers as methods (``Network.latex()``, ``.codegen()``).

A stage may import only the stages to its left, yet a network is most convenient to print
from itself. The facade (``symconv/__init__.py``) fills :data:`PRINTERS` with small functions
that import the printing stage when called; a method looks its printer up here, so ``nn``
never imports ``latex`` or ``codegen``.
"""

from __future__ import annotations

from .core.errors import SymconvError

#: name -> function, registered by the facade
PRINTERS: dict = {}


def printer(name: str):
    """The registered printer ``name`` (e.g. ``'network_latex'``)."""
    try:
        return PRINTERS[name]
    except KeyError:
        raise SymconvError(
            f"symconv: no printer registered for {name!r} (import symconv)"
        ) from None
