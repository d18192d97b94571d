"""Parametric mistakes (issue 23): for each perturbation family, mistaken answers on several
layer kinds and quantities, each built by the plain loops over Fractions of
``grading_oracle.py`` with the parameter misread (never by symconv); the right code comes first
and no misleading code is reported.

Shape-keeping mistakes are built here as a student makes them: the stride-1 result written into
the right-sized array (zeros elsewhere), a Toeplitz pattern shifting one column per row.
"""

from __future__ import annotations

import numpy as np
import pytest

import symconv
from grading_oracle import (
    conv_backward,
    conv_forward,
    convT_backward,
    convT_forward,
    frac,
    js,
    pool_backward,
    pool_forward,
    toeplitz_row,
    zeros,
)
from symconv.check import check

#: The codes of the parametric families added for issue 23.
PARAMETRIC_CODES = ["dilation", "output-padding", "ceil-mode", "groups"]

RNG = np.random.default_rng(23)


def rand(*shape, lo=-4, hi=5):
    return frac(RNG.integers(lo, hi, shape))


def embed(a, shape):
    """``a`` written into the top-left of a zero array of ``shape`` (cropped if larger)."""
    out = zeros(shape)
    sl = tuple(slice(0, min(p, q)) for p, q in zip(a.shape, shape))
    out[sl] = a[sl]
    return out


def run(layer, quantity, answer, **values):
    kwargs = {k: v.tolist() for k, v in values.items() if v is not None}
    return check(layer, quantity, js(answer), **kwargs)


def assert_first(r, code):
    codes = [c for c in r.codes if c != "wrong-shape"]
    assert codes and codes[0] == code, r.to_text()
    assert codes == [code], r.to_text()  # nothing misleading besides it


# ---------------------------------------------------------------------- stride
def test_stride_transposed_conv_stamps_at_i_on_the_right_sized_output():
    layer = symconv.conv_transpose((3, 3), 3, stride=2)
    x, w = rand(1, 3, 3), rand(1, 1, 3, 3)
    right = convT_forward(x, w, s=2)
    assert run(layer, "output", right, x=x, w=w).correct
    ans = embed(convT_forward(x, w, s=1), right.shape)  # 5x5 stamps placed into the 7x7
    r = run(layer, "output", ans, x=x, w=w)
    assert_first(r, "stride")
    assert "places the kernel at i*s" in r.diagnosis[0].explanation


def test_stride_conv_grad_input_from_dy_without_the_stride():
    layer = symconv.conv((5, 5), 3, stride=2)
    x, w, dy = rand(1, 5, 5), rand(1, 1, 3, 3), rand(1, 2, 2)
    assert run(layer, "grad-input", conv_backward(x, w, dy, s=2)[0], x=x, w=w, dy=dy).correct
    ans = embed(conv_backward(zeros((1, 4, 4)), w, dy, s=1)[0], (1, 5, 5))
    assert_first(run(layer, "grad-input", ans, x=x, w=w, dy=dy), "stride")


def test_stride_transposed_conv_grad_weight_from_dy_without_the_stride():
    layer = symconv.conv_transpose((3, 3), 3, stride=2)
    x, w, dy = rand(1, 3, 3), rand(1, 1, 3, 3), rand(1, 7, 7)
    assert run(layer, "grad-weight", convT_backward(x, w, dy, s=2)[1], x=x, w=w, dy=dy).correct
    ans = convT_backward(embed(x, (1, 5, 5)), w, dy, s=1)[1]  # dy read as a stride-1 output
    assert_first(run(layer, "grad-weight", ans, x=x, w=w, dy=dy), "stride")


def test_stride_toeplitz_shifting_one_column_per_row():
    layer = symconv.conv(7, 3, stride=2)
    w = rand(1, 1, 3)
    right = toeplitz_row(lambda e: conv_forward(e, w, s=2), (1, 7))
    assert run(layer, "toeplitz", right, w=w).correct
    stride1 = toeplitz_row(lambda e: conv_forward(e, w, s=1), (1, 7))  # 7 x 5
    ans = stride1[:, : right.shape[1]]  # the pattern moves one row per column
    assert_first(run(layer, "toeplitz", ans, w=w), "stride")


def test_stride_pools():
    x = rand(1, 4, 4)
    layer = symconv.max_pool((4, 4), 2)
    r = run(layer, "output", pool_forward(x, "max", 2, s=1), x=x)
    assert_first(r, "stride")
    layer = symconv.avg_pool((6,), 2)
    x1, dy = rand(1, 6), rand(1, 3)
    assert run(layer, "grad-input", pool_backward(x1, dy, "avg", 2), x=x1, dy=dy).correct
    ans = embed(pool_backward(x1[:, :4], dy, "avg", 2, s=1), (1, 6))
    assert_first(run(layer, "grad-input", ans, x=x1, dy=dy), "stride")


