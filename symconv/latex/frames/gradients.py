"""The gradient frames: every dE/dw, dE/dx and dE/db entry as a total derivative (a sum over
every output), the partials filled in, simplified, and with worked numbers substituted; on
slides the first entry is derived one output at a time (its expression shown, the term that
holds the parameter boxed). dE/dx also appears as the transposed Toeplitz matrix product."""

from __future__ import annotations

import math

import numpy as np
import sympy
from sympy import Mul

from ..layout import Eq, elide, tex_width
from ..printer import number_factor
from .forward import forward_sum
from .identities import identity_w, identity_x
from .setup import spatial_letters, sum_indices

__all__ = ["grad_w", "grad_x", "grad_b"]


def _params(ctx, wrt):
    """The flat symbols of ``'x'`` or ``'w'``."""
    return ctx.xs if wrt == "x" else ctx.ws


def _total_sum(ctx, ptex, lhs_w):
    """sum over every output o of dE/dy_o dy_o/dp (elided past the document's max_terms)."""

    def make(o):
        y = ctx.tex(ctx.ys[o])
        return "+", f"{ctx.pd(ctx.nt.loss, y)} {ctx.pd(y, ptex)}"

    return ctx.terms_sum(len(ctx.ys), make, lhs_w=lhs_w)


def _partial_term(ctx, o, coef):
    """dE/dy_o times dy_o/dp, a zero partial written out as ``\\cdot 0``."""
    dy = ctx.dys[o]
    if coef == 0:
        return rf"{ctx.tex(dy)} \cdot 0"
    return ctx.tex(Mul(dy, coef))


def _simplified(ctx, col, lhs_w):
    """The nonzero terms dE/dy_o dy_o/dp of a Jacobian column ``[(o, coefficient)]``."""

    def make(k):
        o, c = col[k]
        return "+", ctx.tex(Mul(ctx.dys[o], c))

    if not col:
        return ctx.single("0")
    return ctx.terms_sum(len(col), make, lhs_w=lhs_w)


def _numbers_sum(ctx, col, lhs_w):
    """The simplified sum with the worked numbers substituted."""
    subs = ctx.num["subs"]

    def make(k):
        o, c = col[k]
        cv = c.xreplace(subs) if isinstance(c, sympy.Basic) else c
        dy = number_factor(subs[ctx.dys[o]], ctx.printer)
        return "+", rf"{dy} \cdot {number_factor(cv, ctx.printer)}"

    if not col:
        return ctx.single("0")
    return ctx.terms_sum(len(col), make, lhs_w=lhs_w)


def _entries(ctx, wrt) -> list:
    """Every dE/dp as total derivative, partials, simplified, numbers, value (elided)."""
    syms = _params(ctx, wrt)
    jac = ctx.deriv.jacobian_terms(wrt)
    n_y = len(ctx.ys)
    lhs_w = ctx.lhs_width([ctx.dloss(syms[-1])])
    values = None
    if ctx.num is not None:
        values = np.asarray(ctx.num["grad_x" if wrt == "x" else "grad_w"]).reshape(-1)
    full = n_y <= ctx.opts.max_terms
    keep = ()
    if values is not None and ctx.spec.kind == "max_pool":  # the routed gradients
        keep = [i for i, v in enumerate(values) if v != 0]
    entries = []
    for i in elide(len(syms), ctx.opts.max_entries, keep):
        if i is None:
            entries.append(None)
            continue
        col = sorted(jac[i], key=lambda oc: oc[0])
        eq = Eq(ctx.dloss(syms[i]))
        eq.sym.append(_total_sum(ctx, ctx.tex(syms[i]), lhs_w))
        if full and len(col) < n_y:
            coef = dict(col)
            eq.sym.append(
                ctx.terms_sum(
                    n_y, lambda o: ("+", _partial_term(ctx, o, coef.get(o, 0))), lhs_w=lhs_w
                )
            )
        eq.sym.append(_simplified(ctx, col, lhs_w))
        if values is not None:
            eq.num.append(_numbers_sum(ctx, col, lhs_w))
            eq.num.append(ctx.single(ctx.ntex(values[i])))
        entries.append(eq)
    return entries


