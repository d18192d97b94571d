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


# ---------------------------------------------------------------------- item 6: contact sheets
def _tiles(fig):
    """The sheet's grids per tile, moved back to the tile's origin."""
    from symconv.figures.sheet import contact_sheet, tile_origins

    sheet, shown = contact_sheet(fig.scenes, fig.numbers, total=fig.total, what=fig.what)
    origins = tile_origins([fig.scenes[k] for k in shown])
    per_tile = []
    start = 0
    for k, (x, y) in zip(shown, origins):
        n = len(fig.scenes[k].grids)
        grids = sheet.grids[start : start + n]
        start += n
        per_tile.append([(g.name, g.x - x, g.y - y, g.cells) for g in grids])
    assert start == len(sheet.grids)
    return sheet, shown, per_tile


@pytest.mark.parametrize(
    "layer, positions",
    [
        (symconv.conv((3, 3), 2), [(1, 1), (1, 2), (2, 1), (2, 2)]),
        (
            symconv.conv((5, 5), 3, stride=2, padding=1),
            [(i, j) for i in (1, 2, 3) for j in (1, 2, 3)],
        ),
        (symconv.max_pool((4, 4), 2, stride=2), [(1, 1), (1, 2), (2, 1), (2, 2)]),
    ],
    ids=["seed000", "5x5s2p1", "maxpool"],
)
def test_contact_sheet_holds_every_frame(layer, positions):
    fig = figure(layer, "windows")
    sheet, shown, tiles = _tiles(fig)
    assert len(tiles) == len(positions)
    for tile, position in zip(tiles, positions):
        single = figure(layer, "window", position=position).scenes[0]
        expect = [(g.name, g.x, g.y, g.cells) for g in single.grids]
        assert [(n, round(x, 6), round(y, 6), c) for n, x, y, c in tile] == [
            (n, round(x, 6), round(y, 6), c) for n, x, y, c in expect
        ]
    numbers = [t.text for t in sheet.texts if t.bold and t.text.isdigit()]
    assert numbers == [str(k) for k in range(1, len(positions) + 1)]


def test_many_frames_are_elided_in_the_sheet_and_the_caption_says_so():
    layer = symconv.conv((10, 10), 3)  # 64 positions
    fig = figure(layer, "windows")
    sheet, shown, tiles = _tiles(fig)
    from symconv.figures.sheet import MAX_TILES

    assert len(tiles) == MAX_TILES - 1  # the first ones, (the dots), the last
    numbers = [t.text for t in sheet.texts if t.bold and t.text.isdigit()]
    assert numbers == [str(k) for k in range(1, MAX_TILES - 1)] + ["64"]
    assert any(
        "15 of the 64 output positions: 1 to 14 and the last, 64" in t.text for t in sheet.texts
    )
    last = figure(layer, "window", position=(8, 8)).scenes[0]
    assert [g.cells for g in last.grids] == [c for _, _, _, c in tiles[-1]]


