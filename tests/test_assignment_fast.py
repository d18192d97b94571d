"""The fast paths of ``symconv assignment`` (make and grade for a whole class) give what the slow,
independent computations give: the generated per-layer answer programs against the reference
loops run over Fractions, the one-loop hash stream against draws one at a time, the JSON answer
shortcut of grading against the full ``check``; and the verification still catches a
derivation that disagrees with the reference loops."""

from __future__ import annotations

import json
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

import symconv
from symconv import assignment
from symconv.assignment import answers
from symconv.assignment.answers import AnswerKeyError, derived_answers
from symconv.assignment.grade import _fast_equal, _same_lists
from symconv.assignment.variants import HashDraw, _plain
from symconv.core import reference
from symconv.grading import check

LAYERS = [
    symconv.conv((5, 5), 3, padding=1, dilation=1, bias=True),
    symconv.conv((6, 6), 2, in_channels=2, out_channels=4, groups=2, stride=2, bias=True),
    symconv.conv((7, 7), 3, dilation=2, padding=2, stride=(1, 2), flip=True),
    symconv.conv((6,), 3, in_channels=2, out_channels=2, stride=2, padding=1),
    symconv.conv((3, 3, 3), 2, bias=True),
    symconv.conv_transpose((3, 3), 3, stride=2, padding=1, bias=True),
    symconv.conv_transpose(
        (2, 3), 2, in_channels=2, out_channels=2, groups=2, stride=(2, 1), output_padding=(1, 0)
    ),
    symconv.max_pool((4, 4), 2, channels=2),
    symconv.max_pool((5, 5), 3, stride=2, padding=1),
    symconv.max_pool((5, 5), 2, stride=1, ties="split"),
    symconv.avg_pool((5, 5), 3, stride=2, padding=1),
    symconv.avg_pool((5, 5), 2, stride=2, padding=1, count_include_pad=False),
]


def _ints(rng, shape, low=-3, high=3):
    arr = np.empty(shape, dtype=object)
    arr.reshape(-1)[:] = [int(v) for v in rng.integers(low, high + 1, size=arr.size)]
    return arr


def _fractions(arr):
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(v) for v in arr.reshape(-1)]
    return out


def _exact_reference(layer, givens):
    """quantity -> Fraction array, from the reference loops in exact mode."""
    spec = layer.spec
    x = _fractions(givens["x"])
    w = _fractions(givens["w"]) if "w" in givens else None
    b = _fractions(givens["b"]) if "b" in givens else None
    dy = _fractions(givens["dy"])
    out = {"output": reference.forward(spec, x, w, b)}
    dx, dw, db = reference.backward(spec, dy, x, w)
    out["grad-input"] = dx
    if dw is not None:
        out["grad-weight"] = dw
    if spec.bias:
        out["grad-bias"] = np.array([sum(dy[c].reshape(-1), Fraction(0)) for c in range(len(dy))])
    if spec.kind != "max_pool":
        rows = []
        for i in range(int(np.prod(spec.x_shape))):
            e = np.full(spec.x_shape, Fraction(0), dtype=object)
            e.reshape(-1)[i] = Fraction(1)
            rows.append(reference.forward(spec, e, w, None).reshape(-1))
        out["toeplitz"] = np.array(rows, dtype=object)
    return out


@pytest.mark.parametrize("layer", LAYERS, ids=[repr(la.spec)[:60] for la in LAYERS])
def test_generated_programs_equal_the_exact_reference_loops(layer):
    spec = layer.spec
    rng = np.random.default_rng(abs(hash(repr(spec))) % 2**32)
    quantities = ["output", "grad-input"]
    if spec.has_weight:
        quantities.append("grad-weight")
    if spec.bias:
        quantities.append("grad-bias")
    if spec.kind != "max_pool":
        quantities.append("toeplitz")
    low = 0 if spec.kind == "max_pool" else -3
    for trial in range(4):
        givens = {"x": _ints(rng, spec.x_shape, low, 2 if trial % 2 else 9), "dy": None}
        if spec.has_weight:
            givens["w"] = _ints(rng, spec.w_shape)
        if spec.bias:
            givens["b"] = _ints(rng, spec.b_shape)
        givens["dy"] = _ints(rng, spec.y_shape)
        got = derived_answers(layer, quantities, givens)
        want = _exact_reference(layer, givens)
        comp = answers._compiled(layer)
        for q in quantities:
            name = "toeplitz" if q == "toeplitz" else answers.QUANTITY_ARRAYS[q]
            assert comp.program(name) is not None, (q, "the generated program was not used")
            assert got[q].shape == want[q].shape, q
            assert [Fraction(v) for v in got[q].reshape(-1)] == list(want[q].reshape(-1)), q
            assert all(type(v) in (int, Fraction) for v in got[q].reshape(-1))
            assert all(type(v) is int for v in got[q].reshape(-1) if Fraction(v).denominator == 1)
        # Fraction givens take the general path (entry by entry): the same exact answers
        halves = {k: _fractions(v) / 2 for k, v in givens.items()}
        got = derived_answers(layer, quantities, halves)
        want = _exact_reference(layer, halves)
        for q in quantities:
            assert [Fraction(v) for v in got[q].reshape(-1)] == list(want[q].reshape(-1)), q


