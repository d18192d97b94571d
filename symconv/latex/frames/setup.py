"""The set-up frame: what the layer is (title, parameters, output sizes, the general index
formula of its forward pass) and the symbols and numbers of x, w and b.

The descriptions of a layer used elsewhere live here too: the document's title and subtitle,
the summation indices of the loss and of dE/db, the channel-pair label of the identities.
"""

from __future__ import annotations

import numpy as np
import sympy

from ...core.arrays import flat_entries
from ...core.spec import dims_text
from ..layout import Display, frames_of, wrap
from ..printer import TIMES

__all__ = [
    "build",
    "layer_title",
    "layer_subtitle",
    "sum_indices",
    "pair_label",
    "pair_text",
    "weight_indices",
]


def build(ctx) -> dict:
    """The set-up frame's context."""
    spec, d = ctx.spec, ctx.deriv
    out = {
        "op": spec.op,
        "title": layer_title(spec),
        "params": _param_rows(spec),
        "size_rows": _output_size_rows(spec),
        "formula": _index_formula(spec, ctx.nt, d.index_base, ctx.commas),
        "x_blocks": ctx.x_blocks(),
        "w_blocks": ctx.w_blocks() if spec.has_weight else None,
        "b": ctx.matrix(flat_entries(d.b)) if spec.bias else None,
        "general": _is_general(spec),
        "pad_value": r"-\infty" if spec.kind == "max_pool" else "0",
    }
    parts = [(ctx.nt.x, out["x_blocks"])]
    parts += [(ctx.nt.w, out["w_blocks"])] if out["w_blocks"] else []
    parts += [(ctx.nt.b, [out["b"]])] if out["b"] else []
    out["displays"] = wrap([Display(parts)], ctx.opts.width)  # text: one per line if too wide
    if ctx.beamer:
        out["frames"] = _symbol_frames(ctx, out)
    if ctx.num:
        v = ctx.num["vals"]
        out["num_x"] = ctx.x_blocks(values=np.asarray(v["x"]).reshape(spec.x_shape))
        out["num_w"] = (
            ctx.w_blocks(values=np.asarray(v["w"]).reshape(spec.w_shape))
            if spec.has_weight
            else None
        )
        out["num_b"] = (
            ctx.matrix(np.asarray(v["b"]).reshape(-1), fmt=ctx.ntex)
            if spec.bias and "b" in v
            else None
        )
        out["eta"] = None if ctx.num["eta"] is None else ctx.ntex(ctx.num["eta"])
        parts = [(ctx.nt.x, out["num_x"])]
        parts += [(ctx.nt.w, out["num_w"])] if out["num_w"] else []
        parts += [(ctx.nt.b, [out["num_b"]])] if out["num_b"] else []
        out["num_displays"] = wrap([Display(parts)], ctx.opts.width)
        if ctx.beamer:
            out["num_frames"] = _number_frames(ctx, out)
    return out


def _number_frames(ctx, out) -> list:
    """Slides: the worked numbers of x, w, b (side by side when they fit the line, else one
    below the other, a long list of matrices over several lines) and the targets."""
    nt = ctx.nt
    parts = [(nt.x, out["num_x"])]
    parts += [(nt.w, out["num_w"])] if out["num_w"] else []
    parts += [(nt.b, [out["num_b"]])] if out["num_b"] else []
    displays = [Display(parts)]
    target = ctx.num["target"]
    if target is not None:
        displays.append(Display([(rf"\hat{{{nt.y}}}", ctx.y_blocks(target, fmt=ctx.ntex))]))
    return frames_of(displays, first=1.5 + (1.5 if out["eta"] else 0.0), width=ctx.opts.width)


