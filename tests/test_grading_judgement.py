"""How the checker judges candidates: two mistakes at once, arithmetic slips, only mistakes
consistent with the whole answer, equivalent diagnoses on one line, and the report order.

Every answer is computed here with plain loops over ``fractions.Fraction`` (never by symconv).
"""

from __future__ import annotations

import json
from fractions import Fraction as Fr

import pytest

import symconv
from symconv.check import check
from symconv.grading import catalogue

X = [[1, 2, 0], [0, 1, 3], [2, 1, 1]]
W = [[1, -1], [2, 0]]


def js(a) -> str:
    def conv(v):
        if isinstance(v, list):
            return [conv(u) for u in v]
        v = Fr(v)
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"

    return json.dumps(conv(a))


def corr(x, w, b=0):
    k = len(w)
    n = len(x) - k + 1
    m = len(x[0]) - len(w[0]) + 1
    return [
        [
            Fr(b) + sum(Fr(x[i + a][j + c]) * w[a][c] for a in range(k) for c in range(len(w[0])))
            for j in range(m)
        ]
        for i in range(n)
    ]


def rot(w):
    return [row[::-1] for row in w[::-1]]


def transpose(w):
    return [list(r) for r in zip(*w)]


def pad(x, lo, hi):
    n = len(x)
    size = n + lo + hi
    out = [[Fr(0)] * size for _ in range(size)]
    for i in range(n):
        for j in range(n):
            out[i + lo][j + lo] = Fr(x[i][j])
    return out


def toeplitz_row(w, n=3):
    """W with x W = y (row convention): W[p][o] is the weight input p gets for output o."""
    k = len(w)
    m = n - k + 1
    mat = [[Fr(0)] * (m * m) for _ in range(n * n)]
    for i in range(m):
        for j in range(m):
            for a in range(k):
                for c in range(k):
                    mat[(i + a) * n + (j + c)][i * m + j] = Fr(w[a][c])
    return mat


# ---------------------------------------------------------------------- two mistakes at once
def test_two_mistakes_are_both_reported():
    layer = symconv.conv((3, 3), 2, bias=True)
    ans = corr(X, rot(W))  # true convolution and the bias forgotten
    r = check(layer, "output", js(ans), x=X, w=W, b=[5])
    assert sorted(r.codes) == ["flipped-kernel", "missing-bias"], r.to_text()
    assert all("together with" in d.explanation for d in r.diagnosis)


# ---------------------------------------------------------------------- arithmetic slips
def test_an_arithmetic_slip_names_the_entry_and_its_value():
    layer = symconv.conv((3, 3), 2)
    y = corr(X, W)
    ans = [row[:] for row in y]
    ans[1][0] += 3
    r = check(layer, "output", js(ans), x=X, w=W)
    assert r.codes == ["arithmetic-slip"], r.to_text()
    assert f"y_21 should be {y[1][0]}" in r.to_text()
    hidden = r.to_text(hide_solution=True)
    assert "arithmetic slip in entry y_21" in hidden and "should be" not in hidden
    assert "should be" not in json.dumps(r.to_dict(hide_solution=True))


def test_no_slip_when_many_entries_are_wrong():
    layer = symconv.conv((3, 3), 2)
    ans = [[100, 200], [300, 400]]
    assert check(layer, "output", js(ans), x=X, w=W).codes == []


# ---------------------------------------------------------------------- consistency, merging
def test_transposed_kernel_toeplitz_is_one_line_and_nothing_else():
    """The matrix of the transposed kernel: not also flipped-kernel or scale (they would
    change right entries); on a square input it is the column-major numbering too."""
    layer = symconv.conv((3, 3), 2)
    ans = toeplitz_row(transpose(W))
    r = check(layer, "toeplitz", js(ans), w=W)
    assert r.codes == ["transposed"], r.to_text()
    (d,) = r.diagnosis
    assert d.same_as == ("toeplitz-convention",)
    assert "square input" in d.explanation
    assert check(layer, "toeplitz", js(toeplitz_row(W)), w=W).correct


def test_flipped_and_unrotated_kernel_are_one_line_when_dy_is_given():
    layer = symconv.conv((3, 3), 2)
    dy = [[1, -2], [3, 1]]
    ans = corr(pad(dy, 1, 1), W)  # full correlation with the kernel not rotated
    r = check(layer, "grad-input", js(ans), x=X, w=W, dy=dy)
    assert len(r.diagnosis) == 1, r.to_text()
    d = r.diagnosis[0]
    assert {d.code, *d.same_as} == {"flipped-kernel", "unrotated-kernel"}
    assert d.code == "unrotated-kernel" and "the same mistake as flipped-kernel" in d.explanation
    assert r.to_dict()["diagnosis"][0]["same_as"] == ["flipped-kernel"]


# ---------------------------------------------------------------------- order
def test_index_shift_before_padding_for_an_off_by_one_window():
    """Windows read one position too far: the same answer as all the padding on the high
    side; the index shift is the more common mistake, so it comes first."""
    layer = symconv.conv((3, 3), 2, padding=1)
    ans = corr(pad(X, 0, 2), W)
    r = check(layer, "output", js(ans), x=X, w=W)
    assert r.codes[:2] == ["index-shift", "padding"], r.to_text()


