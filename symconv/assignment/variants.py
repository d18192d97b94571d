"""Per-student variants, drawn deterministically from (secret seed, student id).

Every random choice comes from :class:`HashDraw`, a counter-mode SHA-256 stream keyed by the
seed, the student id, the question id and the attempt number, so a student's variant depends
on nothing else: adding a student to the roster changes no one else's numbers, and the same
inputs give the same variant on every machine and Python version. A draw that violates a
constraint is redrawn with the next attempt number (deterministically).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from fractions import Fraction

import numpy as np

from ..core.errors import SpecError
from .answers import AnswerKeyError, derived_answers, reference_answers, same
from .spec import Assignment, Question

__all__ = ["HashDraw", "QuestionVariant", "Variant", "draw_variant", "variant_count"]

#: Attempts per question before the constraints are declared impossible.
MAX_ATTEMPTS = 200


class HashDraw:
    """A deterministic stream of integers keyed by text (SHA-256 in counter mode)."""

    def __init__(self, *key):
        self.key = "\x1f".join(str(k) for k in key).encode("utf-8")
        self.counter = 0
        self.pool = 0
        self.bits = 0

    def _refill(self):
        h = hashlib.sha256(self.key + b"\x1e" + str(self.counter).encode()).digest()
        self.counter += 1
        self.pool = (self.pool << 256) | int.from_bytes(h, "big")
        self.bits += 256

    def below(self, n: int) -> int:
        """Uniform in ``range(n)`` (rejection sampling, no modulo bias)."""
        if n <= 1:
            return 0
        k = (n - 1).bit_length()
        while True:
            while self.bits < k:
                self._refill()
            self.bits -= k
            v = (self.pool >> self.bits) & ((1 << k) - 1)
            self.pool &= (1 << self.bits) - 1
            if v < n:
                return v

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def choices(self, seq, count: int) -> list:
        """``[self.choice(seq) for _ in range(count)]`` (the same stream), in one loop."""
        n = len(seq)
        if n <= 1:
            return [seq[0] for _ in range(count)]
        k = (n - 1).bit_length()
        mask = (1 << k) - 1
        out = []
        pool, bits = self.pool, self.bits
        while len(out) < count:
            if bits < k:
                self.pool, self.bits = pool, bits
                self._refill()
                pool, bits = self.pool, self.bits
                continue
            bits -= k
            v = (pool >> bits) & mask
            pool &= (1 << bits) - 1
            if v < n:
                out.append(seq[v])
        self.pool, self.bits = pool, bits
        return out

    def sample(self, n: int, k: int) -> list:
        """``k`` distinct indices of ``range(n)``, in increasing order."""
        idx = list(range(n))
        for i in range(min(k, n)):
            j = i + self.below(n - i)
            idx[i], idx[j] = idx[j], idx[i]
        return sorted(idx[:k])


@dataclasses.dataclass
class QuestionVariant:
    """One student's version of one question: the layer (and the template options it came
    from), the given arrays (object arrays of int) and the exact answers per quantity."""

    question: Question
    options: dict
    layer: object
    givens: dict
    answers: dict
    attempt: int = 0

    def fingerprint(self) -> str:
        """Equal for two variants exactly when their layer options and givens are equal."""
        return _options_json(self.options) + "\x1f" + self.givens_json()

    def givens_json(self) -> str:
        """The given arrays as compact JSON (computed once per variant)."""
        text = self.__dict__.get("_givens_json")
        if text is None:
            plain = {k: _plain(v) for k, v in self.givens.items()}
            text = self.__dict__["_givens_json"] = json.dumps(plain, separators=(",", ":"))
        return text

    def to_dict(self, answers=True) -> dict:
        out = {
            "layer": {k: _plain(v) for k, v in self.options.items()},
            "layer_repr": spec_repr(self.layer.spec),
            "givens": {k: _plain(v) for k, v in self.givens.items()},
        }
        if answers:
            labels = self.question.labels
            out["answers"] = {
                lab: _plain(self.answers[q]) for lab, q in zip(labels, self.question.quantities)
            }
        return out


@dataclasses.dataclass
class Variant:
    """A student's whole assignment: one :class:`QuestionVariant` per question."""

    student: str
    questions: list

    def fingerprint(self) -> str:
        return "|".join(q.fingerprint() for q in self.questions)

    def answer_key(self) -> dict:
        """The machine-readable key (parameters, givens and answers per question)."""
        return {
            "student": self.student,
            "questions": {qv.question.id: qv.to_dict() for qv in self.questions},
        }


#: id(options dict of a template layer) -> (the dict, its JSON for fingerprints); the dict is
#: kept so that its id is not reused while cached.
_OPTIONS_JSON: dict = {}


def _options_json(options) -> str:
    hit = _OPTIONS_JSON.get(id(options))
    if hit is None or hit[0] is not options:
        if len(_OPTIONS_JSON) > 4096:
            _OPTIONS_JSON.clear()
        hit = (options, json.dumps(sorted((k, repr(v)) for k, v in options.items())))
        _OPTIONS_JSON[id(options)] = hit
    return hit[1]


