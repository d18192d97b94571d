"""symconv.from_torch against PyTorch itself: a grid of torch.nn modules, each turned into a
layer whose generated NumPy kernel and symbolic derivation reproduce the module's output; the
argmax indices against ``max_pool2d(..., return_indices=True)``; the new padding semantics
('same_lower', conv_transpose output_shape) against PyTorch equivalents; clear errors for what
symconv does not model."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symconv
from symconv import reference
from symconv.core.argmax import max_pool_indices
from symconv.interop import from_torch

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

GRID = [
    lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1, bias=True),
    lambda: nn.Conv1d(4, 4, 2, padding="same", dilation=2, groups=2),
    lambda: nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    lambda: nn.Conv2d(1, 2, 3, padding="same", bias=False),
    lambda: nn.Conv2d(3, 2, 2, padding="valid"),
    lambda: nn.Conv3d(1, 2, 2, stride=(1, 2, 1), padding=1),
    lambda: nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=1),
    lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
    lambda: nn.ConvTranspose2d(1, 1, 2, stride=(2, 3), dilation=(2, 1), bias=False),
    lambda: nn.ConvTranspose3d(1, 2, 2, stride=2, padding=(0, 1, 0)),
    lambda: nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),
    lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=(1, 2)),
    lambda: nn.MaxPool2d((2, 3), ceil_mode=True),
    lambda: nn.MaxPool3d(2, stride=1, padding=(1, 0, 1)),
    lambda: nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False),
    lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda: nn.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False),
    lambda: nn.AvgPool3d(2, stride=2, ceil_mode=True, count_include_pad=False),
]
SIZES = {1: (9,), 2: (6, 7), 3: (4, 5, 3)}


def _module_case(make):
    torch.manual_seed(0)
    module = make().double()
    ndim = int(type(module).__name__[-2])
    channels = getattr(module, "in_channels", 2)
    x = torch.randn((2, channels) + SIZES[ndim], dtype=torch.float64)
    return module, x


@pytest.mark.parametrize("make", GRID, ids=lambda m: repr(m()))
def test_generated_kernel_and_derivation_reproduce_the_module(make):
    module, x = _module_case(make)
    layer = from_torch(module, tuple(x.shape))
    with torch.no_grad():
        expected = module(x).numpy()
    xs = x.numpy()
    w = module.weight.detach().numpy() if hasattr(module, "weight") else None
    b = module.bias.detach().numpy() if getattr(module, "bias", None) is not None else None
    generated = symconv.load_generated(symconv.generate_numpy(layer), "torch_case")
    got = generated.forward(xs, w, b) if w is not None else generated.forward(xs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reference.forward(layer, xs[1], w, b), expected[1], atol=1e-12)
    limit = 40 if layer.kind == "max_pool" else 400  # max-pool evaluate is slow
    if math.prod(layer.spec.y_shape) * math.prod(layer.spec.kernel_size) <= limit:
        y = symconv.derive(layer).evaluate(x=xs[0], w=w, b=b)["y"]
        np.testing.assert_allclose(y.astype(float), expected[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
        dict(kernel_size=2, stride=1, dilation=2),
        dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1)),
    ],
)
def test_argmax_indices_are_torch_return_indices(kwargs):
    x = torch.randint(0, 3, (2, 3, 7, 6)).double()  # many ties: the first maximum wins
    _, indices = F.max_pool2d(x, return_indices=True, **kwargs)
    module = nn.MaxPool2d(**kwargs)
    layer = from_torch(module, (3, 7, 6))
    np.testing.assert_array_equal(max_pool_indices(layer, x.numpy()), indices.numpy())
    np.testing.assert_array_equal(max_pool_indices(layer, x[0].numpy()), indices[0].numpy())


def test_argmax_under_split_ties_refuses_a_tie_and_works_without_one():
    layer = symconv.max_pool((2, 2), 2, ties="split")
    assert max_pool_indices(layer, [[[1, 2], [3, 4]]]).tolist() == [[[3]]]
    with pytest.raises(symconv.SpecError, match="tied maxima"):
        max_pool_indices(layer, [[[4, 2], [3, 4]]])
    with pytest.raises(symconv.SpecError, match="argmax indices belong to a max pool"):
        max_pool_indices(symconv.avg_pool((2, 2), 2), [[[1, 2], [3, 4]]])


@pytest.mark.parametrize("size,kernel,stride", [((6, 5), (2, 3), 1), ((7, 4), (4, 2), 2)])
def test_same_lower_is_same_with_the_extra_pixel_low(size, kernel, stride):
    x = torch.randn((1, 1) + size, dtype=torch.float64)
    w = torch.randn((1, 1) + kernel, dtype=torch.float64)
    for kind in ("conv", "max_pool"):
        if kind == "conv":
            layer = symconv.conv(size, kernel, stride=stride, padding="same_lower")
        else:
            layer = symconv.max_pool(size, kernel, stride=stride, padding="same_lower")
        (lo0, hi0), (lo1, hi1) = layer.spec.padding
        assert (
            lo0 >= hi0 and lo1 >= hi1 and layer.output_size == tuple(-(-n // stride) for n in size)
        )
        value = 0.0 if kind == "conv" else -math.inf
        padded = F.pad(x, (lo1, hi1, lo0, hi0), value=value)
        if kind == "conv":
            expected = F.conv2d(padded, w, stride=stride)
            got = reference.forward(layer, x[0].numpy(), w[0].numpy()[None])
        else:
            expected = F.max_pool2d(padded, kernel, stride=stride)
            got = reference.forward(layer, x[0].numpy())
        np.testing.assert_allclose(got, expected[0].numpy(), atol=1e-12)


@pytest.mark.parametrize(
    "size,kernel,stride,target", [((3, 4), 3, (2, 3), (8, 12)), ((2,), 4, (3,), (7,))]
)
def test_conv_transpose_output_shape_is_torch_output_size(size, kernel, stride, target):
    module = nn.ConvTranspose2d if len(size) == 2 else nn.ConvTranspose1d
    module = module(1, 2, kernel, stride=stride, bias=False).double()
    x = torch.randn((1, 1) + size, dtype=torch.float64)
    with torch.no_grad():
        expected = module(x, output_size=target).numpy()
    layer = symconv.conv_transpose(
        size, kernel, out_channels=2, stride=stride, output_shape=target
    )
    assert layer.output_size == target
    got = reference.forward(layer, x[0].numpy(), module.weight.detach().numpy())
    np.testing.assert_allclose(got, expected[0], atol=1e-12)


def test_a_sequential_becomes_a_network():
    seq = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 3),
    )
    net = from_torch(seq, (4, 4))
    assert isinstance(net, symconv.Network)
    assert net.output_shape == (3,)
    assert [layer.kind for layer in net.layers][:3] == ["conv", "relu", "max_pool"]


@pytest.mark.parametrize(
    "module,message",
    [
        (lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"), "padding_mode='reflect'"),
        (lambda: nn.AvgPool2d(2, divisor_override=3), "divisor_override=3"),
        (lambda: nn.MaxPool2d(3, padding=2), "which PyTorch refuses"),
        (lambda: nn.LPPool2d(2, 2), "LPPool2d is not supported"),
        (lambda: nn.Sequential(nn.Conv2d(1, 1, 2), nn.Dropout()), "module 1 (Dropout)"),
    ],
)
def test_unsupported_modules_give_clear_errors(module, message):
    with pytest.raises(symconv.SpecError) as info:
        from_torch(module(), (6, 6))
    assert message in str(info.value)


def test_channels_of_the_input_are_checked():
    with pytest.raises(symconv.SpecError, match="takes 3 input channels"):
        from_torch(nn.Conv2d(3, 1, 2), (1, 2, 5, 5))
