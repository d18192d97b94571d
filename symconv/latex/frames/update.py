"""The update frame: gradient descent w <- w - eta dE/dw, with worked numbers entry by entry
(eta a number or kept symbolic)."""

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
        subs = ctx.num["subs"]
        gw = np.asarray(ctx.num["grad_w"]).reshape(-1)
        entries = []
        for i in elide(len(ctx.ws), ctx.opts.max_entries):
            if i is None:
                entries.append(None)
                continue
            w = ctx.ws[i]
            g = to_sympy_number(gw[i])
            step = (
                rf"{number_tex(subs[w], ctx.printer)} - {rate_tex} \cdot "
                rf"{number_factor(g, ctx.printer)}"
            )
            new = sympy.expand(subs[w] - rate * g)
            eq = Eq(ctx.tex(w), [], [ctx.single(step), ctx.single(ctx.tex(new))])
            eq.rel = r"\leftarrow"
            entries.append(eq)
        out["entries"] = entries
    return out
