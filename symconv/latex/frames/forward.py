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
from ..layout import TEXT_LINES, Eq, Sum, elide, make_term
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


def forward_sum(ctx, o, lhs_w, box_sym=None, reveal=None, limit=None):
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
    apart = ctx.spec.has_weight and ctx.spec.in_channels * ctx.spec.out_channels > 1
    return {
        "lhs": lhs,
        "sum": body,
        "caps": _walk_caps(len(body.lines), apart),
        "steps": steps,
        "x_blocks": ctx.x_blocks(hl=_joined(hl["x"])),
        "w_blocks": ctx.w_blocks(hl=_joined(hl["w"])) if ctx.spec.has_weight else None,
        "more": len(terms) > steps,
    }


def _walk_caps(lines, apart) -> dict:
    """Heights (fractions of the text height) of the walk-through frame's displays: the sum
    takes what its ``lines`` need, x and w (``apart``: on two displays) share the rest."""
    need = (lines * 1.3 + 0.6) / TEXT_LINES
    sum_cap = min(max(need, 0.12), 0.45)
    rest = 0.8 - sum_cap
    x_cap, w_cap = (0.55 * rest, 0.45 * rest) if apart else (rest, rest)
    return {k: f"{v:.2f}\\textheight" for k, v in (("x", x_cap), ("w", w_cap), ("sum", sum_cap))}


#: Display lines of sums the "every output" frame holds under the highlighted input.
WINDOW_LINES = 5


def _windows(ctx) -> list:
    """Every output in turn, with its window highlighted in x (the receptive field): a list of
    frames, each ``{"eqs", "x_blocks", "slides"}``. No sum is cut short: a long one wraps to
    more lines, and the outputs continue on the next frame past :data:`WINDOW_LINES` lines."""
    n = len(ctx.ys)
    shown = elide(n, min(ctx.opts.max_steps, 6))
    lhs_w = ctx.lhs_width([ctx.tex(ctx.ys[-1])])
    pages, cur, used = [], [], 0
    for o in shown:
        eq = None
        if o is not None:
            eq = Eq(ctx.tex(ctx.ys[o]), [forward_sum(ctx, o, lhs_w)])
            eq.note = o
        lines = 1 if eq is None else len(eq.simple.lines)
        if cur and used + lines > WINDOW_LINES:
            pages.append(cur)
            cur, used = [], 0
        cur.append(eq)
        used += lines
    if cur:
        pages.append(cur)
    return [_window_page(ctx, page) for page in pages]


def _window_page(ctx, eqs) -> dict:
    """One frame of :func:`_windows`: output ``k`` of the frame (and its window in x) appears
    on slide ``k``."""
    hl, slide = {}, 0
    for eq in eqs:
        if eq is None:
            continue
        slide += 1
        terms, _ = forward_terms(ctx, eq.note)
        for t in terms:
            for f in Mul.make_args(t.as_coeff_Mul()[1]):
                if symbol_kind(f)[0] == "x":
                    hl.setdefault(f, []).append(str(slide))
        eq.note = f"{slide}-"
    return {"eqs": eqs, "x_blocks": ctx.x_blocks(hl=_joined(hl)), "slides": max(slide, 1)}
