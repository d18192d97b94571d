"""The mistake catalogue: one registered :class:`Mistake` per diagnosable mistake.

A mistake has a code, a one-line explanation for the student, the quantities it applies to
and a ``build`` function. ``build(case)`` yields the :class:`Candidate` answers the mistake
would produce for one :class:`Case` (the layer, the given values, the expected result and the
student's answer), each with its own specific explanation; it recomputes them exactly, by
calling ``case.compute`` on a variant layer or variant inputs, or by rearranging the result.

Adding a mistake is adding one entry, in a module of :mod:`symconv.grading.mistakes`::

    @mistake("sign", "the sign is wrong", quantities=GRADIENTS)
    def _sign(case):
        yield Candidate("the answer is the negative of the result", -case.expected)

Diagnoses are reported in registration order (the order of :data:`DIAGNOSES`), after
``wrong-shape``, which the comparison itself reports.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterable, NamedTuple

import numpy as np
import sympy

from .compare import Comparison
from .compute import QUANTITIES, Computation
from .symbols import SymbolTable
from .values import align

__all__ = [
    "WRONG_SHAPE",
    "DIAGNOSES",
    "CATALOGUE",
    "Candidate",
    "Case",
    "Mistake",
    "mistake",
    "mistakes_for",
]

#: The code reported when an answer cannot be laid out as the expected shape.
WRONG_SHAPE = "wrong-shape"

#: The diagnosis catalogue: code -> generic one-line explanation (in report order), kept in
#: step with :data:`CATALOGUE` by :func:`mistake`.
DIAGNOSES = {WRONG_SHAPE: "the answer does not have the expected shape"}

#: The registered mistakes, in report order.
CATALOGUE: list = []


class Candidate(NamedTuple):
    """One answer a mistake would produce: the specific ``explanation``, the ``array`` (None
    when the mistake does not apply after all) and ``exact_only``: pure rearrangements of the
    result (transpose, displacement, rotation, renumbering) are reported only when they
    reproduce the whole answer, never for explaining some of its wrong entries."""

    explanation: str
    array: object
    exact_only: bool = False


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    """What a mistake's ``build`` sees: the check's :class:`~.compute.Computation` (the
    layer, its values, ``compute`` for variants), its symbols and entry comparison, the
    ``expected`` result and the student's ``answer`` (as parsed, any shape)."""

    calc: Computation
    symbols: SymbolTable
    compare: Comparison
    expected: np.ndarray
    answer: np.ndarray

    @property
    def spec(self):
        return self.calc.spec

    @property
    def quantity(self) -> str:
        return self.calc.quantity

    def compute(self, spec=None, **changes):
        """:meth:`Computation.compute` for this check's quantity."""
        return self.calc.compute(spec, **changes)

    @functools.cached_property
    def ratio(self):
        """The constant c with answer = c * expected suggested by the first wrong entry, or
        None (not a Rational, 0 or 1, or no wrong entry)."""
        E = self.expected
        EA = align(self.answer, E.shape)
        if EA is None:
            return None
        norm = self.compare.norm
        for a, e in zip(EA.reshape(-1), E.reshape(-1)):
            ne = norm(e)
            if ne == 0 or self.compare.same(a, e):
                continue
            try:
                c = sympy.cancel(norm(a) / ne)
            except (sympy.PolynomialError, ZeroDivisionError, TypeError):
                return None
            if isinstance(c, sympy.Rational) and c not in (0, 1):
                return c
            return None
        return None


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A diagnosable mistake: ``code``, the generic ``explanation`` of :data:`DIAGNOSES`,
    the ``quantities`` it applies to and ``build(case) -> Iterable[Candidate]``."""

    code: str
    explanation: str
    quantities: frozenset
    build: Callable[[Case], Iterable[Candidate]]


def mistake(code: str, explanation: str, quantities=QUANTITIES):
    """Decorator: register ``build`` as the mistake ``code`` (see the module docstring)."""
    unknown = sorted(set(quantities) - set(QUANTITIES))
    if unknown:
        raise ValueError(f"mistake {code!r}: unknown quantities {unknown}")

    def register(build):
        if code in DIAGNOSES:
            raise ValueError(f"mistake {code!r} is registered already")
        CATALOGUE.append(Mistake(code, explanation, frozenset(quantities), build))
        DIAGNOSES[code] = explanation
        return build

    return register


def mistakes_for(quantity: str) -> list:
    """The registered mistakes that apply to ``quantity``, in report order."""
    return [m for m in CATALOGUE if quantity in m.quantities]
