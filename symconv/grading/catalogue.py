"""The mistake catalogue: one registered :class:`Mistake` per diagnosable mistake.

A mistake has a code, a one-line explanation for the student, the quantities it applies to,
how ``common`` it is (orders diagnoses that explain as much of an answer) and a ``build``
function. ``build(case)`` yields the :class:`Candidate` answers the mistake
would produce for one :class:`Case` (the layer, the given values, the expected result and the
student's answer), each with its own specific explanation; it recomputes them exactly, by
:meth:`Case.variant` (a variant layer or variant inputs; the candidate remembers the variant,
so that a second mistake can be made on top of it) or by rearranging ``case.expected``.

Adding a mistake is adding one entry, in a module of :mod:`symconv.grading.mistakes`::

    @mistake("sign", "the sign is wrong", quantities=GRADIENTS)
    def _sign(case):
        yield Candidate("the answer is the negative of the result", -case.expected)

:mod:`symconv.grading.diagnose` decides which candidates are reported and in which order.
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
    "SLIP",
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

#: The code reported when one or two entries are wrong and no mistake explains them.
SLIP = "arithmetic-slip"

#: The diagnosis catalogue: code -> generic one-line explanation: ``wrong-shape``, the
#: :data:`CATALOGUE` in registration order (kept in step by :func:`mistake`), ``arithmetic-slip``.
DIAGNOSES = {
    WRONG_SHAPE: "the answer does not have the expected shape",
    SLIP: "one or two entries are wrong and no mistake of the catalogue explains them",
}

#: The registered mistakes, in report order.
CATALOGUE: list = []


class Candidate(NamedTuple):
    """One answer a mistake would produce: the specific ``explanation``, the ``array`` (None
    when the mistake does not apply after all), ``exact_only`` (pure rearrangements of the
    result, such as a transpose, displacement, rotation or renumbering, are reported only when
    they reproduce the whole answer, never for explaining some of its wrong entries) and the
    ``variant`` it was computed for (``{"spec": ..., "X": ...}``, see :meth:`Case.variant`;
    None for a rearrangement of the result)."""

    explanation: str
    array: object
    exact_only: bool = False
    variant: object = None


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    """What a mistake's ``build`` sees: the check's :class:`~.compute.Computation` (the
    layer, its values, ``compute`` for variants), its symbols and entry comparison, the
    ``expected`` result and the student's ``answer`` (as parsed, any shape).

    ``base`` is the variant a first mistake was made with (:meth:`on_top_of`): a second
    mistake then starts from that variant layer and those inputs, and ``expected`` is the
    first mistake's answer."""

    calc: Computation
    symbols: SymbolTable
    compare: Comparison
    expected: np.ndarray
    answer: np.ndarray
    base: dict = dataclasses.field(default_factory=dict)

    @property
    def spec(self):
        """The layer's spec (the first mistake's variant when this case builds on one)."""
        return self.base.get("spec") or self.calc.spec

    @property
    def quantity(self) -> str:
        return self.calc.quantity

    @property
    def X(self):
        """The input values in use (given, symbolic, or a first mistake's)."""
        return self.base.get("X", self.calc.X)

    @property
    def W(self):
        """The weights in use (None for a pool)."""
        return self.base.get("W", self.calc.W)

    @property
    def dy_value(self):
        """dE/dy in use (given, from the target, symbolic, or a first mistake's)."""
        return self.base.get("DY", self.calc.dy_value)

    @property
    def numeric_input(self) -> bool:
        """Whether every input value is a number (max-pool routing needs them)."""
        return all(sympy.sympify(v).is_Number for v in self.X.reshape(-1))

    def compute(self, spec=None, **changes):
        """:meth:`Computation.compute` for this check's quantity (on top of ``base``)."""
        merged = {k: v for k, v in self.base.items() if k != "spec"}
        merged.update(changes)
        return self.calc.compute(spec or self.spec, **merged)

    def variant(self, explanation: str, spec=None, **changes) -> Candidate:
        """The :class:`Candidate` computed by :meth:`compute` for ``spec`` and ``changes``
        (``X``, ``W``, ``B``, ``DY``), remembering that variant."""
        variant = {k: v for k, v in self.base.items()}
        variant.update(changes)
        variant["spec"] = spec or self.spec
        return Candidate(explanation, self.compute(spec, **changes), variant=variant)

    def on_top_of(self, first: Candidate) -> "Case":
        """The case for a second mistake made on top of ``first``."""
        base = first.variant if first.variant is not None else self.base
        return dataclasses.replace(self, expected=first.array, base=dict(base))

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
    the ``quantities`` it applies to, how ``common`` it is (1 rare ... 5 very common; among
    diagnoses that explain as much of an answer, the more common comes first) and
    ``build(case) -> Iterable[Candidate]``."""

    code: str
    explanation: str
    quantities: frozenset
    build: Callable[[Case], Iterable[Candidate]]
    common: int = 3


def mistake(code: str, explanation: str, quantities=QUANTITIES, common: int = 3):
    """Decorator: register ``build`` as the mistake ``code`` (see the module docstring)."""
    unknown = sorted(set(quantities) - set(QUANTITIES))
    if unknown:
        raise ValueError(f"mistake {code!r}: unknown quantities {unknown}")

    def register(build):
        if code in DIAGNOSES:
            raise ValueError(f"mistake {code!r} is registered already")
        CATALOGUE.append(Mistake(code, explanation, frozenset(quantities), build, common))
        slip = DIAGNOSES.pop(SLIP)
        DIAGNOSES[code] = explanation
        DIAGNOSES[SLIP] = slip
        return build

    return register


def mistakes_for(quantity: str) -> list:
    """The registered mistakes that apply to ``quantity``, in report order."""
    return [m for m in CATALOGUE if quantity in m.quantities]
