"""The forward pass: every output's expression (and its worked numbers), the slides' matrix
of expressions, and on slides the term-by-term walk-through of the first output and the
receptive field of every output highlighted in x.

:func:`forward_terms` and :func:`forward_sum` are shared with the gradient frames, which show
an output's expression next to its partial derivative.
"""

from __future__ import annotations

import sympy
from sympy import Add, Mul

from ...core.arrays import as_object_array
from ..layout import Eq, Sum, elide, make_term
from ..printer import factor_key, number_factor, symbol_kind, term_key

__all__ = ["build", "forward_terms", "forward_sum"]


def forward_terms(ctx, o):
    """Sorted terms of the forward expression of output ``o`` (flat index), and the common
    coefficient an average pool factors out (else ``None``)."""
    e = ctx.y_expr(o)
    if ctx.spec.kind == "avg_pool":
        e = sympy.factor_terms(e)
        coeff, inner = e.as_coeff_Mul()
        return sorted(Add.make_args(inner), key=term_key), coeff
    if ctx.spec.kind == "max_pool":
        return sorted(e.args if isinstance(e, sympy.Max) else [e], key=factor_key), None
    return sorted(Add.make_args(e), key=term_key), None


def _sep_and_prefix(ctx, coeff):
    """Between the terms: ',' (max arguments) or '+'; before them: 1/K, \\max or nothing."""
    kind = ctx.spec.kind
    if kind == "max_pool":
        return ",", r"\max"
    return "+", ctx.tex(coeff) if kind == "avg_pool" else ""


def forward_sum(ctx, o, lhs_w, box_sym=None, reveal=None, one_line=False, limit=None):
    """The forward expression of output ``o`` as a Sum. ``box_sym`` boxes the term that
    contains that symbol; ``reveal(k, i, n_shown) -> (show, box)`` gives each term an overlay
    (the walk-through)."""
    terms, coeff = forward_terms(ctx, o)
    sep, prefix = _sep_and_prefix(ctx, coeff)
    out = []
    shown = elide(len(terms), ctx.opts.max_terms if limit is None else limit)
    for k, i in enumerate(shown):
        if i is None:
            out.append(make_term(sep, r"\cdots" if sep == "+" else r"\dots"))
            continue
        t = terms[i]
        tex = ctx.tex(t)
        op = sep if k else ""
        if sep == "+" and t.could_extract_minus_sign():
            op, tex = "-", ctx.tex(-t)
        term = make_term(op, tex)
        if box_sym is not None and t.has(box_sym):
            term.box = "all"
        if reveal is not None:
            term.show, term.box = reveal(k, i, len(shown))
        out.append(term)
    if one_line:
        return Sum([out], prefix=prefix)
    return Sum(ctx.pack(out, lhs_w + (2.5 if prefix else 0)), prefix=prefix)


def _forward_numbers(ctx, o, lhs_w):
    """The forward expression of output ``o`` with the numbers substituted."""
    terms, coeff = forward_terms(ctx, o)
    sep, prefix = _sep_and_prefix(ctx, coeff)
    vals = ctx.num["subs"]

    def make(i):
        c, rest = terms[i].as_coeff_Mul()
        facs = sorted(Mul.make_args(rest), key=factor_key) if rest != 1 else []
        pieces = [number_factor(vals[f], ctx.printer) for f in facs]
        if c != 1 or not pieces:  # a coefficient, or a constant term (an output no tap reaches)
            pieces.insert(0, number_factor(c, ctx.printer))
        return sep, r" \cdot ".join(pieces)

    return ctx.terms_sum(len(terms), make, prefix=prefix, sep=sep, lhs_w=lhs_w)