@functools.lru_cache(maxsize=1024)
def spec_repr(spec) -> str:
    """``repr(spec)``, computed once per layer spec."""
    return repr(spec)


def _plain(v):
    if type(v) is int or type(v) is str:
        return v
    if isinstance(v, np.ndarray) and set(map(type, v.reshape(-1).tolist())) <= {int}:
        return v.tolist()  # the common case, at C speed
    if isinstance(v, np.ndarray):
        return [_plain(u) for u in v] if v.ndim else _plain(v[()])
    if isinstance(v, (list, tuple)):
        return [_plain(u) for u in v]
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def _draw_array(draw: HashDraw, shape, giv) -> np.ndarray:
    values = giv.values()
    n = int(np.prod(shape))
    flat = draw.choices(values, n)
    if giv.max_nonzeros is not None and giv.max_nonzeros < n:
        nonzero = [v for v in values if v != 0] or values
        keep = set(draw.sample(n, giv.max_nonzeros))
        flat = [
            (v if v != 0 else draw.choice(nonzero)) if i in keep else 0 for i, v in enumerate(flat)
        ]
    arr = np.empty(n, dtype=object)
    arr[:] = flat
    return arr.reshape(shape)


def _violation(q: Question, spec, givens, answers):
    """The name of the first constraint the draw violates, or None."""
    c = q.constraints
    if c["no_zero_dy_row"] and "dy" in givens:
        dy = givens["dy"]
        rows = dy.reshape(-1, dy.shape[-1])
        if any(all(v == 0 for v in row) for row in rows):
            return "no_zero_dy_row"
    if c["max_abs_answer"] is not None:
        bound = c["max_abs_answer"]
        for a in answers.values():
            if any(abs(v) > bound for v in a.reshape(-1)):
                return "max_abs_answer"
    if c["no_zero_answer"]:
        for a in answers.values():
            if all(v == 0 for v in a.reshape(-1)):
                return "no_zero_answer"
    return None


def draw_question(assignment: Assignment, q: Question, student, verify=True, salt=0):
    """The question's variant for ``student`` (constraints met; raises SpecError naming the
    question and the constraint when no attempt meets them)."""
    counts = {}
    for attempt in range(MAX_ATTEMPTS):
        draw = HashDraw(assignment.seed, student, q.id, salt, attempt)
        options, layer = q.layers[draw.below(len(q.layers))]
        spec = layer.spec
        givens = {}
        shapes = {"x": spec.x_shape, "w": spec.w_shape, "b": spec.b_shape, "dy": spec.y_shape}
        for name in q.needed(spec):
            givens[name] = _draw_array(draw, shapes[name], q.givens[name])
        answers = derived_answers(layer, q.quantities, givens, f"question {q.id}")
        bad = _violation(q, spec, givens, answers)
        if bad is None:
            if verify:
                ref = reference_answers(layer, q.quantities, givens)
                for qty in q.quantities:
                    if not same(answers[qty], ref[qty]):
                        raise AnswerKeyError(
                            f"assignment: question {q.id}: the derivation and the reference "
                            f"loops disagree on {qty} for student {student!r} ({spec!r})"
                        )
            return QuestionVariant(q, options, layer, givens, answers, attempt)
        counts[bad] = counts.get(bad, 0) + 1
    worst = max(counts, key=counts.get)
    raise SpecError(
        f"assignment: question {q.id}: constraints.{worst} cannot be met: {MAX_ATTEMPTS} "
        f"draws for student {student!r} all violate it ({worst} = "
        f"{q.constraints[worst]!r}); widen the givens' ranges or relax the constraint"
    )


def draw_variant(assignment: Assignment, student, verify=True, salt=0) -> Variant:
    """Student ``student``'s variant of every question. ``salt`` > 0 redraws it (used when it
    would repeat an earlier student's)."""
    return Variant(
        str(student),
        [draw_question(assignment, q, student, verify, salt) for q in assignment.questions],
    )


def variant_count(assignment: Assignment) -> int:
    """How many different variants the template allows (before constraints): per question,
    the sum over its layers of the ways to draw the givens; the product over questions."""
    total = 1
    for q in assignment.questions:
        n_q = 0
        for _, layer in q.layers:
            spec = layer.spec
            shapes = {"x": spec.x_shape, "w": spec.w_shape, "b": spec.b_shape, "dy": spec.y_shape}
            ways = 1
            for name in q.needed(spec):
                ways *= _array_ways(int(np.prod(shapes[name])), q.givens[name])
            n_q += ways
        total *= n_q
        if total > 10**30:
            return 10**30
    return total


def _array_ways(n, giv) -> int:
    values = giv.values()
    nonzero = len([v for v in values if v != 0])
    if giv.max_nonzeros is None or giv.max_nonzeros >= n:
        return len(values) ** n
    return sum(math.comb(n, j) * nonzero**j for j in range(giv.max_nonzeros + 1))
