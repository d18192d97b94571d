"""Budgets: how much symconv builds at most, decided from the spec before anything is built.

A one-character slip in a size or a padding must never take a machine down. Every command and
every whole-array property estimates what it will build from the spec alone (entries, terms,
bytes), compares it with one of the limits below and, above it, refuses in one line that names
the quantity, its size, the limit and what to do instead. The estimates are exact counts or
upper bounds computed in closed form (:mod:`symconv.core.lazymap`), never by building.

The limits (module constants, the one place they live; figures measured on a 2-core machine):

* :data:`MAX_MAP_ENTRIES` - a whole flat index map (``Layer.index_map``, ``pad_mask``,
  ``window_sizes``): outputs x taps, 9 bytes per entry plus temporaries.
* :data:`MAX_AXIS_ENTRIES` - one axis's dense map (``Layer.axis_maps``: that axis's outputs x
  taps), which generated code and figures read; 10 bytes per entry.
* :data:`MAX_SYMBOLS` - one whole array of SymPy symbols (``Derivation.x``, ``w``, ``dy``).
* :data:`MAX_TERMS` - a whole derivation (``Derivation.y``, ``grad_x``, ``grad_w``,
  ``toeplitz()``, ``evaluate``, a LaTeX document, ``symconv check``): about 250 bytes and 3 us
  per product term, so the limit is about 300 MB and a few seconds.
* :data:`MAX_PREVIEW_TERMS` - what a preview builds (``symconv derive`` / ``toeplitz``, the
  Jupyter display): the entries shown times their shown terms, plus the cells of W's corner.
* :data:`MAX_FIGURE_CELLS` - the cells one picture draws (the padded input, the output, W, in
  every frame); :data:`MAX_RASTER_CELLS` the cells of a PNG, GIF or PDF (matplotlib).
* :data:`MAX_TABLE_ENTRIES` - the constant tables a generated NumPy module embeds, and
  :data:`MAX_MODULE_TAPS` the taps of a pool's window along its axes (code per tap).
* :data:`MISTAKE_GROWTH` and :data:`MISTAKE_FLOOR` - how much larger than the student's layer a
  mistaken layer the checker builds may be (:func:`mistake_fits`).

Above a limit, :class:`BudgetError` (a :class:`~symconv.core.errors.SpecError`; the CLI prints
it as one ``error:`` line and exits 2). ``--allow-large`` on the command line, or
``with symconv.core.budget.allow_large():`` in Python, lifts every limit for what follows.
"""

from __future__ import annotations

import contextvars
import math
from contextlib import contextmanager

from .errors import SpecError
from .lazymap import axis_rules

__all__ = [
    "BudgetError",
    "MAX_AXIS_ENTRIES",
    "MAX_FIGURE_CELLS",
    "MAX_MAP_ENTRIES",
    "MAX_MODULE_TAPS",
    "MAX_PREVIEW_TERMS",
    "MAX_RASTER_CELLS",
    "MAX_SYMBOLS",
    "MAX_TABLE_ENTRIES",
    "MAX_TERMS",
    "allow_large",
    "check",
    "check_document",
    "check_figure",
    "check_module",
    "check_preview",
    "check_whole",
    "connections",
    "lifted",
    "mistake_fits",
    "preview_terms",
    "whole_terms",
]

#: entries of a whole flat index map (outputs x taps)
MAX_MAP_ENTRIES = 10_000_000
#: entries of one axis's dense map (that axis's outputs x taps)
MAX_AXIS_ENTRIES = 10_000_000
#: symbols in one whole symbol array (x, w, dE/dy)
MAX_SYMBOLS = 1_000_000
#: product terms of a whole derivation (forward sums and gradient sums together)
MAX_TERMS = 1_000_000
#: product terms (and W corner cells) a preview builds
MAX_PREVIEW_TERMS = 200_000
#: cells one picture draws as TikZ or SVG (all its frames; about 60 us per cell)
MAX_FIGURE_CELLS = 40_000
#: cells a raster picture (PNG, GIF, PDF through matplotlib) draws (2.5 to 10 ms per cell)
MAX_RASTER_CELLS = 8_000
#: entries of the constant tables a generated module embeds
MAX_TABLE_ENTRIES = 1_000_000
#: a pool's taps along its axes, each a dozen lines of generated code (200 taps: about 8 s)
MAX_MODULE_TAPS = 256
#: how much larger than the student's layer a mistaken layer the checker tries may be (padding
#: doubled or applied as input, stride 1 for s): at most this factor times the layer's whole
#: derivation, or :data:`MISTAKE_FLOOR` terms and entries for a small layer
MISTAKE_GROWTH = 4
MISTAKE_FLOOR = 20_000

