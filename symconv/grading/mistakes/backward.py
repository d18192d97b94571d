"""Mistakes in a step of the backward pass of a convolution: dE/dx as a *valid* instead of a
*full* correlation (dE/dy not padded by k-1), dE/dw of a strided layer from the stride-1
formula cropped to the kernel's shape, and dE/db not summed over the output positions."""

from __future__ import annotations

import numpy as np
import sympy

from ..catalogue import Candidate, mistake
from ..compute import spec_variant
from ..values import object_array


def _dilate(arr, factors):
    """``arr`` (C, *spatial) with factor-1 zeros inserted between entries along each axis."""
    nsp = len(factors)
    shape = arr.shape[:1] + tuple((n - 1) * f + 1 for n, f in zip(arr.shape[1:], factors))
    out = np.full(shape, sympy.Integer(0), dtype=object)
    out[(slice(None),) + tuple(slice(None, None, f) for f in factors)] = arr
    assert out.ndim == nsp + 1
    return out


def _valid_correlation(inp, kernel):
    """out[c] = sum_o valid correlation of inp[o] (O, *n) with kernel[o, c] (O, C, *k)."""
    sizes = tuple(n - k + 1 for n, k in zip(inp.shape[1:], kernel.shape[2:]))
    if min(sizes) < 1:
        return None
    out = np.full((kernel.shape[1],) + sizes, sympy.Integer(0), dtype=object)
    for pos in np.ndindex(sizes):
        window = tuple(slice(p, p + k) for p, k in zip(pos, kernel.shape[2:]))
        for o in range(kernel.shape[0]):
            part = inp[(o,) + window]
            for c in range(kernel.shape[1]):
                out[(c,) + pos] += sympy.Add(*(part * kernel[o, c]).reshape(-1))
    return out


@mistake(
    "valid-correlation",
    "dE/dx computed as a valid instead of a full correlation (dE/dy not padded by k-1)",
    quantities=("grad-input",),
    common=4,
)
def _valid_correlation_mistake(case):
    """dE/dx as the valid correlation of the stride-dilated dE/dy with the rotated kernel."""
    spec = case.spec
    if spec.kind != "conv" or spec.groups != 1:
        return
    nsp = spec.ndim
    W = np.asarray(case.W, dtype=object)
    if not spec.flip:  # the gradient correlates dE/dy with the kernel rotated by 180 degrees
        W = W[(slice(None), slice(None)) + (slice(None, None, -1),) * nsp]
    kernel = np.stack([_dilate(w_o, spec.dilation) for w_o in W])
    dy = _dilate(np.asarray(case.dy_value, dtype=object), spec.stride)
    text = "matches the valid correlation of dE/dy with the rotated kernel (dE/dy not padded)"
    yield Candidate(text, _valid_correlation(dy, kernel))


@mistake(
    "stride-cropped",
    "dE/dw of a strided layer computed with the stride-1 formula, cropped to the kernel",
    quantities=("grad-weight",),
    common=4,
)
def _stride_cropped(case):
    """x correlated with dE/dy not stride-dilated (the stride-1 formula), its first k
    entries per axis kept so that it has the kernel's shape."""
    spec = case.spec
    if spec.kind != "conv" or max(spec.stride) == 1 or max(spec.dilation) != 1:
        return
    ksize = tuple(
        n + lo + hi - o + 1
        for n, (lo, hi), o in zip(spec.input_size, spec.padding, spec.output_size)
    )
    v = spec_variant(spec, kernel_size=ksize, stride=1)
    if v is None:
        return
    W0 = np.full(v.w_shape, sympy.Integer(0), dtype=object)
    full = case.compute(v, W=W0, DY=case.dy_value)
    if full is None:
        return
    crop = (slice(None), slice(None)) + tuple(slice(0, k) for k in spec.kernel_size)
    text = "matches x correlated with dE/dy without the stride, cropped to the kernel's shape"
    yield Candidate(text, full[crop].copy())


@mistake(
    "bias-not-summed",
    "dE/db not summed over the output positions",
    quantities=("grad-bias",),
)
def _bias_not_summed(case):
    """dE/dy itself (one value per output position) or the first position's dE/dy only.
    (symconv's layers have no batch axis, so a sum over the batch cannot be missing.)"""
    dy = np.asarray(case.dy_value, dtype=object)
    text = "matches dE/dy itself: dE/db_c is the sum of dE/dy over the positions of channel c"
    yield Candidate(text, dy.copy())
    first = object_array(
        (dy.shape[0],), (dy[(c,) + (0,) * (dy.ndim - 1)] for c in range(dy.shape[0]))
    )
    yield Candidate("matches dE/dy at the first position only (no sum over positions)", first)
