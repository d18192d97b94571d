"""A contact sheet: the frames of an animation tiled into one scene, each tile numbered, for the
formats that hold one image (PNG, SVG, PDF, a notebook's display). Each tile is its frame's
scene moved to its place, so that every printer draws it unchanged.

Many frames are elided like the deck elides window positions: the first ones and the last, and
a caption line says which frames the sheet holds.
"""

from __future__ import annotations

import dataclasses
import math

from ..core.preview import elide
from .scene import CHAR_WIDTH, LINE_HEIGHT, Arrow, Block, Outline, Scene, Text, text_width

__all__ = ["contact_sheet", "MAX_TILES", "tile_origins"]

#: Most frames a contact sheet tiles (beyond: the first ones and the last).
MAX_TILES = 16
#: Gap between tiles, and the room above a tile for its number, in cell units.
GAP = 1.0
NUMBER_ROOM = LINE_HEIGHT * 1.4


def _columns(n: int, width: float, height: float) -> int:
    """Tiles per row: the sheet roughly 3:2 (landscape), at most 4 wide."""
    best, best_score = 1, None
    for cols in range(1, min(n, 4) + 1):
        rows = math.ceil(n / cols)
        aspect = (cols * (width + GAP)) / (rows * (height + GAP + NUMBER_ROOM))
        score = abs(math.log(aspect / 1.5))
        if best_score is None or score < best_score - 1e-9:
            best, best_score = cols, score
    return best


def _moved(scene: Scene, dx: float, dy: float) -> tuple:
    grids = [dataclasses.replace(g, x=g.x + dx, y=g.y + dy) for g in scene.grids]
    outlines = [Outline(o.x + dx, o.y + dy, o.w, o.h, o.role) for o in scene.outlines]
    arrows = [Arrow(a.x0 + dx, a.y0 + dy, a.x1 + dx, a.y1 + dy, a.label) for a in scene.arrows]
    texts = [dataclasses.replace(t, x=t.x + dx, y=t.y + dy) for t in scene.texts]
    blocks = [Block(b.x + dx, b.y + dy, b.w, b.h, b.role, b.stack) for b in scene.blocks]
    return grids, outlines, arrows, texts, blocks


def tile_origins(scenes) -> list:
    """The top-left corner of each tile (where the frame's own (0, 0) lands)."""
    n = len(scenes)
    width = max(s.width for s in scenes)
    height = max(s.height for s in scenes)
    cols = _columns(n, width, height)
    return [
        (
            (k % cols) * (width + GAP),
            NUMBER_ROOM + (k // cols) * (height + GAP + NUMBER_ROOM),
        )
        for k in range(n)
    ]


def contact_sheet(scenes, numbers=None, *, total=None, what="frames") -> tuple:
    """``(sheet scene, shown)``: the frames tiled left to right, top to bottom, each under its
    number (``numbers[k]``, default ``k + 1``), at most :data:`MAX_TILES` of them (``shown``:
    the indices into ``scenes`` drawn). ``total`` is the number of frames the whole animation
    would have (when the scenes are already elided) and ``what`` names them in the caption."""
    scenes = list(scenes)
    numbers = list(numbers) if numbers is not None else list(range(1, len(scenes) + 1))
    total = len(scenes) if total is None else total
    shown = [k for k in elide(len(scenes), MAX_TILES) if k is not None]
    tiles = [scenes[k] for k in shown]
    origins = tile_origins(tiles)
    grids, outlines, arrows, texts, blocks = [], [], [], [], []
    for k, (scene, (x, y)) in zip(shown, zip(tiles, origins)):
        g, o, a, t, b = _moved(scene, x, y)
        grids += g
        outlines += o
        arrows += a
        texts += t
        blocks += b
        texts.append(
            Text(x + 0.2, y - NUMBER_ROOM / 2, f"{numbers[k]}", anchor="start", bold=True)
        )
    width = max(x for x, _ in origins) + max(s.width for s in tiles)
    bottom = max(y for _, y in origins) + max(s.height for s in tiles)
    if len(shown) < total:
        drawn = [numbers[k] for k in shown]
        note = (
            f"{len(shown)} of the {total} {what}: {drawn[0]} to {drawn[-2]} and the last, "
            f"{drawn[-1]}"
        )
        texts.append(Text(0.4, bottom + LINE_HEIGHT, note, anchor="start"))
        bottom += LINE_HEIGHT * 2
        width = max(width, 0.8 + text_width(note) * CHAR_WIDTH)
    sheet = Scene(
        grids=grids,
        outlines=outlines,
        arrows=arrows,
        texts=texts,
        blocks=blocks,
        width=round(width, 3),
        height=round(bottom, 3),
    )
    return sheet, shown
