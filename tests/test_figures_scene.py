"""The figures' scenes against the index map: every frame of ``windows`` highlights exactly the
index map's row (real inputs) and the pad mask's row (padding), padding cells are exactly the
padded-but-not-input coordinates, one frame per output position; the other kinds read the
same map (grad-weight's column, W's non-zeros against Derivation.toeplitz, pool routing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symconv
from symconv.core.errors import SpecError, SymconvError
from symconv.figures import FIGURE_KINDS, figure

SPECS = {
    "conv1d": lambda: symconv.conv(7, 3),
    "conv1d-s2-p1": lambda: symconv.conv(8, 3, stride=2, padding=1),
    "seed000": lambda: symconv.conv((3, 3), 2),
    "conv-5x5-s2-p1": lambda: symconv.conv((5, 5), 3, stride=2, padding=1),
    "conv-dilation2": lambda: symconv.conv((5, 5), 2, dilation=2),
    "conv-asym-pad": lambda: symconv.conv((4, 4), 3, padding=((0, 1), (1, 0))),
    "conv-same-even": lambda: symconv.conv((5, 5), 2, padding="same"),
    "conv-same-s2": lambda: symconv.conv((5, 6), 3, stride=(2, 1), padding="same"),
    "conv-groups": lambda: symconv.conv((4, 4), 3, in_channels=4, out_channels=4, groups=2),
    "conv-2to3-bias": lambda: symconv.conv((3, 3), 2, in_channels=2, out_channels=3, bias=True),
    "conv-flip": lambda: symconv.conv((4, 4), 2, flip=True),
    "conv3d": lambda: symconv.conv((3, 4, 4), 2),
    "conv3d-s2-p1": lambda: symconv.conv((4, 4, 4), 3, stride=2, padding=1),
    "transpose": lambda: symconv.conv_transpose((2, 2), 3, stride=2),
    "transpose-p1-op1": lambda: symconv.conv_transpose(
        (3, 3), 3, stride=2, padding=1, output_padding=1
    ),
    "transpose1d-dil": lambda: symconv.conv_transpose(3, 2, stride=2, dilation=2),
    "max-pool": lambda: symconv.max_pool((4, 4), 2),
    "max-pool-ceil": lambda: symconv.max_pool((5, 5), 3, stride=2, ceil_mode=True),
    "max-pool-ceil-pad": lambda: symconv.max_pool((5, 5), 3, stride=2, padding=1, ceil_mode=True),
    "max-pool-dilation": lambda: symconv.max_pool((6, 6), 2, stride=1, dilation=2),
    "avg-pool-ceil": lambda: symconv.avg_pool((5, 5), 2, ceil_mode=True),
    "avg-pool-nopad-count": lambda: symconv.avg_pool(
        (4, 4), 3, stride=1, padding=1, count_include_pad=False
    ),
    "avg-pool1d-ceil": lambda: symconv.avg_pool(7, 3, stride=2, padding=1, ceil_mode=True),
}


def _expected_role(spec, coord) -> str:
    """The role of an input coordinate from the spec alone (an oracle independent of the
    figures' reading of the axis maps)."""
    if all(0 <= c < n for c, n in zip(coord, spec.input_size)):
        return "input"
    if all(-lo <= c < n + hi for c, n, (lo, hi) in zip(coord, spec.input_size, spec.padding)):
        return "padding"
    return "outside"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_windows_frames_follow_the_index_map(name):
    layer = SPECS[name]()
    spec = layer.spec
    fig = figure(layer, "windows")
    n_out = math.prod(spec.output_size)
    assert len(fig) == n_out
    for o, scene in enumerate(fig.scenes):
        x_cells = [c for g in scene.grids if g.name.split("[")[0] == "x" for c in g.cells]
        window = [c for c in x_cells if c.role == "window"]
        pads = [c for c in x_cells if c.role == "window_pad"]
        row = layer.index_map[o]
        flat = [int(np.ravel_multi_index(c.coord, spec.input_size)) for c in window]
        assert sorted(flat) == sorted(row[row >= 0].tolist()), (name, o)
        assert len(pads) == int(layer.pad_mask[o].sum()), (name, o)
        for c in pads:
            assert _expected_role(spec, c.coord) == "padding"
        for c in x_cells:
            if c.role not in ("window", "window_pad"):
                assert c.role == _expected_role(spec, c.coord), (name, o, c)
        current = [
            c
            for g in scene.grids
            if g.name.split("[")[0] == "y"
            for c in g.cells
            if c.role == "output_current"
        ]
        assert [c.index for c in current] == [o]


@pytest.mark.parametrize("name", ["seed000", "conv-5x5-s2-p1", "conv-dilation2", "transpose"])
def test_grad_weight_highlights_the_index_map_column(name):
    layer = SPECS[name]()
    spec = layer.spec
    for t in range(math.prod(spec.kernel_size)):
        position = tuple(int(v) + 1 for v in np.unravel_index(t, spec.kernel_size))
        scene = figure(layer, "grad-weight", position=position).scenes[0]
        read = [c for c in scene.grid("x").cells if c.role == "window"]
        col = layer.index_map[:, t]
        flat = [int(np.ravel_multi_index(c.coord, spec.input_size)) for c in read]
        assert sorted(flat) == sorted(col[col >= 0].tolist())


@pytest.mark.parametrize("name", ["seed000", "conv-5x5-s2-p1", "conv-dilation2", "conv-2to3-bias"])
def test_grad_input_collects_the_index_map_pairs(name):
    layer = SPECS[name]()
    spec = layer.spec
    n_in = math.prod(spec.input_size)
    for i in range(n_in):
        position = tuple(int(v) + 1 for v in np.unravel_index(i, spec.input_size))
        scene = figure(layer, "grad-input", position=position).scenes[0]
        hot = [
            c.index
            for g in scene.grids
            if g.name.startswith("dy")
            for c in g.cells
            if c.role == "gradient_current"
        ]
        outs = np.nonzero(layer.index_map == i)[0]
        assert sorted(hot) == sorted(outs.tolist())


@pytest.mark.parametrize(
    "name", ["seed000", "conv-5x5-s2-p1", "transpose", "conv-2to3-bias", "avg-pool-ceil"]
)
@pytest.mark.parametrize("convention", ["row", "column"])
def test_toeplitz_nonzeros_equal_the_derivation(name, convention):
    layer = SPECS[name]()
    W = symconv.derive(layer).toeplitz(convention)
    scene = figure(layer, "toeplitz", convention=convention).scenes[0]
    grid = scene.grid("W")
    assert (grid.rows, grid.cols) == W.shape
    drawn = {(c.row, c.col) for c in grid.cells if c.role != "zero"}
    assert drawn == {(r, c) for (r, c) in W.todok()}


def test_seed000_toeplitz_labels_the_weights():
    scene = figure(symconv.conv((3, 3), 2), "toeplitz").scenes[0]
    W = symconv.derive(symconv.conv((3, 3), 2)).toeplitz("row")
    for c in scene.grid("W").cells:
        if c.role != "zero":
            assert c.label == symconv.core.symbols.latex_name(W[c.row, c.col])


def test_max_pool_routes_to_the_winners():
    layer = symconv.max_pool((4, 4), 2)
    x = [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 3, 3], [1, 0, 4, 2]]
    scene = figure(layer, "pool", values={"x": x, "dy": [[1, 2], [3, 4]]}).scenes[0]
    winners = {c.coord for c in scene.grid("x").cells if c.role == "winner"}
    assert winners == {(0, 3), (1, 1), (2, 0), (3, 2)}
    routed = {c.coord: c.label for c in scene.grid("dx").cells if c.label != "0"}
    assert routed == {(0, 3): "2", (1, 1): "1", (2, 0): "3", (3, 2): "4"}


