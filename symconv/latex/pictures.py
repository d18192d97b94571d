"""Which pictures a document shows, and where: the requests the deck and the article send to
the figures stage (through the ``document_pictures`` printer of :mod:`symconv._hooks`, so that
this stage never imports a later one).

Layers whose grids are larger than :data:`MAX_PICTURE_SIDE` cells a side, and 3-D layers (their
depth slices side by side are too wide for a page), get a note instead (``notes["skipped"]``).

* ``forward``: the window at each output position; on slides one overlay per position, at
  most ``max_entries`` of them (:func:`window_positions`: the first row's start, the second
  row's start, the last); in the article the second position, whose picture also outlines the
  first (the stride);
* ``toeplitz``: W (or T) with each non-zero coloured by the weight it holds, when it has at most
  :data:`MAX_MATRIX_CELLS` rows and columns;
* ``grad_x``: the rotated kernel over the padded, stride-dilated dE/dy at the middle input
  entry (average pools: the spread of the window);
* ``grad_w``: the inputs paired with every dE/dy entry for the first kernel tap;
* ``routing``: a pool's gradient routed back to the window maxima (spread over the window);
* ``stamps`` (transposed convolutions, with ``forward``): each input entry's stamp of the
  kernel, the products with their operator and y as the running sum of the stamps; on slides
  one overlay per input entry (elided like the windows, always ending on the last, where y is
  complete), in the article the last stamp;
* ``direct`` (transposed convolutions, with ``forward``): the same y as a stride-1 convolution
  of the rotated kernel over the zero-inserted, padded input, at the middle output position.

Without the document's worked numbers the transposed pictures use small example integers, and
their note says so. ``notes["forward_caption"]`` is the article's caption of the forward
picture: it names only what the picture draws (the previous position is outlined only when
the picture is a window past the first position).
"""

from __future__ import annotations

import math

import numpy as np

from .._hooks import printer
from ..core.errors import SpecError
from ..core.preview import elide

__all__ = [
    "MAX_MATRIX_CELLS",
    "MAX_PICTURE_SIDE",
    "document_pictures",
    "wants_pictures",
    "window_positions",
]

#: The largest W drawn as a coloured pattern (rows and columns each at most this many).
MAX_MATRIX_CELLS = 48

#: Pictures are drawn when every spatial axis of the padded input and of the output has at most
#: this many cells: a larger grid would make the document megabytes of TikZ for cells too
#: small to read (``symconv draw`` draws any size).
MAX_PICTURE_SIDE = 24


def wants_pictures(figures, document: str) -> bool:
    """``figures`` as given (``None``: on in the article and the deck, off in a snippet)."""
    if figures is None:
        return document != "snippet"
    if not isinstance(figures, bool):
        raise SpecError(f"latex: figures must be True, False or None, got {figures!r}")
    return figures


