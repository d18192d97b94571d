"""The explorer page in a real browser (Playwright driving Debian's chromium): hover every
output cell and compare the lit input cells with the window computed here by independent loops;
hover dE/dx and dE/dw entries and compare the lit cells and the formula's terms with the terms
of sympy.diff(sum(dE/dy * y), x or w); keyboard navigation; the step control; sweeps; no console
errors; the page's size and load time. A screenshot per layer goes to $SYMCONV_SCREENSHOTS or
a folder under pytest's tmp_path (printed).

Skips when playwright or chromium is absent, except when CI=true (then it fails).
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import sympy

import symconv

from test_explore import expected_window

CHROMIUM = os.environ.get("SYMCONV_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("SYMCONV_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("explore-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"explorer screenshots in {path}")
    return path


class Page:
    """A page opened from file://, with its console errors collected."""

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors = []
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        start = time.perf_counter()
        self.page.goto(path.as_uri())
        self.page.wait_for_selector('[data-grid="y"]')
        self.load_seconds = time.perf_counter() - start

    def lit(self, grid):
        return set(
            self.page.eval_on_selector_all(
                f'.cell.hl[data-grid="{grid}"]', "els => els.map(e => e.dataset.index)"
            )
        )

    def terms(self):
        out = self.page.eval_on_selector_all(
            "#formula .term", "els => els.map(e => e.dataset.factors)"
        )
        return sorted(tuple(sorted(t.split())) for t in out)

    def cells(self, grid):
        return self.page.locator(f'#main .cell[data-grid="{grid}"]')

    def close(self):
        self.page.close()


def key(channel, coord):
    return ",".join(str(v) for v in (channel,) + tuple(coord))


def oracle(layer):
    """Forward expressions and sympy.diff of sum(dE/dy * y): the gradients' terms."""
    d = symconv.derive(layer)
    total = sum(
        (a * b for a, b in zip(np.array(d.dy).reshape(-1), np.array(d.y).reshape(-1))),
        sympy.Integer(0),
    )
    return d, total


def term_names(expr):
    expr = sympy.expand(expr)
    return sorted(tuple(sorted(s.name for s in t.free_symbols)) for t in sympy.Add.make_args(expr))


GRID = {
    "conv-seed000": (lambda: symconv.conv((3, 3), 2), None),
    "conv-stride2-pad1": (lambda: symconv.conv((5, 5), 3, stride=2, padding=1), None),
    "conv-same": (lambda: symconv.conv((5, 5), 3, padding="same"), None),
    "conv-same-even-stride2": (lambda: symconv.conv((6, 5), 2, stride=2, padding="same"), None),
    "conv-dilation2": (lambda: symconv.conv((7, 7), 3, dilation=2, padding=1), None),
    "conv-groups-bias": (
        lambda: symconv.conv((4, 4), 2, in_channels=4, out_channels=2, groups=2, bias=True),
        None,
    ),
    "conv-flip": (lambda: symconv.conv((4, 4), 2, flip=True), None),
    "transpose-stride2": (lambda: symconv.conv_transpose((3, 3), 3, stride=2), None),
    "transpose-pad-outpad": (
        lambda: symconv.conv_transpose((3, 3), 2, stride=2, padding=1, output_padding=1),
        None,
    ),
    "maxpool-values": (
        lambda: symconv.max_pool((4, 4), 2),
        {"x": [[3, 3, 1, 0], [1, 2, 5, 5], [0, 4, 2, 2], [4, 1, 2, 2]]},
    ),
    "maxpool-ceil-pad": (lambda: symconv.max_pool((5, 5), 2, padding=1, ceil_mode=True), None),
    "avgpool-exclude-pad": (
        lambda: symconv.avg_pool((4, 4), 3, stride=1, padding=1, count_include_pad=False),
        None,
    ),
    "conv1d-dilation": (lambda: symconv.conv(7, 3, dilation=2, padding=1), None),
    "conv3d": (lambda: symconv.conv((3, 3, 3), 2, padding=(0, 1, 0)), None),
    "conv-values": (
        lambda: symconv.conv((4, 4), 3, padding=1, bias=True),
        {
            "x": [[1, 2, 0, -1], [3, 1, 1, 0], [0, -2, 1, 2], [1, 1, 0, 3]],
            "w": [[1, 0, -1], [2, 1, 0], [0, 1, 1]],
            "b": [2],
            "dy": [[1, 0, 2, -1], [0, 1, 1, 0], [2, 0, 0, 1], [1, 1, -1, 0]],
        },
    ),
}