def _symbol_frames(ctx, out) -> list:
    """Slides: the parameter table, then x, w and b; on the table's frame when they fit, else
    on the next frames (x and w apart when together too tall), see :func:`frames_of`."""
    nt = ctx.nt
    x = (nt.x, out["x_blocks"])
    rest = [(nt.w, out["w_blocks"])] if out["w_blocks"] else []
    rest += [(nt.b, [out["b"]])] if out["b"] else []
    if rest and len(out["x_blocks"]) == 1 and len(out["w_blocks"]) == 1 and not out["b"]:
        displays = [Display([x] + rest)]  # seed 000: x and w side by side
    else:
        displays = [Display([x])] + ([Display(rest)] if rest else [])
    # the intro line and the table (\small rows, a long value on two)
    table = 1.5 + 0.8 * sum(1.0 + (len(value) > 40) for _, value in out["params"])
    return frames_of(displays, first=table, width=ctx.opts.width)


def layer_title(spec) -> str:
    """The kind of layer, e.g. ``2-D convolution (cross-correlation)``."""
    names = {
        "conv": "convolution" if spec.flip else "convolution (cross-correlation)",
        "conv_transpose": "transposed convolution",
        "max_pool": "max pooling",
        "avg_pool": "average pooling",
    }
    return f"{spec.ndim}-D {names[spec.kind]}"


def layer_subtitle(spec) -> str:
    """One line: input, kernel, stride, padding, dilation (for a title page)."""
    parts = [f"input ${dims_text(spec.x_shape, sep=TIMES)}$"]
    if spec.has_weight:
        parts.append(f"kernel ${dims_text(spec.w_shape, sep=TIMES)}$")
    else:
        parts.append(f"window ${dims_text(spec.kernel_size, sep=TIMES)}$")
    parts.append(f"stride ${dims_text(spec.stride, sep=TIMES)}$")
    if any(lo or hi for lo, hi in spec.padding):
        parts.append("padding " + ", ".join(f"({lo}, {hi})" for lo, hi in spec.padding))
    else:
        parts.append("no padding")
    if any(d > 1 for d in spec.dilation):
        parts.append(f"dilation ${dims_text(spec.dilation, sep=TIMES)}$")
    if spec.has_weight and spec.bias:
        parts.append("bias")
    return ", ".join(parts)


def _is_general(spec) -> bool:
    """More than seed 000's case: channels, stride, dilation, padding or transposed."""
    return (
        spec.in_channels > 1
        or spec.out_channels > 1
        or any(s > 1 for s in spec.stride)
        or any(d > 1 for d in spec.dilation)
        or any(lo or hi for lo, hi in spec.padding)
        or spec.kind == "conv_transpose"
    )


def _param_rows(spec) -> list:
    """(name, value) rows of the parameter table."""
    rows = [("input", f"${dims_text(spec.x_shape, sep=TIMES)}$ (channels $\\times$ spatial)")]
    if spec.has_weight:
        rows.append(
            (
                "kernel",
                f"${dims_text(spec.w_shape, sep=TIMES)}$ "
                + (
                    "(filters $\\times$ input channels $\\times$ spatial)"
                    if spec.kind == "conv"
                    else "(input channels $\\times$ output channels $\\times$ spatial)"
                ),
            )
        )
    else:
        rows.append(("window", f"${dims_text(spec.kernel_size, sep=TIMES)}$"))
    rows.append(("stride", f"${dims_text(spec.stride, sep=TIMES)}$"))
    pads = ", ".join(f"({lo}, {hi})" for lo, hi in spec.padding)
    rows.append(
        ("padding (low, high)", f"{pads}" + (" (same)" if spec.padding_mode == "same" else ""))
    )
    rows.append(("dilation", f"${dims_text(spec.dilation, sep=TIMES)}$"))
    if spec.kind == "conv_transpose" and any(spec.output_padding):
        rows.append(("output padding", f"${dims_text(spec.output_padding, sep=TIMES)}$"))
    if spec.has_weight and spec.groups > 1:
        rows.append(("groups", str(spec.groups)))
    if spec.has_weight:
        rows.append(("bias", "yes" if spec.bias else "no"))
    if spec.kind == "max_pool":
        rows.append(("ties", "first maximum wins" if spec.ties == "first" else "split equally"))
    if spec.kind == "avg_pool":
        rows.append(
            ("divisor", "window size" if spec.count_include_pad else "real inputs in the window")
        )
    if spec.is_pool and spec.ceil_mode:
        rows.append(("ceil mode", "yes"))
    rows.append(("output", f"${dims_text(spec.y_shape, sep=TIMES)}$"))
    return rows


