"""The update frame: gradient descent w <- w - eta dE/dw and b <- b - eta dE/db, with worked
numbers entry by entry (eta a number or kept symbolic), the bias after the weights."""

from __future__ import annotations

import numpy as np
import sympy

from ..layout import Eq, elide
from ..printer import number_factor, number_tex, to_sympy_number

__all__ = ["build"]


def build(ctx):
    """The update frame's context (``None`` for pools: nothing to learn)."""
    spec = ctx.spec
    if not spec.has_weight:
        return None
    out = {"entries": None, "bias": spec.bias}
    if ctx.num:
        eta = ctx.num["eta"]
        rate = eta if eta is not None else sympy.Symbol("eta")
        rate_tex = ctx.tex(rate) if eta is not None else r"\eta"
        params = list(ctx.ws)
        grads = list(np.asarray(ctx.num["grad_w"]).reshape(-1))
        if spec.bias and "b" in ctx.num["vals"]:
            params += list(ctx.bs)
            grads += list(np.asarray(ctx.num["grad_b"]).reshape(-1))
        entries = []
        for i in elide(len(params), ctx.opts.max_entries, keep=range(len(ctx.ws), len(params))):
            entries.append(None if i is None else _step(ctx, params[i], grads[i], rate, rate_tex))
        out["entries"] = entries
    return out


def _step(ctx, param, grad, rate, rate_tex) -> Eq:
    """``p <- p - eta * g = p'`` with the numbers."""
    subs = ctx.num["subs"]
    g = to_sympy_number(grad)
    step = (
        rf"{number_tex(subs[param], ctx.printer)} - {rate_tex} \cdot "
        rf"{number_factor(g, ctx.printer)}"
    )
    new = sympy.expand(subs[param] - rate * g)
    eq = Eq(ctx.tex(param), [], [ctx.single(step), ctx.single(ctx.tex(new))])
    eq.rel = r"\leftarrow"
    return eq