_LIFTED = contextvars.ContextVar("symconv_budget_lifted", default=False)

#: what to do instead, by situation
WHOLE = (
    "previews build only what they show ('symconv derive', symconv.core.preview); for "
    "real-size layers use 'symconv codegen'; --allow-large (or symconv.core.budget.allow_large()"
    " in Python) builds it anyway"
)
PREVIEW = "lower --max-entries, --max-terms or --max-matrix"
FULL = (
    "drop --full for a preview (--max-entries N shows N entries per quantity); for real-size "
    "layers use 'symconv codegen'; --full --allow-large builds it anyway"
)


class BudgetError(SpecError):
    """What a command or property would build is above a budget of :mod:`symconv.core.budget`."""


@contextmanager
def allow_large(on: bool = True):
    """Within the block, the budgets are lifted (``on=True``) or kept (``on=False``)."""
    token = _LIFTED.set(bool(on))
    try:
        yield
    finally:
        _LIFTED.reset(token)


def lifted() -> bool:
    """Whether the budgets are lifted here (:func:`allow_large`)."""
    return _LIFTED.get()


def check(op: str, quantity: str, size: int, unit: str, limit: str, instead: str) -> None:
    """Raise :class:`BudgetError` when ``size`` is above the budget named ``limit`` (a
    constant of this module) and the budgets are not lifted."""
    bound = globals()[limit]
    if size > bound and not lifted():
        raise BudgetError(
            f"{op}: {quantity} has {size:,} {unit}, above the budget of {bound:,} "
            f"(symconv.core.budget.{limit}); {instead}"
        )