def _output_size_rows(spec) -> list:
    """Per axis: the output-size formula with its numbers filled in."""
    rows = []
    for a, (n, k, s, d, lo, hi, op, out) in enumerate(spec.axes):
        rows.append(
            {
                "n": n,
                "lo": lo,
                "hi": hi,
                "k": k,
                "d": d,
                "s": s,
                "op": op,
                "out": out,
                "ceil": spec.ceil_mode and spec.is_pool,
            }
        )
    return rows


_OUT_LETTERS = {1: ["i"], 2: ["i", "j"], 3: ["h", "i", "j"]}
_K_LETTERS = {1: ["k"], 2: ["k", "l"], 3: ["m", "k", "l"]}
_IN_LETTERS = {1: ["m"], 2: ["m", "n"], 3: ["q", "m", "n"]}


def spatial_letters(spec) -> list:
    """The letters of a generic output (or input) position: ``i``, ``i, j`` or ``h, i, j``."""
    return list(_OUT_LETTERS[spec.ndim])


def _index_formula(spec, nt, base, commas=False) -> dict:
    """The general index formula of the forward pass (seed 003's), numbers filled in; with
    ``commas`` the indices print apart (as the layer's symbols do)."""
    nd = spec.ndim
    oi = [sympy.Symbol(c) for c in _OUT_LETTERS[nd]]
    ki = [sympy.Symbol(c) for c in _K_LETTERS[nd]]
    mi = [sympy.Symbol(c) for c in _IN_LETTERS[nd]]

    def sub(items):
        items = [i if isinstance(i, str) else sympy.latex(i) for i in items]
        if all(len(i) == 1 for i in items) and not commas:
            return "".join(items)
        return ",\\,".join(items)

    rng = lambda letter, n: (f"{letter}=1}}^{{{n}}}" if base == 1 else f"{letter}=0}}^{{{n - 1}}}")
    s_ch = spec.out_channels > 1
    cin_g = spec.in_channels // spec.groups if spec.has_weight else 1
    p_ch = spec.has_weight and cin_g > 1
    y_idx = (["s"] if s_ch else []) + oi
    sums = []
    if p_ch:
        sums.append(r"\sum_{" + rng("p", cin_g))
    for k, K in zip(ki, spec.kernel_size):
        sums.append(r"\sum_{" + rng(str(k), K))
    if spec.has_weight and spec.groups > 1 and spec.kind == "conv":
        cout_g = spec.out_channels // spec.groups
        first = sympy.floor((sympy.Symbol("s") - base) / cout_g) * cin_g
        chan = sympy.latex(first + sympy.Symbol("p"))
    else:
        chan = (
            "p"
            if spec.in_channels > 1 and spec.has_weight
            else ("s" if spec.is_pool and spec.in_channels > 1 else None)
        )
    if spec.is_pool and spec.in_channels > 1:
        y_idx = ["s"] + oi
    notes = []
    if spec.kind == "conv_transpose":
        x_pos = [str(m) for m in mi]
        x_idx = ([chan] if chan else []) + x_pos
        w_idx = (["p"] if spec.in_channels > 1 else []) + (["s"] if s_ch else []) + ki
        where = [
            f"{sympy.latex(o)} = {sympy.latex(sympy.expand(spec.tap_position(a, m, k, base)))}"
            for a, (o, m, k) in enumerate(zip(oi, mi, ki))
        ]
        sums = ([r"\sum_{" + rng("p", spec.in_channels)] if spec.in_channels > 1 else []) + sums
        rhs = " ".join(sums) + f" {nt.w}_{{{sub(w_idx)}}}\\, {nt.x}_{{{sub(x_idx)}}}"
        notes.append(r"\text{over the taps with } " + r",\ ".join(where))
    else:
        x_pos = [
            sympy.expand(spec.tap_position(a, o, k, base)) for a, (o, k) in enumerate(zip(oi, ki))
        ]
        x_idx = ([chan] if chan else []) + x_pos
        if spec.has_weight:
            kk = ki
            if spec.flip:
                kk = [K + 2 * base - 1 - k for k, K in zip(ki, spec.kernel_size)]
            w_idx = (["s"] if s_ch else []) + (["p"] if p_ch else []) + kk
            rhs = " ".join(sums) + f" {nt.w}_{{{sub(w_idx)}}}\\, {nt.x}_{{{sub(x_idx)}}}"
        elif spec.kind == "max_pool":
            rhs = r"\max_{" + ",".join(str(k) for k in ki) + "}" + f" {nt.x}_{{{sub(x_idx)}}}"
        else:
            rhs = r"\frac{1}{N_{" + sub(oi) + "}} " + " ".join(sums) + f" {nt.x}_{{{sub(x_idx)}}}"
    if spec.bias:
        rhs += f" + {nt.b}" + ("_{s}" if s_ch else "")
    return {
        "lhs": f"{nt.y}_{{{sub(y_idx)}}}",
        "rhs": rhs,
        "notes": notes,
        "letters": _letters(
            spec, oi, ki, mi, s_ch or (spec.is_pool and spec.in_channels > 1), p_ch
        ),
    }


