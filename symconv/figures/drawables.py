"""A scene flattened into what every printer draws, in drawing order: the sheets behind
stacked grids and blocks, filled cells (fill, optional hatch, border), outlines, arrows and
texts, each with its palette style resolved. Printers only translate these into their format.
"""

from __future__ import annotations

from dataclasses import dataclass

from .palette import Style, style
from .scene import LABEL_SIZE, SHEET_STEP, Scene

__all__ = ["Rect", "Label", "drawables", "SHEET_OFFSET"]

#: Offset (right, up) between the sheets of a stack, in cell units.
SHEET_OFFSET = SHEET_STEP


@dataclass(frozen=True)
class Rect:
    """A rectangle to draw: ``style.fill`` (``none`` for outlines), hatch, border."""

    x: float
    y: float
    w: float
    h: float
    style: Style
    role: str
    cell: bool = False


@dataclass(frozen=True)
class Label:
    """Text at ``(x, y)``; ``size`` relative to caption text; ``math`` wraps it in math mode."""

    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: float = 1.0
    colour: str = "#000000"
    math: bool = False
    bold: bool = False
    rotate: bool = False


def _sheets(x, y, w, h, stack, role) -> list:
    out = []
    for k in range(stack - 1, 0, -1):
        off = SHEET_OFFSET * k
        out.append(Rect(x + off, y - off, w, h, style(role), role))
    return out


def drawables(scene: Scene) -> dict:
    """``{"sheets", "cells", "outlines", "arrows", "labels", "texts"}`` of a scene: lists of
    :class:`Rect`, arrows as ``(x0, y0, x1, y1)`` and :class:`Label` (cell labels and the
    scene's texts)."""
    sheets, cells, labels = [], [], []
    for b in scene.blocks:
        sheets += _sheets(b.x, b.y, b.w, b.h, b.stack, b.role)
        cells.append(Rect(b.x, b.y, b.w, b.h, style(b.role), b.role))
    for g in scene.grids:
        if g.stack > 1:
            role = g.cells[0].role if g.cells else "input"
            base = {"window": "input", "window_pad": "input", "output_current": "output"}
            sheets += _sheets(g.x, g.y, g.width, g.rows, g.stack, base.get(role, role))
        scale = g.label_scale
        for c in g.cells:
            st = style(c.role)
            u = g.cell_width
            x, y = g.x + c.col * u, g.y + c.row
            cells.append(Rect(x, y, u, 1, st, c.role, cell=True))
            if c.label:
                labels.append(
                    Label(
                        x + 0.5 * u,
                        y + 0.5,
                        c.label,
                        size=LABEL_SIZE * scale,
                        colour=st.text,
                        math=True,
                    )
                )
    # a thicker border (the current window, output or gradient cell) is drawn after the thinner
    # ones around it, so that no neighbour's border paints over one of its four sides
    cells.sort(key=lambda r: r.style.width if r.cell else 0.0)
    outlines = [Rect(o.x, o.y, o.w, o.h, style(o.role), o.role) for o in scene.outlines]
    arrows = [(a.x0, a.y0, a.x1, a.y1) for a in scene.arrows]
    texts = [
        Label(t.x, t.y, t.text, t.anchor, t.size, bold=t.bold, rotate=t.rotate)
        for t in scene.texts
    ]
    return {
        "sheets": sheets,
        "cells": cells,
        "outlines": outlines,
        "arrows": arrows,
        "labels": labels,
        "texts": texts,
    }
