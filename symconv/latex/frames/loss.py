"""The loss frame: E = 1/2 sum (y - yhat)^2 written out, dE/dy for every output, and with worked
numbers the targets, dE/dy and the loss value (or the given upstream gradient)."""

from __future__ import annotations

import sympy

from ..layout import Eq, elide
from ..printer import number_factor, to_sympy_number
from .setup import sum_indices

__all__ = ["build"]


def build(ctx) -> dict:
    """The loss frame's context."""
    n = len(ctx.ys)
    out = {"given_dy": bool(ctx.num and "dy" in ctx.num["vals"])}
    ys_hat = [sympy.Symbol("yhat" + s.name[1:], real=True) for s in ctx.ys]

    def make(i):
        return "+", rf"\left({ctx.tex(ctx.ys[i])} - {ctx.tex(ys_hat[i])}\right)^{{2}}"

    out["expanded"] = ctx.terms_sum(n, make, lhs_w=2.0)
    out["indices"] = sum_indices(ctx.spec)
    out["sub"] = ctx.idx(out["indices"].split(","))
    eqs = []
    for o in elide(n, ctx.opts.max_entries):
        if o is None:
            eqs.append(None)
            continue
        eq = Eq(
            ctx.dloss(ctx.ys[o]),
            [ctx.single(f"{ctx.tex(ctx.ys[o])} - {ctx.tex(ys_hat[o])}")],
        )
        if ctx.num:
            nv = ctx.num
            if nv["target"] is not None:
                y = ctx.ntex(nv["y"].reshape(-1)[o])
                t = number_factor(nv["target"].reshape(-1)[o], ctx.printer)
                eq.num.append(ctx.single(f"{y} - {t}"))
            eq.num.append(ctx.single(ctx.ntex(nv["dy"].reshape(-1)[o])))
        eqs.append(eq)
    out["eqs"] = eqs
    out.update(num_dy=None, num_target=None, num_loss=None)
    if ctx.num:
        out["num_dy"] = ctx.y_blocks(ctx.num["dy"], fmt=ctx.ntex)
        if ctx.num["target"] is not None:
            out["num_target"] = ctx.y_blocks(ctx.num["target"], fmt=ctx.ntex)
            loss = sum(to_sympy_number(v) ** 2 for v in ctx.num["dy"].reshape(-1)) / 2
            out["num_loss"] = ctx.ntex(loss)
    return out
