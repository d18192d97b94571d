"""Mistakes in reading the layer: the result recomputed for a variant layer (kernel flipped or
transposed, other padding or stride, no bias) or with a step of the backward pass left out."""

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


def _pad_text(pads) -> str:
    if all(lo == hi for lo, hi in pads):
        vals = [lo for lo, _ in pads]
        return str(vals[0]) if len(set(vals)) == 1 else str(tuple(vals))
    return str(tuple(pads))


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
    flipped = _flipped(case.spec)
    if flipped is not None:
        used, meant = ("true convolution (kernel rotated by 180 degrees)", "cross-correlation")
        if case.spec.flip:
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


@mistake("padding", "the padding was ignored or different from the layer's")
def _padding(case):
    """Padding 0, one more or one less on each side, or all of it on one side; for dE/dx
    also the gradient over the zero-padded input, not cropped."""
    spec = case.spec
    pads = spec.padding
    tot = [lo + hi for lo, hi in pads]
    variants = []
    for new in (
        tuple((0, 0) for _ in pads),
        tuple((lo + 1, hi + 1) for lo, hi in pads),
        tuple((max(lo - 1, 0), max(hi - 1, 0)) for lo, hi in pads),
        tuple((0, t) for t in tot),
        tuple((t, 0) for t in tot),
    ):
        if new != pads and new not in variants:
            variants.append(new)
    for new in variants:
        v = spec_variant(spec, padding=new)
        if v is not None:
            text = f"matches padding {_pad_text(new)} instead of {_pad_text(pads)}"
            yield case.variant(text, v)
    if case.quantity == "grad-input" and any(tot) and spec.kind in ("conv", "avg_pool"):
        v = spec_variant(spec, input_size=spec.padded_size, padding=0)
        if v is not None:
            Xp = np.pad(case.X, [(0, 0)] + list(pads), constant_values=sympy.Integer(0))
            text = "matches dE/dx over the zero-padded input (the padding not cropped)"
            yield case.variant(text, v, X=Xp, DY=case.dy_value)


@mistake("stride", "the stride was ignored")
def _stride(case):
    """The layer with stride 1; for dE/dx and dE/dw of a strided conv also the backward pass
    with dE/dy not stride-dilated (as if the layer had stride 1)."""
    spec, q = case.spec, case.quantity
    if not any(s > 1 for s in spec.stride):
        return
    pads = spec.padding
    v = spec_variant(spec, stride=1)
    if v is not None:
        yield case.variant("matches the layer with stride 1 (stride ignored)", v)
    if spec.kind == "conv" and q == "grad-input":
        size = tuple(
            o + e - 1 - lo - hi
            for o, e, (lo, hi) in zip(spec.output_size, spec.effective_kernel, pads)
        )
        v = spec_variant(spec, input_size=size, stride=1) if min(size) >= 1 else None
        if v is not None:
            X0 = np.full(v.x_shape, sympy.Integer(0), dtype=object)
            text = "matches the backward pass with dE/dy not stride-dilated"
            yield case.variant(text, v, X=X0, DY=case.dy_value)
    if spec.kind == "conv" and q == "grad-weight" and max(spec.dilation) == 1:
        ksize = tuple(
            n + lo + hi - o + 1 for n, (lo, hi), o in zip(spec.input_size, pads, spec.output_size)
        )
        v = spec_variant(spec, kernel_size=ksize, stride=1)
        if v is not None:
            W0 = np.full(v.w_shape, sympy.Integer(0), dtype=object)
            text = "matches x correlated with dE/dy not stride-dilated"
            yield case.variant(text, v, W=W0, DY=case.dy_value)


@mistake("missing-bias", "the bias was left out", quantities=_OUTPUT_AND_GRADIENTS, common=4)
def _missing_bias(case):
    """The layer without bias (output; gradients when dE/dy comes from a target)."""
    v = spec_variant(case.spec, bias=False) if case.spec.bias else None
    if v is not None:
        yield case.variant("matches the result without the bias", v)


@mistake(
    "unrotated-kernel",
    "dE/dx was computed with the kernel not rotated by 180 degrees",
    quantities=("grad-input",),
    common=5,
)
def _unrotated_kernel(case):
    """dE/dx as the full correlation of dE/dy with the kernel not rotated by 180 degrees."""
    flipped = _flipped(case.spec)
    if flipped is not None:
        text = "matches dE/dx computed with the kernel not rotated by 180 degrees"
        yield case.variant(text, flipped, DY=case.dy_value)
