"""Exception hierarchy of symconv.

Every error a user can provoke is a :class:`SymconvError`; the ones about bad parameters are
also :class:`ValueError`, so plain ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = ["SymconvError", "SpecError", "AnswerError", "CodegenError"]


class SymconvError(Exception):
    """Base class of every error symconv raises on purpose."""


class SpecError(SymconvError, ValueError):
    """A layer parameter is invalid: the message names the operation, the parameter, the rule
    and the value, e.g. ``conv2d: stride must be positive integers, got (0, 1)``."""


class AnswerError(SymconvError, ValueError):
    """An answer text (a student's file) could not be parsed or does not fit the question."""


class CodegenError(SymconvError):
    """Code generation failed (template error, formatter failure, stale files)."""
