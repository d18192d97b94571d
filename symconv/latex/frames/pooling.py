"""The routing frame of pools: where the gradient of each window goes (max pooling: to the
maximum, ties by the layer's policy; average pooling: shared over the window), and with worked
numbers the winner of every window."""

from __future__ import annotations

import math

from ...core.spec import dims_text, windows_overlap
from ..layout import elide
from ..printer import TIMES

__all__ = ["build"]


def build(ctx):
    """The routing frame's context (``None`` for convolutions)."""
    spec = ctx.spec
    if not spec.is_pool:
        return None
    out = {
        "kind": spec.kind,
        "ties": spec.ties,
        "window": dims_text(spec.kernel_size, sep=TIMES),
        "count": math.prod(spec.kernel_size),
        "count_include_pad": spec.count_include_pad,
        "overlap": windows_overlap(spec),
        "winners": None,
    }
    if spec.kind == "avg_pool":
        out["sizes_vary"] = len(set(ctx.deriv.layer.window_sizes.tolist())) > 1
    if ctx.num and spec.kind == "max_pool":
        out["winners"] = _winners(ctx)
    return out


def _winners(ctx) -> list:
    """Per output (elided): its value, the inputs its gradient goes to and their shares."""
    subs = ctx.num["subs"]
    winners = {}
    for i, col in enumerate(ctx.deriv.jacobian_terms("x")):
        for o, c in col:
            v = c.xreplace(subs)
            if v != 0:
                winners.setdefault(o, []).append((i, v))
    rows = []
    for o in elide(len(ctx.ys), ctx.opts.max_entries):
        if o is None:
            rows.append(None)
            continue
        win = winners.get(o, [])
        rows.append(
            {
                "y": ctx.tex(ctx.ys[o]),
                "value": ctx.ntex(ctx.num["y"].reshape(-1)[o]),
                "to": ", ".join(ctx.tex(ctx.xs[i]) for i, _ in win) or "-",
                "share": ", ".join(ctx.ntex(v) for _, v in win),
            }
        )
    return rows
