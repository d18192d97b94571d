"""What a picture reads off a layer: the displayed extent of its (padded) input, the cells a
window covers at one output position, the role of every input coordinate, and the names or
worked numbers printed in cells. Everything comes from :attr:`Layer.axis_maps`,
:attr:`Layer.index_map` and :attr:`Layer.pad_mask`; nothing here redoes the arithmetic.
"""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction
from functools import cached_property

import numpy as np

from ..core.errors import SpecError
from ..core.evaluate import object_array
from ..core.spec import dims_text
from ..core.symbols import NOTATIONS, Notation, symbol_array
from ..latex.printer import index_commas, spaced
from .scene import Cell, Grid

__all__ = [
    "LayerReading",
    "array_grids",
    "number_text",
    "math_name",
    "describe",
    "notation_words",
    "PLAIN_WORDS",
]

#: Grids larger than this (per side) carry no cell labels unless asked for.
LABEL_LIMIT = 10

#: The words a picture's titles and captions use for the quantities (``{x}``, ``{dy}`` ... in
#: :meth:`LayerReading.say`) when it stands alone: plain letters, and dE/dy for a gradient.
PLAIN_WORDS = {"x": "x", "w": "w", "y": "y", "dx": "dE/dx", "dy": "dE/dy", "dw": "dE/dw"}

_WORD = re.compile(r"\{(dx|dy|dw|x|w|y)\}")


def notation_words(notation) -> dict:
    """The words of :data:`PLAIN_WORDS` in a notation preset's letters, as the LaTeX document
    of that notation writes them (``$\\partial L/\\partial O$`` for dE/dy in seed 001's); the
    plain words for ``None``."""
    if notation is None:
        return PLAIN_WORDS
    n, loss = notation, notation.loss
    return {
        "x": f"${n.x}$",
        "w": f"${n.w}$",
        "y": f"${n.y}$",
        **{
            f"d{k}": rf"$\partial {loss}/\partial {v}$"
            for k, v in (("x", n.x), ("y", n.y), ("w", n.w))
        },
    }


def math_name(name: str, grad: bool = False, notation=None) -> str:
    """A symbol name as math text: ``x_11 -> x_{11}``, ``dy_21 -> \\delta y_{21}``; with
    ``grad`` the name of its gradient (``\\delta x_{11}`` for dE/dx_11); with a
    :class:`~symconv.core.symbols.Notation`, in its letters (``\\delta O_{21}``)."""
    kind, _, label = name.partition("_")
    if kind == "dy":
        kind, grad = "y", True
    if notation is not None and kind in ("x", "w", "y", "b"):
        kind = getattr(notation, kind)
    text = f"{kind}_{{{label}}}" if label else kind
    return rf"\delta {text}" if grad else text


def number_text(value) -> str:
    """A worked number as math text: ints plainly, fractions as ``p/q``, floats to 3 digits."""
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value}"
    if isinstance(value, float):
        if math.isinf(value):
            return r"-\infty" if value < 0 else r"\infty"
        return f"{value:.3g}"
    return str(value)


def _short(values) -> str:
    return str(values[0]) if len(set(values)) == 1 else dims_text(values)


def describe(spec) -> str:
    """One heading line: ``conv2d: input 3x3, kernel 2x2, stride 2, padding 1``."""
    parts = [f"input {dims_text(spec.input_size)}", f"kernel {dims_text(spec.kernel_size)}"]
    if any(s != 1 for s in spec.stride):
        parts.append(f"stride {_short(spec.stride)}")
    if any(lo or hi for lo, hi in spec.padding):
        if all(lo == hi for lo, hi in spec.padding):
            parts.append(f"padding {_short(tuple(lo for lo, _ in spec.padding))}")
        else:
            pads = "x".join(f"{lo}:{hi}" for lo, hi in spec.padding)
            parts.append(f"padding {pads} (low:high)")
    if any(d != 1 for d in spec.dilation):
        parts.append(f"dilation {_short(spec.dilation)}")
    if any(spec.output_padding):
        parts.append(f"output padding {_short(spec.output_padding)}")
    if spec.in_channels > 1 or spec.out_channels > 1:
        if spec.is_pool:
            parts.append(f"{spec.in_channels} channels")
        else:
            parts.append(f"channels {spec.in_channels} to {spec.out_channels}")
    if spec.groups > 1 and spec.has_weight:
        parts.append(f"groups {spec.groups}")
    if spec.ceil_mode:
        parts.append("ceil mode")
    if spec.flip:
        parts.append("flipped kernel (true convolution)")
    return f"{spec.op}: " + ", ".join(parts)