@pytest.fixture(scope="module")
def pages(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore-pages")
    out = {}
    for name, (make, values) in GRID.items():
        out[name] = symconv.explore(make(), values=values).save(folder / f"{name}.html")
    return out


@pytest.mark.parametrize("name", list(GRID))
def test_hover_every_output_lights_its_window(browser, pages, shots, name):
    layer = GRID[name][0]()
    spec = layer.spec
    page = Page(browser, pages[name])
    try:
        co, ci = 0, 0
        ys = page.cells("y")
        n_out = math.prod(spec.output_size)
        assert ys.count() == n_out
        for o_flat, o in enumerate(np.ndindex(*spec.output_size)):
            ys.nth(o_flat).hover()
            want = {key(ci, c) for c in expected_window(spec, o) if c is not None}
            assert page.lit("x") == want, (name, o)
            if spec.kind == "max_pool" and GRID[name][1] is None:
                assert page.lit("y") == {key(co, o)}
        # the formula of the last output against the derivation's entry
        d = symconv.derive(layer)
        entry = d.y[(co,) + tuple(np.unravel_index(n_out - 1, spec.output_size))]
        if spec.kind == "max_pool":
            want_terms = sorted((s.name,) for s in entry.args)
        else:
            want_terms = term_names(entry)
        assert page.terms() == want_terms
        ys.nth(min(2, n_out - 1)).hover()
        page.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert page.errors == []
    finally:
        page.close()


@pytest.mark.parametrize("name", [n for n in GRID if not n.startswith(("maxpool", "avgpool"))])
def test_gradient_entries_light_their_terms(browser, pages, name):
    layer = GRID[name][0]()
    spec = layer.spec
    d, total = oracle(layer)
    page = Page(browser, pages[name])
    try:
        pair = next(layer.channel_pairs())
        co, ci, w_index = pair
        dxs = page.cells("dx")
        x_syms = np.array(d.x)
        for i_flat, i in enumerate(np.ndindex(*spec.input_size)):
            dxs.nth(i_flat).hover()
            terms = term_names(sympy.diff(total, x_syms[(ci,) + i]))
            assert page.terms() == terms, (name, i)
            dy_names = {n for t in terms for n in t if n.startswith("dy")}
            lit_dy = {_name(d, "dy", k) for k in page.lit("dy")}
            own = {n for n in dy_names if _channel_of(d, "dy", n) == co}
            assert lit_dy == own, (name, i)
        w_syms = np.array(d.w)
        dws = page.cells("dw")
        for k_flat, k in enumerate(np.ndindex(*spec.kernel_size)):
            dws.nth(k_flat).hover()
            terms = term_names(sympy.diff(total, w_syms[w_index + k]))
            assert page.terms() == terms
            xs = {n for t in terms for n in t if n.startswith("x")}
            lit_x = {_name(d, "x", key) for key in page.lit("x")}
            assert lit_x == xs, (name, k)
        assert page.errors == []
    finally:
        page.close()


def _name(d, kind, index):
    idx = tuple(int(v) for v in index.split(","))
    arr = np.array(d.x if kind == "x" else d.dy)
    return arr[idx].name


def _channel_of(d, kind, name):
    arr = np.array(d.dy).reshape(d.spec.out_channels, -1)
    for c in range(arr.shape[0]):
        if name in {s.name for s in arr[c]}:
            return c
    raise AssertionError(name)


def test_max_pool_routes_to_the_first_maximum(browser, pages):
    page = Page(browser, pages["maxpool-values"])
    x = GRID["maxpool-values"][1]["x"]
    try:
        for o, (r, c) in enumerate(itertools.product(range(2), range(2))):
            window = [(2 * r + a, 2 * c + b) for a in range(2) for b in range(2)]
            first = max(window, key=lambda p: (x[p[0]][p[1]], -window.index(p)))
            page.cells("dy").nth(o).hover()
            assert page.lit("dx") == {key(0, first)}
            page.cells("y").nth(o).hover()
            winners = page.page.eval_on_selector_all(
                '#p-forward .cell.win[data-grid="x"]', "els => els.map(e => e.dataset.index)"
            )
            assert winners == [key(0, first)]
            assert page.page.inner_text("#numbers").endswith(f"= {x[first[0]][first[1]]}")
        # an input that is no window's maximum receives nothing
        page.cells("dx").nth(3).hover()  # x_14 = 0
        assert page.lit("dy") == set()
        assert page.errors == []
    finally:
        page.close()


def test_worked_numbers_in_the_formula(browser, pages):
    layer = GRID["conv-values"][0]()
    values = GRID["conv-values"][1]
    from fractions import Fraction

    obj = lambda a: np.array(a, dtype=object)  # noqa: E731
    from symconv.core import reference

    y = reference.forward(layer.spec, obj([values["x"]]), obj([[values["w"]]]), obj(values["b"]))
    page = Page(browser, pages["conv-values"])
    try:
        for o in range(16):
            page.cells("y").nth(o).hover()
            text = page.page.inner_text("#numbers")
            want = str(Fraction(y.reshape(-1)[o])).replace("-", "\u2212")
            assert text.endswith(f"= {want}"), text
        assert page.errors == []
    finally:
        page.close()


def test_keyboard_moves_the_focused_cell(browser, pages):
    page = Page(browser, pages["conv-stride2-pad1"])
    try:
        first = page.cells("y").nth(0)
        first.focus()
        assert page.page.get_attribute("#formula", "data-entry") == "y_11"
        page.page.keyboard.press("ArrowRight")
        assert page.page.evaluate("document.activeElement.dataset.index") == "0,0,1"
        assert page.page.get_attribute("#formula", "data-entry") == "y_12"
        assert page.lit("x") == {
            key(0, c) for c in expected_window(GRID["conv-stride2-pad1"][0]().spec, (0, 1))
        }
        page.page.keyboard.press("ArrowDown")
        assert page.page.evaluate("document.activeElement.dataset.index") == "0,1,1"
        page.page.keyboard.press("ArrowLeft")
        page.page.keyboard.press("ArrowLeft")  # stays at the edge
        assert page.page.evaluate("document.activeElement.dataset.index") == "0,1,0"
        assert page.page.get_attribute(".cell:focus", "aria-label").startswith("y21")
        assert page.errors == []
    finally:
        page.close()


def test_step_control_walks_the_outputs(browser, pages):
    page = Page(browser, pages["conv-seed000"])
    try:
        page.page.click("#step")
        assert page.page.get_attribute("#formula", "data-entry") == "y_12"
        page.page.click("#step")
        page.page.click("#step")
        page.page.click("#step")  # wraps around after the last output
        assert page.page.get_attribute("#formula", "data-entry") == "y_11"
        page.page.eval_on_selector(
            "#slider", "s => { s.value = '3'; s.dispatchEvent(new Event('input')); }"
        )
        assert page.page.get_attribute("#formula", "data-entry") == "y_22"
        assert page.lit("x") == {"0,1,1", "0,1,2", "0,2,1", "0,2,2"}
        page.page.click("#play")
        page.page.wait_for_function(
            "document.getElementById('formula').dataset.entry === 'y_11'", timeout=3000
        )
        page.page.click("#pause")
        assert page.errors == []
    finally:
        page.close()


def test_channel_selector_and_matrix_links(browser, pages):
    layer = GRID["conv-groups-bias"][0]()
    page = Page(browser, pages["conv-groups-bias"])
    try:
        pairs = list(layer.channel_pairs())
        page.page.select_option("#pair", value="3")  # the fourth pair
        co, ci, _ = pairs[3]
        page.cells("y").nth(0).hover()
        assert page.lit("x") == {key(ci, (r, c)) for r in range(2) for c in range(2)}
        assert {k.split(",")[0] for k in page.lit("y")} == {str(co)}
        # W: the entry of row x[ci, 0, 0] and column y[co, 0, 0] lights both cells
        n_in, n_out = 16, 9
        cell = page.page.locator(f'.cell[data-grid="W"][data-index="{ci * n_in},{co * n_out}"]')
        cell.hover()
        assert page.lit("x") == {key(ci, (0, 0))}
        assert page.lit("y") == {key(co, (0, 0))}
        # and back: an input lights its row of W
        page.cells("x").nth(5).hover()  # x[ci, 1, 1]
        rows = {k.split(",")[0] for k in page.lit("W")}
        assert rows == {str(ci * n_in + 5)}
        page.page.locator('.cell[data-grid="db"]').hover()
        assert page.lit("dy") == {key(co, (r, c)) for r in range(3) for c in range(3)}
        assert page.errors == []
    finally:
        page.close()


def test_sweep_page_switches_precomputed_layers(browser, tmp_path, shots):
    layer = symconv.conv((5, 5), 3)
    path = symconv.explore(layer, sweep={"stride": [1, 2], "padding": [0, 1, "same"]}).save(
        tmp_path / "sweep.html"
    )
    page = Page(browser, path)
    try:
        for s, p in itertools.product(range(2), range(3)):
            page.page.select_option("#sw-stride", value=["1", "2"][s])
            page.page.select_option("#sw-padding", value=["0", "1", "same"][p])
            variant = symconv.conv((5, 5), 3, stride=[1, 2][s], padding=[0, 1, "same"][p])
            spec = variant.spec
            ys = page.cells("y")
            assert ys.count() == math.prod(spec.output_size)
            for o_flat, o in enumerate(np.ndindex(*spec.output_size)):
                ys.nth(o_flat).hover()
                want = {key(0, c) for c in expected_window(spec, o)}
                assert page.lit("x") == want, (s, p, o)
        page.page.screenshot(path=str(shots / "sweep.png"), full_page=True)
        assert page.errors == []
    finally:
        page.close()


def test_largest_page_size_and_load_time(browser, tmp_path, shots):
    layer = symconv.conv((16, 16), 3, in_channels=4, out_channels=4, padding=1, bias=True)
    rng = np.random.default_rng(1)
    values = {
        "x": rng.integers(-5, 6, (4, 16, 16)).tolist(),
        "w": rng.integers(-3, 4, (4, 4, 3, 3)).tolist(),
        "dy": rng.integers(-3, 4, (4, 16, 16)).tolist(),
    }
    path = symconv.explore(layer, values=values).save(tmp_path / "big.html")
    size = path.stat().st_size
    page = Page(browser, path)
    try:
        loaded = page.page.evaluate(
            "performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
        )
        drawn = int(page.page.get_attribute("body", "data-draw-ms"))
        print(
            f"16x16, 4 -> 4 channels: {size / 1024:.0f} kB, script {drawn} ms, "
            f"load event after {loaded:.2f} s "
            f"(drawn and ready after {page.load_seconds:.2f} s, browser start-up included)"
        )
        assert size <= 500_000
        page.cells("y").nth(17).hover()
        assert page.lit("x") == {key(0, c) for c in expected_window(layer.spec, (1, 1))}
        page.page.screenshot(path=str(shots / "largest.png"), full_page=False)
        assert page.errors == []
    finally:
        page.close()


def test_every_cell_is_labelled_for_tests_and_screen_readers(browser, pages):
    page = Page(browser, pages["conv-groups-bias"])
    try:
        bad = page.page.eval_on_selector_all(
            ".cell",
            """els => els.filter(e => !['x','w','y','dy','dx','dw','db','W']
                .includes(e.dataset.grid) || !/^-?\\d+(,-?\\d+)*$/.test(e.dataset.index)
                || !e.getAttribute('aria-label')).length""",
        )
        assert bad == 0
        assert page.page.locator("#formula").count() == 1
    finally:
        page.close()


def test_transposed_input_lights_its_stamp(browser, pages):
    layer = GRID["transpose-stride2"][0]()
    spec = layer.spec
    page = Page(browser, pages["transpose-stride2"])
    try:
        xs = page.cells("x")
        for i_flat, i in enumerate(np.ndindex(*spec.input_size)):
            xs.nth(i_flat).hover()
            stamp = {
                key(0, o) for o in np.ndindex(*spec.output_size) if i in expected_window(spec, o)
            }
            # i*s + t*d - lo for every tap t: the outputs input i reaches
            direct = {
                key(0, tuple(a * 2 + t for a, t in zip(i, tap)))
                for tap in itertools.product(range(3), range(3))
            }
            assert page.lit("y") == stamp == direct
        assert page.errors == []
    finally:
        page.close()


def test_padding_cell_lights_the_outputs_that_read_it(browser, pages):
    spec = GRID["conv-stride2-pad1"][0]().spec
    page = Page(browser, pages["conv-stride2-pad1"])
    try:
        page.page.locator('#p-forward .cell[data-grid="x"][data-index="0,-1,2"]').hover()
        want = {
            key(0, o) for o in np.ndindex(*spec.output_size) if (-1, 2) in expected_window(spec, o)
        }
        assert want and page.lit("y") == want
    finally:
        page.close()


def test_depth_selector_shows_one_output_plane(browser, pages):
    spec = GRID["conv3d"][0]().spec
    page = Page(browser, pages["conv3d"])
    try:
        visible = (
            "sel => [...document.querySelectorAll(sel)].filter(g => "
            "!g.classList.contains('hidden')).map(g => +g.dataset.plane)"
        )
        assert page.page.evaluate(visible, '.plane[data-grid="y"]') == [0, 1]
        page.page.select_option("#depth", value="1")
        assert page.page.evaluate(visible, '.plane[data-grid="y"]') == [1]
        # the x planes output depth 1 reads: depths 1 and 2 (kernel depth 2, no depth padding)
        assert page.page.evaluate(visible, '#p-forward .plane[data-grid="x"]') == [1, 2]
        assert spec.output_size[0] == 2
        assert page.errors == []
    finally:
        page.close()


def test_gradient_entries_light_their_row_and_column_of_w(browser, pages):
    page = Page(browser, pages["conv-seed000"])
    try:
        page.cells("dx").nth(4).hover()  # dE/dx_22 = row 5 of W (1-based) times dE/dy
        assert {k.split(",")[0] for k in page.lit("W")} == {"4"}
        assert len(page.lit("W")) == 4
        page.cells("dy").nth(1).hover()  # dE/dy_12: column 2 of W
        assert {k.split(",")[1] for k in page.lit("W")} == {"1"}
        assert len(page.lit("W")) == 9
    finally:
        page.close()


def test_w_row_and_column_labels_link_to_x_and_y(browser, pages):
    page = Page(browser, pages["conv-seed000"])
    try:
        page.page.locator('.wlab[data-kind="x"][data-flat="4"]').hover()  # row x_22
        assert page.lit("y") == {"0,0,0", "0,0,1", "0,1,0", "0,1,1"}  # every output reads x_22
        assert {k.split(",")[0] for k in page.lit("W")} == {"4"}
        page.page.locator('.wlab[data-kind="y"][data-flat="3"]').hover()  # column y_22
        assert page.lit("x") == {"0,1,1", "0,1,2", "0,2,1", "0,2,2"}
        assert page.page.get_attribute("#formula", "data-entry") == "y_22"
        assert page.errors == []
    finally:
        page.close()


def test_sweep_names_an_invalid_combination(browser, tmp_path):
    layer = symconv.conv((4, 4), 3)
    path = symconv.explore(layer, sweep={"kernel_size": [3, 5]}).save(tmp_path / "bad.html")
    page = Page(browser, path)
    try:
        page.page.select_option("#sw-kernel_size", value="5")
        alert = page.page.inner_text('[role="alert"]')
        assert "not a valid layer" in alert and "kernel" in alert
        assert page.page.locator(".cell").count() == 0
        page.page.select_option("#sw-kernel_size", value="3")
        assert page.cells("y").count() == 4
        assert page.errors == []
    finally:
        page.close()
