"""Mistakes of a multi-channel convolution: the sum over the wrong channel axis of the
weights, and every output (or the whole dE/dx) computed from the first filter only."""

from __future__ import annotations

import numpy as np
import sympy

from ..catalogue import Candidate, mistake


@mistake(
    "channel-axis",
    "summed over the wrong channel axis of the weights (w[c_in, c_out] for w[c_out, c_in])",
    quantities=("output", "grad-input", "grad-weight"),
)
def _channel_axis(case):
    """The weights' two channel axes swapped (same number of input and output channels)."""
    spec = case.spec
    if not spec.has_weight or spec.groups != 1:
        return
    if spec.in_channels != spec.out_channels or spec.in_channels < 2:
        return
    if case.quantity == "grad-weight":
        text = "the answer has dE/dw[c_in, c_out] where dE/dw[c_out, c_in] belongs"
        yield Candidate(text, np.swapaxes(case.expected, 0, 1).copy(), True)
        return
    text = "matches the result with w[c_in, c_out] read for w[c_out, c_in]"
    yield case.variant(text, W=np.swapaxes(case.W, 0, 1).copy())


@mistake(
    "first-filter",
    "only the first filter (output channel) was used",
    quantities=("output", "grad-input"),
)
def _first_filter(case):
    """Every output channel computed with filter 0; dE/dx from filter 0 alone, or with
    filter 0 standing in for every filter."""
    spec = case.spec
    if not spec.has_weight or spec.out_channels < 2:
        return
    W = np.asarray(case.W, dtype=object)
    W0 = np.stack([W[0]] * W.shape[0])
    if case.quantity == "output":
        yield case.variant("matches every output channel computed with the first filter", W=W0)
        return
    dy = np.array(case.dy_value, dtype=object)
    dy[1:] = sympy.Integer(0)
    yield case.variant("matches dE/dx from the first filter only (channel 1 of dE/dy)", DY=dy)
    yield case.variant("matches dE/dx with the first filter used for every channel", W=W0)
