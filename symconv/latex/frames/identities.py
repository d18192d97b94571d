"""The identity frames: the gradients as convolutions, for the first (output, input) channel
pair. dE/dw is a correlation of x with dE/dy; dE/dx the full correlation of the zero-padded
dE/dy with the rotated kernel (conv), or the forward convolution of dE/dy with w (transposed
conv). The operands come from :func:`symconv.core.identities.identity_operands`."""

from __future__ import annotations

from ...core.arrays import correlation_size, dilate, rotate180, zero_pad
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


def full_correlation(spec, dy, kern):
    """dE/dx of a convolution as the correlation the backward picture draws
    (:mod:`symconv.figures.backward`): dE/dy stride-dilated, padded by ``P'_lo = D(K-1) -
    P_lo`` and ``P'_hi = L - 1 + P_lo - (O-1)S`` per axis (at least 0), correlated with the
    rotated (dilated) kernel; the result is cropped by ``max(0, -P')`` at each end, the part
    of a negative padding. Returns ``(a, k, pads, crops)``, ``pads`` and ``crops`` per axis
    ``(lo, hi)``."""
    weff = rotate180(kern) if spec.flip else kern
    pads, crops = [], []
    for n, k, s, d, lo, _, _, o in spec.axes:
        p_lo = d * (k - 1) - lo
        p_hi = n - 1 + lo - (o - 1) * s
        pads.append((max(p_lo, 0), max(p_hi, 0)))
        crops.append((max(-p_lo, 0), max(-p_hi, 0)))
    a = zero_pad(dilate(dy, spec.stride), pads)
    return a, dilate(rotate180(weff), spec.dilation), pads, crops


def _same(values) -> str:
    """One number when every axis has it, else ``a \times b``."""
    return str(values[0]) if len(set(values)) == 1 else dims_text(values, sep=TIMES)


def identity_x(ctx):
    """dE/dx as a correlation of dE/dy with the kernel, summed over the output channels that
    read the input channel shown; pools: ``None``."""
    spec = ctx.spec
    if not spec.has_weight:
        return None
    co, ci, (w0, w1) = _first_pair(ctx)
    gx = ctx.x_np[ci]
    base = ctx.deriv.index_base
    pads = crops = None
    if spec.kind == "conv":
        a, k, pads, crops = full_correlation(spec, ctx.dy_np[co], ctx.w_np[w0, w1])
    else:
        a, k, _ = identity_operands(spec, gx, ctx.dy_np[co], ctx.w_np[w0, w1])["x"]
    outs = [o for o, i, _ in ctx.deriv.layer.channel_pairs() if i == ci]
    out = {
        "kind": spec.kind,
        "a": ctx.spatial(a),
        "k": ctx.spatial(k),
        "g": ctx.spatial(gx, fmt=ctx.dloss),
        "a_shape": a.shape,
        "strided": any(s > 1 for s in spec.stride),
        "stride": dims_text(spec.stride, sep=TIMES),
        "dilated": any(v > 1 for v in spec.dilation),
        "flip": spec.flip,
        "pair": pair_label(spec, co, ci, base),
        "pair_text": pair_text(spec, co, ci, base),
        "many": spec.in_channels * spec.out_channels > 1,
        "rest": _other_channels(ctx, outs[1:], ci) if len(outs) > 1 else "",
        "channels": len(outs),
    }
    if pads is not None:
        lo = [p for p, _ in pads]
        hi = [p for _, p in pads]
        clipped = any(c for pair in crops for c in pair)
        out["pad_lo"] = _same(lo)
        out["pad_hi"] = _same(hi)
        out["pad_lo_rule"] = r"D(K - 1) - P_{\mathrm{lo}}"
        out["pad_hi_rule"] = r"L - 1 + P_{\mathrm{lo}} - (O - 1)S"
        if clipped:
            out["pad_lo_rule"] = rf"\max\bigl(0,\ {out['pad_lo_rule']}\bigr)"
            out["pad_hi_rule"] = rf"\max\bigl(0,\ {out['pad_hi_rule']}\bigr)"
        out["crop_lo"] = _same([c for c, _ in crops]) if any(c for c, _ in crops) else ""
        out["crop_hi"] = _same([c for _, c in crops]) if any(c for _, c in crops) else ""
    return out


def _other_channels(ctx, outs, ci) -> str:
    """The terms of the output channels after the first: one written out, or a sum
    ``\\sum_{s=2}^{S} \\operatorname{pad}(\\partial E/\\partial y_s) \\star \\operatorname{rot}(w_{s,p})``.
    """
    base = ctx.deriv.index_base
    nt = ctx.nt
    p = ci + base

    def term(s):
        dy = rf"\operatorname{{pad}}\Bigl(\frac{{\partial {nt.loss}}}{{\partial {nt.y}_{{{s}}}}}\Bigr)"
        if ctx.spec.kind == "conv":
            return rf"{dy} \star \operatorname{{rot}}\bigl({nt.w}_{{{s},{p}}}\bigr)"
        return rf"{dy} \star {nt.w}_{{{p},{s}}}"

    if len(outs) == 1:
        return term(outs[0] + base)
    first, last = outs[0] + base, outs[-1] + base
    if outs == list(range(outs[0], outs[-1] + 1)):
        return rf"\sum_{{s={first}}}^{{{last}}} {term('s')}"
    return rf"\sum_{{s}} {term('s')}"
