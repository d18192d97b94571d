"""Pictures a teacher uses unedited (issue 21): the highlighted cell is outlined on all four
sides, transposed stamps add up to y, animations become contact sheets in single-image
formats, large pictures keep readable labels and every weight of a kernel looks different."""

from __future__ import annotations

import io
import re

import pytest

import symconv
from symconv.figures import figure
from symconv.figures.drawables import drawables

HIGHLIGHTS = ("output_current", "gradient_current", "window", "winner")


@pytest.mark.parametrize(
    "layer, kind, position",
    [
        (symconv.conv((3, 3), 2), "window", (1, 1)),
        (symconv.conv((5, 5), 3, stride=2, padding=1), "window", (2, 2)),
        (symconv.conv((4, 4), 3, stride=2, padding=1), "grad-input", (2, 2)),
        (symconv.conv_transpose((3, 3), 3, stride=2), "window", (3, 3)),
    ],
    ids=["seed000", "5x5s2p1", "grad-input", "transposed"],
)
def test_highlighted_cells_are_drawn_after_every_thinner_cell(layer, kind, position):
    scene = figure(layer, kind, position=position, labels=False).scenes[0]
    cells = [r for r in drawables(scene)["cells"] if r.cell]
    thick = [k for k, r in enumerate(cells) if r.role in HIGHLIGHTS]
    thin = [k for k, r in enumerate(cells) if r.style.width < 1.0]
    assert thick and thin
    assert min(thick) > max(thin)
    # the SVG printer keeps that order: the current cell's rect comes after every plain one
    svg = figure(layer, kind, position=position, labels=False).svg()
    roles = re.findall(r'class="cell role-([a-z_0-9]+)"', svg)
    last_plain = max(k for k, r in enumerate(roles) if r in ("input", "output", "gradient"))
    first_hot = min(k for k, r in enumerate(roles) if r in HIGHLIGHTS)
    assert first_hot > last_plain


def test_current_output_cell_has_a_dark_border_on_all_four_sides():
    PIL = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    fig = figure(symconv.conv((3, 3), 2), "window", position=(1, 1), labels=False)
    scene = fig.scenes[0]
    image = PIL.open(io.BytesIO(fig.png(dpi=200))).convert("RGB")
    grid = scene.grid("y")
    cell = grid.find(role="output_current")[0]
    x0, y0 = grid.x + cell.col, grid.y + cell.row
    sx, sy = image.width / scene.width, image.height / scene.height

    def dark_near(x, y, horizontal):
        px, py = int(x * sx), int(y * sy)
        span = [(px + d, py) if horizontal else (px, py + d) for d in range(-3, 4)]
        return min(sum(image.getpixel(p)) for p in span) < 150

    for t in (0.25, 0.5, 0.75):
        assert dark_near(x0 + t, y0, False), "top"
        assert dark_near(x0 + t, y0 + 1, False), "bottom"
        assert dark_near(x0, y0 + t, True), "left"
        assert dark_near(x0 + 1, y0 + t, True), "right"
