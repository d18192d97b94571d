"""Specs: output sizes, padding rules and the messages of bad input."""

from __future__ import annotations

import pytest

import symconv
from symconv import SpecError

SIZES = [
    # (constructor, args, kwargs, expected output size)
    ("conv", ((3, 3), 2), {}, (2, 2)),
    ("conv", ((32, 32), 5), {"out_channels": 6}, (28, 28)),
    ("conv", ((5, 5), 3), {"stride": 2, "padding": 1}, (3, 3)),
    ("conv", ((7,), 3), {"dilation": 2}, (3,)),
    ("conv", ((7,), 3), {"dilation": 3, "padding": "same"}, (7,)),
    ("conv", ((6, 6), 2), {"padding": "same"}, (6, 6)),
    ("conv", ((7, 7), 3), {"stride": 2, "padding": "same"}, (4, 4)),
    ("conv", ((4, 5, 6), (1, 2, 3)), {"padding": "valid"}, (4, 4, 4)),
    ("conv", ((5, 5), 3), {"padding": ((0, 1), (2, 0))}, (4, 5)),
    ("conv_transpose", ((2, 2), 3), {"stride": 2}, (5, 5)),
    ("conv_transpose", ((3, 3), 4), {"stride": 2, "padding": 1}, (6, 6)),
    ("conv_transpose", ((3,), 3), {"stride": 2, "output_padding": 1}, (8,)),
    ("conv_transpose", ((3,), 3), {"dilation": 2, "stride": 1, "output_padding": 1}, (8,)),
    ("max_pool", ((4, 4), 2), {}, (2, 2)),
    ("max_pool", ((5, 5), 3), {"stride": 2, "padding": 1}, (3, 3)),
    ("max_pool", ((5, 5), 2), {"ceil_mode": True}, (3, 3)),
    ("avg_pool", ((6, 6), 3), {"stride": 2, "padding": 1, "ceil_mode": True}, (4, 4)),
    ("avg_pool", ((5,), 2), {"stride": 2, "padding": 1, "ceil_mode": True}, (3,)),
    ("avg_pool", ((28, 28), 2), {"channels": 6}, (14, 14)),
]


@pytest.mark.parametrize(
    "ctor,args,kwargs,expected",
    SIZES,
    ids=[f"{c}-{a}-{sorted(k.items())}" for c, a, k, _ in SIZES],
)
def test_output_size(ctor, args, kwargs, expected):
    layer = getattr(symconv, ctor)(*args, **kwargs)
    assert layer.output_size == expected
    assert str(expected) in repr(layer)


def test_same_padding_puts_the_extra_pixel_on_the_high_side():
    assert symconv.conv((6, 6), 2, padding="same").spec.padding == ((0, 1), (0, 1))
    assert symconv.conv((7,), 4, stride=2, padding="same").spec.padding == ((1, 2),)
    assert symconv.conv((5,), 3, padding="same").spec.padding == ((1, 1),)


def test_pool_stride_defaults_to_kernel():
    assert symconv.max_pool((6, 6), (2, 3)).spec.stride == (2, 3)
    assert symconv.avg_pool((6, 6), 3).spec.stride == (3, 3)


