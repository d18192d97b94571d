"""The explorer's data and page without a browser: the embedded tables against independent
loops (the window of every output, its inverse, the kernel taps' columns), worked numbers
against the reference loops, the size limit, sweeps, errors, the CLI and determinism.
The browser behaviour is tested in tests/test_explore_browser.py."""

from __future__ import annotations

import itertools
import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest

import symconv
from symconv.cli import main
from symconv.core import reference
from symconv.explore import LIMITS, layer_data

LAYERS = {
    "conv-stride2-pad1": lambda: symconv.conv((5, 5), 3, stride=2, padding=1),
    "conv-same-even": lambda: symconv.conv((5, 5), 2, padding="same"),
    "conv-dilation": lambda: symconv.conv((6, 6), 2, dilation=2, padding=(1, 0)),
    "conv-flip": lambda: symconv.conv((4, 4), 2, flip=True),
    "conv-groups": lambda: symconv.conv((4, 4), 2, in_channels=4, out_channels=2, groups=2),
    "transpose": lambda: symconv.conv_transpose((3, 3), 3, stride=2, padding=1),
    "maxpool-ceil": lambda: symconv.max_pool((5, 5), 2, padding=1, ceil_mode=True),
    "avgpool": lambda: symconv.avg_pool((4, 4), 3, stride=1, padding=1),
    "conv1d": lambda: symconv.conv(7, 3, dilation=2, padding=1),
    "conv3d": lambda: symconv.conv((3, 3, 3), 2, padding=(0, 1, 0)),
}


def expected_window(spec, o):
    """Input coordinates (unpadded) read by output ``o`` (a multi-index), tap by tap in
    row-major tap order: ``pos = o*s - lo + t*d`` for convs and pools; for a transposed
    convolution the input ``i`` with ``i*s + t*d - lo == o`` (None where there is none)."""
    out = []
    for t in itertools.product(*(range(k) for k in spec.kernel_size)):
        if spec.kind == "conv_transpose":
            coord = []
            for oi, ti, s, d, (lo, _), n in zip(
                o, t, spec.stride, spec.dilation, spec.padding, spec.input_size
            ):
                num = oi + lo - ti * d
                coord.append(num // s if num % s == 0 and 0 <= num // s < n else None)
            out.append(None if None in coord else tuple(coord))
        else:
            out.append(
                tuple(
                    oi * s - lo + ti * d
                    for oi, ti, s, d, (lo, _) in zip(
                        o, t, spec.stride, spec.dilation, spec.padding
                    )
                )
            )
    return out


def shown_coords(data):
    first, count = data["shown"]["first"], data["shown"]["count"]
    return [tuple(f + c for f, c in zip(first, k)) for k in np.ndindex(*count)]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_window_table_matches_independent_loops(name):
    layer = LAYERS[name]()
    spec = layer.spec
    data = layer_data(layer)
    coords = shown_coords(data)
    for o_flat, o in enumerate(np.ndindex(*spec.output_size)):
        expected = expected_window(spec, o)
        got = [None if f < 0 else coords[f] for f in data["win"][o_flat]]
        assert got == expected, (name, o)
        inside = [
            c if c is not None and all(0 <= v < n for v, n in zip(c, spec.input_size)) else None
            for c in expected
        ]
        flat = [-1 if c is None else int(np.ravel_multi_index(c, spec.input_size)) for c in inside]
        assert data["map"][o_flat] == flat


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_inverse_and_tap_columns(name):
    layer = LAYERS[name]()
    data = layer_data(layer)
    reads = {}
    for o, row in enumerate(data["map"]):
        for t, i in enumerate(row):
            if i >= 0:
                reads.setdefault(i, []).append([o, t])
    for i, pairs in enumerate(data["inv"]):
        assert pairs == reads.get(i, [])
    n_taps = math.prod(layer.spec.kernel_size)
    flipped = layer.spec.flip
    for k, pairs in enumerate(data["wtaps"]):
        taps = {n_taps - 1 - k if flipped else k}
        assert all(t in taps for _, t in pairs)
        assert len(pairs) == sum(1 for row in data["map"] for t in taps if row[t] >= 0)


def test_roles_of_the_drawn_input():
    layer = symconv.max_pool((5, 5), 2, padding=1, ceil_mode=True)
    data = layer_data(layer)
    for coord, role in zip(shown_coords(data), data["roles"]):
        inside = all(0 <= c < 5 for c in coord)
        padded = all(-1 <= c < 6 for c in coord)
        assert role == ("i" if inside else "p" if padded else "o"), coord


def test_worked_numbers_match_the_reference_loops():
    layer = symconv.conv((4, 4), 3, padding=1, bias=True)
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (1, 4, 4))
    w = rng.integers(-2, 3, (1, 1, 3, 3))
    dy = rng.integers(-2, 3, (1, 4, 4))
    b = [Fraction(1, 2)]
    data = layer_data(layer, {"x": x.tolist(), "w": w.tolist(), "dy": dy.tolist(), "b": b})
    obj = lambda a: np.array(a, dtype=object)  # noqa: E731 - exact mode of reference
    y = reference.forward(layer.spec, obj(x), obj(w), obj(b))
    gx, gw, gb = reference.backward(layer.spec, obj(dy), obj(x), obj(w))

    def text(v):
        v = Fraction(v)
        s = str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
        return s.replace("-", "\u2212")

    assert data["vals"]["y"] == [text(v) for v in y.reshape(-1)]
    assert data["vals"]["dx"] == [text(v) for v in gx.reshape(-1)]
    assert data["vals"]["dw"] == [text(v) for v in gw.reshape(-1)]
    assert data["vals"]["db"] == [text(v) for v in np.asarray(gb).reshape(-1)]