def test_png_svg_pdf_and_jupyter_show_the_contact_sheet(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    from symconv.figures.palette import hex_rgb, style

    layer = symconv.conv((3, 3), 2)
    fig = figure(layer, "windows", labels=False)
    sheet = fig.sheet()
    png = PIL.open(fig.save(tmp_path / "w.png")).convert("RGB")
    # every tile's current output cell shows in the PNG in the current-output colour
    current = hex_rgb(style("output_current").fill)
    hot = [
        (g, c) for g in sheet.grids if g.name == "y" for c in g.cells if c.role == "output_current"
    ]
    assert len(hot) == 4
    for g, c in hot:
        x, y = g.centre(c)
        px = png.getpixel((int(x / sheet.width * png.width), int(y / sheet.height * png.height)))
        assert all(abs(a - b) <= 6 for a, b in zip(px, current))
    svg = (fig.save(tmp_path / "w.svg")).read_text()
    n_cells = sum(len(g.cells) for s in fig.scenes for g in s.grids)
    assert svg.count('class="cell ') == n_cells
    assert fig._repr_svg_() == svg
    pdf = fig.save(tmp_path / "w.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf)) == 1  # one page: the sheet


def test_gif_frame_duration_and_cli(tmp_path, capsys):
    PIL = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    from symconv.cli import main

    out = tmp_path / "t.gif"
    args = ["draw", "conv-transpose", "--input-size", "2x2", "--kernel-size", "2x2"]
    args += ["--stride", "2", "--figure", "transpose"]
    assert main(args + ["--frame-duration", "250", "-o", str(out)]) == 0
    image = PIL.open(out)
    assert image.n_frames == 4
    durations = []
    for k in range(image.n_frames):
        image.seek(k)
        durations.append(image.info["duration"])
    assert durations == [250] * 4
    assert main(args + ["-o", str(tmp_path / "d.gif")]) == 0
    assert PIL.open(tmp_path / "d.gif").info["duration"] == 900
    assert main(args + ["-o", str(tmp_path / "t.png")]) == 0
    assert "a contact sheet of 4 frames" in capsys.readouterr().out
    assert main(args + ["--frame-duration", "5", "-o", str(tmp_path / "e.gif")]) == 2
    assert "frame duration must be" in capsys.readouterr().err
    assert not (tmp_path / "e.gif").exists()


# ---------------------------------------------------------------------- item 2: --max-terms
def test_a_window_sum_of_nine_terms_is_whole_and_max_terms_elides():
    layer = symconv.conv((5, 5), 3, stride=2, padding=1)
    x = [[(3 * r + c) % 7 - 3 for c in range(5)] for r in range(5)]
    w = [[1, 0, -1], [2, 1, 0], [-2, 1, 1]]
    scene = figure(layer, "window", position=(2, 2), values={"x": x, "w": w}).scenes[0]
    text = " ".join(t.text for t in scene.texts)
    assert r"\cdots" not in text
    assert len(re.findall(r"w_\{\d\d\}\\,x_\{\d\d\}", text)) == 9
    assert len(re.findall(r"\\cdot", text)) == 9
    # the numbers add up to y_22, computed by hand from the window x[1..3][1..3]
    y22 = sum(w[a][b] * x[1 + a][1 + b] for a in range(3) for b in range(3))
    assert text.rstrip("$").endswith(f"= {y22}")
    short = figure(layer, "window", position=(2, 2), max_terms=4).scenes[0]
    assert r"\cdots" in " ".join(t.text for t in short.texts)


def test_cli_draw_takes_max_terms(tmp_path, capsys):
    from symconv.cli import main

    args = ["draw", "conv", "--input-size", "5x5", "--kernel-size", "5x5", "-o"]
    assert main(args + [str(tmp_path / "a.svg")]) == 0
    assert "\u22ef" not in (tmp_path / "a.svg").read_text()  # 25 terms: never elided
    assert main(args + [str(tmp_path / "b.svg"), "--max-terms", "6"]) == 0
    assert "\u22ef" in (tmp_path / "b.svg").read_text()
    assert main(args + [str(tmp_path / "c.svg"), "--max-terms", "1"]) == 2
    assert "max_terms must be an integer of at least 3, got 1" in capsys.readouterr().err


# ---------------------------------------------------------------------- item 4: weights apart
def _look(role):
    from symconv.figures.palette import style

    st = style(role)
    return (st.fill, st.hatch, st.pattern if st.hatch else None)


def test_every_weight_up_to_the_distinct_limit_looks_different():
    from symconv.figures.palette import DISTINCT_TAPS, PATTERNS, TAP_COLOURS

    looks = [_look(f"tap{k}") for k in range(DISTINCT_TAPS)]
    assert len(set(looks)) == DISTINCT_TAPS == len(TAP_COLOURS) * (len(PATTERNS) + 1)


def test_a_2x3x2x2_kernels_weights_all_look_different_in_w():
    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=3, bias=True)
    scene = figure(layer, "toeplitz").scenes[0]
    roles = {c.role for c in scene.grid("W").cells if c.role.startswith("tap")}
    assert len(roles) == 24
    assert len({_look(r) for r in roles}) == 24
    caption = [t.text for t in scene.texts][-1]
    assert "each colour and hatch is one weight" in caption


def test_hatched_weights_print_in_every_format(tmp_path):
    import shutil
    import subprocess

    layer = symconv.conv((3, 3), (1, 3), in_channels=7, out_channels=4)  # 84 weights
    fig = figure(layer, "toeplitz", labels=False)
    svg = fig.svg()
    assert svg.count('<pattern id="hatch-tap') == 84 - 12  # every weight past the 12th
    assert svg.count("<circle") == 12  # the dotted cycle
    tikz = fig.tikz()
    for name in ("north east lines", "north west lines", "crosshatch", "crosshatch dots"):
        assert f"pattern={name}," in tikz
    if shutil.which("pdflatex") is None:
        pytest.skip("no pdflatex")
    (tmp_path / "w.tex").write_text(tikz)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "w.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:]


@pytest.mark.parametrize("kind", ["window", "grad-input"])
def test_stacked_kernel_titles_clear_the_sheets_and_arrows_leave_the_stack(kind):
    from symconv.figures.drawables import SHEET_OFFSET
    from symconv.figures.scene import LINE_HEIGHT

    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=3, bias=True)
    scene = figure(layer, kind, position=(2, 2) if kind == "grad-input" else (1, 1)).scenes[0]
    sheets = drawables(scene)["sheets"]
    for g in scene.grids:
        if g.stack < 2:
            continue
        top = min(r.y for r in sheets if g.x <= r.x <= g.x + g.width)
        title = [t for t in scene.texts if t.text == g.title][0]
        assert title.y + LINE_HEIGHT / 2 <= top + 1e-9, g.title
        assert top == pytest.approx(g.y - SHEET_OFFSET * (g.stack - 1))
    for a in scene.arrows:
        for g in scene.grids:
            right = g.x + g.width + SHEET_OFFSET * (g.stack - 1)
            inside_x = g.x < a.x0 < right
            inside_y = g.y - SHEET_OFFSET * (g.stack - 1) < a.y0 < g.y + g.rows
            assert not (inside_x and inside_y), f"arrow starts inside {g.name}"