def build(ctx) -> dict:
    """The forward frames' context."""
    n = len(ctx.ys)
    shown = elide(n, ctx.opts.max_entries)
    lhs_w = ctx.lhs_width([ctx.tex(ctx.ys[-1])])
    eqs = []
    for o in shown:
        if o is None:
            eqs.append(None)
            continue
        eq = Eq(ctx.tex(ctx.ys[o]), [forward_sum(ctx, o, lhs_w)])
        if ctx.num:
            eq.num.append(_forward_numbers(ctx, o, lhs_w))
            eq.num.append(ctx.single(ctx.ntex(ctx.num["y"].reshape(-1)[o])))
        eqs.append(eq)
    out = {"eqs": eqs, "n": n, "elided": n > len([e for e in eqs if e])}
    # the slides' matrix of expressions, for small outputs
    y_arr = as_object_array(ctx.deriv.y)
    small = n <= 4 and all(len(forward_terms(ctx, o)[0]) <= 6 for o in range(n))
    out["expr_matrix"] = ctx.y_blocks(y_arr) if small and ctx.spec.out_channels == 1 else None
    out["y_blocks"] = ctx.y_blocks(as_object_array(ctx.deriv.y_symbols))
    if ctx.num:
        out["num_y"] = ctx.y_blocks(ctx.num["y"], fmt=ctx.ntex)
    if ctx.beamer:
        out["walk"] = _walkthrough(ctx)
        out["windows"] = _windows(ctx)
    return out


def _joined(hl) -> dict:
    """``{symbol: [overlay, ...]}`` as ``{symbol: 'a,b'}``."""
    return {k: ",".join(v) for k, v in hl.items()}


def _walkthrough(ctx) -> dict:
    """Building the first output term by term (one overlay per term, the new term boxed,
    its input and weight highlighted)."""
    terms, _ = forward_terms(ctx, 0)
    steps = min(len(terms), ctx.opts.max_steps)
    slide_of = {}

    def reveal(k, i, n_shown):
        if i is None:
            return f"{steps}-", ""
        s = min(i + 1, steps)
        slide_of[i] = s
        box = str(s) if i + 1 <= steps - 1 or len(terms) == steps else ""
        return f"{s}-", box

    lhs = ctx.tex(ctx.ys[0])
    body = forward_sum(ctx, 0, ctx.lhs_width([lhs]), reveal=reveal)
    hl = {"x": {}, "w": {}}
    for i, t in enumerate(terms):
        s = slide_of.get(i)
        if s is None or i + 1 > steps:
            continue
        for f in Mul.make_args(t.as_coeff_Mul()[1]):
            kind, _ = symbol_kind(f)
            if kind in hl:
                hl[kind].setdefault(f, []).append(str(s))
    return {
        "lhs": lhs,
        "sum": body,
        "steps": steps,
        "x_blocks": ctx.x_blocks(hl=_joined(hl["x"])),
        "w_blocks": ctx.w_blocks(hl=_joined(hl["w"])) if ctx.spec.has_weight else None,
        "more": len(terms) > steps,
    }


def _windows(ctx) -> dict:
    """Every output in turn, with its window highlighted in x (the receptive field)."""
    n = len(ctx.ys)
    shown = elide(n, min(ctx.opts.max_steps, 6))
    hl = {}
    eqs = []
    lhs_w = ctx.lhs_width([ctx.tex(ctx.ys[-1])])
    slide = 0
    for o in shown:
        if o is None:
            eqs.append(None)
            continue
        slide += 1
        terms, _ = forward_terms(ctx, o)
        for t in terms:
            for f in Mul.make_args(t.as_coeff_Mul()[1]):
                if symbol_kind(f)[0] == "x":
                    hl.setdefault(f, []).append(str(slide))
        eq = Eq(
            ctx.tex(ctx.ys[o]),
            [forward_sum(ctx, o, lhs_w, one_line=True, limit=min(ctx.opts.max_terms, 6))],
        )
        eq.note = f"{slide}-"
        eqs.append(eq)
    return {"eqs": eqs, "x_blocks": ctx.x_blocks(hl=_joined(hl)), "slides": slide}