BAD = [
    ("conv", ((0, 3), 2), {}, "conv: input_size must be positive integers, got (0, 3)"),
    (
        "conv",
        ((3, 3), 5),
        {},
        "conv2d: effective kernel 5x5 (kernel 5x5) is larger than the padded input 3x3",
    ),
    (
        "conv",
        ((6, 6), 3),
        {"dilation": 3},
        "conv2d: effective kernel 7x7 (kernel 3x3, dilation 3x3) is larger than the padded input 6x6",
    ),
    ("conv", ((3, 3), 2), {"stride": 0}, "conv2d: stride must be positive integers, got 0"),
    (
        "conv",
        ((3, 3), (2, 2, 2)),
        {},
        "conv2d: kernel_size must have 2 entries (one per spatial dimension), got (2, 2, 2)",
    ),
    ("conv", ((3, 3), 2), {"padding": (1, 1, 1)}, "conv2d: padding must have 2 entries"),
    (
        "conv",
        ((3, 3), 2),
        {"padding": "full"},
        "conv2d: padding must be an int, a tuple, per-side pairs, 'valid', 'same' (= 'same_upper') "
        "or 'same_lower', got 'full'",
    ),
    ("conv", ((3, 3), 2), {"padding": -1}, "conv2d: padding must be non-negative, got -1"),
    (
        "conv",
        ((4, 4), 2),
        {"in_channels": 3, "out_channels": 4, "groups": 2},
        "conv2d: groups must divide in_channels and out_channels, got groups=2 with in_channels=3, out_channels=4",
    ),
    (
        "conv",
        ((4, 4), 2),
        {"in_channels": 0},
        "conv2d: in_channels must be a positive integer, got 0",
    ),
    ("conv", ((4, 4), 2), {"bias": "yes"}, "conv2d: bias must be True or False, got 'yes'"),
    ("conv", ((1, 2, 3, 4), 2), {}, "conv: input_size must have 1, 2 or 3 dimensions"),
    ("conv", ((4, 4), 2.5), {}, "conv2d: kernel_size must be an int or a tuple of ints, got 2.5"),
    (
        "conv_transpose",
        ((3, 3), 3),
        {"stride": 2, "output_padding": 2},
        "conv_transpose2d: output_padding must be smaller than stride or dilation",
    ),
    (
        "conv_transpose",
        ((3, 3), 3),
        {"stride": 2, "output_shape": (9, 6)},
        "conv_transpose2d: output_shape 9 along axis 0 cannot be reached: input 3, stride 2, "
        "effective kernel 3 give at most 8",
    ),
    (
        "conv_transpose",
        ((3, 3), 3),
        {"stride": 2, "output_shape": (6, 6)},
        "conv_transpose2d: output_shape 6 along axis 0 is smaller than the uncropped output 7 "
        "and padding 0 crops nothing; use padding='same' or 'same_lower' to crop 1",
    ),
    (
        "conv_transpose",
        ((3, 3), 3),
        {"padding": 1, "output_shape": (5, 5)},
        "conv_transpose2d: give output_shape with padding 'same', 'same_lower' or 'valid'",
    ),
    (
        "conv_transpose",
        ((2, 2), 2),
        {"padding": 2},
        "conv_transpose2d: output size must be positive",
    ),
    (
        "max_pool",
        ((6, 6), 2),
        {"padding": 2},
        "max_pool2d: the window of output 0 along axis 0 reads only padding (input positions "
        "[-2, -1], input length 6)",
    ),
    (
        "avg_pool",
        ((6, 6), 2),
        {"padding": 6, "dilation": 5},
        "avg_pool2d: the window of output 0 along axis 0 reads only padding",
    ),
    (
        "max_pool",
        ((6, 6), 2),
        {"ties": "last"},
        "max_pool2d: ties must be one of ('first', 'split'), got 'last'",
    ),
]


@pytest.mark.parametrize("ctor,args,kwargs,message", BAD, ids=[m[:40] for *_, m in BAD])
def test_bad_input_names_operation_parameter_rule_and_value(ctor, args, kwargs, message):
    with pytest.raises(SpecError) as info:
        getattr(symconv, ctor)(*args, **kwargs)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_repr_is_readable():
    layer = symconv.conv((5, 5), 3, in_channels=2, out_channels=4, stride=2, padding=1, bias=True)
    assert repr(layer) == (
        "conv2d(input_size=(5, 5), kernel_size=3, in_channels=2, out_channels=4, stride=2, "
        "padding=1, bias=True) -> output_size=(3, 3)"
    )


def test_shapes_of_weights():
    assert symconv.conv((5, 5), 3, in_channels=4, out_channels=6, groups=2).spec.w_shape == (
        6,
        2,
        3,
        3,
    )
    assert symconv.conv_transpose(
        (5,), 3, in_channels=4, out_channels=6, groups=2
    ).spec.w_shape == (
        4,
        3,
        3,
    )
    assert symconv.max_pool((4, 4), 2).spec.w_shape is None