# ---------------------------------------------------------------------- estimators
def pair_count(spec) -> int:
    """Channel pairs the layer connects."""
    if spec.is_pool:
        return spec.in_channels
    if spec.kind == "conv":
        return spec.out_channels * (spec.in_channels // spec.groups)
    return spec.in_channels * (spec.out_channels // spec.groups)


def connections(spec) -> int:
    """Exact number of (channel pair, output, tap) links that read an input: the product
    terms of one sparse chain rule, the non-zeros of W (closed form, any size)."""
    return pair_count(spec) * math.prod(rule.pairs() for rule in axis_rules(spec))


def _entries(spec) -> dict:
    out = {"y": math.prod(spec.y_shape), "grad_x": math.prod(spec.x_shape)}
    if spec.has_weight:
        out["grad_w"] = math.prod(spec.w_shape)
    if spec.bias:
        out["grad_b"] = spec.out_channels
    return out


def whole_terms(spec) -> int:
    """Product terms of the whole derivation (max pooling: with the routing conditions, one
    comparison per pair of taps in a window)."""
    conn = connections(spec)
    if spec.kind == "max_pool":
        return conn * (1 + math.prod(spec.kernel_size))
    if spec.is_pool:
        return 2 * conn
    return 3 * conn + (2 * math.prod(spec.y_shape) if spec.bias else 0)


def _per_entry(spec) -> dict:
    """quantity -> (upper bound on one entry's terms, extra cost per shown term, whether a
    long sum can be clipped)."""
    taps = math.prod(spec.kernel_size)
    reach = math.prod(min(k, o) for k, o in zip(spec.kernel_size, spec.output_size))
    n_out = math.prod(spec.output_size)
    if spec.is_pool:
        routing = 1
        if spec.kind == "max_pool":
            routing = taps * (taps if spec.ties == "split" else 1)
        return {"y": (taps, 1, spec.kind == "avg_pool"), "grad_x": (reach, routing, True)}
    cin_g, cout_g = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    if spec.kind == "conv":
        y, gx = cin_g * taps, cout_g * reach
    else:
        y, gx = cin_g * reach, cout_g * taps
    return {
        "y": (y + 1, 1, True),
        "grad_x": (gx, 1, True),
        "grad_w": (n_out, 1, True),
        "grad_b": (n_out, 1, True),
    }


def preview_terms(spec, entries=None, terms=None, matrix=None, corner=True) -> int:
    """Upper bound on the terms a preview builds: ``entries`` per quantity, sums clipped to
    ``terms``, W's corner of ``matrix`` rows and columns (None: no limit)."""
    n = _entries(spec)
    total = 0
    for q, (bound, extra, clippable) in _per_entry(spec).items():
        if q not in n:
            continue
        shown = n[q] if entries is None else min(n[q], entries)
        each = bound if terms is None or not clippable else min(bound, terms)
        total += shown * each * extra
    if corner and spec.kind != "max_pool":
        n_y, n_x = math.prod(spec.y_shape), math.prod(spec.x_shape)
        if matrix is None or max(n_x, n_y) <= matrix:
            total += n_x * n_y if n_x * n_y < connections(spec) else connections(spec)
        else:
            total += min(matrix, n_x) * min(matrix, n_y)
    return total


def identity_cells(spec) -> int:
    """Cells of the arrays the identities are verified on (zero-padded and stride- or
    kernel-dilated operands, per channel pair): as long as the padded, dilated axes."""

    def cells(sizes):
        return math.prod(max(int(v), 1) for v in sizes)

    e, s, o = spec.effective_kernel, spec.stride, spec.output_size
    padded = cells(spec.padded_size)
    dilated_dy = cells((oo - 1) * ss + 2 * ee - 1 for oo, ss, ee in zip(o, s, e))
    dilated_x = cells((n - 1) * ss + 1 for n, ss in zip(spec.input_size, s))
    padded_dy = cells(oo + lo + hi for oo, (lo, hi) in zip(o, spec.padding))
    per_pair = padded + dilated_dy + dilated_x + padded_dy + cells(e)
    return pair_count(spec) * per_pair


def figure_cells(spec, kind: str, frames: int = 1) -> int:
    """Cells a picture of ``kind`` draws: the padded input and the output of the pair drawn
    (W whole for the ``toeplitz`` figure) in each of up to ``frames`` frames, and one layer
    per channel pair listed."""
    padded = math.prod(n + lo + hi for n, (lo, hi) in zip(spec.input_size, spec.padding))
    if kind == "toeplitz":
        return math.prod(spec.x_shape) * math.prod(spec.y_shape)
    per_scene = padded + math.prod(spec.output_size) + math.prod(spec.kernel_size)
    return per_scene * max(frames, 1) + pair_count(spec)


# ---------------------------------------------------------------------- checks
def check_whole(spec, what: str = "the whole derivation", instead: str = WHOLE) -> None:
    """Refuse to build every entry of a derivation above :data:`MAX_TERMS` (or a symbol array
    above :data:`MAX_SYMBOLS`)."""
    check(spec.op, what, whole_terms(spec), "product terms", "MAX_TERMS", instead)
    name, largest = max(_entries(spec).items(), key=lambda kv: kv[1])
    check(spec.op, f"{what}: the array {name}", largest, "entries", "MAX_SYMBOLS", instead)


def mistake_fits(mistaken, spec) -> bool:
    """Whether the checker may build the layer ``mistaken`` (a perturbation of ``spec``): its
    whole derivation and its largest array stay within :data:`MISTAKE_GROWTH` times those of
    ``spec`` (at least :data:`MISTAKE_FLOOR`). A huge padding doubled or a huge stride set to 1
    is a mistake no student computed by hand; it is skipped, never built."""
    if lifted():
        return True
    for size in (whole_terms, lambda s: max(_entries(s).values())):
        if size(mistaken) > max(MISTAKE_GROWTH * size(spec), MISTAKE_FLOOR):
            return False
    return True


def check_document(spec) -> None:
    """A LaTeX document: the whole derivation (:func:`check_whole`) and the zero-padded,
    dilated operands its identity frames print (:data:`MAX_SYMBOLS` cells)."""
    what = "a LaTeX document of the derivation"
    check_whole(spec, what)
    size = identity_cells(spec)
    check(spec.op, f"{what}: its identity operands", size, "cells", "MAX_SYMBOLS", WHOLE)


def check_preview(spec, entries, terms, matrix, corner=True) -> None:
    """Refuse a preview whose limits would build more than :data:`MAX_PREVIEW_TERMS`;
    with no limits at all (``--full``) the whole derivation's budget applies."""
    if entries is None and terms is None and matrix is None:
        check_whole(spec, "the full derivation (--full)", FULL)
        return
    size = preview_terms(spec, entries, terms, matrix, corner)
    smallest = preview_terms(spec, 2, 2, 2, corner)
    instead = PREVIEW
    if smallest > MAX_PREVIEW_TERMS:  # e.g. a max over a window of a million taps
        instead = (
            f"even the smallest preview (--max-entries 2 --max-terms 2 --max-matrix 2) builds "
            f"{smallest:,} (a max pool's window is never clipped); for real-size layers use "
            "'symconv codegen'"
        )
    check(spec.op, "the preview", size, "terms to build", "MAX_PREVIEW_TERMS", instead)


def check_matrix(spec, matrix) -> None:
    """``symconv toeplitz``: W whole (``matrix`` None) needs :data:`MAX_TERMS`, a corner
    :data:`MAX_PREVIEW_TERMS`."""
    if matrix is None:
        size = connections(spec)
        check(spec.op, "W (--full)", size, "non-zeros", "MAX_TERMS", FULL)
        return
    n_y, n_x = math.prod(spec.y_shape), math.prod(spec.x_shape)
    cells = min(matrix, n_x) * min(matrix, n_y)
    check(spec.op, "W's corner", cells, "cells", "MAX_PREVIEW_TERMS", "lower --max-matrix")


def check_figure(spec, kind: str, frames: int = 1) -> None:
    """Refuse a picture that would draw more than :data:`MAX_FIGURE_CELLS` cells in its
    ``frames`` frames (and the dense axis maps it reads above :data:`MAX_AXIS_ENTRIES`)."""
    instead = (
        "a picture of a real-size layer would not be readable: draw a small layer with the "
        "same kernel, stride, padding and dilation, or use 'symconv derive' for a preview; "
        "--allow-large draws it anyway"
    )
    check(
        spec.op,
        f"the {kind} figure",
        figure_cells(spec, kind, frames),
        "cells",
        "MAX_FIGURE_CELLS",
        instead,
    )
    check_axes(spec, instead)


def check_raster(cells: int, suffix: str) -> None:
    """Refuse a raster picture (PNG, GIF, PDF) of more than :data:`MAX_RASTER_CELLS` cells."""
    instead = "write .svg or .tex (drawn as text, far faster), or draw a smaller layer"
    check("figure", f"the {suffix} picture", cells, "cells", "MAX_RASTER_CELLS", instead)


def check_axes(spec, instead: str = WHOLE) -> None:
    """Refuse dense axis maps above :data:`MAX_AXIS_ENTRIES`."""
    largest = max(o * k for o, k in zip(spec.output_size, spec.kernel_size))
    check(spec.op, "the largest axis map", largest, "entries", "MAX_AXIS_ENTRIES", instead)


def check_module(spec) -> None:
    """Refuse generating a module whose per-axis maps or constant tables are too large
    (:data:`MAX_AXIS_ENTRIES`, :data:`MAX_TABLE_ENTRIES`): an average pool whose divisors vary
    embeds one divisor per output position along each such axis."""
    instead = (
        "the generated module reads per-axis maps and tables as large as the layer's axes; "
        "split the layer into tiles, or use --allow-large to generate it anyway"
    )
    check_axes(spec, instead)
    table = 0
    if spec.kind == "avg_pool":
        padded = any(lo or hi for lo, hi in spec.padding)
        if spec.ceil_mode or (padded and not spec.count_include_pad):
            table = sum(spec.output_size)
    check(spec.op, "the module's divisor tables", table, "entries", "MAX_TABLE_ENTRIES", instead)
    if spec.is_pool:  # one block of code per tap and axis (a conv's code grows with phases)
        taps = sum(spec.kernel_size)
        check(
            spec.op, "the pool's window", taps, "taps along its axes", "MAX_MODULE_TAPS", instead
        )