@pytest.mark.parametrize("kind", ["avg_pool", "max_pool"])
def test_overlapping_pool_windows_outline_one_window_not_every_cell(kind):
    layer = getattr(symconv, kind)((5, 5), 3, stride=2, padding=1)  # windows overlap
    scene = figure(layer, "pool").scenes[0]
    footprints = [o for o in scene.outlines if o.role == "footprint"]
    assert len(footprints) == 3  # the middle output's window in x and dE/dx, its dE/dy entry
    row = layer.index_map[4]  # the middle of the 3x3 output
    window = {tuple(int(v) for v in np.unravel_index(i, (5, 5))) for i in row[row >= 0]}
    box = footprints[0]
    inside = set()
    for c in scene.grid("x").cells:
        cx, cy = scene.grid("x").centre(c)
        if box.x < cx < box.x + box.w and box.y < cy < box.y + box.h:
            inside.add(c.coord)
    assert inside == window
    assert "outlined: the window of $y_{22}$" in " ".join(t.text for t in scene.texts)
    plain = figure(getattr(symconv, kind)((4, 4), 2, stride=2), "pool").scenes[0]
    assert len([o for o in plain.outlines if o.role == "footprint"]) == 4  # every window


def test_overlapping_max_pool_adds_and_ties_follow_the_policy():
    layer = symconv.max_pool((3, 3), 2, stride=1)
    x = [[1, 1, 1], [1, 9, 1], [1, 1, 1]]
    scene = figure(layer, "pool", values={"x": x, "dy": [[1, 2], [3, 4]]}).scenes[0]
    routed = {c.coord: c.label for c in scene.grid("dx").cells if c.label != "0"}
    assert routed == {(1, 1): "10"}  # 1 + 2 + 3 + 4: every window's maximum
    x = [[5, 5, 1], [1, 1, 1], [1, 1, 1]]
    for ties, expect in (
        ("first", {(0, 0): "1", (0, 1): "2"}),
        ("split", {(0, 0): "1/2", (0, 1): "5/2"}),
    ):
        layer = symconv.max_pool((3, 3), 2, stride=1, ties=ties)
        scene = figure(layer, "pool", values={"x": x, "dy": [[1, 2], [3, 4]]}).scenes[0]
        routed = {c.coord: c.label for c in scene.grid("dx").cells if c.label != "0"}
        assert {k: routed[k] for k in expect} == expect


