"""Naming the likely mistakes of a wrong answer from the catalogue.

Every mistake of :mod:`symconv.grading.catalogue` that applies to the quantity builds its
candidate answers; a candidate equal to the correct result is ignored (the mistake changes
nothing for this problem). The rules:

1. **Exact**: a candidate that reproduces the whole answer is reported.
2. **Partial**: a candidate that explains at least two wrong entries and at least half of them
   is reported with the entries it explains (an entry counts as explained when the mistake
   gives the student's value and that value is not 0, which is weak evidence), but only when
   no diagnosis reproduces the whole answer: only mistakes consistent with the whole answer
   are reported then. A partial candidate that would also change entries the student got
   right is penalised: its report says how many, and it ranks lower (rule 6).
3. **Two mistakes**: when no single candidate reproduces the answer, every candidate is made
   again on top of every other mistake (:meth:`~.catalogue.Case.on_top_of`); a pair that reproduces
   the whole answer is reported (instead of partial diagnoses) as two diagnoses, each naming
   the other.
4. **Arithmetic slip**: when still nothing is reported and one or two entries are wrong, and
   they are a minority of the answer (never all of it: a two-entry answer wrong in both is
   not a slip), the diagnosis says so and names them (their expected values are shown unless
   the solution is hidden).
5. **One line per mistake**: two exact diagnoses known to coincide on some problems
   (:data:`EQUIVALENT`) that give the same answer here are one line, under the more common
   code, saying why they coincide.
6. **Order**: exact diagnoses first, then partial ones that change no right entry, then those
   that do; within each, by how much of the answer a diagnosis explains (wrong entries
   explained minus right entries changed), then by how common the mistake is, then by
   catalogue order. At most one diagnosis that would also change right entries is reported
   (the best one): a report never names two such codes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import mistakes  # noqa: F401  (registers the catalogue's entries)
from .catalogue import SLIP, Case, mistakes_for
from .result import Diagnosis, show_value
from .values import align

__all__ = ["EQUIVALENT", "diagnose"]

#: Why two codes can give the same answer (frozenset of codes -> the reason), for rule 5.
EQUIVALENT = {
    frozenset({"flipped-kernel", "unrotated-kernel"}): (
        "with dE/dy given, flipping the kernel changes dE/dx exactly as not rotating it does"
    ),
    frozenset({"flipped-kernel", "swapped-operands"}): (
        "with dE/dy given, the flipped layer's dE/dw is the result rotated by 180 degrees"
    ),
    frozenset({"transposed", "toeplitz-convention"}): (
        "on a square input, transposing the kernel renumbers x and y column by column"
    ),
    frozenset({"stride", "stride-cropped"}): (
        "dE/dw from dE/dy taken without the stride is the stride-1 formula cropped to the kernel"
    ),
    frozenset({"padding", "avg-pool-count"}): (
        "an average pool over the zero-padded input counts the padding in its divisor"
    ),
    frozenset({"scale", "avg-pool-count"}): (
        "every window has the same size here, so the wrong divisor is a constant factor"
    ),
}

#: The most candidates tried for pairs of mistakes, a candidate of n entries counting
#: 1 + n // 256 (bounds the search, deterministically, on large layers).
_MAX_PAIR_TRIES = 400

#: The most wrong entries an arithmetic slip may have (and always fewer than half of them).
_MAX_SLIP = 2


@dataclasses.dataclass
class _Finding:
    """A candidate judged against the answer."""

    code: str
    text: str
    array: object
    exact: bool
    explained: int
    changed_right: int
    common: int
    order: int
    same_as: tuple = ()

    def score(self, n_wrong) -> float:
        if self.exact:
            return 1.0
        return (self.explained - self.changed_right) / max(n_wrong, 1)


class _Judge:
    """Judges candidates against one answer (rules 1 and 2)."""

    def __init__(self, case: Case, mismatches):
        self.case = case
        self.E, self.A, self.compare = case.expected, case.answer, case.compare
        self.EA = align(self.A, self.E.shape)
        self.wrong = [m.index for m in mismatches]
        wrong = set(self.wrong)
        self.right = (
            [] if self.EA is None else [i for i in np.ndindex(self.E.shape) if i not in wrong]
        )
        # numbers compared as whole arrays of ints and Fractions (None: entry by entry)
        self.EK, self.AK = case.compare.keys(self.E), case.compare.keys(self.A)
        if self.EK is None or self.AK is None:
            self.EK = self.AK = None
        self.wrong_mask = np.zeros(self.E.shape, dtype=bool)
        for i in self.wrong:
            self.wrong_mask[i] = True

    def _keys(self, C):
        return None if self.EK is None else self.case.compare.keys(C)

    def reproduces(self, C, CK=None) -> bool:
        """Whether candidate ``C`` is the whole answer (and not the correct result)."""
        CK = self._keys(C) if CK is None else CK
        if CK is not None:
            AK = align(self.AK, C.shape)
            if AK is None:
                return False
            if C.shape == self.E.shape and _all_equal(CK, self.EK):
                return False
            return _all_equal(CK, AK)
        CA = align(self.A, C.shape)
        if CA is None:
            return False
        if C.shape == self.E.shape and self.compare.equal_arrays(C, self.E):
            return False
        return self.compare.equal_arrays(CA, C)

    def judge(self, entry, cand, order, labels):
        """A :class:`_Finding` for one candidate, or None when it explains too little."""
        C = cand.array
        if C is None:
            return None
        aligned = align(C, self.E.shape) if C.shape != self.E.shape else None
        if aligned is not None:  # e.g. (2, 2) for a (1, 2, 2) output
            C = aligned
        CK = self._keys(C)
        if self.reproduces(C, CK):
            text = cand.explanation
            if C.shape != self.E.shape:
                text += f" (shape {tuple(C.shape)})"
            return _Finding(entry.code, text, C, True, len(self.wrong), 0, entry.common, order)
        if cand.exact_only or self.EA is None or C.shape != self.E.shape or not self.wrong:
            return None
        same, norm = self.compare.same, self.compare.norm
        if CK is not None:
            AK = self.AK.reshape(self.E.shape)
            hit = self.wrong_mask & _equal(CK, AK) & ~_equal(CK, np.zeros_like(CK))
            explained = [i for i in self.wrong if hit[i]]
        else:
            explained = [i for i in self.wrong if norm(C[i]) != 0 and same(self.EA[i], C[i])]
        k, n = len(explained), len(self.wrong)
        if k < 2 or 2 * k < n:
            return None
        if k == n:
            text = f"{cand.explanation}; explains all {n} wrong entries"
        else:
            names = ", ".join(labels.get(i, str(i)) for i in explained[:8])
            more = ", ..." if k > 8 else ""
            text = f"{cand.explanation}; explains {k} of {n} wrong entries ({names}{more})"
        if CK is not None:
            changed = int(np.sum(~self.wrong_mask & ~_equal(CK, self.EK)))
        else:
            changed = sum(1 for i in self.right if not same(C[i], self.E[i]))
        return _Finding(entry.code, text, C, False, k, changed, entry.common, order)


def _equal(P, Q) -> np.ndarray:
    """Entry-wise equality of two object arrays of ints and Fractions, as booleans."""
    return np.equal(P, Q).astype(bool)


def _all_equal(P, Q) -> bool:
    return P.shape == Q.shape and bool(np.all(_equal(P, Q)))


def diagnose(case: Case, mismatches, labels) -> list:
    """The :class:`Diagnosis` list for a wrong answer (the rules of the module docstring).
    ``mismatches`` are the wrong entries (empty when the shape did not match) and ``labels``
    the entry names."""
    judge = _Judge(case, mismatches)
    entries = mistakes_for(case.quantity)
    findings, tried = _singles(judge, entries, labels)
    if not any(f.exact for f in findings) and (len(judge.wrong) > 2 or judge.EA is None):
        pair = _pairs(judge, entries, tried)
        if pair:
            return pair
    n, total = len(judge.wrong), int(judge.E.size)
    if not findings and judge.EA is not None and 1 <= n <= _MAX_SLIP and 2 * n < total:
        return [_slip(mismatches, labels)]
    if any(f.exact for f in findings):
        findings = [f for f in findings if f.exact]
    for f in findings:
        if f.changed_right:
            f.text += f", but would also change {f.changed_right} entries that are right"
    findings = _merge_equivalent(findings, case.compare)
    findings.sort(
        key=lambda f: (not f.exact, f.changed_right > 0, -f.score(n), -f.common, f.order)
    )
    changers = [f for f in findings if f.changed_right]
    findings = [f for f in findings if not f.changed_right or f is changers[0]]
    return [Diagnosis(f.code, _with_same_as(f), same_as=f.same_as) for f in findings]


def _singles(judge, entries, labels):
    """The best finding of each mistake (exact beats partial), and every candidate tried
    as ``(order, entry, candidate)`` for the pair search."""
    best, tried = {}, []
    for order, entry in enumerate(entries):
        for cand in entry.build(judge.case):
            if cand.array is None:
                continue
            tried.append((order, entry, cand))
            if entry.code in best and best[entry.code].exact:
                continue
            f = judge.judge(entry, cand, order, labels)
            if f is None:
                continue
            old = best.get(entry.code)
            if old is None or f.exact or f.score(len(judge.wrong)) > old.score(len(judge.wrong)):
                best[entry.code] = f
    return list(best.values()), tried


def _pairs(judge, entries, tried) -> list:
    """Two findings naming each other, for the first pair of mistakes (in catalogue order)
    that reproduces the whole answer made one on top of the other; [] if none does."""
    budget = _MAX_PAIR_TRIES
    for order_a, first, cand_a in tried:
        A = cand_a.array
        if cand_a.variant is None and not cand_a.exact_only:
            continue  # an aligned or scaled result: the other order covers the pair
        if A.shape != judge.E.shape and cand_a.variant is None:
            continue
        if A.shape == judge.E.shape and judge.compare.equal_arrays(A, judge.E):
            continue
        second_case = judge.case.on_top_of(cand_a)
        for order_b, second in enumerate(entries):
            if second.code == first.code:
                continue
            for cand_b in second.build(second_case):
                budget -= 1 + (0 if cand_b.array is None else cand_b.array.size // 256)
                if budget < 0:
                    return []
                C = cand_b.array
                if C is None or not judge.reproduces(C):
                    continue
                if C.shape == A.shape and judge.compare.equal_arrays(C, A):
                    continue
                return [
                    _pair_diagnosis(first, cand_a, second, cand_b),
                    _pair_diagnosis(second, cand_b, first, cand_a),
                ]
    return []


def _pair_diagnosis(entry, cand, other, other_cand) -> Diagnosis:
    return Diagnosis(
        entry.code,
        f"{cand.explanation}; together with {other.code} ({other_cand.explanation}), "
        "this reproduces the whole answer",
    )


def _slip(mismatches, labels) -> Diagnosis:
    names = [labels.get(m.index, str(m.index)) for m in mismatches]
    text = "arithmetic slip in " + ("entry " if len(names) == 1 else "entries ") + ", ".join(names)
    text += " (no mistake of the catalogue explains it)"
    detail = ", ".join(
        f"{name} should be {show_value(m.expected)}" for name, m in zip(names, mismatches)
    )
    return Diagnosis(SLIP, text, detail=detail)


def _merge_equivalent(findings, compare) -> list:
    """Rule 5: exact findings of an :data:`EQUIVALENT` pair with equal answers become one,
    under the more common code."""
    out = []
    for f in findings:
        twin = next((g for g in out if _equivalent(f, g, compare)), None)
        if twin is None:
            out.append(f)
            continue
        keep, drop = (twin, f) if (-twin.common, twin.order) <= (-f.common, f.order) else (f, twin)
        keep.same_as = keep.same_as + (drop.code,) + drop.same_as
        if keep is f:
            out[out.index(twin)] = f
    return out


def _equivalent(f, g, compare) -> bool:
    return (
        f.exact
        and g.exact
        and frozenset({f.code, g.code}) in EQUIVALENT
        and f.array.shape == g.array.shape
        and compare.equal_arrays(f.array, g.array)
    )


def _with_same_as(f) -> str:
    text = f.text
    for other in f.same_as:
        why = EQUIVALENT.get(frozenset({f.code, other}), "both give this answer here")
        text += f"; the same mistake as {other} here ({why})"
    return text
