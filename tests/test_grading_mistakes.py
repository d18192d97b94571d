"""The mistakes students really make: each catalogue entry added for issue 14, on answers
computed here, independently of symconv (small loops over ``fractions.Fraction``).

No answer below comes from symconv: the forward and backward passes, the pools and every
mistaken variant are written out as plain loops in this file.
"""

from __future__ import annotations

import json
from fractions import Fraction as Fr

import pytest

import symconv
from symconv.check import check

#: The codes this file covers (test_check.py covers the earlier ones).
NEW_CODES = [
    "stride-cropped",
    "valid-correlation",
    "bias-not-summed",
    "channel-axis",
    "first-filter",
    "avg-pool-count",
    "max-pool-broadcast",
    "max-pool-averaged",
    "max-pool-ties",
    "max-pool-overwrite",
    "forward-size-formula",
    "arithmetic-slip",
]

X4 = [[1, 2, 0, 3], [0, 1, 3, 1], [2, 1, 1, 0], [1, 0, 2, 2]]
W2 = [[1, -1], [2, 0]]


# ---------------------------------------------------------------------- plain-loop oracles
def zeros(*shape):
    if len(shape) == 1:
        return [Fr(0)] * shape[0]
    return [zeros(*shape[1:]) for _ in range(shape[0])]


def fr(a):
    return [fr(v) for v in a] if isinstance(a, list) else Fr(a)


def js(a) -> str:
    def conv(v):
        if isinstance(v, list):
            return [conv(u) for u in v]
        v = Fr(v)
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"

    return json.dumps(conv(a))


def pad(x, p):
    n, m = len(x), len(x[0])
    out = zeros(n + 2 * p, m + 2 * p)
    for i in range(n):
        for j in range(m):
            out[i + p][j + p] = Fr(x[i][j])
    return out


def corr(x, w, stride=1):
    """Valid cross-correlation of one 2-D channel with one 2-D kernel."""
    k, l = len(w), len(w[0])
    rows = (len(x) - k) // stride + 1
    cols = (len(x[0]) - l) // stride + 1
    return [
        [
            sum(
                (
                    Fr(x[i * stride + a][j * stride + b]) * Fr(w[a][b])
                    for a in range(k)
                    for b in range(l)
                ),
                Fr(0),
            )
            for j in range(cols)
        ]
        for i in range(rows)
    ]


def rot(w):
    return [row[::-1] for row in w[::-1]]


def add(a, b):
    return [[u + v for u, v in zip(r, s)] for r, s in zip(a, b)]


def dilate(d, s):
    """Insert s-1 zeros between the entries of a 2-D array."""
    n, m = len(d), len(d[0])
    out = zeros((n - 1) * s + 1, (m - 1) * s + 1)
    for i in range(n):
        for j in range(m):
            out[i * s][j * s] = Fr(d[i][j])
    return out


def conv_dx(dy, w, n, stride=1):
    """dE/dx of a single-channel valid conv: scatter dy[i][j] * w[a][b] onto x."""
    dx = zeros(n, n)
    for i in range(len(dy)):
        for j in range(len(dy[0])):
            for a in range(len(w)):
                for b in range(len(w[0])):
                    dx[i * stride + a][j * stride + b] += Fr(dy[i][j]) * Fr(w[a][b])
    return dx


def windows(n, k, s, p=0):
    """(output position, [(row, col) of the real inputs of its window], window size)."""
    out = (n + 2 * p - k) // s + 1
    for i in range(out):
        for j in range(out):
            cells = [
                (i * s + a - p, j * s + b - p)
                for a in range(k)
                for b in range(k)
                if 0 <= i * s + a - p < n and 0 <= j * s + b - p < n
            ]
            yield (i, j), cells


# ---------------------------------------------------------------------- backward-pass steps
def test_strided_grad_weight_with_the_stride_1_formula_cropped():
    layer = symconv.conv((4, 4), 2, stride=2)
    dy = [[1, -2], [3, 1]]
    # stride-1 formula: dw[a][b] = sum_ij dy[i][j] x[i + a][j + b], kept for a, b < 2
    ans = [
        [
            sum(Fr(dy[i][j]) * X4[i + a][j + b] for i in range(2) for j in range(2))
            for b in range(2)
        ]
        for a in range(2)
    ]
    r = check(layer, "grad-weight", js(ans), x=X4, w=W2, dy=dy)
    assert not r.correct and r.codes == ["stride-cropped"], r.to_text()