class LayerReading:
    """A layer as a picture sees it.

    ``first[a]`` and ``count[a]`` give the input coordinates drawn along axis ``a``: the padded
    extent, widened to any window that reaches past it (ceil_mode), or the bare input of a
    transposed convolution. ``channel`` is the ``(c_out, c_in)`` pair whose names are printed
    (default the first pair); ``values`` maps ``x``, ``w``, ``b``, ``dy`` to worked numbers;
    ``heading`` False leaves the bold heading line out (a document's caption or frame title
    says it). ``notation`` (a :class:`~symconv.core.symbols.Notation`, for a picture placed in
    a LaTeX document of that notation) gives the letters of the cell labels and the grid
    titles; ``None`` keeps the plain x, w, y and dE/dy. Cell labels name symbols as the LaTeX
    printer does (:func:`symconv.latex.printer.index_commas`: indices apart, ``w_{1,1,1,2}``,
    as soon as a symbol carries a channel index or an index has two digits).
    """

    def __init__(
        self,
        layer,
        *,
        index_base=1,
        labels="auto",
        values=None,
        channel=None,
        heading=True,
        max_terms=25,
        notation=None,
    ):
        self.layer = layer
        if notation is not None and not isinstance(notation, Notation):
            if notation not in NOTATIONS:
                raise SpecError(
                    f"figure: notation must be one of {sorted(NOTATIONS)} or None, "
                    f"got {notation!r}"
                )
            notation = NOTATIONS[notation]
        #: The letters of cell labels and titles (None: the plain x, w, y, dE/dy).
        self.notation = notation
        #: ``{x}``, ``{dy}`` ... of :meth:`say` in this notation.
        self.words = notation_words(notation)
        #: Longest sum a caption writes out before eliding its middle.
        self.max_terms = max_terms
        #: The box a document fits the picture into, ``(width_cm, height_cm, grow)``, or None.
        self.fit = None
        self.heading = heading
        self.spec = spec = layer.spec
        self.base = index_base
        self.labels = labels
        pairs = list(layer.channel_pairs())
        if channel is None:
            self.pair = pairs[0]
        else:
            match = [p for p in pairs if (p[0], p[1]) == tuple(channel)]
            if not match:
                raise SpecError(
                    f"{spec.op}: channel must be an (output, input) channel pair the layer "
                    f"connects (0-based), got {channel!r}"
                )
            self.pair = match[0]
        self.channel_given = channel is not None
        self.values = self._check_values(values)
        self.first, self.count = [], []
        for a, amap in enumerate(layer.axis_maps):
            n = spec.input_size[a]
            if spec.kind == "conv_transpose":
                first, last = 0, n - 1
            else:
                lo, hi = spec.padding[a]
                first = min(-lo, int(amap.source.min()))
                last = max(n + hi - 1, int(amap.source.max()))
            self.first.append(first)
            self.count.append(last - first + 1)

    def titled(self, heading: str) -> str:
        """The scene heading, or ``""`` when the reading draws none."""
        return heading if self.heading else ""

    def say(self, text: str) -> str:
        """A title or caption with ``{x}``, ``{w}``, ``{y}``, ``{dx}``, ``{dy}``, ``{dw}``
        replaced by the words of the reading's notation (plain: ``x``, ``dE/dy`` ...)."""
        return _WORD.sub(lambda m: self.words[m[1]], text)

    def letter(self, key: str) -> str:
        """The bare math letter of ``x``, ``w`` or ``y`` in the reading's notation (for a formula
        a caption writes between dollars)."""
        return getattr(self.notation, key) if self.notation is not None else key

    # ------------------------------------------------------------------ values
    def _check_values(self, values):
        if values is None:
            return None
        spec = self.spec
        if not isinstance(values, dict):
            raise SpecError(
                f"{spec.op}: values must be a dict with keys x, w, b, dy, got {values!r}"
            )
        shapes = {"x": spec.x_shape, "w": spec.w_shape, "b": spec.b_shape, "dy": spec.y_shape}
        out = {}
        for key, value in values.items():
            if shapes.get(key) is None:
                raise SpecError(
                    f"{spec.op}: values keys must be among "
                    f"{[k for k, s in shapes.items() if s is not None]}, got {key!r}"
                )
            if value is not None:
                out[key] = object_array(value, shapes[key], key, spec.op)
        if "x" not in out or (spec.has_weight and "w" not in out):
            need = "x and w" if spec.has_weight else "x"
            raise SpecError(f"{spec.op}: values must give {need}, got keys {sorted(out)}")
        return out

    @cached_property
    def evaluated(self):
        """:meth:`Derivation.evaluate` at the worked numbers (None without values)."""
        if self.values is None:
            return None
        from ..core.derive import derive

        return derive(self.layer, index_base=self.base).evaluate(**self.values)

    # ------------------------------------------------------------------ names
    def show_labels(self, *shape) -> bool:
        if self.labels == "auto":
            return max(shape) <= LABEL_LIMIT
        return bool(self.labels)

    @cached_property
    def _names(self) -> dict:
        spec = self.spec
        return {
            "x": symbol_array("x", spec.x_shape, index_base=self.base, keep_leading=1),
            "y": symbol_array("y", spec.y_shape, index_base=self.base, keep_leading=1),
            "w": (
                symbol_array("w", spec.w_shape, index_base=self.base, keep_leading=2)
                if spec.has_weight
                else None
            ),
        }

    @cached_property
    def commas(self) -> bool:
        """Whether names print their indices apart: the LaTeX printer's rule for this layer
        (:func:`symconv.latex.printer.index_commas`), so that a picture and the equations
        next to it name every symbol alike."""
        from ..core.derive import derive

        return index_commas(derive(self.layer, index_base=self.base))

    def symbol_text(self, symbol, grad: bool = False) -> str:
        """Math text of one of the layer's symbols, as :meth:`name` writes it."""
        return math_name(spaced(symbol, self.commas).name, grad, self.notation)

    def name(self, kind: str, coord, grad: bool = False, pair=None) -> str:
        """Math name of one entry of x, y (channel of the current pair, or of ``pair``) or w
        (flat tap)."""
        co, ci, w_index = self.pair if pair is None else pair
        if kind == "w":
            w = self._names["w"][w_index].reshape(-1)
            return self.symbol_text(w[coord], grad)
        channel = ci if kind == "x" else co
        return self.symbol_text(self._names[kind][(channel,) + tuple(coord)], grad)

    def partners(self, side: str) -> list:
        """The channel pairs whose products add into one sum with the current pair's:
        ``'out'``, those of its output channel (a window's sum runs over the input channels
        of its group); ``'in'``, those of its input channel (dE/dx's sum runs over the output
        channels). A pool's channels never mix: the pair alone."""
        k = 0 if side == "out" else 1
        return [p for p in self.layer.channel_pairs() if p[k] == self.pair[k]]

    def bias_value(self):
        """The worked bias of the current pair's output channel, or None."""
        if self.values is None or self.values.get("b") is None:
            return None
        return self.values["b"][self.pair[0]]

    def value(self, kind: str, coord, pair=None):
        """Worked number of x, y, dy, grad_x (channel of the current pair, or of ``pair``) or
        w (flat tap), or None."""
        if self.values is None:
            return None
        co, ci, w_index = self.pair if pair is None else pair
        if kind == "w":
            return self.values["w"][w_index].reshape(-1)[coord]
        source = self.evaluated if kind in ("y", "grad_x") else self.values
        if source.get(kind) is None:
            return None
        channel = ci if kind in ("x", "grad_x") else co
        return source[kind][(channel,) + tuple(coord)]

    # ------------------------------------------------------------------ input cells
    def input_role(self, coord) -> str:
        """``input``, ``padding`` (inside the padded extent) or ``outside`` (ceil_mode)."""
        spec = self.spec
        if all(0 <= c < n for c, n in zip(coord, spec.input_size)):
            return "input"
        if all(-lo <= c < n + hi for c, n, (lo, hi) in zip(coord, spec.input_size, spec.padding)):
            return "padding"
        return "outside"

    def taps(self, o_flat: int) -> list:
        """``[(tap, coord, index, reads_padding)]`` of the window at output ``o_flat``: the
        input coordinate each kernel tap reads (None for a transposed convolution's taps that
        read nothing), the index map entry and the pad mask entry."""
        spec, layer = self.spec, self.layer
        o = np.unravel_index(o_flat, spec.output_size)
        out = []
        for t_flat, t in enumerate(itertools.product(*(range(k) for k in spec.kernel_size))):
            index = int(layer.index_map[o_flat, t_flat])
            if spec.kind == "conv_transpose" and index < 0:
                coord = None
            else:
                coord = tuple(
                    int(amap.source[o[a], t[a]]) for a, amap in enumerate(layer.axis_maps)
                )
            out.append((t_flat, coord, index, bool(layer.pad_mask[o_flat, t_flat])))
        return out

    def input_label(self, coord) -> str:
        role = self.input_role(coord)
        if role == "outside":
            return ""
        if role == "padding":
            return r"-\infty" if self.spec.kind == "max_pool" else "0"
        value = self.value("x", coord)
        return self.name("x", coord) if value is None else number_text(value)

    def input_grids(self, highlight: dict, title: str, planes=None) -> list:
        """The drawn input (one grid per depth plane for 3-D): every cell's role is its
        :meth:`input_role`, or ``highlight[coord]`` when given."""
        labelled = self.show_labels(*self.count)
        stack = 1 if self.channel_given else self.spec.in_channels

        def cell_info(coord):
            role = highlight.get(coord) or self.input_role(coord)
            label = self.input_label(coord) if labelled else ""
            inside = self.input_role(coord) == "input"
            index = int(np.ravel_multi_index(coord, self.spec.input_size)) if inside else -1
            return role, label, index

        return array_grids("x", title, self.first, self.count, cell_info, planes, stack)


def array_grids(name, title, first, count, cell_info, planes=None, stack=1, base=1) -> list:
    """Grids showing an N-d array (coordinates ``first[a] .. first[a] + count[a] - 1``):
    one grid for 1-D (one row) and 2-D, one grid per depth plane in ``planes`` for 3-D.
    ``cell_info(coord)`` returns ``(role, label, index)``."""
    ndim = len(count)
    if ndim == 3:
        depths = list(planes) if planes is not None else list(range(first[0], first[0] + count[0]))
    else:
        depths = [None]
    grids = []
    rows, cols = (1, count[0]) if ndim == 1 else (count[-2], count[-1])
    for d in depths:
        cells = []
        for r, c in itertools.product(range(rows), range(cols)):
            if ndim == 1:
                coord = (first[0] + c,)
            else:
                coord = (first[-2] + r, first[-1] + c)
                if d is not None:
                    coord = (d,) + coord
            role, label, index = cell_info(coord)
            cells.append(Cell(r, c, role, label, coord, index))
        plane_title = title if d is None else f"{title}, depth {d + base}"
        grid_name = name if d is None else f"{name}[{d}]"
        grids.append(Grid(grid_name, rows, cols, cells, plane_title, stack=min(stack, 4)))
    return grids
