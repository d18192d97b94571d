"""The :func:`check` entry point: compare one answer with the exact result, entry by entry,
and name the likely mistakes when it is wrong."""

from __future__ import annotations

import itertools

import numpy as np

from .answer import read_answer
from .catalogue import WRONG_SHAPE, Case
from .compare import Comparison, exact_tolerance
from .compute import GRADIENTS, Computation, checked_layer
from .diagnose import diagnose
from .result import CheckResult, Diagnosis, Mismatch
from .symbols import SymbolTable
from .values import align, object_array

__all__ = ["check", "Checker"]


class Checker:
    """One check request, validated: the :class:`~.compute.Computation` of the layer and
    its values, the symbols an answer may use and the entry comparison."""

    def __init__(self, layer, quantity, x, w, b, dy, target, tolerance, convention, index_base):
        layer = checked_layer(layer, quantity, convention, index_base)
        self.compare = Comparison(exact_tolerance(tolerance))
        self.calc = Computation(layer, quantity, x, w, b, dy, target, convention, index_base)
        self.symbols = SymbolTable(self.calc)
        self.notes = []

    def read(self, answer):
        """``(values, fmt)`` of the answer; notes symbols that are not the layer's."""
        self.symbols.outside = set()
        values, self.compare.decimals, fmt = read_answer(
            answer, self.calc.quantity, self.symbols.resolve, self.calc.expected_size()
        )
        if self.symbols.outside:
            names = ", ".join(sorted(self.symbols.outside))
            self.notes.append(
                f"the answer uses symbols that are not variables of the layer: {names}"
            )
        return values, fmt

    def _canonical_dy(self):
        """dE/dy_ij -> y_ij - yhat_ij, for a symbolic gradient answer written with y, yhat."""
        calc = self.calc
        return {calc.sdy[idx]: calc.Y[idx] - calc.syhat[idx] for idx in np.ndindex(calc.sdy.shape)}

    def run(self, answer) -> CheckResult:
        """The verdict on ``answer``."""
        calc, compare = self.calc, self.compare
        spec, quantity = calc.spec, calc.quantity
        E = calc.compute()
        A, fmt = self.read(answer)
        if quantity == "output-size":
            flat = A.reshape(-1)
            if flat.size == spec.ndim + 1 and compare.norm(flat[0]) == spec.out_channels:
                A = object_array((spec.ndim,), flat[1:])
        if calc.symbolic_dy and ({"y", "yhat"} & self.symbols.used) and quantity in GRADIENTS:
            compare.canon = self._canonical_dy()
        EK, AK = compare.keys(E), compare.keys(A)  # numbers: compared as whole arrays
        symbolic = (EK is None or AK is None) and any(
            not compare.norm(e).is_Number for e in itertools.chain(E.reshape(-1), A.reshape(-1))
        )
        labels = calc.labels(E.shape)
        EA = align(A, E.shape)
        mismatches = []
        diagnosis = []
        if EA is not None and EK is not None and AK is not None:
            differ = ~np.equal(EK, AK.reshape(E.shape)).astype(bool)
            for idx in zip(*np.nonzero(differ)):
                idx = tuple(int(i) for i in idx)
                mismatches.append(Mismatch(idx, E[idx], EA[idx]))
        elif EA is not None:
            for idx in np.ndindex(E.shape):
                if not compare.same(EA[idx], E[idx]):
                    mismatches.append(Mismatch(idx, E[idx], EA[idx]))
        if EA is not None:
            n_ok = E.size - len(mismatches)
            correct = not mismatches
        else:
            n_ok, correct = 0, False
            shape_note = ""
            if A.size == E.size and compare.equal_arrays(A.reshape(-1), E.reshape(-1)):
                shape_note = "; the entries are right in row-major order"
            diagnosis.append(
                Diagnosis(
                    WRONG_SHAPE,
                    f"expected shape {calc.shape_text(E.shape)}, got {tuple(A.shape)}"
                    + shape_note,
                )
            )
        if not correct:
            case = Case(calc, self.symbols, compare, E, A)
            diagnosis.extend(diagnose(case, mismatches, labels))
        total = int(E.size)
        return CheckResult(
            quantity=quantity,
            layer=repr(spec),
            correct=correct,
            score=(n_ok / total) if total else 1.0,
            correct_entries=int(n_ok),
            total_entries=total,
            mismatches=mismatches,
            diagnosis=diagnosis,
            expected_shape=tuple(E.shape),
            answer_shape=tuple(A.shape),
            symbolic=symbolic,
            answer_format=fmt,
            notes=list(self.notes),
            labels=labels,
            expected=E,
            answer=A,
        )


def check(
    layer,
    quantity,
    answer,
    *,
    x=None,
    w=None,
    b=None,
    dy=None,
    target=None,
    tolerance=0,
    convention="row",
    index_base=1,
) -> CheckResult:
    """Check a hand-computed ``answer`` for ``quantity`` of ``layer``.

    ``answer`` is text in any format of :mod:`symconv.answers` (parsed safely, never
    evaluated) or an array-like of numbers, SymPy values or entry strings. ``x``, ``w``, ``b``,
    ``dy``, ``target`` are numbers (array-likes or text; omitted ones stay symbolic).
    ``tolerance`` applies only to answers written with decimals. ``convention`` (``'row'``: x W
    = y, ``'column'``: vec(y) = T vec(x)) is for ``quantity='toeplitz'``; ``index_base`` is
    the first symbol index (1: x_11, like the slides).

    Raises :class:`~symconv.errors.AnswerError` for answer text that cannot be parsed and
    :class:`~symconv.errors.SpecError` for bad parameters or values.
    """
    checker = Checker(layer, quantity, x, w, b, dy, target, tolerance, convention, index_base)
    return checker.run(answer)