# ---------------------------------------------------------------------- padding
def test_padding_conv_and_transposed_conv_outputs():
    x, w = rand(1, 4, 4), rand(1, 1, 3, 3)
    layer = symconv.conv((4, 4), 3, padding=1)
    assert_first(run(layer, "output", conv_forward(x, w, pad=0), x=x, w=w), "padding")
    layer = symconv.conv_transpose((3, 3), 3, padding=1)
    x3 = rand(1, 3, 3)
    assert run(layer, "output", convT_forward(x3, w, pad=1), x=x3, w=w).correct
    r = run(layer, "output", convT_forward(x3, w, pad=0), x=x3, w=w)  # the output not cropped
    assert_first(r, "padding")
    assert "transposed convolution's padding 1 crops its full output" in r.to_text()


def test_padding_max_pool_with_zeros_keeps_the_shape():
    layer = symconv.max_pool((4, 4), 3, stride=1, padding=1)
    x = rand(1, 4, 4, lo=-9, hi=-1)  # all negative: a zero padding wins at the border
    xp = zeros((1, 6, 6))
    xp[:, 1:5, 1:5] = x
    ans = pool_forward(xp, "max", 3, s=1)
    r = run(layer, "output", ans, x=x)
    assert_first(r, "padding")
    assert "-inf" in r.diagnosis[0].explanation


def test_padding_on_one_side_for_grad_input_and_avg_pool_output():
    layer = symconv.conv(5, 3, padding=1)
    x, w, dy = rand(1, 5), rand(1, 1, 3), rand(1, 5)
    ans = conv_backward(x, w, dy, pad=[(0, 2)])[0]
    assert_first(run(layer, "grad-input", ans, x=x, w=w, dy=dy), "padding")
    layer = symconv.avg_pool(6, 2, padding=1)
    x6 = rand(1, 6)
    assert_first(run(layer, "output", pool_forward(x6, "avg", 2, pad=0), x=x6), "padding")


# ---------------------------------------------------------------------- dilation
def test_dilation_conv_output_and_grad_weight():
    layer = symconv.conv((6, 6), 2, dilation=2)
    x, w = rand(1, 6, 6), rand(1, 1, 2, 2)
    assert run(layer, "output", conv_forward(x, w, d=2), x=x, w=w).correct
    assert_first(run(layer, "output", conv_forward(x, w, d=1), x=x, w=w), "dilation")
    layer = symconv.conv(7, 2, dilation=3)
    x1, w1, dy = rand(1, 7), rand(1, 1, 2), rand(1, 4)
    ans = conv_backward(x1[:, :5], w1, dy, d=1)[1]  # dy read as the undilated layer's output
    assert_first(run(layer, "grad-weight", ans, x=x1, w=w1, dy=dy), "dilation")


def test_dilation_pool_and_transposed_conv():
    layer = symconv.avg_pool(8, 2, stride=1, dilation=2)
    x = rand(1, 8)
    r = run(layer, "output", pool_forward(x, "avg", 2, s=1, d=3), x=x)  # d holes, not d - 1
    assert_first(r, "dilation")
    layer = symconv.conv_transpose((3, 3), 2, dilation=2)
    x2, w2 = rand(1, 3, 3), rand(1, 1, 2, 2)
    assert_first(run(layer, "output", convT_forward(x2, w2, d=1), x=x2, w=w2), "dilation")


# ---------------------------------------------------------------------- output_padding
@pytest.mark.parametrize("size", [(3,), (3, 3), (2, 2, 2)], ids=["1d", "2d", "3d"])
def test_output_padding_dropped(size):
    nd = len(size)
    layer = symconv.conv_transpose(size, 3, stride=2, output_padding=1)
    x, w = rand(1, *size), rand(1, 1, *(3,) * nd)
    right = convT_forward(x, w, s=2, op=1)
    assert run(layer, "output", right, x=x, w=w).correct
    ans = convT_forward(x, w, s=2, op=0)
    assert_first(run(layer, "output", ans, x=x, w=w), "output-padding")
    # the size: the transposed formula without output_padding (also one off, index-shift)
    r = check(layer, "output-size", "x".join(str(v) for v in ans.shape[1:]))
    assert "output-padding" in r.codes, r.to_text()