def test_grad_input_as_a_valid_correlation():
    layer = symconv.conv((4, 4), 2)
    dy = [[1, 0, -1], [2, 1, 0], [0, 3, 1]]
    ans = corr(dy, rot(W2))  # 2x2: dE/dy not padded by k - 1
    r = check(layer, "grad-input", js(ans), x=X4, w=W2, dy=dy)
    assert r.codes == ["wrong-shape", "valid-correlation"], r.to_text()
    # the full correlation is the right answer (a check of this file's oracle)
    full = corr(pad(dy, 1), rot(W2))
    assert full == conv_dx(dy, W2, 4)
    assert check(layer, "grad-input", js(full), x=X4, w=W2, dy=dy).correct


def test_bias_gradient_not_summed_over_positions():
    layer = symconv.conv((3, 3), 2, out_channels=2, bias=True)
    w = [[[[1, 0], [0, 1]]], [[[2, -1], [1, 0]]]]
    dy = [[[1, 2], [3, -1]], [[0, 1], [-2, 2]]]
    r = check(
        layer, "grad-bias", js(dy), x=[[1, 2, 0], [0, 1, 3], [2, 1, 1]], w=w, b=[1, 0], dy=dy
    )
    assert "bias-not-summed" in r.codes, r.to_text()
    first = [dy[0][0][0], dy[1][0][0]]
    r = check(layer, "grad-bias", js(first), w=w, b=[1, 0], dy=dy)
    assert r.codes == ["bias-not-summed"], r.to_text()


# ---------------------------------------------------------------------- multi-channel
MC_X = [[[1, 2, 0], [0, 1, 3], [2, 1, 1]], [[0, 1, 1], [2, 0, 1], [1, 1, 0]]]
MC_W = [  # w[o][c]
    [[[1, 0], [0, 2]], [[0, 1], [1, 0]]],
    [[[-1, 1], [0, 1]], [[2, 0], [0, -1]]],
]


def mc_forward(w):
    """y[o] = sum_c corr(x[c], w[o][c]) for the 2 -> 2 channel layer (no bias)."""
    out = []
    for o in range(2):
        acc = zeros(2, 2)
        for c in range(2):
            acc = add(acc, corr(MC_X[c], w[o][c]))
        out.append(acc)
    return out


def test_summed_over_the_wrong_channel_axis():
    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=2)
    swapped = [[MC_W[c][o] for c in range(2)] for o in range(2)]  # w[c][o] read as w[o][c]
    r = check(layer, "output", js(mc_forward(swapped)), x=MC_X, w=MC_W)
    assert r.codes == ["channel-axis"], r.to_text()
    assert check(layer, "output", js(mc_forward(MC_W)), x=MC_X, w=MC_W).correct


def test_only_the_first_filter():
    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=2)
    first = [MC_W[0], MC_W[0]]
    r = check(layer, "output", js(mc_forward(first)), x=MC_X, w=MC_W)
    assert r.codes == ["first-filter"], r.to_text()
    # dE/dx from the first filter only: dx[c] = scatter of dy[0] with w[0][c]
    dy = [[[1, -1], [2, 0]], [[0, 1], [1, 1]]]
    ans = [conv_dx(dy[0], MC_W[0][c], 3) for c in range(2)]
    r = check(layer, "grad-input", js(ans), x=MC_X, w=MC_W, dy=dy)
    assert r.codes == ["first-filter"], r.to_text()


# ---------------------------------------------------------------------- pools
def avg_pool(x, k, s, p, include_pad):
    out = {}
    for pos, cells in windows(len(x), k, s, p):
        count = k * k if include_pad else len(cells)
        out[pos] = sum((Fr(x[a][b]) for a, b in cells), Fr(0)) / count
    n = max(i for i, _ in out) + 1
    return [[out[(i, j)] for j in range(n)] for i in range(n)]