@pytest.mark.parametrize("ties", ["first", "split"])
def test_max_pool_routes_follow_the_tie_rule(ties):
    x = [[3, 3, 1, 0], [1, 2, 5, 5], [0, 4, 2, 2], [4, 1, 2, 2]]
    layer = symconv.max_pool((4, 4), 2, ties=ties)
    data = layer_data(layer, {"x": x})
    for o, (r, c) in enumerate(itertools.product(range(2), range(2))):
        window = [(2 * r + i, 2 * c + j) for i in range(2) for j in range(2)]
        vals = [x[a][b] for a, b in window]
        winners = [t for t, v in enumerate(vals) if v == max(vals)]
        if ties == "first":
            expected = [[winners[0], "1"]]
        else:
            share = Fraction(1, len(winners))
            expected = [[t, str(share)] for t in winners]
        assert data["routes"][0][o] == expected


def test_size_limit_is_named():
    with pytest.raises(symconv.SpecError, match=r"at most 256 input positions.*17x16"):
        symconv.explore(symconv.conv((17, 16), 3))
    with pytest.raises(symconv.SpecError, match=r"at most 4 channels"):
        symconv.explore(symconv.conv((4, 4), 3, in_channels=5))
    assert LIMITS["input"] == 16 * 16 and LIMITS["channels"] == 4


def test_largest_page_is_bounded():
    layer = symconv.conv((16, 16), 3, in_channels=4, out_channels=4, padding=1, bias=True)
    rng = np.random.default_rng(0)
    values = {
        "x": rng.integers(-5, 6, (4, 16, 16)).tolist(),
        "w": rng.integers(-3, 4, (4, 4, 3, 3)).tolist(),
        "dy": rng.integers(-3, 4, (4, 16, 16)).tolist(),
    }
    html = symconv.explore(layer, values=values).html
    assert len(html.encode()) <= 500_000


def test_page_is_self_contained_and_deterministic(tmp_path):
    layer = symconv.conv((4, 4), 3, padding=1)
    a = symconv.explore(layer).save(tmp_path / "a.html").read_bytes()
    b = symconv.explore(layer).save(tmp_path / "b.html").read_bytes()
    assert a == b
    text = a.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    payload = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert json.loads(payload.group(1))["combos"][0]["data"]["op"] == "conv2d"


