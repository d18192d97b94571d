"""The docstring of a generated module: its usage example, the general index formulas, every
entry of a small layer (from the symbolic derivation), the identities and the strategy.

The usage example's numbers come from :mod:`symconv.core.reference` (exact loops, independent
of the generated kernels), so that running the module's doctest cross-checks the kernels.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy

from ..core import reference
from ..core.argmax import max_pool_indices
from ..core.derive import derive
from ..core.errors import SpecError
from ..core.layers import Layer
from ..core.spec import dims_text
from .printing import formula, py
from .strategies import Strategy

__all__ = ["docstring_context", "formulas", "usage_example"]

#: The usage example prints an array's values when it has at most this many entries (and
#: they are integers), else its shape.
EXAMPLE_ENTRIES = 16


def _index_symbols(prefix, n):
    return [sympy.Symbol(f"{prefix}{a + 1}" if n > 1 else prefix, integer=True) for a in range(n)]


def formulas(layer: Layer) -> list:
    """Plain-text general index formulas of forward, dE/dx, dE/dw, dE/db."""
    spec = layer.spec
    nd = spec.ndim
    i = _index_symbols("i", nd)  # output position
    j = _index_symbols("j", nd)  # input position
    k = _index_symbols("k", nd)  # kernel tap
    x, w, y, b = (sympy.IndexedBase(s) for s in ("x", "w", "y", "b"))
    dy, dx, dw, db = (sympy.IndexedBase(s) for s in ("dy", "dx", "dw", "db"))
    n, c, f = sympy.symbols("n c f", integer=True)
    s, d = spec.stride, spec.dilation
    lo = [p[0] for p in spec.padding]
    ks = ", ".join(str(v) for v in k)
    lines = []
    if spec.kind == "conv":
        pos = [spec.tap_position(a, i[a], k[a]) for a in range(nd)]
        wk = [spec.kernel_size[a] - 1 - k[a] for a in range(nd)] if spec.flip else k
        cin_g = spec.in_channels // spec.groups
        cout_g = spec.out_channels // spec.groups
        chan = c if spec.groups == 1 else sympy.floor(f / cout_g) * cin_g + c
        term = w[(f, c, *wk)] * x[(n, chan, *pos)]
        bias = " + b[f]" if spec.bias else ""
        lines.append(
            f"y[n, f, {', '.join(map(str, i))}] = sum over c < {cin_g}, taps ({ks}) of "
            f"{formula(term)}{bias}   (x reads 0 in the padding)"
        )
        inv = [
            (
                f"({formula(j[a] + lo[a] - d[a] * k[a])})/{s[a]}"
                if s[a] > 1
                else formula(j[a] + lo[a] - d[a] * k[a])
            )
            for a in range(nd)
        ]
        lines.append(
            f"dE/dx[n, {'g*' + str(cin_g) + ' + ' if spec.groups > 1 else ''}c, "
            f"{', '.join(map(str, j))}] = sum over f (of the group), taps ({ks}) of "
            f"{formula(w[(f, c, *wk)])} * dy[n, f, {', '.join(inv)}]   (terms whose output "
            "index is an integer inside the output)"
        )
        lines.append(
            f"dE/dw[f, c, {', '.join(map(str, wk))}] = sum over n, "
            f"({', '.join(map(str, i))}) of {formula(dy[(n, f, *i)] * x[(n, chan, *pos)])}"
        )
    elif spec.kind == "conv_transpose":
        cin_g = spec.in_channels // spec.groups
        cout_g = spec.out_channels // spec.groups
        chan = f if spec.groups == 1 else sympy.floor(c / cin_g) * cout_g + f
        pos = [spec.tap_position(a, j[a], k[a]) for a in range(nd)]
        bias = " + b[f]" if spec.bias else ""
        lines.append(
            f"y[n, {formula(chan)}, {', '.join(formula(p) for p in pos)}] += "
            f"{formula(x[(n, c, *j)] * w[(c, f, *k)])} for every input position "
            f"({', '.join(map(str, j))}) and tap ({ks}) landing inside the output{bias}"
        )
        lines.append(
            f"dE/dx[n, c, {', '.join(map(str, j))}] = sum over f < {cout_g}, taps ({ks}) of "
            f"{formula(w[(c, f, *k)] * dy[(n, chan, *pos)])}   (inside the output)"
        )
        lines.append(
            f"dE/dw[c, f, {ks}] = sum over n, ({', '.join(map(str, j))}) of "
            f"{formula(x[(n, c, *j)] * dy[(n, chan, *pos)])}   (inside the output)"
        )
    else:
        pos = [spec.tap_position(a, i[a], k[a]) for a in range(nd)]
        at = formula(x[(n, c, *pos)])
        outs = ", ".join(map(str, i))
        if spec.kind == "max_pool":
            lines.append(f"y[n, c, {outs}] = max over taps ({ks}) of {at}   (padding reads -inf)")
            rule = (
                "the first maximal tap in row-major order"
                if spec.ties == "first"
                else "each of the m maximal taps, dy/m each"
            )
            lines.append(
                f"dE/dx[n, c, j] = sum over windows (n, c, {outs}) whose max is at j of "
                f"dy[n, c, {outs}]; ties: {rule}"
            )
        else:
            rule = (
                "the taps inside input + padding"
                if spec.count_include_pad
                else "the taps inside the input"
            )
            lines.append(
                f"y[n, c, {outs}] = (sum over taps ({ks}) inside the input of {at}) / "
                f"count[{outs}], count = {rule}"
            )
            lines.append(
                f"dE/dx[n, c, j] = sum over windows (n, c, {outs}) containing j of "
                f"dy[n, c, {outs}] / count[{outs}]"
            )
    if spec.bias:
        outs = ", ".join(map(str, i))
        lines.append(f"dE/db[f] = sum over n, ({outs}) of dy[n, f, {outs}]")
    return lines


def _small_derivation(layer: Layer):
    """A derivation for the docstring: the layer itself when small, else None."""
    spec = layer.spec
    terms = (
        math.prod(spec.y_shape)
        * math.prod(spec.kernel_size)
        * max(1, spec.in_channels // spec.groups)
    )
    if terms > 64:
        return None
    return derive(layer)


def _identity_statements(layer: Layer) -> list:
    """The identities symconv states for this kind of layer, from a reduced derivation."""
    spec = layer.spec
    sizes = tuple(
        max(1, e - lo - hi) + s
        for e, (lo, hi), s in zip(spec.effective_kernel, spec.padding, spec.stride)
    )
    try:
        small = Layer(spec.replace(input_size=sizes, in_channels=1, out_channels=1, groups=1))
        if math.prod(small.spec.y_shape) * math.prod(spec.kernel_size) > 400:
            return []
        return [ident.statement for ident in derive(small).identities]
    except SpecError:
        return []


def _worked_entries(deriv) -> list:
    """``name = expression`` lines of a small derivation."""
    lines = []

    def flat(arr):
        return sympy.flatten(arr.tolist()) if arr.rank() > 1 else list(arr)

    for ysym, expr in zip(flat(deriv.y_symbols), flat(deriv.y)):
        lines.append(f"{ysym} = {expr}")
    for xsym, expr in zip(flat(deriv.x), flat(deriv.grad_x)):
        lines.append(f"dE/d{xsym} = {expr}")
    if deriv.grad_w is not None:
        for wsym, expr in zip(flat(deriv.w), flat(deriv.grad_w)):
            lines.append(f"dE/d{wsym} = {expr}")
    if deriv.grad_b is not None:
        for bsym, expr in zip(flat(deriv.b), flat(deriv.grad_b)):
            lines.append(f"dE/d{bsym} = {expr}")
    return lines


# ---------------------------------------------------------------------- usage example
def _example_arrays(spec):
    """Exact inputs of the usage example: x and w count 1, 2, ... (row-major), b is ones."""

    def counting(shape):
        values = [Fraction(v) for v in range(1, math.prod(shape) + 1)]
        return np.array(values, dtype=object).reshape(shape)

    x = counting(spec.x_shape)
    w = counting(spec.w_shape) if spec.has_weight else None
    b = np.array([Fraction(1)] * spec.out_channels, dtype=object) if spec.bias else None
    return x, w, b


def _shown(name, values, shape):
    """The doctest lines showing one result: its values when it is small and they are
    integers (leading axes of length one indexed away), else its shape."""
    if values is not None and values.size <= EXAMPLE_ENTRIES:
        exact = [Fraction(v) for v in values.flat]
        if all(v.denominator == 1 for v in exact):
            lead = 0
            while lead < min(2, values.ndim - 1) and values.shape[lead] == 1:
                lead += 1
            if values.dtype.kind not in "iu":
                values = np.array([float(v) for v in exact]).reshape(values.shape)
            shown = values[(0,) * lead]
            where = "[" + ", ".join(["0"] * lead) + "]" if lead else ""
            return [f">>> {name}{where}.tolist()", repr(shown.tolist())]
    return [f">>> {name}.shape", py(shape)]


def usage_example(layer: Layer) -> list:
    """Doctest lines calling ``forward`` and ``backward`` of the module of ``layer``: on one
    sample counting 1, 2, ... with its values when the layer is small, else on a batch of two
    with the shapes. The values are the reference loops' (exact), not the module's own."""
    spec = layer.spec
    small = all(
        math.prod(s) <= EXAMPLE_ENTRIES
        for s in (spec.x_shape, spec.y_shape) + ((spec.w_shape,) if spec.has_weight else ())
    )
    lines = [">>> import numpy as np"]
    if small:
        x, w, b = _example_arrays(spec)
        n = 1
        lines.append(
            f">>> x = np.arange(1.0, {x.size + 1}.0).reshape({py((1,) + spec.x_shape)[1:-1]})"
        )
        if spec.has_weight:
            lines.append(
                f">>> w = np.arange(1.0, {w.size + 1}.0).reshape({py(spec.w_shape)[1:-1]})"
            )
        y = reference.forward(spec, x, w, b)
        dy = np.array([Fraction(1)] * y.size, dtype=object).reshape(y.shape)
        dx, dw, db = reference.backward(spec, dy, x, w)
    else:
        n = 2
        y = dx = dw = db = None
        lines.append(f">>> x = np.ones({py((n,) + spec.x_shape)})")
        if spec.has_weight:
            lines.append(f">>> w = np.ones({py(spec.w_shape)})")
    args = "x, w" if spec.has_weight else "x"
    if spec.bias:
        lines.append(f">>> b = np.ones({py(spec.b_shape)})")
        args += ", b"
    lines.append(f">>> y = forward({args})")
    lines += _shown("y", None if y is None else y[None], (n,) + spec.y_shape)
    if spec.kind == "max_pool" and spec.ties == "first":
        lines.append(">>> y, indices = forward(x, return_indices=True)")
        indices = None if y is None else max_pool_indices(layer, x[None])
        lines += _shown("indices", indices, (n,) + spec.y_shape)
    if spec.has_weight:
        lines.append(">>> dx, dw, db = backward(np.ones_like(y), x, w)")
    else:
        lines.append(">>> dx = backward(np.ones_like(y), x)")
    lines += _shown("dx", None if dx is None else dx[None], (n,) + spec.x_shape)
    if spec.has_weight:
        lines += _shown("dw", dw, spec.w_shape)
    if spec.bias:
        lines += _shown("db", db, spec.b_shape)
    return lines


# ---------------------------------------------------------------------- strategy lines
def _phases_text(plan, what) -> str:
    parts = []
    for ph in plan.phases:
        if ph.identity:
            kind = "direct, no copy"
        elif ph.window is not None:
            kind = f"{ph.n_taps} taps, one copy of a strided window view"
        else:
            kind = f"{ph.n_taps} unrolled tap copies"
        parts.append(f"{dims_text(ph.shape)} grid ({kind})")
    return f"{what}: " + "; ".join(parts)


def strategy_lines(strat: Strategy) -> list:
    """The lines under the docstring's ``Strategy:`` line: how each pass reads its source."""
    plan = strat.plan
    if strat.name == "pool taps":
        return [
            f"{plan.n_taps} taps; the index map gives each tap one strided slice of x and "
            "one region of y"
        ]
    if strat.name == "depthwise taps":
        return [
            f"{plan.n_taps} taps, each one contiguous run at a constant offset (read off "
            "the index map's windows); dE/dx runs the taps of the inverse map over dE/dy, "
            "dE/dw reduces dE/dy against each tap's run of x"
        ]
    if strat.name == "implicit GEMM":
        return [
            f"{plan.n_taps} taps, each one contiguous run at a constant offset (read off the "
            "index map's windows); the output is accumulated on the wide grid, one GEMM per "
            "tap over blocks of samples, and cropped; dE/dx runs the taps of the inverse map "
            "over dE/dy laid out the same way; dE/dw is one GEMM per tap, dE/dy against the "
            "tap's run of x"
        ]
    if strat.name == "Winograd":
        return [
            "the input is copied zero-bordered with its rows and columns split by parity, so "
            "that B^T d B of the 4x4 tiles at stride 2 is one pass over the tile rows and one "
            "over the tile columns, each over contiguous runs; the 3x3 kernels become G g G^T; "
            "one batched GEMM of the 16 transformed matrices contracts the channels; A^T M A "
            "gives each 2x2 output tile (a ragged last tile cropped). dE/dx runs the same "
            "kernels on dE/dy zero-bordered by 2 - padding (negative: cropped) with the rotated "
            "kernel, its channels swapped; dE/dw is one GEMM per tap over contiguous runs of a "
            "zero-bordered flat copy of x. BLOCK_BYTES bounds the buffers (blocks of whole "
            "samples or bands of tile rows)"
        ]
    lines = [_phases_text(plan, "forward (and dE/dw) phases")]
    if strat.fold_batch:
        lines.append(
            "the batch is folded into each GEMM's long dimension (one GEMM for the whole batch, "
            "not one per sample): the columns are laid out (group, row, sample, position)"
        )
    if strat.wide_scatter:
        lines.append(
            "dE/dx: one GEMM W'^T dE/dy over the batch, dE/dy laid out wide (rows of the "
            "zero-bordered input's length, the extra columns zero), so that each tap's rows "
            "are added into one contiguous run of dx's zero-bordered flat copy"
        )
    elif strat.dx_scatter:
        lines.append(
            "dE/dx: one GEMM W'^T dE/dy per forward phase, scattered back through the index "
            "map (col2im: fewer copies than gathering dE/dy for this spec)"
        )
    else:
        lines.append(
            _phases_text(
                strat.inverse, "dE/dx phases (dE/dy gathered through the inverse index map)"
            )
        )
    if strat.reuse_columns:
        lines.append(
            "backward reuses the forward's columns of x when x is unchanged (compared with the "
            "copy the forward kept), else gathers them again"
        )
    if strat.fold_bias:
        lines.append(
            "the bias is folded into the GEMM as a row of ones (dE/db falls out of dE/dw)"
        )
    return lines


def docstring_context(layer: Layer, strat: Strategy) -> dict:
    """Everything the ``docstring`` macro of ``templates/numpy/_common.py.jinja`` prints."""
    deriv = _small_derivation(layer)
    return dict(
        usage=usage_example(layer),
        formulas=formulas(layer),
        worked=_worked_entries(deriv) if deriv is not None else [],
        identities=_identity_statements(layer),
        strategy=strat.summary,
        strategy_name=strat.name,
        strategy_lines=strategy_lines(strat),
    )