def _letters(spec, oi, ki, mi, s_ch, p_ch) -> str:
    """What each letter of the index formula is, in words (every symbol defined)."""
    join = lambda letters: ", ".join(str(c) for c in letters)
    words = [f"${join(oi)}$ the output position"]
    if spec.kind == "conv_transpose":
        words.append(f"${join(mi)}$ the input position")
    words.append(f"${join(ki)}$ the {'kernel' if spec.has_weight else 'window'} tap")
    if spec.kind == "conv_transpose" and spec.in_channels > 1:
        words.append("$p$ the input channel")
    elif p_ch:
        words.append("$p$ the input channel")
    if s_ch:
        words.append("$s$ the " + ("channel" if spec.is_pool else "output channel"))
    if spec.kind == "avg_pool":
        words.append("$N$ the number of entries averaged")
    return "; ".join(words)


def sum_indices(spec, channel=True) -> str:
    """The output indices a sum over every output runs over (``s,i,j``)."""
    letters = _OUT_LETTERS[spec.ndim]
    if channel and spec.out_channels > 1:
        letters = ["s"] + letters
    return ",".join(letters)


def pair_label(spec, co, ci, base) -> str:
    """The (output, input) channel pair an identity is shown for."""
    if spec.kind == "conv_transpose":
        return f"p={ci + base},\\ s={co + base}"
    return f"s={co + base},\\ p={ci + base}"


def pair_text(spec, co, ci, base) -> str:
    """The channel pair an identity is shown for, in words (``s`` and ``p`` defined)."""
    return f"output channel $s={co + base}$ and input channel $p={ci + base}$"


def weight_indices(spec, w0, commas=False) -> str:
    """The indices of a generic weight in the update rule, as many as the kernel's symbols
    carry (``w0`` is its first symbol): ``ij``, ``sij``, ``spij``, ``hij`` ... (``s,p,i,j``
    with ``commas``)."""
    count = len(w0.name.split("_", 1)[1]) if "_" in w0.name and "," not in w0.name else None
    spatial = _OUT_LETTERS[spec.ndim]
    if spec.kind == "conv_transpose":
        chans = [("p", spec.in_channels), ("s", spec.out_channels // spec.groups)]
    else:
        chans = [("s", spec.out_channels), ("p", spec.in_channels // spec.groups)]
    letters = [c for c, n in chans if n > 1] + spatial
    if count is not None and count != len(letters):  # the symbols' own count decides
        letters = (["s", "p"] + spatial)[-count:] if count > len(spatial) else spatial[-count:]
    if commas or not all(len(c) == 1 for c in letters):
        return ",".join(letters)
    return "".join(letters)