def test_window_with_values_shows_the_sum():
    layer = symconv.conv((3, 3), 2)
    values = {"x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "w": [[1, 0], [-1, 2]]}
    scene = figure(layer, "window", position=(1, 2), values=values).scenes[0]
    texts = [t.text for t in scene.texts]
    assert "$y_{12} = 1 \\cdot 2 + 0 \\cdot 3 + (-1) \\cdot 5 + 2 \\cdot 6 = 9$" in texts


def test_transpose_stamp_follows_the_index_map():
    layer = SPECS["transpose-p1-op1"]()
    fig = figure(layer, "transpose")
    assert len(fig) == math.prod(layer.spec.input_size)
    for i, scene in enumerate(fig.scenes):
        stamp = sorted(c.index for c in scene.grid("y").cells if c.role == "window")
        assert stamp == sorted(np.nonzero((layer.index_map == i).any(axis=1))[0].tolist())


def test_network_has_one_block_per_feature_map():
    net = symconv.example("lenet5")
    scene = figure(net, "network").scenes[0]
    labels = [t.text for t in scene.texts]
    for shape in ("1@32x32", "6@28x28", "6@14x14", "16@10x10", "16@5x5", "120", "84", "10"):
        assert shape in labels


def test_channel_pair_labels():
    layer = SPECS["conv-2to3-bias"]()
    scene = figure(layer, "window", channel=(2, 1)).scenes[0]
    labels = {c.label for c in scene.grid("w").cells}
    assert "w_{3,2,1,1}" in labels  # indices apart, as the LaTeX printer writes them
    assert scene.grid("x").stack == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: figure(symconv.conv((3, 3), 2), "sketch"), "kind must be one of"),
        (
            lambda: figure(symconv.conv((3, 3), 2), "window", position=(3, 1)),
            "position must be inside the output 2x2 (1-based), got (3, 1)",
        ),
        (
            lambda: figure(symconv.conv((3, 3), 2), "window", position=(1,)),
            "position must be 2 integers",
        ),
        (lambda: figure(symconv.max_pool((4, 4), 2), "toeplitz"), "max pooling is not linear"),
        (lambda: figure(symconv.conv((3, 3), 2), "pool"), "does not apply to a conv layer"),
        (lambda: figure(symconv.conv((3, 3), 2), "network"), "needs a network"),
        (lambda: figure(symconv.conv((3, 3), 2), "window", channel=(1, 0)), "channel pair"),
        (
            lambda: figure(symconv.conv((3, 3), 2), "window", values={"x": [1, 2]}),
            "x must have shape",
        ),
        (
            lambda: figure(symconv.conv((10, 10), 2), "windows", max_frames=2),
            "max_frames must be an integer of at least 3, got 2",
        ),
        (lambda: figure(symconv.conv((3, 3), 2), "window").save("a.jpeg"), "suffix"),
    ],
)
def test_errors_are_clear(call, message):
    with pytest.raises(SymconvError) as err:
        call()
    assert message in str(err.value)


def test_windows_of_a_large_output_keep_the_first_positions_and_the_last():
    layer = symconv.conv((10, 10), 2)  # 9x9 = 81 output positions
    fig = figure(layer, "windows", max_frames=8)
    assert len(fig) == 7  # six, the dots, the last
    assert "7 of 81 output positions" in fig.description
    singles = [figure(layer, "window", position=(1, k)) for k in range(1, 7)]
    last = figure(layer, "window", position=(9, 9))
    for scene, single in zip(fig.scenes, singles + [last]):
        assert scene == single.scenes[0]
    assert len(figure(layer, "windows")) == 63


def test_overlay_frames_share_one_bounding_box():
    fig = figure(symconv.conv((4, 5), 2, stride=(1, 2)), "windows", heading=False)
    tikz = fig.tikz(standalone=False, overlays=True)
    width = max(s.width for s in fig.scenes)
    height = max(s.height for s in fig.scenes)
    box = f"\\useasboundingbox (0,0) rectangle ({width:g},{height:g});"
    assert tikz.count(box) == 3 and len(fig) == 6  # the two shared boxes and the picture
    assert [f"\\only<{k}>{{%" in tikz for k in range(1, 7)] == [True] * 6
    assert "bfseries" not in tikz  # no heading line
    assert "bfseries" in figure(symconv.conv((4, 5), 2), "window").tikz(standalone=False)


def test_errors_are_spec_errors():
    with pytest.raises(SpecError):
        figure(symconv.conv((3, 3), 2), "window", position=(0, 0))
    assert set(FIGURE_KINDS) >= {"window", "windows", "toeplitz", "pool", "network"}
