"""How long one homework check takes: the slowest check over a grid of layers and mistakes.

The grid: every layer kind (conv, transposed conv, max pool, average pool) with inputs up to
8x8 and up to 3 channels, strides, padding, dilation, groups; every quantity the layer has
(output, dE/dx, dE/dw, dE/db, Toeplitz W, output size); and for each, the answers a student
hands in: right, a parameter misread (padding 0, stride 1, dilation 1: the reference loops on
the perturbed layer, embedded into the expected shape where a student would keep it), the
sign wrong, one entry off (a slip), and every entry wrong with no mistake behind it (the worst
case: every candidate and every pair of mistakes is tried before giving up).

Answers are computed with the reference loops of :mod:`symconv.core.reference` (this is a
benchmark, not a test). Prints the ten slowest checks, the median and the slowest.

    python examples/benchmark_checker.py
"""

from __future__ import annotations

import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

import symconv
from symconv.check import check
from symconv.core import reference
from symconv.core.errors import SymconvError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

LAYERS = [
    (
        "conv 8x8 3->3 k3 s2 p1 bias",
        lambda: symconv.conv(
            (8, 8), 3, in_channels=3, out_channels=3, stride=2, padding=1, bias=True
        ),
    ),
    (
        "conv 8x8 3->3 k3 p1 (W 192x192)",
        lambda: symconv.conv((8, 8), 3, in_channels=3, out_channels=3, padding=1),
    ),
    (
        "conv 8x8 3->3 k3 d2",
        lambda: symconv.conv((8, 8), 3, in_channels=3, out_channels=3, dilation=2),
    ),
    (
        "conv 8x8 2->2 k2 groups 2",
        lambda: symconv.conv((8, 8), 2, in_channels=2, out_channels=2, groups=2),
    ),
    (
        "convT 4x4 3->3 k3 s2 p1 op1",
        lambda: symconv.conv_transpose(
            (4, 4), 3, in_channels=3, out_channels=3, stride=2, padding=1, output_padding=1
        ),
    ),
    ("convT 8x8 1->1 k2 s2", lambda: symconv.conv_transpose((8, 8), 2, stride=2)),
    (
        "maxpool 8x8 c3 k3 s1 p1",
        lambda: symconv.max_pool((8, 8), 3, channels=3, stride=1, padding=1),
    ),
    ("maxpool 5x5 k3 s1 p1", lambda: symconv.max_pool((5, 5), 3, stride=1, padding=1)),
    (
        "avgpool 8x8 c3 k2 p1 ceil",
        lambda: symconv.avg_pool((8, 8), 2, channels=3, padding=1, ceil_mode=True),
    ),
    ("conv1d 8 3->3 k3 s2", lambda: symconv.conv(8, 3, in_channels=3, out_channels=3, stride=2)),
]


def _values(shape, seed):
    rng = np.random.default_rng(seed)
    out = np.empty(int(np.prod(shape)), dtype=object)
    out[:] = [Fraction(int(v)) for v in rng.integers(-4, 5, out.size)]
    return out.reshape(shape)


def _text(arr) -> str:
    arr = np.asarray(arr, dtype=object)
    if arr.ndim == 0:
        return str(arr[()])
    return "[" + ", ".join(_text(a) for a in arr) + "]"


def _quantity(spec, name, x, w, b, dy):
    if name == "output":
        return reference.forward(spec, x, w, b)
    if name == "output-size":
        return np.array(spec.output_size, dtype=object)
    if name == "toeplitz":
        n = int(np.prod(spec.x_shape))
        cols = []
        for i in range(n):
            e = np.zeros(n, dtype=object) + Fraction(0)
            e[i] = Fraction(1)
            cols.append(reference.forward(spec, e.reshape(spec.x_shape), w).reshape(-1))
        return np.array([list(c) for c in cols], dtype=object)
    dx, dw, db = reference.backward(spec, dy, x, w)
    return {"grad-input": dx, "grad-weight": dw, "grad-bias": db}[name]


def _fit(a, shape):
    out = np.zeros(shape, dtype=object) + Fraction(0)
    sl = tuple(slice(0, min(p, q)) for p, q in zip(a.shape, shape))
    out[sl] = a[sl]
    return out


def _answers(spec, name, x, w, b, dy):
    right = _quantity(spec, name, x, w, b, dy)
    yield "right", right
    for label, changes in (
        ("padding 0", dict(padding=0)),
        ("stride 1", dict(stride=1)),
        ("dilation 1", dict(dilation=1)),
    ):
        try:
            wrong = spec.replace(**changes)
        except SymconvError:
            continue
        if wrong == spec:
            continue
        try:
            xs = _fit(x, wrong.x_shape)
            dys = _fit(dy, wrong.y_shape)
            ans = _quantity(wrong, name, xs, w, b if wrong.bias else None, dys)
        except SymconvError:
            continue
        if ans.ndim == right.ndim and name != "output-size":
            ans = _fit(ans, right.shape)
        yield label, ans
    if name != "output-size":
        yield "sign", -right
        slip = right.copy()
        slip.reshape(-1)[0] += 7
        yield "slip", slip
        yield "all wrong", right + (np.arange(right.size).reshape(right.shape) % 5 + 1)


def main() -> None:
    times = []
    for label, make in LAYERS:
        layer = make()
        spec = layer.spec
        x = _values(spec.x_shape, 1)
        w = _values(spec.w_shape, 2) if spec.has_weight else None
        b = _values(spec.b_shape, 3) if spec.bias else None
        dy = _values(spec.y_shape, 4)
        quantities = ["output", "grad-input", "output-size"]
        if spec.has_weight:
            quantities += ["grad-weight", "toeplitz"]
        if spec.bias:
            quantities.append("grad-bias")
        if spec.kind == "avg_pool":
            quantities.append("toeplitz")
        for q in quantities:
            given = dict(x=x.tolist())
            if w is not None:
                given["w"] = w.tolist()
            if b is not None:
                given["b"] = b.tolist()
            if q.startswith("grad"):
                given["dy"] = dy.tolist()
            if q == "toeplitz":
                given.pop("x")
            for mistake, ans in _answers(spec, q, x, w, b, dy):
                t0 = time.perf_counter()
                r = check(layer, q, _text(ans), **given)
                dt = time.perf_counter() - t0
                times.append((dt, label, q, mistake, ",".join(r.codes) or "-"))
    times.sort(reverse=True)
    print(f"{len(times)} checks on {describe()}, Python {sys.version.split()[0]}")
    print("slowest:")
    for dt, label, q, mistake, codes in times[:10]:
        print(f"  {dt:6.3f} s  {label:30s} {q:12s} {mistake:11s} -> {codes}")
    print(
        f"median {statistics.median(t[0] for t in times):.3f} s, " f"slowest {times[0][0]:.3f} s"
    )


if __name__ == "__main__":
    main()