@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool_divided_by_the_wrong_count(include_pad):
    layer = symconv.avg_pool((4, 4), 2, stride=2, padding=1, count_include_pad=include_pad)
    ans = avg_pool(X4, 2, 2, 1, not include_pad)
    assert ans != avg_pool(X4, 2, 2, 1, include_pad)
    r = check(layer, "output", js(ans), x=X4)
    assert r.codes == ["avg-pool-count"], r.to_text()
    assert check(layer, "output", js(avg_pool(X4, 2, 2, 1, include_pad)), x=X4).correct


def test_avg_pool_without_the_one_over_window_size():
    layer = symconv.avg_pool((4, 4), 2, stride=2, padding=1)
    ans = [[v * 4 for v in row] for row in avg_pool(X4, 2, 2, 1, True)]  # the window sums
    r = check(layer, "output", js(ans), x=X4)
    assert r.codes == ["scale"] and "window sum" in r.diagnosis[0].explanation, r.to_text()


def max_pool_dx(x, dy, k, s, spread, accumulate=True):
    """dE/dx of a max pool with each window's dy spread by ``spread(values, cells)``."""
    n = len(x)
    dx = zeros(n, n)
    for (i, j), cells in windows(n, k, s):
        for (a, b), share in spread([x[a][b] for a, b in cells], cells):
            if accumulate:
                dx[a][b] += share * Fr(dy[i][j])
            else:
                dx[a][b] = share * Fr(dy[i][j])
    return dx


def first_max(values, cells):
    return [(cells[values.index(max(values))], 1)]


def split_max(values, cells):
    won = [c for v, c in zip(values, cells) if v == max(values)]
    return [(c, Fr(1, len(won))) for c in won]


def last_max(values, cells):
    won = [c for v, c in zip(values, cells) if v == max(values)]
    return [(won[-1], 1)]


XT = [[3, 3, 0, 1], [1, 0, 2, 2], [5, 1, 4, 0], [5, 2, 0, 4]]  # ties in three windows
DY2 = [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    "code, spread",
    [
        ("max-pool-broadcast", lambda v, c: [(cell, 1) for cell in c]),
        ("max-pool-averaged", lambda v, c: [(cell, Fr(1, len(c))) for cell in c]),
        ("max-pool-ties", split_max),
        ("max-pool-ties", last_max),
    ],
)
def test_max_pool_backward_mistakes(code, spread):
    layer = symconv.max_pool((4, 4), 2)
    right = max_pool_dx(XT, DY2, 2, 2, first_max)
    assert check(layer, "grad-input", js(right), x=XT, dy=DY2).correct
    r = check(layer, "grad-input", js(max_pool_dx(XT, DY2, 2, 2, spread)), x=XT, dy=DY2)
    assert r.codes == [code], r.to_text()


def test_max_pool_ties_the_other_way_round():
    layer = symconv.max_pool((4, 4), 2, ties="split")
    ans = max_pool_dx(XT, DY2, 2, 2, first_max)
    r = check(layer, "grad-input", js(ans), x=XT, dy=DY2)
    assert r.codes == ["max-pool-ties"], r.to_text()


def test_max_pool_overlapping_windows_overwritten():
    layer = symconv.max_pool((5, 5), 3, stride=2)
    x = [[1, 0, 2, 0, 1], [0, 1, 0, 1, 0], [2, 0, 9, 0, 3], [0, 1, 0, 1, 0], [1, 0, 3, 0, 10]]
    dy = [[1, 2], [3, 4]]
    right = max_pool_dx(x, dy, 3, 2, first_max)  # the 9 wins three windows: 1 + 2 + 3
    assert right[2][2] == 6 and check(layer, "grad-input", js(right), x=x, dy=dy).correct
    ans = max_pool_dx(x, dy, 3, 2, first_max, accumulate=False)  # the 9 gets only the last 3
    r = check(layer, "grad-input", js(ans), x=x, dy=dy)
    assert r.codes == ["max-pool-overwrite"], r.to_text()


# ---------------------------------------------------------------------- sizes
def test_transposed_convolution_size_from_the_forward_formula():
    layer = symconv.conv_transpose((5, 5), 3, stride=2)
    # transposed: (5 - 1) * 2 + 3 = 11; the forward formula gives (5 - 3) // 2 + 1 = 2
    assert check(layer, "output-size", "11x11").correct
    r = check(layer, "output-size", "2x2")
    assert r.codes == ["forward-size-formula"], r.to_text()