def test_general_path_when_programs_are_off_gives_the_same_variants(monkeypatch):
    a = assignment.load(
        {
            "seed": 7,
            "questions": [
                {
                    "id": "p",
                    "layer": {"kind": {"choice": ["max_pool", "avg_pool"]}, "input_size": [4, 4]}
                    | {"kernel_size": 2, "stride": 1},
                    "quantities": ["output", "grad-input"],
                    "givens": {"x": {"range": [0, 3]}},
                },
                {
                    "id": "c",
                    "layer": {
                        "kind": "conv",
                        "input_size": [4, 4],
                        "kernel_size": 3,
                        "bias": True,
                    },
                    "quantities": ["output", "grad-weight", "grad-bias", "toeplitz"],
                },
            ],
        }
    )
    fast = [assignment.variant(a, f"s{i}").answer_key() for i in range(12)]
    monkeypatch.setattr(answers, "MAX_PROGRAM_TERMS", 0)
    monkeypatch.setattr(answers, "_CACHE", {})
    slow = [assignment.variant(a, f"s{i}").answer_key() for i in range(12)]
    assert all(c.programs and set(c.programs.values()) == {None} for c in answers._CACHE.values())
    assert fast == slow


def test_verification_still_catches_a_wrong_derivation(monkeypatch, tmp_path):
    a = assignment.load(
        {
            "seed": "s",
            "questions": [
                {
                    "id": "ok",
                    "layer": {"input_size": [3, 3], "kernel_size": 2},
                    "quantities": ["output-size"],
                },
                {
                    "id": "bad",
                    "layer": {"input_size": [4, 4], "kernel_size": 2},
                    "quantities": ["output"],
                },
            ],
        }
    )
    real = answers._Program.__call__

    def off_by_one(self, values):
        out = real(self, values)
        return [out[0] + 1] + out[1:]

    monkeypatch.setattr(answers._Program, "__call__", off_by_one)
    with pytest.raises(
        AnswerKeyError, match=r"question bad: .*disagree on output for student 'amy'"
    ):
        assignment.variant(a, "amy")
    roster = tmp_path / "r.csv"
    roster.write_text("id\namy\nbob\n")
    with pytest.raises(AnswerKeyError):
        assignment.make(a, roster, tmp_path / "out", jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]  # nothing half-written


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 255, 1000])
def test_hash_draw_choices_is_the_stream_of_single_choices(n):
    seq = list(range(100, 100 + n))
    one, many = HashDraw("seed", "s1", n), HashDraw("seed", "s1", n)
    for count in (0, 1, 5, 40, 3):
        assert many.choices(seq, count) == [one.choice(seq) for _ in range(count)]
        assert many.below(11) == one.below(11)  # the stream goes on in step


def _variant_part(student):
    a = assignment.load(
        {
            "seed": "g",
            "questions": [
                {
                    "id": "q",
                    "layer": {"kind": "avg_pool", "input_size": [4, 4], "kernel_size": 3}
                    | {"padding": 1, "stride": 2, "channels": 2},
                    "quantities": ["grad-input"],
                }
            ],
        }
    )
    return assignment.variant(a, student).questions[0]


def _deep(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def test_json_answer_shortcut_agrees_with_check():
    qv = _variant_part("sam")
    key = qv.answers["grad-input"]
    plain = _plain(key)
    assert any("/" in str(v) for v in np.asarray(plain, dtype=object).reshape(-1))
    givens = {k: _plain(v) for k, v in qv.givens.items()}

    def oracle(answer):
        try:
            return check(qv.layer, "grad-input", answer, **givens).correct
        except (symconv.SymconvError, ValueError, TypeError):
            return False

    wrong = json.loads(json.dumps(plain))
    wrong[1][0][0] = "-7/3" if wrong[1][0][0] != "-7/3" else "7/3"
    flat = np.asarray(plain, dtype=object).reshape(-1).tolist()
    as_ints = json.loads(json.dumps(plain))
    as_ints[0][0][0] = True  # a boolean is not a number
    cases = {
        "key": plain,
        "key as text": json.dumps(plain),
        "one wrong entry": wrong,
        "flat": flat,
        "one channel": plain[:1],
        "boolean": as_ints,
        "floats": [[[float(Fraction(v)) for v in row] for row in ch] for ch in plain],
        "leading zeros": [
            [["0" + str(v) if "/" not in str(v) else v for v in row] for row in ch] for ch in plain
        ],
    }
    for name, answer in cases.items():
        fast = _fast_equal(answer, "grad-input", key)
        assert fast == oracle(answer) or (
            not fast and name in ("floats", "flat", "leading zeros", "key as text")
        ), name
        if fast:
            assert oracle(answer), name
    assert _fast_equal(plain, "grad-input", key) and oracle(plain)
    assert not _fast_equal(wrong, "grad-input", key) and not oracle(wrong)


def test_json_answer_shortcut_refuses_hostile_input_quickly():
    qv = _variant_part("kim")
    key = qv.answers["grad-input"]
    huge = json.loads(json.dumps(_plain(key)))
    huge[0][0][0] = "9" * 5000
    hostile = [
        _deep(sys.getrecursionlimit() * 5),
        huge,
        [[[0] * 10**5] * 4] * 2,
        [[["__import__('os')"] * 4] * 4] * 2,
        [[[{"a": 1}] * 4] * 4] * 2,
    ]
    start = time.perf_counter()
    for answer in hostile:
        assert not _same_lists(answer, key)
    assert time.perf_counter() - start < 0.5