def test_repr_html_is_an_isolated_iframe():
    out = symconv.explore(symconv.conv((3, 3), 2))._repr_html_()
    assert out.startswith("<iframe srcdoc=") and "&lt;svg" not in out[:50]
    assert "&lt;script" in out and "<script" not in out


def test_explore_is_callable_after_importing_the_package():
    import symconv.explore as package

    assert callable(package)
    assert package(symconv.conv((3, 3), 2)).combos[0]["data"]["op"] == "conv2d"


def test_sweep_embeds_every_combination_and_reports_invalid_ones():
    layer = symconv.conv((4, 4), 3)
    page = symconv.explore(layer, sweep={"stride": [1, 2], "kernel_size": [3, 5]})
    assert [c["key"] for c in page.combos] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    valid = {tuple(c["key"]): c["data"] for c in page.combos}
    assert valid[(1, 0)]["output"] == [1, 1]  # (4 - 3) // 2 + 1
    assert valid[(0, 1)] is None
    assert "kernel" in [c for c in page.combos if c["key"] == [0, 1]][0]["error"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sweep": {"strides": [1]}}, "sweep parameter must be one of"),
        ({"sweep": {"stride": []}}, "must be a non-empty list"),
        ({"sweep": {"stride": [1, 2, 3, 4, 5], "padding": [0, 1, 2, 3]}}, "at most 16"),
        ({"index_base": 2}, "index_base must be 0 or 1"),
        ({"values": {"x": [[1, 2], [3, 4]]}}, "x must have shape"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(symconv.SpecError, match=message):
        symconv.explore(symconv.conv((3, 3), 2), **kwargs)


def test_cli_writes_a_page(tmp_path, capsys):
    out = tmp_path / "layer.html"
    code = main(
        "explore conv --input-size 5x5 --kernel-size 3x3 --sweep stride=1,2 padding=0,same "
        f"-o {out}".split()
    )
    assert code == 0 and out.exists()
    assert "4 layers" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        ("explore conv --input-size 20x20 -o {out}", "at most 256 input positions"),
        ("explore conv --sweep stride -o {out}", "--sweep must be NAME=V1,V2"),
        ("explore conv --sweep bias=maybe -o {out}", "bias values must be true or false"),
        ("explore conv -o {out}.txt", "-o must name an .html file"),
        ("explore max-pool --w [[1]] -o {out}", "values keys must be among"),
    ],
)
def test_cli_errors(tmp_path, capsys, argv, message):
    out = tmp_path / "p.html"
    assert main(argv.format(out=out).split()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_wheel_ships_the_page_template(tmp_path):
    """An installed symconv (the wheel unpacked, run from another folder) writes a page."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    pytest.importorskip("hatchling")
    root = Path(__file__).resolve().parents[1]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path / "dist"), str(root)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("symconv-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        assert "symconv/templates/html/explore.html.jinja" in zf.namelist()
        zf.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from symconv.cli import main; "
            "sys.exit(main(['explore', 'max-pool', '--input-size', '4x4', '-o', 'p.html']))",
            str(site),
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"op":"max_pool2d"' in (elsewhere / "p.html").read_text()


def test_sweep_keeps_values_that_fit_and_says_when_dy_does_not():
    layer = symconv.conv((4, 4), 3, padding=1)
    values = {"x": np.ones((4, 4), int).tolist(), "w": np.ones((3, 3), int).tolist()}
    values["dy"] = np.ones((4, 4), int).tolist()
    page = symconv.explore(layer, values=values, sweep={"stride": [1, 2]})
    first, second = page.combos
    assert first["note"] is None and first["data"]["vals"]["dx"] is not None
    assert "do not fit" in second["note"] and second["data"]["vals"]["dx"] is None
    # a ones image: each output counts the real inputs of its window (2 or 3 per axis)
    assert second["data"]["vals"]["y"] == ["4", "6", "6", "9"]
