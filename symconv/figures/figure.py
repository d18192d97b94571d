"""The public entry point: :func:`figure` checks the request, builds the scenes of one figure
kind and returns a :class:`Figure`, which prints them (TikZ, SVG, PNG, GIF, PDF).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core import budget
from ..core.errors import SpecError
from ..core.layers import Layer
from ..core.preview import elide
from ..core.spec import dims_text
from ..fileio import write_atomic
from . import backward, forward, overview, transposed
from .reading import LayerReading
from .tikz import tikz_document, tikz_overlays, tikz_picture, tikz_preamble

__all__ = ["Figure", "figure", "FIGURE_KINDS", "SUFFIXES"]

#: Figure kinds and the layer kinds each applies to (``network`` takes a Network).
FIGURE_KINDS = {
    "window": ("conv", "conv_transpose", "max_pool", "avg_pool"),
    "windows": ("conv", "conv_transpose", "max_pool", "avg_pool"),
    "grad-input": ("conv", "conv_transpose", "avg_pool"),
    "grad-weight": ("conv", "conv_transpose"),
    "toeplitz": ("conv", "conv_transpose", "avg_pool"),
    "pool": ("max_pool", "avg_pool"),
    "transpose": ("conv_transpose",),
    "transpose-conv": ("conv_transpose",),
    "network": (),
}
SUFFIXES = (".tex", ".svg", ".png", ".gif", ".pdf")
_HINT = {
    ("toeplitz", "max_pool"): "max pooling is not linear, so it has no Toeplitz matrix; "
    "use 'pool' for its gradient routing",
    ("grad-input", "max_pool"): "use 'pool' for max pooling's gradient routing",
}


class Figure:
    """One or more scenes (frames) of a figure, ready to print.

    ``tikz()`` gives a standalone LaTeX document (``standalone=False``: the tikzpicture(s)
    alone, see :meth:`tikz_preamble` for what a document must load; ``overlays=True``: one
    picture with one Beamer overlay per frame). ``svg(frame=0)`` gives an SVG document;
    ``save(path)`` writes by suffix (.tex .svg .png .gif .pdf).
    """

    def __init__(
        self,
        kind: str,
        scenes: list,
        description: str = "",
        *,
        numbers=None,
        total=None,
        what: str = "frames",
    ):
        self.kind = kind
        self.scenes = list(scenes)
        self.description = description
        #: Each frame's number in the whole animation (1-based; the windows figure elides
        #: positions, so frame k may be position 81), how many there are and what they are.
        self.numbers = list(numbers) if numbers is not None else list(range(1, len(scenes) + 1))
        self.total = len(self.scenes) if total is None else total
        self.what = what

    def __len__(self) -> int:
        return len(self.scenes)

    def __repr__(self) -> str:
        return f"Figure({self.kind!r}, {len(self.scenes)} frame(s); {self.description})"

    # ------------------------------------------------------------------ printers
    def tikz(self, *, standalone: bool = True, overlays: bool = False) -> str:
        """The figure as TikZ: a standalone document of one page per frame, or
        (``standalone=False``) the ``tikzpicture`` environments alone. ``overlays=True`` makes
        frame k Beamer overlay k, every frame on the bounding box of the largest, so that the
        picture stays put while the frames change."""
        if not overlays:
            pictures = [tikz_picture(s) for s in self.scenes]
            return tikz_document(pictures) if standalone else "\n".join(pictures)
        body = tikz_overlays(self.scenes)
        return tikz_document([body]) if standalone else body

    @staticmethod
    def tikz_preamble() -> str:
        """The preamble lines (packages, colours) that an embedded picture needs."""
        return tikz_preamble()

    def svg(self, frame: int = 0) -> str:
        from .svg import svg_document

        return svg_document(self._frame(frame))

    def sheet(self):
        """The scene of a single image of the whole figure: the one frame, or a contact sheet
        of every frame, tiled and numbered (elided to the first ones and the last, which a
        caption line says, past :data:`symconv.figures.sheet.MAX_TILES`)."""
        if len(self.scenes) == 1:
            return self.scenes[0]
        from .sheet import contact_sheet

        return contact_sheet(self.scenes, self.numbers, total=self.total, what=self.what)[0]

    @property
    def sheet_frames(self) -> list:
        """The numbers of the frames :meth:`sheet` tiles (all, or the first ones and the last)."""
        from ..core.preview import elide
        from .sheet import MAX_TILES

        if len(self.scenes) == 1:
            return self.numbers[:1]
        return [self.numbers[k] for k in elide(len(self.scenes), MAX_TILES) if k is not None]

    def _repr_svg_(self) -> str:
        """Jupyter shows the one frame, or the contact sheet of all frames."""
        from .svg import svg_document

        return svg_document(self.sheet())

    def png(self, frame: int = 0, *, dpi: int = 100) -> bytes:
        from .raster import png_bytes

        return png_bytes(self._frame(frame), dpi=dpi)

    def save(self, path, *, dpi=None, frame_duration=None) -> Path:
        """Write the figure; the format comes from the suffix. A multi-frame figure gives a
        multi-page .tex, an animated .gif (``frame_duration`` milliseconds a frame, default
        900) and, in the single-image formats .svg, .png and .pdf, a contact sheet of all its
        frames (:meth:`sheet`). ``dpi`` defaults to 100 (PNG) and 72 (GIF)."""
        from .raster import FRAME_MS, GIF_DPI

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise SpecError(
                f"figure: path suffix must be one of {', '.join(SUFFIXES)}, got {path.name!r}"
            )
        if suffix == ".tex":
            write_atomic(path, self.tikz())
        elif suffix == ".svg":
            from .svg import svg_document

            write_atomic(path, svg_document(self.sheet()))
        else:
            from . import raster

            shown = self.scenes[:1] if suffix == ".png" else self.scenes
            budget.check_raster(sum(len(s.cells) for s in shown), suffix)  # matplotlib: slow
            if suffix == ".png":
                data = raster.png_bytes(self.sheet(), dpi=dpi or 100)
            elif suffix == ".gif":
                duration = FRAME_MS if frame_duration is None else frame_duration
                data = raster.gif_bytes(self.scenes, dpi=dpi or GIF_DPI, duration=duration)
            else:
                data = raster.pdf_bytes([self.sheet()])
            write_atomic(path, data)
        return path

    def _frame(self, frame: int):
        if not isinstance(frame, int) or not 0 <= frame < len(self.scenes):
            raise SpecError(
                f"figure: frame must be an int in 0..{len(self.scenes) - 1}, got {frame!r}"
            )
        return self.scenes[frame]


def _flat_position(op, shape, position, base, what="position"):
    """A position (tuple, int for 1-D, or 'r,c' text) -> flat row-major index; raises a
    SpecError naming the valid range when it lies outside ``shape``."""
    if isinstance(position, str):
        try:
            position = tuple(int(p) for p in position.replace("x", ",").split(","))
        except ValueError:
            raise SpecError(f"{op}: {what} must be integers like 2,1, got {position!r}") from None
    if isinstance(position, (int, np.integer)) and not isinstance(position, bool):
        position = (int(position),)
    rule = (
        f"inside the {'output' if what == 'position' else what} {dims_text(shape)} ({base}-based)"
    )
    if (
        not isinstance(position, (tuple, list))
        or len(position) != len(shape)
        or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in position)
    ):
        raise SpecError(f"{op}: {what} must be {len(shape)} integers {rule}, got {position!r}")
    if not all(base <= p < n + base for p, n in zip(position, shape)):
        raise SpecError(f"{op}: {what} must be {rule}, got {tuple(position)!r}")
    return int(np.ravel_multi_index(tuple(p - base for p in position), shape))


def figure(
    layer,
    kind: str = "window",
    *,
    position=None,
    values=None,
    channel=None,
    labels="auto",
    index_base: int = 1,
    convention: str = "row",
    max_frames: int = 64,
    heading: bool = True,
    max_terms: int = 25,
    fit=None,
    notation=None,
) -> Figure:
    """A picture of a layer, read off its index map.

    ``kind`` is one of ``window`` (the forward step at ``position``), ``windows`` (every output
    position, one frame each), ``grad-input`` (the entry ``position`` of dE/dx), ``grad-weight``
    (the kernel tap ``position`` of dE/dw), ``toeplitz`` (the unrolled matrix, ``convention``
    'row' as seed 000 or 'column'), ``pool`` (routing of the gradient through a pool),
    ``transpose`` (the stamp of the input cell ``position`` of a transposed convolution, each
    product with its operator and y as the running sum of the stamps so far; all input cells
    as frames when omitted, the last frame showing y complete), ``transpose-conv`` (the same
    layer as a stride-1 convolution of the rotated kernel over the zero-inserted, padded
    input, at output ``position``; every position as frames when omitted) or ``network``
    (pass a :class:`symconv.Network`). The two transposed kinds use small example integers
    when ``values`` has no ``x`` (the heading says so).

    Positions count from ``index_base`` (1, like the slides' y_11). ``values`` is a dict of
    worked numbers ``{'x': ..., 'w': ..., 'b': ..., 'dy': ...}`` shown in the cells (exact
    with ints and Fractions). ``channel=(c_out, c_in)`` (0-based) draws one channel pair
    instead of a stack. ``labels`` is 'auto' (names in grids up to 10 cells a side), True or
    False. ``windows`` draws at most ``max_frames`` frames: beyond that the first ones and the
    last (the description says how many of how many). ``heading=False`` leaves out the bold
    heading line (for a document that captions the picture itself). ``max_terms`` is the
    longest sum a caption writes out (wrapped over lines) before eliding its middle: by default
    a window's sum of at most 25 terms is never cut. ``fit = (width_cm, height_cm, grow)``
    is the box a document fits a ``toeplitz`` picture into (scaled down to it, up to ``grow``
    times): its texts then grow against the cells so that none is below 6 pt there.
    ``notation`` (a preset name such as ``'seed003'`` or a
    :class:`~symconv.core.symbols.Notation`) writes cell labels, grid titles and captions in
    the letters of the LaTeX document the picture goes into (``$\\partial L/\\partial O$``
    for dE/dy in seed 001's); ``None`` (default) keeps the plain x, w, y and dE/dy. Cell
    labels name symbols as the LaTeX printer does (indices apart, ``w_{1,1,1,2}``, as soon as
    a symbol carries a channel index or an index has two digits).
    """
    if kind not in FIGURE_KINDS:
        raise SpecError(f"figure: kind must be one of {sorted(FIGURE_KINDS)}, got {kind!r}")
    if labels not in ("auto", True, False):
        raise SpecError(f"figure: labels must be 'auto', True or False, got {labels!r}")
    if index_base not in (0, 1):
        raise SpecError(f"figure: index_base must be 0 or 1, got {index_base!r}")
    if kind == "network":
        if not hasattr(layer, "layers") or not hasattr(layer, "input_shape"):
            raise SpecError(
                f"figure: kind 'network' needs a network (symconv.example('lenet5')), "
                f"got {layer!r}"
            )
        return Figure(kind, [overview.network_scene(layer)], layer.name)
    if not isinstance(layer, Layer):
        raise SpecError(
            f"figure: layer must be a symconv layer (from symconv.conv, ...), got {layer!r}"
        )
    spec = layer.spec
    if spec.kind not in FIGURE_KINDS[kind]:
        hint = _HINT.get((kind, spec.kind), f"it applies to {', '.join(FIGURE_KINDS[kind])}")
        raise SpecError(
            f"{spec.op}: figure kind {kind!r} does not apply to a {spec.kind} layer; {hint}"
        )
    positions = {"windows": spec.output_size, "transpose": spec.input_size}.get(kind, ())
    frames = min(max_frames, math.prod(positions)) if position is None else 1
    budget.check_figure(spec, kind, frames)  # refused up front (symconv.core.budget)
    example = kind == "pool" and (values is None or values.get("dy") is None)
    if example:
        given = {k: v for k, v in (values or {}).items() if v is not None}
        values = {**backward.example_values(spec), **given}
    if kind in ("transpose", "transpose-conv") and (values is None or values.get("x") is None):
        example = True
        given = {k: v for k, v in (values or {}).items() if v is not None}
        values = {**transposed.example_values(spec), **given}
    if not isinstance(max_frames, int) or isinstance(max_frames, bool) or max_frames < 3:
        raise SpecError(f"figure: max_frames must be an integer of at least 3, got {max_frames!r}")
    if not isinstance(max_terms, int) or isinstance(max_terms, bool) or max_terms < 3:
        raise SpecError(f"figure: max_terms must be an integer of at least 3, got {max_terms!r}")
    reading = LayerReading(
        layer,
        index_base=index_base,
        labels=labels,
        values=values,
        channel=channel,
        heading=heading,
        max_terms=max_terms,
        notation=notation,
    )
    if fit is not None and (
        not isinstance(fit, (tuple, list))
        or len(fit) != 3
        or not all(isinstance(v, (int, float)) and v > 0 for v in fit)
    ):
        raise SpecError(
            f"figure: fit must be (width_cm, height_cm, grow), all positive, got {fit!r}"
        )
    reading.fit = fit
    scenes, numbers = _scenes(kind, reading, position, convention, max_frames, example)
    description = spec.describe()
    n_out = math.prod(spec.output_size)
    if kind in ("windows", "transpose-conv") and position is None and len(scenes) < n_out:
        description += f"; {len(scenes)} of {n_out} output positions (the first and the last)"
    n_in = math.prod(spec.input_size)
    if kind == "transpose" and position is None and len(scenes) < n_in:
        description += f"; {len(scenes)} of {n_in} input stamps (the first and the last)"
    total, what = len(scenes), "frames"
    if position is None and kind in ("windows", "transpose-conv"):
        total, what = n_out, "output positions"
    elif position is None and kind == "transpose":
        total, what = n_in, "input entries"
    return Figure(kind, scenes, description, numbers=numbers, total=total, what=what)


def _scenes(kind, reading, position, convention, max_frames, example) -> tuple:
    """The scenes of a figure kind and each one's 1-based number among all the frames the
    kind has (the elided windows keep their positions' numbers)."""
    scenes = _kind_scenes(kind, reading, position, convention, max_frames, example)
    if isinstance(scenes, tuple):
        scenes, shown = scenes
        return scenes, [k + 1 for k in shown]
    return scenes, None


def _kind_scenes(kind, reading, position, convention, max_frames, example):
    spec, base = reading.spec, reading.base
    op = spec.op
    n_out = math.prod(spec.output_size)
    if kind == "windows":
        shown = [o for o in elide(n_out, max_frames) if o is not None]
        return [forward.window_scene(reading, o) for o in shown], shown
    if kind == "window":
        o = 0 if position is None else _flat_position(op, spec.output_size, position, base)
        return [forward.window_scene(reading, o)]
    if kind == "transpose":
        if position is None:
            n_in = math.prod(spec.input_size)
            shown = [i for i in elide(n_in, max_frames) if i is not None]
        else:
            shown = [_flat_position(op, spec.input_size, position, base, "input")]
        scenes = transposed.stamp_scenes(reading, shown, example=example)
        return (scenes, shown) if position is None else scenes
    if kind == "transpose-conv":
        if position is None:
            shown = [o for o in elide(n_out, max_frames) if o is not None]
        else:
            shown = [_flat_position(op, spec.output_size, position, base)]
        scenes = transposed.direct_scenes(reading, shown, example=example)
        return (scenes, shown) if position is None else scenes
    if kind == "grad-input":
        i = 0 if position is None else _flat_position(op, spec.input_size, position, base, "input")
        return [backward.grad_input_scene(reading, i)]
    if kind == "grad-weight":
        shape = spec.kernel_size
        t = 0 if position is None else _flat_position(op, shape, position, base, "kernel")
        return [backward.grad_weight_scene(reading, t)]
    if kind == "pool":
        return [backward.pool_scene(reading, example)]
    if convention not in ("row", "column"):
        raise SpecError(f"{op}: convention must be 'row' or 'column', got {convention!r}")
    return [overview.toeplitz_scene(reading, convention, reading.fit)]
