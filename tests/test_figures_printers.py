"""The figures' printers: PNG pixels at cell centres carry the role colours, TikZ compiles
standalone without overfull boxes, SVG is XML with one element per scene cell, a GIF has one
frame per output position, every format is byte-identical across runs, a missing matplotlib
names the extra to install, and ``symconv draw`` writes files and reports errors."""

from __future__ import annotations

import builtins
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import symconv
from symconv.core.errors import SymconvError
from symconv.figures import figure
from symconv.figures.figure import Figure
from symconv.figures.palette import hex_rgb, style

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

LAYER = symconv.conv((4, 4), 3, stride=2, padding=1)


def _pixels(fig, frame=0):
    image = PIL.open(io.BytesIO(fig.png(frame))).convert("RGB")
    return image, fig.scenes[frame]


def _colour_at(image, scene, grid, cell, hatched):
    """The colour at a cell's centre; for hatched cells the most common colour around it."""
    x, y = grid.centre(cell)
    px = int(x / scene.width * image.width)
    py = int(y / scene.height * image.height)
    if not hatched:
        return image.getpixel((px, py))
    around = Counter(
        image.getpixel((px + dx, py + dy)) for dx in range(-4, 5) for dy in range(-4, 5)
    )
    return around.most_common(1)[0][0]


def _close(a, b, tol=6):
    return all(abs(u - v) <= tol for u, v in zip(a, b))


@pytest.mark.parametrize("position", [(1, 1), (2, 1), (2, 2)])
def test_png_cell_centres_have_the_role_colours(position):
    fig = figure(LAYER, "window", position=position, labels=False)
    image, scene = _pixels(fig)
    seen = Counter()
    for grid in scene.grids:
        for cell in grid.cells:
            st = style(cell.role)
            got = _colour_at(image, scene, grid, cell, bool(st.hatch))
            assert _close(got, hex_rgb(st.fill)), (grid.name, cell, got, st.fill)
            seen[cell.role] += 1
    assert {"window", "padding", "input", "output", "output_current", "kernel"} <= set(seen)


def test_png_of_a_wrong_picture_would_fail():
    """The pixel check tells a window cell from a plain input cell."""
    fig = figure(LAYER, "window", position=(1, 1), labels=False)
    image, scene = _pixels(fig)
    grid = scene.grid("x")
    plain = [c for c in grid.cells if c.role == "input"][0]
    got = _colour_at(image, scene, grid, plain, False)
    assert not _close(got, hex_rgb(style("window").fill))


def test_svg_is_xml_with_one_rect_per_cell():
    for kind, kwargs in [("window", {}), ("grad-input", {"position": (2, 2)}), ("toeplitz", {})]:
        fig = figure(LAYER, kind, **kwargs)
        root = ET.fromstring(fig.svg())
        ns = "{http://www.w3.org/2000/svg}"
        rects = [r for r in root.iter(f"{ns}rect") if r.get("class", "").startswith("cell ")]
        assert len(rects) == len(fig.scenes[0].cells)
        assert fig._repr_svg_() == fig.svg()


@pytest.mark.parametrize("suffix", [".tex", ".svg", ".png", ".gif", ".pdf"])
def test_output_is_byte_identical_across_runs(tmp_path, suffix):
    """(and a GIF has one frame per output position)"""
    layer = symconv.max_pool((4, 4), 2)
    a = figure(layer, "windows").save(tmp_path / f"a{suffix}", dpi=30).read_bytes()
    b = figure(layer, "windows").save(tmp_path / f"b{suffix}", dpi=30).read_bytes()
    assert a == b and len(a) > 100
    if suffix == ".gif":
        with PIL.open(tmp_path / "a.gif") as gif:
            assert gif.n_frames == 4


def test_missing_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(SymconvError, match=r'pip install "symconv\[figures\]"'):
        figure(LAYER, "window").png()


def test_embedded_tikz_has_no_preamble():
    fig = figure(LAYER, "windows")
    body = fig.tikz(standalone=False)
    assert "\\documentclass" not in body and body.count("\\begin{tikzpicture}") == 4
    assert "\\usetikzlibrary{patterns,arrows.meta}" in fig.tikz_preamble()