# ---------------------------------------------------------------------- item 7: readable W
BOXES = {"beamer 16:9": (14.0, 0.8 * 8.86, 3.0), "article": (17.0, 0.4 * 25.7, 1.0)}


@pytest.mark.parametrize("box", sorted(BOXES))
@pytest.mark.parametrize(
    "layer",
    [
        symconv.conv((3, 3), 2),
        symconv.conv((5, 5), 3, stride=2, padding=1),
        symconv.conv((3, 3), 2, in_channels=2, out_channels=3, bias=True),
        symconv.conv_transpose((3, 3), 3, stride=2),
        symconv.conv((7, 7), 3),
    ],
    ids=["seed000", "25x9", "2to3", "9x49", "49x25"],
)
def test_w_fitted_into_a_document_keeps_every_text_at_6pt(layer, box):
    from symconv.figures.drawables import drawables
    from symconv.figures.tikz import FONT_PT, UNIT_CM

    fit = BOXES[box]
    scene = figure(layer, "toeplitz", fit=fit, heading=False).scenes[0]
    width_cm, height_cm = scene.width * UNIT_CM, scene.height * UNIT_CM
    scale = min(fit[2], fit[0] / width_cm, fit[1] / height_cm)
    d = drawables(scene)
    smallest = min(t.size for t in d["labels"] + d["texts"]) * FONT_PT * scale
    assert smallest >= 6.0 - 1e-6
    # the rows and the columns are still named: each one, or the first of each input/output row
    names = [t.text for t in scene.texts if t.text.startswith("$x_") or t.text.startswith("$y_")]
    assert any(n.startswith("$x_") for n in names) and any(n.startswith("$y_") for n in names)


def test_a_wide_w_names_its_columns_by_row_and_says_so():
    layer = symconv.conv_transpose((3, 3), 3, stride=2)  # W is 9x49
    scene = figure(layer, "toeplitz").scenes[0]
    rows = [t.text for t in scene.texts if t.text.startswith("$x_")]
    cols = [t.text for t in scene.texts if t.text.startswith("$y_") and t.rotate]
    assert len(rows) == 9
    assert cols == [f"$y_{{{r}1}}$" for r in range(1, 8)]
    assert any(t.text == "columns named at the start of each output row" for t in scene.texts)
