"""Symbol naming: the one place where the names of x, w, b, y, dE/dy ... are made.

Names follow the slides: indices are 1-based by default (``index_base=0`` gives 0-based) and
joined without commas while every index is a single digit (``x_12``), with commas otherwise
(``x_1,10``). A channel or filter index appears only when there is more than one of them.

SymPy symbol names are plain (``x_12``, ``dy_12``, ``yhat_12``); :func:`latex_name` gives their
LaTeX (``x_{12}``, ``\\frac{\\partial E}{\\partial y_{12}}``, ``\\hat{y}_{12}``) for a notation preset.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy

__all__ = [
    "Notation",
    "NOTATIONS",
    "index_label",
    "symbol_array",
    "symbol_at",
    "latex_name",
    "parse_name",
]

#: Prefix of each quantity's SymPy names. ``dy`` is the upstream gradient dE/dy.
KINDS = ("x", "w", "b", "y", "dy", "yhat")


@dataclass(frozen=True)
class Notation:
    """Letters used when printing: seed 000 (x, w, y, E), seed 001 (X, F, O, L), seed 003
    (Y, w, z, Div)."""

    name: str
    x: str = "x"
    w: str = "w"
    b: str = "b"
    y: str = "y"
    loss: str = "E"


NOTATIONS = {
    "seed000": Notation("seed000"),
    "seed001": Notation("seed001", x="X", w="F", b="b", y="O", loss="L"),
    "seed003": Notation("seed003", x="Y", w="w", b="b", y="z", loss=r"\mathit{Div}"),
}


def index_label(indices, sep=None) -> str:
    """Join indices: ``(1, 2) -> '12'``, ``(1, 10) -> '1,10'``."""
    indices = tuple(int(i) for i in indices)
    if sep is None:
        sep = "" if all(0 <= i <= 9 for i in indices) else ","
    return sep.join(str(i) for i in indices)


def _naming(shape, index_base, keep_leading):
    """The axes that appear in a name and the separator, for one array of symbols."""
    lead = 0 if keep_leading is None else keep_leading
    shown = [ax for ax in range(len(shape)) if not (ax < lead and shape[ax] == 1)]
    largest = max((shape[ax] - 1 + index_base for ax in shown), default=0)
    return shown, "" if largest <= 9 else ","


def symbol_array(kind: str, shape, *, index_base: int = 1, keep_leading=None) -> np.ndarray:
    """An object ndarray of SymPy symbols named ``{kind}_{indices}``.

    ``keep_leading`` is the number of leading axes that are channel axes: each of them is
    dropped from the name when its length is 1 (a single channel/filter carries no index).
    Every symbol of one array uses the same separator rule, decided by its largest index.
    """
    shape = tuple(shape)
    shown, sep = _naming(shape, index_base, keep_leading)
    out = np.empty(shape, dtype=object)
    for idx in itertools.product(*(range(n) for n in shape)):
        out[idx] = _named(kind, idx, shown, sep, index_base)
    return out


def symbol_at(kind: str, shape, index, *, index_base: int = 1, keep_leading=None):
    """The one symbol that ``symbol_array(kind, shape, ...)[index]`` would hold (``index`` a
    tuple or a flat row-major position), without building the array."""
    shape = tuple(shape)
    if not isinstance(index, tuple):
        index = tuple(int(i) for i in np.unravel_index(int(index), shape))
    return _named(kind, index, *_naming(shape, index_base, keep_leading), index_base)


def _named(kind, index, shown, sep, index_base):
    label = sep.join(str(index[ax] + index_base) for ax in shown)
    return sympy.Symbol(f"{kind}_{label}" if label else kind, real=True)


def parse_name(name: str):
    """Split a symconv symbol name into ``(kind, indices)``: ``'dy_1,10' -> ('dy', (1, 10))``."""
    kind, _, label = name.partition("_")
    if not label:
        return kind, ()
    if "," in label:
        return kind, tuple(int(p) for p in label.split(","))
    return kind, tuple(int(c) for c in label)


def latex_name(symbol, notation: Notation = NOTATIONS["seed000"]) -> str:
    """LaTeX for one of symconv's symbols under a notation preset."""
    kind, _, label = symbol.name.partition("_")
    sub = f"_{{{label}}}" if label else ""
    if kind == "x":
        return f"{notation.x}{sub}"
    if kind == "w":
        return f"{notation.w}{sub}"
    if kind == "b":
        return f"{notation.b}{sub}"
    if kind == "y":
        return f"{notation.y}{sub}"
    if kind == "yhat":
        return rf"\hat{{{notation.y}}}{sub}"
    if kind == "dy":
        return rf"\frac{{\partial {notation.loss}}}{{\partial {notation.y}{sub}}}"
    return sympy.latex(symbol)
