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


# ---------------------------------------------------------------------- item 3: transposed
TRANSPOSED = {
    "3x3-k3-s2": lambda: symconv.conv_transpose((3, 3), 3, stride=2),
    "2x3-k2-s2-p1-op1": lambda: symconv.conv_transpose(
        (2, 3), 2, stride=2, padding=((1, 1), (0, 0)), output_padding=1
    ),
    "1d-dil2": lambda: symconv.conv_transpose(4, 2, stride=3, dilation=2),
    "bias-2to1": lambda: symconv.conv_transpose(
        (2, 2), 3, in_channels=1, out_channels=2, bias=True
    ),
    "rect-s1x2-p": lambda: symconv.conv_transpose((2, 3), (2, 3), stride=(1, 2), padding=(0, 1)),
}


def _values(spec, seed=3):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {
        "x": rng.integers(-4, 5, spec.x_shape).astype(object),
        "w": rng.integers(-3, 4, spec.w_shape).astype(object),
    }
    if spec.bias:
        out["b"] = rng.integers(-2, 3, spec.b_shape).astype(object)
    return out


def _number(text):
    from fractions import Fraction

    return Fraction(text.replace("\u2212", "-"))


@pytest.mark.parametrize("name", sorted(TRANSPOSED))
def test_transposed_stamps_add_up_to_y_on_the_last_frame(name):
    import numpy as np
    from symconv.core import reference

    layer = TRANSPOSED[name]()
    spec = layer.spec
    values = _values(spec)
    fig = figure(layer, "transpose", values=values, labels=True)
    y = reference.forward(spec, values["x"], values["w"], values.get("b"))
    assert len(fig) == int(np.prod(spec.input_size))
    last = fig.scenes[-1].grid("y")
    got = {c.coord: _number(c.label) for c in last.cells}
    assert got == {c: y[(0,) + c] for c in got}
    # every frame's running sum is the reference y of the inputs stamped so far
    for k, scene in enumerate(fig.scenes[:-1]):
        partial = dict(values)
        x = np.array(values["x"], dtype=object).reshape(-1).copy()
        x[k + 1 :] = 0
        partial["x"] = x.reshape(spec.x_shape)
        y_k = reference.forward(spec, partial["x"], values["w"], values.get("b"))
        cells = scene.grid("y").cells
        assert {c.coord: _number(c.label) for c in cells} == {
            c.coord: y_k[(0,) + c.coord] for c in cells
        }


def test_stamp_products_carry_their_operator():
    layer = symconv.conv_transpose((2, 2), 2)
    values = {"x": [[2, -3], [1, 4]], "w": [[-1, 5], [0, 2]]}
    scene = figure(layer, "transpose", values=values, position=(1, 1)).scenes[0]
    labels = [c.label for g in scene.grids if g.name == "w" for c in g.cells]
    assert r"(-1) \cdot 2" in labels and r"5 \cdot 2" in labels
    assert not any(re.fullmatch(r"-?\d+-?\d+", label) for label in labels)


@pytest.mark.parametrize("name", sorted(TRANSPOSED))
def test_direct_convolution_view_reads_the_index_map_and_gives_y(name):
    import numpy as np
    from symconv.core import reference

    layer = TRANSPOSED[name]()
    spec = layer.spec
    values = _values(spec, seed=5)
    fig = figure(layer, "transpose-conv", values=values, max_frames=1000, labels=True)
    n_out = int(np.prod(spec.output_size))
    assert len(fig) == n_out
    y = reference.forward(spec, values["x"], values["w"], values.get("b"))
    rot = [g for g in fig.scenes[0].grids if g.name == "w"][0]
    for o, scene in enumerate(fig.scenes):
        z = scene.grid("z")
        read = sorted(c.index for c in z.cells if c.role == "window")
        expect = sorted(i for i in layer.index_map[o] if i >= 0)
        assert read == expect
        # the rotated kernel's cell over each window input is the tap the index map pairs
        window = [c for c in z.cells if c.role in ("window", "window_pad")]
        first = (min(c.row for c in window), min(c.col for c in window))
        for c in window:
            if c.role == "window":
                d_r, d_c = ((1,) + tuple(spec.dilation))[-2:]
                at = ((c.row - first[0]) // d_r, (c.col - first[1]) // d_c)
                k = [r for r in rot.cells if (r.row, r.col) == at]
                taps = [
                    t for t in range(layer.index_map.shape[1]) if layer.index_map[o, t] == c.index
                ]
                assert k[0].index in taps
        coord = tuple(int(v) for v in np.unravel_index(o, spec.output_size))
        assert any(t.text.endswith(f"= {y[(0,) + coord]}$") for t in scene.texts)