def window_positions(output_size, limit: int) -> tuple:
    """The output positions (flat, row-major) whose window the slides show: all up to
    ``limit``, else the start of the first row, the start of the second (the step down a
    row), and the last position."""
    n = math.prod(output_size)
    if n <= limit:
        return tuple(range(n))
    cols = output_size[-1]
    if len(output_size) == 1 or n <= cols:
        return tuple(o for o in elide(n, limit) if o is not None)
    first = max(1, min(cols, (limit - 1) // 2))
    second = max(1, min(cols, limit - 1 - first))
    return tuple(range(first)) + tuple(range(cols, cols + second)) + (n - 1,)


#: The box (width, height in cm, largest enlargement) W's picture is fitted into: the deck's
#: ``\\symconvfill[0.8\\textheight]`` (Beamer's text area 14.0 x 8.86 cm at 16:9, 10.8 x
#: 9.46 cm at 4:3, enlarged up to 3 times) and the article's figure (a4 with 2 cm margins,
#: 0.4 of the text height, never enlarged).
PICTURE_BOXES = {
    ("beamer", "169"): (14.0, 0.8 * 8.86, 3.0),
    ("beamer", "43"): (10.8, 0.8 * 9.46, 3.0),
    ("article", None): (17.0, 0.4 * 25.7, 1.0),
}


def picture_box(opts) -> tuple:
    """The box W's picture is fitted into in this document (see :data:`PICTURE_BOXES`)."""
    if opts.beamer:
        return PICTURE_BOXES[("beamer", "43" if str(opts.aspect) == "43" else "169")]
    return PICTURE_BOXES[("article", None)]


def document_pictures(ctx, parts) -> dict:
    """The pictures of a document: ``{"preamble": str, "pictures": {name: TikZ}, "notes":
    {name: text}}`` (a note says what an elided picture leaves out; ``"skipped"``: why the
    document has none).

    ``ctx`` is the document's :class:`~.frames.FrameContext`, ``parts`` the parts it shows.
    Each request is ``(figure kind, flat positions, Beamer overlays)``."""
    spec, opts = ctx.spec, ctx.opts
    n_out = math.prod(spec.output_size)
    skipped = None
    if spec.ndim == 3:
        skipped = "a 3-D layer"
    elif max(spec.padded_size + spec.output_size) > MAX_PICTURE_SIDE:
        skipped = f"grids larger than {MAX_PICTURE_SIDE} cells a side"
    if skipped:
        return {"preamble": "", "pictures": {}, "notes": {"skipped": skipped}}
    requests, notes = {}, {}
    if "forward" in parts:
        if opts.beamer:
            shown = window_positions(spec.output_size, opts.max_entries)
            requests["forward"] = ("window", shown, True)
            if len(shown) < n_out:
                notes["forward"] = f"The window at {len(shown)} of the {n_out} output positions."
        else:
            requests["forward"] = ("window", (min(1, n_out - 1),), False)
    if "forward" in parts and not opts.beamer:
        notes["forward_caption"] = _forward_caption(spec, n_out)
    if "forward" in parts and spec.kind == "conv_transpose":
        n_in = math.prod(spec.input_size)
        example = "" if ctx.num is not None else " (example numbers)"
        y = f"${opts.notation.y}$"  # the document's letter for the output
        if opts.beamer:
            stamps = tuple(i for i in elide(n_in, max(opts.max_entries, 3)) if i is not None)
            requests["stamps"] = ("transpose", stamps, True)
            notes["stamps"] = (
                f"The stamps of {len(stamps)} of the {n_in} input entries{example}; "
                f"each output cell shows the sum of the stamps so far, the last slide {y}."
                if len(stamps) < n_in
                else f"One input entry per slide{example}; each output cell shows the sum of "
                f"the stamps so far, the last slide {y}."
            )
        else:
            requests["stamps"] = ("transpose", (n_in - 1,), False)
            notes["stamps"] = (
                f"The last input entry's stamp{example}: each product with its operator, and "
                f"every output cell the sum of all the stamps, which is {y}."
            )
        middle = tuple(n // 2 for n in spec.output_size)
        requests["direct"] = (
            "transpose-conv",
            (int(np.ravel_multi_index(middle, spec.output_size)),),
            False,
        )
        notes["direct"] = (
            f"The same {y} as a stride-1 convolution{example}: the kernel rotated by "
            "$180^\\circ$ over the input with zeros inserted between its entries and around it."
        )
    linear = spec.kind != "max_pool"
    n_x, n_y = len(ctx.xs), len(ctx.ys)
    if "toeplitz" in parts and linear and max(n_x, n_y) <= MAX_MATRIX_CELLS:
        requests["toeplitz"] = ("toeplitz", (), False, picture_box(opts))
    if "grad_x" in parts and linear:
        middle = tuple(n // 2 for n in spec.input_size)
        flat = int(np.ravel_multi_index(middle, spec.input_size))
        requests["grad_x"] = ("grad-input", (flat,), False)
    if "grad_w" in parts:
        requests["grad_w"] = ("grad-weight", (0,), False)
    if "routing" in parts:
        requests["routing"] = ("pool", (), False)
    values = None
    if ctx.num is not None:
        vals = ctx.num["vals"]
        values = {"x": vals["x"], "dy": ctx.num["dy"]}
        values.update({k: vals[k] for k in ("w", "b") if k in vals})
    draw = printer("document_pictures")
    out = draw(
        ctx.deriv.layer,
        requests,
        values=values,
        index_base=ctx.deriv.index_base,
        convention=opts.convention,
        notation=opts.notation,
    )
    return {**out, "notes": notes}


def _forward_caption(spec, n_out: int) -> str:
    """The article's caption of its forward picture (the window at the second position, or
    the first when there is one), naming only what it draws."""
    padded = spec.kind != "conv_transpose" and any(lo or hi for lo, hi in spec.padding)
    text = f"The window of one output position over the {'padded ' if padded else ''}input"
    if n_out > 1 and spec.kind != "conv_transpose":
        text += " (dashed: the position before it)"
    return text + " and the output entry it gives."