@pytest.fixture
def scratch_catalogue(monkeypatch):
    monkeypatch.setattr(catalogue, "CATALOGUE", [])
    monkeypatch.setattr(catalogue, "DIAGNOSES", dict(catalogue.DIAGNOSES))
    return catalogue


Y = corr(X, W)  # [[-1, 4], [3, 0]]


def _answer(changes):
    ans = [row[:] for row in Y]
    for (i, j), v in changes.items():
        ans[i][j] = Fr(v)
    return ans


def _candidate(changes):
    import numpy as np

    return np.array(_answer(changes), dtype=object)


def test_order_by_explained_share_then_commonness(scratch_catalogue):
    cat = scratch_catalogue
    ans = {(0, 0): 7, (0, 1): 8, (1, 0): 9}

    @cat.mistake("rare-exact", "rare", quantities=("output",), common=1)
    def _rare(case):
        yield cat.Candidate("reproduces everything", _candidate(ans))

    @cat.mistake("usual-exact", "usual", quantities=("output",), common=5)
    def _usual(case):
        yield cat.Candidate("reproduces everything too", _candidate(ans))

    r = check(symconv.conv((3, 3), 2), "output", js(_answer(ans)), x=X, w=W)
    assert r.codes == ["usual-exact", "rare-exact"], r.to_text()


def test_partial_diagnoses_are_ranked_and_penalised(scratch_catalogue):
    cat = scratch_catalogue
    ans = {(0, 0): 7, (0, 1): 8, (1, 0): 9}

    @cat.mistake("breaks-right", "changes a right entry", quantities=("output",), common=5)
    def _breaks(case):
        yield cat.Candidate(
            "two of three, and y_22", _candidate({(0, 0): 7, (0, 1): 8, (1, 1): 5})
        )

    @cat.mistake("consistent", "changes wrong entries only", quantities=("output",), common=1)
    def _consistent(case):
        yield cat.Candidate("two of three", _candidate({(0, 0): 7, (1, 0): 9}))

    r = check(symconv.conv((3, 3), 2), "output", js(_answer(ans)), x=X, w=W)
    assert r.codes == ["consistent", "breaks-right"], r.to_text()
    assert "would also change 1 entries that are right" in r.diagnosis[1].explanation

    @cat.mistake("exact", "reproduces it", quantities=("output",), common=1)
    def _exact(case):
        yield cat.Candidate("all of it", _candidate(ans))

    r = check(symconv.conv((3, 3), 2), "output", js(_answer(ans)), x=X, w=W)
    assert r.codes == ["exact"], r.to_text()


# ---------------------------------------------------------------------- issue 23 rules
def test_a_slip_is_a_minority_never_the_whole_answer():
    layer = symconv.conv((5, 5), 3)  # output size 3x3
    assert check(layer, "output-size", "3x3").correct
    r = check(layer, "output-size", "17x19")  # both entries wrong: a formula mistake
    assert "arithmetic-slip" not in r.codes, r.to_text()
    r = check(layer, "output-size", "3x19")  # one of two: half, not a minority
    assert "arithmetic-slip" not in r.codes, r.to_text()
    pool = symconv.conv((3, 3), 2, bias=True)  # one-entry dE/db wrong: the whole answer
    r = check(pool, "grad-bias", "[100]", x=X, w=W, b=[1], dy=[[1, 2], [3, 4]])
    assert "arithmetic-slip" not in r.codes, r.to_text()
    y = corr(X, W)  # four entries, one wrong: a slip
    ans = [row[:] for row in y]
    ans[0][1] += 5
    assert check(symconv.conv((3, 3), 2), "output", js(ans), x=X, w=W).codes == ["arithmetic-slip"]
    ans[1][1] += 7  # two of four: not a minority
    assert (
        "arithmetic-slip" not in check(symconv.conv((3, 3), 2), "output", js(ans), x=X, w=W).codes
    )


def test_changers_rank_last_and_at_most_one_is_reported(scratch_catalogue):
    cat = scratch_catalogue
    ans = {(0, 0): 7, (0, 1): 8, (1, 0): 9}  # y_22 is right

    @cat.mistake("changer-1", "a", quantities=("output",), common=5)
    def _c1(case):
        yield cat.Candidate("all three, and y_22", _candidate({**ans, (1, 1): 5}))

    @cat.mistake("changer-2", "b", quantities=("output",), common=5)
    def _c2(case):
        yield cat.Candidate("two, and y_22", _candidate({(0, 0): 7, (0, 1): 8, (1, 1): 4}))

    @cat.mistake("quiet", "c", quantities=("output",), common=1)
    def _quiet(case):
        yield cat.Candidate("two of three", _candidate({(0, 0): 7, (1, 0): 9}))

    r = check(symconv.conv((3, 3), 2), "output", js(_answer(ans)), x=X, w=W)
    assert r.codes == ["quiet", "changer-1"], r.to_text()
    assert sum("would also change" in d.explanation for d in r.diagnosis) == 1