def _focus(ctx, wrt) -> dict:
    """Beamer: dE/dp for the first entry p, one output at a time (dy_o/dp with y_o's
    expression shown, the term holding p boxed), then the simplified sum."""
    p = _params(ctx, wrt)[0]
    ptex = ctx.tex(p)
    col = dict(ctx.deriv.jacobian_terms(wrt)[0])
    lhs = ctx.dloss(p)
    lhs_w = ctx.lhs_width([lhs])
    n_y = len(ctx.ys)
    max_steps = ctx.opts.max_steps
    if n_y <= max_steps:
        shown = list(range(n_y))  # every output, zero partials included (the slides)
    else:  # only the outputs p reaches
        shown = sorted(col)[:max_steps]
    steps = []
    for k, o in enumerate(shown):
        y = ctx.tex(ctx.ys[o])
        value = ctx.tex(col.get(o, sympy.Integer(0)))
        steps.append(
            {
                "slide": k + 2,
                "lhs": ctx.pd(y, ptex),
                "value": value,
                "wide": tex_width(value) > ctx.opts.width / 2,  # a display of its own
                "y_lhs": y,
                "y_sum": forward_sum(ctx, o, ctx.lhs_width([y]), box_sym=p),
            }
        )
    return {
        "lhs": lhs,
        "param": ptex,
        "total": _total_sum(ctx, ptex, lhs_w),
        "steps": steps,
        "last": len(steps) + 2,
        "simplified": _simplified(ctx, sorted(col.items()), lhs_w),
        "only_nonzero": n_y > max_steps,
    }


def _total_general(ctx, wrt) -> dict:
    """The general total-derivative formula dE/dp_ij = sum_o dE/dy_o dy_o/dp_ij."""
    letter = ctx.nt.x if wrt == "x" else ctx.nt.w
    ptex = f"{letter}_{{{ctx.idx(spatial_letters(ctx.spec))}}}"
    lhs = ctx.pd(ctx.nt.loss, ptex)
    return {"lhs": lhs, "sum": _total_sum(ctx, ptex, ctx.lhs_width([lhs]))}


def grad_w(ctx):
    """The dE/dw frames' context (``None`` for pools)."""
    if not ctx.spec.has_weight:
        return None
    out = {
        "entries": _entries(ctx, "w"),
        "n": len(ctx.ws),
        "general": _total_general(ctx, "w"),
        "identity": identity_w(ctx),
    }
    out["elided"] = out["n"] > ctx.opts.max_entries
    if ctx.beamer:
        out["focus"] = _focus(ctx, "w")
    if ctx.num:
        out["num_blocks"] = ctx.w_blocks(values=np.asarray(ctx.num["grad_w"]))
    return out


def grad_x(ctx) -> dict:
    """The dE/dx frames' context: entries, the transposed Toeplitz product (not for max
    pooling) and the identity."""
    out = {
        "entries": _entries(ctx, "x"),
        "n": len(ctx.xs),
        "general": _total_general(ctx, "x"),
    }
    out["elided"] = out["n"] > ctx.opts.max_entries
    out["transpose"] = None
    if ctx.spec.kind != "max_pool":
        shape, entries = ctx.toeplitz_entries(transpose=True)
        out["transpose"] = {
            "row": ctx.opts.row,
            "dy_vec": ctx.matrix(np.array([ctx.dys], dtype=object)),
            "matrix": ctx.sparse(shape, entries),
            "shape": shape,
        }
    out["full"] = identity_x(ctx)
    if ctx.beamer:
        out["focus"] = _focus(ctx, "x")
    if ctx.num:
        out["num_blocks"] = ctx.x_blocks(values=np.asarray(ctx.num["grad_x"]))
    return out


def grad_b(ctx):
    """The dE/db frame's context: each bias gathers its channel's dE/dy (``None``: no bias)."""
    spec = ctx.spec
    if not spec.bias:
        return None
    n_out = math.prod(spec.output_size)
    lhs_w = ctx.lhs_width([ctx.dloss(ctx.bs[-1])])
    vals = None if ctx.num is None else np.asarray(ctx.num["grad_b"]).reshape(-1)
    entries = []
    for c in elide(spec.out_channels, ctx.opts.max_entries):
        if c is None:
            entries.append(None)
            continue
        dys = ctx.dys[c * n_out : (c + 1) * n_out]
        eq = Eq(ctx.dloss(ctx.bs[c]))
        eq.sym.append(ctx.terms_sum(n_out, lambda i: ("+", ctx.tex(dys[i])), lhs_w=lhs_w))
        if vals is not None:
            subs = ctx.num["subs"]
            eq.num.append(
                ctx.terms_sum(
                    n_out,
                    lambda i: ("+", number_factor(subs[dys[i]], ctx.printer)),
                    lhs_w=lhs_w,
                )
            )
            eq.num.append(ctx.single(ctx.ntex(vals[c])))
        entries.append(eq)
    return {"entries": entries, "indices": sum_indices(spec, channel=False)}
