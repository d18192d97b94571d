"""The scene model: what a picture shows, independent of how it is printed.

A :class:`Scene` is made of grids of square cells (each with a role from
:mod:`symconv.figures.palette`, an optional label and the coordinate it stands for), outlines
(window footprints, the previous position), arrows, texts and blocks (feature maps of a
network diagram). Lengths are in cell units, x to the right and y downwards (the reading order
of the slides). Labels and texts are LaTeX-like math text (``x_{11}``, ``\\delta y_{21}``,
``$y_{11} = \\dots$``) that every printer knows how to typeset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Cell",
    "Grid",
    "Outline",
    "Arrow",
    "Text",
    "Block",
    "Scene",
    "place_row",
    "compose",
    "text_width",
    "CHAR_WIDTH",
]

#: Width of one character of text at size 1, in cell units (printers size fonts to match).
CHAR_WIDTH = 0.24
#: Height of a text line at size 1, in cell units.
LINE_HEIGHT = 0.62
#: Font size of cell labels relative to text size 1.
LABEL_SIZE = 0.9
#: Offset (right, up) between the sheets of a channel stack, in cell units.
SHEET_STEP = 0.25


@dataclass(frozen=True)
class Cell:
    """One square of a grid: ``role`` decides its look; ``coord`` is the position it stands for
    in the array the grid shows (unpadded coordinates for an input, so padding has coordinates
    outside the array) and ``index`` the flat row-major index there (-1 when none)."""

    row: int
    col: int
    role: str
    label: str = ""
    coord: tuple = ()
    index: int = -1


@dataclass
class Grid:
    """A rectangle of cells drawn at ``(x, y)`` (top-left corner, set by :func:`place_row`).
    ``stack`` > 1 draws that many channels as offset sheets behind it; ``row_labels`` and
    ``col_labels`` name the rows and columns (the Toeplitz matrix)."""

    name: str
    rows: int
    cols: int
    cells: list
    title: str = ""
    stack: int = 1
    row_labels: tuple = ()
    col_labels: tuple = ()
    x: float = 0.0
    y: float = 0.0
    cell_width: float = 1.0

    @property
    def width(self) -> float:
        """Width of the cells (``cell_width`` each; cells are one unit high)."""
        return self.cols * self.cell_width

    @property
    def label_scale(self) -> float:
        """Font scale of the cell labels so that the longest one fits in a cell."""
        longest = max((text_width(c.label) for c in self.cells if c.label), default=0.0)
        if not longest:
            return 1.0
        return min(1.0, 0.86 * self.cell_width / (longest * CHAR_WIDTH * LABEL_SIZE))

    def centre(self, cell: Cell) -> tuple:
        return (self.x + (cell.col + 0.5) * self.cell_width, self.y + cell.row + 0.5)

    def box(self, row0, col0, row1, col1) -> tuple:
        """(x, y, w, h) of the cells ``row0..row1``, ``col0..col1`` (inclusive)."""
        u = self.cell_width
        return (self.x + col0 * u, self.y + row0, (col1 - col0 + 1) * u, row1 - row0 + 1)

    def find(self, **attrs) -> list:
        """The cells whose attributes equal ``attrs`` (e.g. ``role='window'``)."""
        return [c for c in self.cells if all(getattr(c, k) == v for k, v in attrs.items())]

    @property
    def margin_left(self) -> float:
        return max((text_width(t) * CHAR_WIDTH * 0.8 for t in self.row_labels), default=0.0)

    @property
    def sheets(self) -> float:
        """How far the sheets of a channel stack reach right of and above the grid."""
        return SHEET_STEP * (self.stack - 1)

    @property
    def margin_top(self) -> float:
        top = max((text_width(t) * CHAR_WIDTH * 0.8 for t in self.col_labels), default=0.0)
        return top + (LINE_HEIGHT * 1.2 if self.title else 0.0) + self.sheets


@dataclass(frozen=True)
class Outline:
    """A rectangle drawn over cells without fill: a window footprint or the previous position."""

    x: float
    y: float
    w: float
    h: float
    role: str


@dataclass(frozen=True)
class Arrow:
    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""


@dataclass(frozen=True)
class Text:
    """Text at ``(x, y)``; ``anchor`` is ``start``, ``middle`` or ``end`` (horizontal), the
    point is the vertical middle of the line. ``size`` 1 is caption text; ``rotate`` turns it
    90 degrees to read upwards from ``(x, y)`` (column labels)."""

    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: float = 1.0
    bold: bool = False
    rotate: bool = False


@dataclass(frozen=True)
class Block:
    """A filled rectangle (a feature map or a dense layer) with ``stack`` sheets behind it."""

    x: float
    y: float
    w: float
    h: float
    role: str
    stack: int = 1


@dataclass
class Scene:
    """Everything one picture (or one frame of an animation) shows."""

    grids: list
    outlines: list = field(default_factory=list)
    arrows: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def grid(self, name: str) -> Grid:
        for g in self.grids:
            if g.name == name:
                return g
        raise KeyError(name)

    @property
    def cells(self) -> list:
        return [c for g in self.grids for c in g.cells]


# ---------------------------------------------------------------------- text metrics
_COMMAND = re.compile(r"\\([A-Za-z]+)\s*")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}|[_^](.)")


def text_width(text: str) -> float:
    """Rough width of math text in characters (sub/superscripts count 0.7, a command 1)."""
    plain = text.replace("$", "")
    plain = re.sub(r"\\(?:mathrm|text|mathit)\{([^{}]*)\}", r"\1", plain)
    small = 0.0
    for m in _SCRIPT.finditer(plain):
        small += 0.7 * len(_COMMAND.sub("c", m.group(1) or m.group(2)))
    plain = _SCRIPT.sub("", plain)
    plain = _COMMAND.sub("c", plain).replace("{", "").replace("}", "")
    plain = plain.replace("\\,", " ").replace("\\;", " ")
    return len(plain) + small


# ---------------------------------------------------------------------- layout
def place_row(grids, *, x: float = 0.0, y: float = 0.0, gap: float = 1.6) -> float:
    """Place grids left to right, their centres on one horizontal line, a title wider than its
    grid given room on both sides; return the right edge."""
    tallest = max(g.rows for g in grids)
    for g in grids:
        width = g.width + g.sheets
        extra = max(0.0, text_width(g.title) * CHAR_WIDTH - width) / 2 if g.title else 0.0
        x += g.margin_left + extra
        g.x, g.y = x, y + (tallest - g.rows) / 2
        x += width + extra + gap
    return x - gap


def compose(
    grids,
    *,
    heading: str = "",
    captions=(),
    outlines=(),
    arrows=(),
    texts=(),
    blocks=(),
    margin: float = 0.4,
    text_size: float = 1.0,
) -> Scene:
    """A scene of placed grids: a title above each grid, the heading on top, caption lines
    below (at ``text_size``), everything shifted so that the picture starts at
    ``(margin, margin)``."""
    texts = list(texts)
    for g in grids:
        if g.title:
            lift = LINE_HEIGHT * 0.7 + g.sheets
            lift += max((text_width(t) * CHAR_WIDTH * 0.8 for t in g.col_labels), default=0)
            texts.append(Text(g.x + (g.width + g.sheets) / 2, g.y - lift, g.title))
        for r, label in enumerate(g.row_labels):
            texts.append(Text(g.x - 0.15, g.y + r + 0.5, label, anchor="end", size=0.8))
        for c, label in enumerate(g.col_labels):
            texts.append(Text(g.x + c + 0.5, g.y - 0.15, label, "start", 0.8, rotate=True))
    items = _extents(grids, texts, outlines, arrows, blocks)
    left, top, right, bottom = items
    line = LINE_HEIGHT * text_size
    if heading:
        texts.append(Text(left, top - line * 0.9, heading, "start", text_size, bold=True))
        top -= line * 1.6
    y = bottom + line * 0.9
    for caption in captions:
        texts.append(Text(left, y, caption, "start", text_size))
        y += line * 1.25
    left, top, right, bottom = _extents(grids, texts, outlines, arrows, blocks)
    dx, dy = margin - left, margin - top
    for g in grids:
        g.x += dx
        g.y += dy
    return Scene(
        grids=list(grids),
        outlines=[Outline(o.x + dx, o.y + dy, o.w, o.h, o.role) for o in outlines],
        arrows=[Arrow(a.x0 + dx, a.y0 + dy, a.x1 + dx, a.y1 + dy, a.label) for a in arrows],
        texts=[
            Text(t.x + dx, t.y + dy, t.text, t.anchor, t.size, t.bold, t.rotate) for t in texts
        ],
        blocks=[Block(b.x + dx, b.y + dy, b.w, b.h, b.role, b.stack) for b in blocks],
        width=round(right - left + 2 * margin, 3),
        height=round(bottom - top + 2 * margin, 3),
    )


def _text_box(t: Text) -> tuple:
    """(left, top, right, bottom) of a text."""
    w = text_width(t.text) * CHAR_WIDTH * t.size
    h = LINE_HEIGHT * t.size
    if t.rotate:
        return (t.x - h / 2, t.y - w, t.x + h / 2, t.y)
    x0 = {"start": t.x, "middle": t.x - w / 2, "end": t.x - w}[t.anchor]
    return (x0, t.y - h / 2, x0 + w, t.y + h / 2)


def _extents(grids, texts, outlines, arrows, blocks) -> tuple:
    boxes = [(g.x, g.y - g.sheets, g.x + g.width + g.sheets, g.y + g.rows) for g in grids]
    boxes += [_text_box(t) for t in texts]
    boxes += [(o.x, o.y, o.x + o.w, o.y + o.h) for o in outlines]
    boxes += [(min(a.x0, a.x1), min(a.y0, a.y1), max(a.x0, a.x1), max(a.y0, a.y1)) for a in arrows]
    boxes += [
        (b.x, b.y - 0.3 * (b.stack > 1), b.x + b.w + 0.3 * (b.stack > 1), b.y + b.h)
        for b in blocks
    ]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