_SQUARE = re.compile(r"\(([-\d.]+),([-\d.]+)\) rectangle \+\+\(([\d.]+),([\d.]+)\)")
_DRAWING = ("\\fill", "\\draw", "\\node")


def _in_order(tikz: str):
    """The drawing lines of a picture in order, each with the overlay it belongs to (None:
    every slide, including the shared lines typeset once into boxes on the first slide)."""
    overlay = None
    for line in tikz.splitlines():
        if line.startswith("\\only<1>{\\global\\setbox"):
            overlay = None  # the shared boxes
        elif line.startswith("\\only<"):
            overlay = int(line[len("\\only<") : line.index(">")])
        elif line == "}%":
            overlay = None
        elif line.startswith(_DRAWING) and "\\copy\\symconv" not in line:
            yield line, overlay


def _seen(lines) -> list:
    """What a viewer sees of lines drawn in order: a filled square painted again shows only
    its last look (outlines, arrows and labels are kept as they are)."""
    seen = {}
    for line in lines:
        square = _SQUARE.search(line)
        filled = line.startswith(("\\filldraw", "\\fill"))
        seen[(square.groups(), "fill") if square and filled else line] = line
    return sorted(seen.values())


@pytest.mark.parametrize(
    "layer",
    [LAYER, symconv.conv((5, 5), 3, stride=2, padding=1), symconv.max_pool((4, 4), 2)],
    ids=repr,
)
def test_overlays_draw_on_each_slide_exactly_that_frame(layer):
    fig = figure(layer, "windows")
    drawn = list(_in_order(fig.tikz(standalone=False, overlays=True)))
    assert {k for _, k in drawn} == {None, *range(1, len(fig) + 1)}
    shared = [line for line, k in drawn if k is None]
    assert len(shared) > len(drawn) / 2  # most of the picture is drawn once for all slides
    for k, scene in enumerate(fig.scenes, start=1):
        slide = _seen(line for line, owner in drawn if owner in (None, k))
        alone = Figure("window", [scene]).tikz(standalone=False)
        assert slide == _seen(line for line, _ in _in_order(alone))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_tikz_compiles_standalone_without_overfull_boxes(tmp_path):
    values = {"x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "w": [[1, 0], [-1, 2]]}
    sources = {
        "windows": figure(symconv.conv((3, 3), 2), "windows", values=values).tikz(),
        "pool": figure(symconv.max_pool((4, 4), 2), "pool").tikz(),
        "toeplitz": figure(symconv.conv((3, 3), 2), "toeplitz").tikz(),
    }
    for name, source in sources.items():
        (tmp_path / f"{name}.tex").write_text(source)
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert run.returncode == 0, log[-2000:]
        assert "Overfull" not in log and "Underfull" not in log
    assert "Output written on windows.pdf (4 pages" in (tmp_path / "windows.log").read_text()


def _draw(argv):
    from symconv.cli import main

    return main(["draw"] + argv)


def test_cli_draw_writes_every_format(tmp_path, capsys):
    for suffix in (".svg", ".tex"):
        out = tmp_path / f"pool{suffix}"
        argv = [
            "max-pool",
            "--input-size",
            "4x4",
            "--kernel-size",
            "2x2",
            "--figure",
            "pool",
            "--x",
            "[[1,3,2,4],[5,6,1,2],[7,2,3,3],[1,0,4,2]]",
            "--dy",
            "[[1,2],[3,4]]",
            "-o",
            str(out),
        ]
        assert _draw(argv) == 0
        assert out.stat().st_size > 100
    assert "wrote" in capsys.readouterr().out
    out = tmp_path / "net.svg"
    assert _draw(["--figure", "network", "-o", str(out)]) == 0


def test_cli_draw_errors_exit_2(tmp_path, capsys):
    import symconv.cli as cli

    status = cli.main(["draw", "max-pool", "--figure", "toeplitz", "-o", str(tmp_path / "a.svg")])
    assert status == 2
    assert capsys.readouterr().err.startswith("error: max_pool2d: figure kind 'toeplitz'")
    status = cli.main(["draw", "--position", "3,3", "-o", str(tmp_path / "a.svg")])
    assert status == 2
    assert "position must be inside the output 2x2" in capsys.readouterr().err
