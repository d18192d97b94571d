"""The answer: the computation ends with its results as matrices, y, dE/dx, dE/dw, dE/db and
the updated w and b (worked numbers only), each whole up to ``max_matrix`` rows and columns,
then elided with a note. Elision never hides a non-zero gradient (the routed max-pool ones)."""

from __future__ import annotations

import numpy as np
import sympy

from ..layout import Display, frames_of, wrap
from ..printer import to_sympy_number

__all__ = ["build"]

#: Channel blocks shown before eliding (x, w or y per channel).
_BLOCKS = 6


def build(ctx):
    """The answer frames' context (``None`` without worked numbers)."""
    if not ctx.num:
        return None
    spec, nt, num = ctx.spec, ctx.nt, ctx.num
    opts = {"limit": _BLOCKS, "matrix_limit": ctx.opts.max_matrix}
    grads = [(nt.y, ctx.y_blocks(num["y"], fmt=ctx.ntex, **_opts(opts)))]
    keep = spec.kind == "max_pool"  # the routed gradients are the lesson
    grads.append(
        (
            ctx.pd(nt.loss, nt.x),
            ctx.x_blocks(values=_arr(num["grad_x"]), **_opts(opts, keep=keep)),
        )
    )
    updates = []
    if spec.has_weight:
        grads.append(
            (ctx.pd(nt.loss, nt.w), ctx.w_blocks(values=_arr(num["grad_w"]), **_opts(opts)))
        )
        rate = num["eta"] if num["eta"] is not None else sympy.Symbol("eta")
        w = _arr(num["vals"]["w"]).reshape(spec.w_shape)
        new_w = _updated(w, _arr(num["grad_w"]), rate)
        updates.append((_new(ctx, nt.w), ctx.w_blocks(values=new_w, **_opts(opts, fmt=ctx.tex))))
        if spec.bias:
            gb = _arr(num["grad_b"]).reshape(-1)
            grads.append((ctx.pd(nt.loss, nt.b), [ctx.matrix(gb, fmt=ctx.ntex, **_mopts(opts))]))
            if "b" in num["vals"]:
                new_b = _updated(_arr(num["vals"]["b"]).reshape(-1), gb, rate)
                updates.append((_new(ctx, nt.b), [ctx.matrix(new_b, fmt=ctx.tex, **_mopts(opts))]))
    displays = [Display([g]) for g in grads]
    if updates:
        displays.append(Display(updates))
    out = {
        "displays": wrap(displays, ctx.opts.width),
        "updates": len(updates),
        "elided": any(m is None or m.elided for d in displays for _, bs in d.parts for m in bs),
        "rate": ctx.tex(num["eta"]) if num["eta"] is not None else r"\eta",
    }
    if ctx.beamer:
        out["frames"] = frames_of(displays, first=1.5, width=ctx.opts.width)  # under a line
    return out


def _new(ctx, name) -> str:
    """The left-hand side of an updated parameter, ``w - \\eta\\, dE/dw``."""
    return rf"{name} - \eta\, {ctx.pd(ctx.nt.loss, name)}"


def _opts(opts, **more) -> dict:
    """Keyword arguments of the context's ``*_blocks``."""
    return {"limit": opts["limit"], "matrix_limit": opts["matrix_limit"], **more}


def _mopts(opts) -> dict:
    return {"limit": opts["matrix_limit"]}


def _arr(values) -> np.ndarray:
    return np.vectorize(to_sympy_number, otypes=[object])(np.asarray(values, dtype=object))


def _updated(param, grad, rate) -> np.ndarray:
    """``param - rate * grad``, exact (``rate`` a number or the symbol eta)."""
    return np.vectorize(lambda p, g: sympy.expand(p - rate * g), otypes=[object])(param, grad)
