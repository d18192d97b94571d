"""Mistakes in reading the layer: the result recomputed for a variant layer (kernel flipped or
transposed, no bias) or with the kernel not rotated for dE/dx. (The misread parameters, such as
padding and stride, are parametric: :mod:`.parameters`.)"""

from __future__ import annotations

import numpy as np
import sympy

from ..catalogue import Candidate, mistake
from ..compute import GRADIENTS, spec_variant

_OUTPUT_AND_GRADIENTS = ("output", *GRADIENTS)


def _flipped(spec):
    """The layer with ``flip`` toggled, or None for a pool."""
    return spec_variant(spec, flip=not spec.flip) if spec.has_weight else None


def _transposed_kernel(case):
    """w with its last two axes swapped (w_ij read as w_ji) for a square kernel, else None."""
    spec = case.spec
    ks = spec.kernel_size
    if spec.has_weight and spec.ndim >= 2 and ks[-1] == ks[-2]:
        return np.swapaxes(case.W, -1, -2).copy()
    return None


@mistake(
    "flipped-kernel",
    "true convolution (kernel rotated by 180 degrees) was used instead of "
    "cross-correlation, or the reverse",
    quantities=(*_OUTPUT_AND_GRADIENTS, "toeplitz"),
    common=4,
)
def _flipped_kernel(case):
    """The layer with ``flip`` toggled, the whole computation redone (with a target, dE/dy
    comes from the flipped forward pass)."""
    spec = case.spec
    flipped = _flipped(spec)
    if flipped is None:
        return
    if spec.kind == "conv_transpose":
        how = "rotated by 180 degrees" if not spec.flip else "as it is"
        needs = "as it is (w_11 at the top left)" if not spec.flip else "rotated (flip=True)"
        text = (
            f"matches the kernel stamped {how}: a transposed convolution stamps the kernel "
            f"{needs} at every input"
        )
        yield case.variant(text, flipped)
        return
    used, meant = ("true convolution (kernel rotated by 180 degrees)", "cross-correlation")
    if spec.flip:
        used, meant = meant, used
    yield case.variant(f"matches {used} instead of {meant}", flipped)


@mistake(
    "transposed",
    "the answer, or the kernel used for it, is transposed",
    quantities=("output", "grad-input", "grad-weight", "toeplitz", "output-size"),
    common=4,
)
def _transposed(case):
    """The result transposed (last two axes; the sizes reversed), or computed with the kernel
    transposed (square kernels)."""
    spec, q, E = case.spec, case.quantity, case.expected
    Wt = _transposed_kernel(case)
    if q == "toeplitz":
        if Wt is not None:
            text = "matches the matrix built from the transposed kernel (w_ij read as w_ji)"
            yield case.variant(text, W=Wt)
    elif q == "output-size":
        if len(set(spec.output_size)) > 1:
            yield Candidate("the sizes are in the wrong order", E[::-1].copy(), True)
    elif E.ndim >= 2 and spec.ndim >= 2:
        text = "the answer is the transpose of the result"
        yield Candidate(text, np.swapaxes(E, -1, -2).copy(), True)
        if Wt is not None and q in ("output", "grad-input"):
            text = "matches the result computed with the transposed kernel (w_ij read as w_ji)"
            yield case.variant(text, W=Wt)


@mistake("missing-bias", "the bias was left out", quantities=_OUTPUT_AND_GRADIENTS, common=4)
def _missing_bias(case):
    """The layer without bias (output; gradients when dE/dy comes from a target)."""
    v = spec_variant(case.spec, bias=False) if case.spec.bias else None
    if v is not None:
        yield case.variant("matches the result without the bias", v)


@mistake(
    "unrotated-kernel",
    "dE/dx was computed with the kernel not rotated by 180 degrees (or rotated where this "
    "layer uses it as it is)",
    quantities=("grad-input",),
    common=5,
)
def _unrotated_kernel(case):
    """dE/dx with the kernel's rotation the wrong way round: a convolution's dE/dx is the
    full correlation of dE/dy with the kernel rotated by 180 degrees, a transposed
    convolution's (and a true convolution's, ``flip=True``) uses the kernel as it is."""
    spec = case.spec
    flipped = _flipped(spec)
    if flipped is None:
        return
    name = {"conv": "convolution", "conv_transpose": "transposed convolution"}[spec.kind]
    if spec.flip:
        name = "true convolution" if spec.kind == "conv" else "flipped " + name
    if (spec.kind == "conv") != spec.flip:
        text = (
            "matches dE/dx computed with the kernel not rotated by 180 degrees: a "
            f"{name}'s dE/dx correlates dE/dy with the kernel rotated by 180 degrees"
        )
    else:
        text = (
            "matches dE/dx computed with the kernel rotated by 180 degrees: a "
            f"{name}'s dE/dx uses the kernel as it is"
        )
    yield case.variant(text, flipped, DY=case.dy_value)
