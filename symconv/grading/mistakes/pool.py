"""Mistakes of pooling layers: an average pool divided by the wrong count, and a max pool's
backward pass that copies, averages, breaks ties the other way or overwrites instead of
routing dE/dy to each window's maximum with ``+=``. Max-pool routing needs numeric inputs."""

from __future__ import annotations

import numpy as np
import sympy

from ...core.layers import Layer
from ..catalogue import Candidate, mistake
from ..compute import spec_variant


@mistake(
    "avg-pool-count",
    "an average pool divided by the wrong count (real inputs vs the whole window)",
    quantities=("output", "grad-input", "toeplitz"),
    common=4,
)
def _avg_pool_count(case):
    """The pool with ``count_include_pad`` toggled. (Forgetting the 1/|window| altogether
    is ``scale``: the window sum instead of the mean.)"""
    spec = case.spec
    if spec.kind != "avg_pool" or not any(lo or hi for lo, hi in spec.padding):
        return
    v = spec_variant(spec, count_include_pad=not spec.count_include_pad)
    if v is None:
        return
    if spec.count_include_pad:
        text = "matches dividing by the number of real inputs instead of the window size"
    else:
        text = "matches dividing by the window size (padding counted) instead of the real inputs"
    yield case.variant(text, v)


def _route(case, pick, accumulate=True):
    """dE/dx of the max pool with each window's dE/dy spread by ``pick(values, taps) ->
    [(tap, share)]``, added (``+=``) or written (``=``, the last window wins)."""
    spec = case.spec
    imap = Layer(spec).index_map
    X = np.asarray(case.X, dtype=object)
    DY = np.asarray(case.dy_value, dtype=object)
    out = np.full(spec.x_shape, sympy.Integer(0), dtype=object)
    for c in range(spec.in_channels):
        xs, dys, flat = X[c].reshape(-1), DY[c].reshape(-1), out[c].reshape(-1)
        for o, row in enumerate(imap):
            taps = [int(p) for p in row if p >= 0]
            for p, share in pick([xs[p] for p in taps], taps):
                flat[p] = flat[p] + share * dys[o] if accumulate else share * dys[o]
    return out


def _every(values, taps):
    return [(p, 1) for p in taps]


def _mean(values, taps):
    return [(p, sympy.Rational(1, len(taps))) for p in taps]


def _winners(values, taps):
    top = max(values)
    return [p for v, p in zip(values, taps) if v == top]


def _first(values, taps):
    return [(_winners(values, taps)[0], 1)]


def _last(values, taps):
    return [(_winners(values, taps)[-1], 1)]


def _split(values, taps):
    won = _winners(values, taps)
    return [(p, sympy.Rational(1, len(won))) for p in won]


_POLICIES = {"first": _first, "split": _split}


def _max_pool_grad(case) -> bool:
    return case.spec.kind == "max_pool" and case.numeric_input


@mistake(
    "max-pool-broadcast",
    "max pool backward: dE/dy copied to every element of the window",
    quantities=("grad-input",),
    common=4,
)
def _broadcast(case):
    if _max_pool_grad(case):
        text = "matches dE/dy copied to every input of its window, not only to the maximum"
        yield Candidate(text, _route(case, _every))


@mistake(
    "max-pool-averaged",
    "max pool backward: dE/dy averaged over the window instead of routed to the maximum",
    quantities=("grad-input",),
)
def _averaged(case):
    if _max_pool_grad(case):
        text = "matches dE/dy divided evenly over its window (the average pool's gradient)"
        yield Candidate(text, _route(case, _mean))


@mistake(
    "max-pool-ties",
    "max pool backward: on a tie, dE/dy went to the wrong maximum",
    quantities=("grad-input",),
)
def _ties(case):
    if not _max_pool_grad(case):
        return
    policy = case.spec.ties
    if policy != "split":
        text = "matches dE/dy shared among the tied maxima (the layer routes it to the first)"
        yield Candidate(text, _route(case, _split))
    if policy != "first":
        text = "matches dE/dy routed to the first maximum (the layer shares it among ties)"
        yield Candidate(text, _route(case, _first))
    yield Candidate("matches dE/dy routed to the last of the tied maxima", _route(case, _last))


@mistake(
    "max-pool-overwrite",
    "max pool backward: overlapping windows overwrote dE/dx instead of adding (+=)",
    quantities=("grad-input",),
)
def _overwrite(case):
    if _max_pool_grad(case) and any(
        s < e for s, e in zip(case.spec.stride, case.spec.effective_kernel)
    ):
        text = "matches dE/dx written with = where windows overlap (the last window wins)"
        yield Candidate(text, _route(case, _POLICIES[case.spec.ties], accumulate=False))