# ---------------------------------------------------------------------- ceil_mode
def test_ceil_mode_toggled_on_pools():
    x = rand(1, 5)
    layer = symconv.max_pool(5, 2, ceil_mode=True)
    assert run(layer, "output", pool_forward(x, "max", 2, ceil=True), x=x).correct
    assert_first(run(layer, "output", pool_forward(x, "max", 2), x=x), "ceil-mode")
    x2 = rand(1, 5, 5)
    layer = symconv.avg_pool((5, 5), 2)
    ans = pool_forward(x2, "avg", 2, ceil=True)
    assert_first(run(layer, "output", ans, x=x2), "ceil-mode")
    r = check(layer, "output-size", "3x3")
    assert r.codes[0] in ("ceil-mode", "index-shift") and "ceil-mode" in r.codes, r.to_text()


# ---------------------------------------------------------------------- groups
def test_groups_ignored_or_mixed():
    layer = symconv.conv((3, 3), 2, in_channels=4, out_channels=2, groups=2)
    x, w = rand(4, 3, 3), rand(2, 2, 2, 2)
    assert run(layer, "output", conv_forward(x, w, groups=2), x=x, w=w).correct
    ans = conv_forward(x, w, groups=2, reads=lambda grp, cl: cl)  # every filter: channels 1, 2
    assert_first(run(layer, "output", ans, x=x, w=w), "groups")
    layer = symconv.conv_transpose(3, 2, in_channels=4, out_channels=2, groups=2)
    x1, w1, dy = rand(4, 3), rand(4, 1, 2), rand(2, 4)
    assert run(
        layer, "grad-input", convT_backward(x1, w1, dy, groups=2)[0], x=x1, w=w1, dy=dy
    ).correct
    ans = convT_backward(x1, w1, dy, groups=2, group_of=lambda ci: ci % 2)[0]
    assert_first(run(layer, "grad-input", ans, x=x1, w=w1, dy=dy), "groups")
    layer = symconv.conv(4, 2, in_channels=4, out_channels=4, groups=2)
    x4, w4, dy4 = rand(4, 4), rand(4, 2, 2), rand(4, 3)
    ans = conv_backward(x4, w4, dy4, groups=2, reads=lambda grp, cl: cl)[1]
    assert_first(run(layer, "grad-weight", ans, x=x4, w=w4, dy=dy4), "groups")


# ---------------------------------------------------------------------- flip / rotation
def test_rotation_explained_per_layer_kind():
    """A transposed convolution's dE/dx uses the kernel as it is; a convolution's rotates it."""
    layer = symconv.conv_transpose((3, 3), 2, stride=2)
    x, w, dy = rand(1, 3, 3), rand(1, 1, 2, 2), rand(1, 6, 6)
    assert run(layer, "grad-input", convT_backward(x, w, dy, s=2)[0], x=x, w=w, dy=dy).correct
    ans = convT_backward(x, w, dy, s=2, flip=True)[0]  # the kernel rotated by 180 degrees
    r = run(layer, "grad-input", ans, x=x, w=w, dy=dy)
    assert r.codes[0] == "unrotated-kernel" and len(r.diagnosis) == 1, r.to_text()
    assert "transposed convolution's dE/dx uses the kernel as it is" in r.to_text()
    layer = symconv.conv((3, 3), 2)
    dy2 = rand(1, 2, 2)
    ans = conv_backward(x, w, dy2, flip=True)[0]
    r = run(layer, "grad-input", ans, x=x, w=w, dy=dy2)
    assert r.codes[0] == "unrotated-kernel" and "rotated by 180" in r.to_text(), r.to_text()
    layer = symconv.conv_transpose((3, 3), 2)
    ans = convT_forward(x, w, flip=True)
    r = run(layer, "output", ans, x=x, w=w)
    assert r.codes == ["flipped-kernel"], r.to_text()
    assert "transposed convolution" in r.to_text()


# ---------------------------------------------------------------------- channel axes
def test_channel_axes_swapped_on_convolution_and_transposed_convolution():
    x, w = rand(2, 3, 3), rand(2, 2, 2, 2)
    swapped = np.swapaxes(w, 0, 1).copy()  # w[c_in, c_out] read for w[c_out, c_in]
    layer = symconv.conv((3, 3), 2, in_channels=2, out_channels=2)
    assert_first(run(layer, "output", conv_forward(x, swapped), x=x, w=w), "channel-axis")
    layer = symconv.conv_transpose((3, 3), 2, in_channels=2, out_channels=2)
    assert run(layer, "output", convT_forward(x, w), x=x, w=w).correct
    assert_first(run(layer, "output", convT_forward(x, swapped), x=x, w=w), "channel-axis")
    dy = rand(2, 4, 4)
    ans = convT_backward(x, swapped, dy)[0]
    assert_first(run(layer, "grad-input", ans, x=x, w=w, dy=dy), "channel-axis")
