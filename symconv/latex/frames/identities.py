"""The identity frames: the gradients as convolutions, for the first (output, input) channel
pair. dE/dw is a correlation of x with dE/dy; dE/dx the full correlation of the zero-padded
dE/dy with the rotated kernel (conv), or the forward convolution of dE/dy with w (transposed
conv). The operands come from :func:`symconv.core.identities.identity_operands`."""

from __future__ import annotations

from ...core.arrays import correlation_size
from ...core.identities import identity_operands
from ...core.spec import dims_text
from ..printer import TIMES
from .setup import pair_label, pair_text

__all__ = ["identity_w", "identity_x"]


def _first_pair(ctx):
    """The first (output channel, input channel, weight index) of the layer."""
    return next(iter(ctx.deriv.layer.channel_pairs()))


def identity_w(ctx) -> dict:
    """dE/dw as a correlation of x with dE/dy."""
    spec = ctx.spec
    co, ci, (w0, w1) = _first_pair(ctx)
    gw = ctx.w_np[w0, w1]
    a, k, _ = identity_operands(spec, ctx.x_np[ci], ctx.dy_np[co], gw)["w"]
    stride, dil = spec.stride, spec.dilation
    return {
        "kind": spec.kind,
        "a": ctx.spatial(a),
        "k": ctx.spatial(k),
        "g": ctx.spatial(gw, fmt=ctx.dloss),
        "k_fmt_dy": spec.kind == "conv",
        "padded": any(lo or hi for lo, hi in spec.padding),
        "strided": any(s > 1 for s in stride),
        "dilated": any(v > 1 for v in dil),
        "flip": spec.flip,
        "stride": dims_text(stride, sep=TIMES),
        "dilation": dims_text(dil, sep=TIMES),
        "pair": pair_label(spec, co, ci, ctx.deriv.index_base),
        "pair_text": pair_text(spec, co, ci, ctx.deriv.index_base),
        "size": dims_text(spec.kernel_size, sep=TIMES),
        "many": spec.in_channels * spec.out_channels > 1,
        "cropped": any(
            n != kk for n, kk in zip(correlation_size(a.shape, k.shape, dil), spec.kernel_size)
        ),
    }


def identity_x(ctx):
    """dE/dx as a convolution of dE/dy with the kernel; pools: ``None``."""
    spec = ctx.spec
    if not spec.has_weight:
        return None
    co, ci, (w0, w1) = _first_pair(ctx)
    gx = ctx.x_np[ci]
    a, k, _ = identity_operands(spec, gx, ctx.dy_np[co], ctx.w_np[w0, w1])["x"]
    return {
        "kind": spec.kind,
        "a": ctx.spatial(a),
        "k": ctx.spatial(k),
        "g": ctx.spatial(gx, fmt=ctx.dloss),
        "pad": dims_text([e - 1 for e in spec.effective_kernel], sep=TIMES),
        "strided": any(s > 1 for s in spec.stride),
        "stride": dims_text(spec.stride, sep=TIMES),
        "dilated": any(v > 1 for v in spec.dilation),
        "cropped": any(lo or hi for lo, hi in spec.padding),
        "crop": dims_text([lo for lo, _ in spec.padding], sep=TIMES),
        "flip": spec.flip,
        "pair": pair_label(spec, co, ci, ctx.deriv.index_base),
        "pair_text": pair_text(spec, co, ci, ctx.deriv.index_base),
        "many": spec.in_channels * spec.out_channels > 1,
    }
