"""What one call of the answer parser shares: the text, the symbol resolution and the budgets.

:class:`_Context` turns the words of an answer into the caller's variables (through the
``resolve`` callback and the ``aliases`` letters), counts entries and terms against the caps, and
builds the one-line :class:`AnswerError` messages that name the offending text's line and column.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from ..errors import AnswerError
from .limits import _MAX_TOTAL_TERMS, _Node, _bits

#: Variable kinds passed to ``resolve``.
KINDS = ("x", "w", "b", "y", "dy", "yhat", "dx", "dw", "db")

#: Default letters and the base kind each one stands for.
DEFAULT_ALIASES = {"x": "x", "w": "w", "b": "b", "y": "y"}

_BASE_KINDS = ("x", "w", "b", "y")
_LOSS_LETTERS = ("E", "L")


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


class _Entry:
    """A parsed entry and where it started."""

    __slots__ = ("expr", "start")

    def __init__(self, expr: sympy.Basic, start: int):
        self.expr = expr
        self.start = start


class _Context:
    """Everything one call of :func:`~symconv.core.answers.parse_answer_ex` shares."""

    def __init__(self, text, resolve, aliases, max_entries):
        self.text = text
        self.resolve = resolve
        self.aliases = aliases
        self.max_entries = max_entries
        self.entries = 0
        self.total_terms = 0
        self.has_decimals = False
        self.math_mode = False  # saw $...$, \[...\] or \(...\)
        self.wrapped = ""  # the wrapper call blanked around the list (np.array, ...)

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
