"""Entries read off the index map without building the derivation (symconv.core.preview)
against the full structural build, entry by entry, on a grid of layers."""

from __future__ import annotations

import math

import pytest
import sympy

import symconv
from symconv.core import preview

LAYERS = {
    "conv2d_seed000": lambda: symconv.conv((3, 3), 2),
    "conv2d_s2_p1_bias_2to3": lambda: symconv.conv(
        (5, 4), 3, stride=2, padding=1, in_channels=2, out_channels=3, bias=True
    ),
    "conv2d_groups_dilation_flip": lambda: symconv.conv(
        (6, 6), 2, dilation=2, in_channels=4, out_channels=2, groups=2, flip=True
    ),
    "conv1d_same": lambda: symconv.conv(7, 4, padding="same", stride=2),
    "conv3d": lambda: symconv.conv((3, 3, 3), 2, out_channels=2),
    "conv_transpose2d_op": lambda: symconv.conv_transpose(
        (3, 3), 3, stride=2, padding=1, output_padding=1, out_channels=2, bias=True
    ),
    "max_pool_overlap_split": lambda: symconv.max_pool((5, 5), 3, stride=2, ties="split"),
    "max_pool_ceil_pad": lambda: symconv.max_pool((5, 5), 2, padding=1, ceil_mode=True),
    "avg_pool_ceil_no_pad_count": lambda: symconv.avg_pool(
        (5, 5), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False, channels=2
    ),
    "conv_transpose1d_s4_d2_groups": lambda: symconv.conv_transpose(
        4, 3, stride=4, dilation=2, padding=1, in_channels=4, out_channels=2, groups=2
    ),
    "conv_transpose2d_s3_d3_flipless": lambda: symconv.conv_transpose(
        (2, 3), 2, stride=3, dilation=3, out_channels=2
    ),
    "conv1d_s3_d2_pads": lambda: symconv.conv(
        9, 3, stride=3, dilation=2, padding=((3, 1),), in_channels=2, bias=True, flip=True
    ),
    "max_pool_dilated_first": lambda: symconv.max_pool((5, 4), 2, stride=1, dilation=2),
    "avg_pool_dilated_pad": lambda: symconv.avg_pool((5, 5), 2, stride=1, dilation=2, padding=1),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_entry_equals_the_full_build(name):
    layer = LAYERS[name]()
    full = symconv.derive(layer)
    for quantity, attr in preview.QUANTITIES.items():
        shape = getattr(layer.spec, attr)
        if shape is None:
            continue
        built = list(getattr(full, quantity).reshape(math.prod(shape)))
        for flat in range(math.prod(shape)):
            lazy = symconv.derive(layer)  # a fresh, unbuilt derivation for each entry
            got = preview.entry(lazy, quantity, flat)
            assert not lazy.is_built
            assert sympy.simplify(got - built[flat]) == 0, (quantity, flat, got, built[flat])
            assert got == built[flat] or layer.kind in ("max_pool", "avg_pool")


@pytest.mark.parametrize("name", sorted(n for n in LAYERS if "max_pool" not in n))
@pytest.mark.parametrize("convention", ["row", "column"])
def test_toeplitz_corner_is_the_matrix_corner(name, convention):
    layer = LAYERS[name]()
    full = symconv.derive(layer).toeplitz(convention)
    lazy = symconv.derive(layer)
    corner = preview.toeplitz_corner(lazy, convention, 5, 7)
    assert not lazy.is_built
    assert corner == full[: min(5, full.shape[0]), : min(7, full.shape[1])]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_counts_match_the_full_build(name):
    layer = LAYERS[name]()
    lazy = symconv.derive(layer)
    got = preview.counts(lazy)
    full = symconv.derive(layer)
    assert got["y"] == len(list(full.y.reshape(len(full.y))))
    assert got["grad_x"] == math.prod(layer.spec.x_shape)
    if layer.kind == "max_pool":
        assert got["toeplitz_nnz"] is None
    else:
        T = full.toeplitz("column")
        assert got["toeplitz_nnz"] == sum(1 for v in T.values() if v != 0)


def test_large_layer_summary_builds_nothing():
    """A 64x64, 64 -> 64 layer: counts, identities and a few entries without the full build."""
    d = symconv.derive(symconv.conv((64, 64), 3, in_channels=64, out_channels=64))
    c = preview.counts(d)
    assert c["y"] == 64 * 62 * 62 and c["toeplitz_nnz"] == 64 * 64 * 62 * 62 * 9
    assert [i.name for i in d.identities] == [
        "grad_x_transpose",
        "grad_w_correlation",
        "grad_x_full_correlation",
    ]
    y0 = preview.entry(d, "y", 0)
    assert len(y0.args) == 64 * 9
    assert sympy.Symbol("w_1,1,1,1", real=True) * sympy.Symbol("x_1,1,1", real=True) in y0.args
    assert not d.is_built


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_clipped_entries_show_the_first_terms_and_the_last(name):
    """A clipped sum read lazily off the axes: its term count, its first terms and its last
    are those of the full build's sum (in index order: the order of the unsorted terms)."""
    layer = LAYERS[name]()
    full = symconv.derive(layer)
    for quantity, attr in preview.QUANTITIES.items():
        shape = getattr(layer.spec, attr)
        if shape is None:
            continue
        built = list(getattr(full, quantity).reshape(math.prod(shape)))
        for flat in range(math.prod(shape)):
            lazy = symconv.derive(layer)
            clipped = preview.clipped_entry(lazy, quantity, flat, 3)
            expr = built[flat]
            if layer.kind == "avg_pool" and quantity == "y":
                expr = sympy.expand(expr)
            terms = list(expr.args) if isinstance(expr, sympy.Add) else [expr]
            if clipped is None:
                assert len(terms) <= 3 or (layer.kind == "max_pool" and quantity == "y")
                continue
            shown, n = clipped
            assert not lazy.is_built
            assert n == len(terms) and shown[2] is None, (quantity, flat)
            for t in shown[:2] + shown[3:]:
                assert t in terms, (quantity, flat, t)
