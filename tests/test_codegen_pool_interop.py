"""Generated pool modules in the frameworks' terms: max pool's argmax indices (PyTorch's
``return_indices`` and ONNX's ``Indices`` with both storage orders) and integer inputs (uint8,
int32) for both pools; integer inputs to a generated convolution are refused by name.

Oracles: :func:`symconv.core.argmax.max_pool_indices` (read off the index map) and, when it is
installed, ``torch.nn.functional.max_pool{1,2,3}d(..., return_indices=True)`` / ``avg_pool``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import symconv
from symconv.codegen import generate_numpy, strategies
from symconv.core.argmax import max_pool_indices

#: (input_size, kernel_size, options): 1-D, 2-D, 3-D; stride, padding, dilation, ceil_mode.
GRID = [
    ((9,), 3, dict()),
    ((10,), 3, dict(stride=2, padding=1, ceil_mode=True)),
    ((11,), 2, dict(stride=3, dilation=2, padding=1)),
    ((6, 7), 2, dict()),
    ((7, 7), 3, dict(stride=2, padding=1)),
    ((8, 6), (3, 2), dict(stride=(2, 1), dilation=(2, 1), padding=(1, 0))),
    ((6, 5), 3, dict(stride=2, padding=1, ceil_mode=True)),
    ((5, 5), 2, dict(stride=2, padding=1, ceil_mode=True)),
    ((4, 5, 6), 2, dict(stride=2, ceil_mode=True)),
    ((5, 5, 5), 3, dict(stride=2, padding=1, dilation=(1, 2, 1))),
]
IDS = [f"{len(s)}d-{i}" for i, (s, _, _) in enumerate(GRID)]
DTYPES = [np.float64, np.uint8, np.int32]


def _module(layer, threaded):
    """The generated module of ``layer``, lean or (as if it were large) threaded."""
    saved = strategies.THREAD_MIN_READS
    if threaded:
        strategies.THREAD_MIN_READS = 0
    try:
        source = generate_numpy(layer)
    finally:
        strategies.THREAD_MIN_READS = saved
    module = types.ModuleType(f"pool_{abs(hash(layer.spec))}_{threaded}")
    exec(compile(source, module.__name__, "exec"), module.__dict__)
    return module


def _x(rng, spec, n, dtype):
    """Small values (many ties) in the dtype's range; negative for signed types."""
    low = 0 if np.dtype(dtype).kind == "u" else -4
    return rng.integers(low, low + 6, (n,) + spec.x_shape).astype(dtype)


@pytest.mark.parametrize("threaded", [False, True], ids=["lean", "threaded"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size, kernel, options", GRID, ids=IDS)
def test_max_pool_indices_match_the_index_map(size, kernel, options, dtype, threaded, rng):
    layer = symconv.max_pool(size, kernel, channels=2, **options)
    module = _module(layer, threaded)
    x = _x(rng, layer.spec, 3, dtype)
    y = module.forward(x)
    assert y.dtype == np.dtype(dtype)
    y2, indices = module.forward(x, return_indices=True)
    np.testing.assert_array_equal(y2, y)
    assert indices.dtype == np.int64 and indices.shape == y.shape
    np.testing.assert_array_equal(indices, max_pool_indices(layer, x))
    # the index points at the maximum
    flat = x.reshape(x.shape[:2] + (-1,))
    np.testing.assert_array_equal(
        np.take_along_axis(flat, indices.reshape(flat.shape[:2] + (-1,)), -1).reshape(y.shape), y
    )
    for order in (0, 1):
        ours = module.forward(x, return_indices=True, indices_layout="onnx", storage_order=order)
        theirs = max_pool_indices(layer, x, convention="onnx", storage_order=order)
        np.testing.assert_array_equal(ours[1], theirs)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size, kernel, options", GRID, ids=IDS)
def test_max_pool_against_torch(size, kernel, options, dtype, torch_or_skip, rng):
    torch = torch_or_skip
    layer = symconv.max_pool(size, kernel, channels=2, **options)
    module = _module(layer, False)
    x = _x(rng, layer.spec, 2, dtype)
    pool = getattr(torch.nn.functional, f"max_pool{len(size)}d")
    ty, ti = pool(
        torch.from_numpy(x.astype(np.float64)),
        kernel,
        stride=options.get("stride", kernel),
        padding=options.get("padding", 0),
        dilation=options.get("dilation", 1),
        ceil_mode=options.get("ceil_mode", False),
        return_indices=True,
    )
    y, indices = module.forward(x, return_indices=True)
    np.testing.assert_array_equal(y.astype(np.float64), ty.numpy())
    np.testing.assert_array_equal(indices, ti.numpy())
    # backward: float64 dx for integer x, routed like torch's
    dy = rng.standard_normal(y.shape)
    tx = torch.from_numpy(x.astype(np.float64)).requires_grad_()
    pool(
        tx,
        kernel,
        stride=options.get("stride", kernel),
        padding=options.get("padding", 0),
        dilation=options.get("dilation", 1),
        ceil_mode=options.get("ceil_mode", False),
    ).backward(torch.from_numpy(dy))
    dx = module.backward(dy, x)
    assert dx.dtype == np.float64
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threaded", [False, True], ids=["lean", "threaded"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size, kernel, options", GRID, ids=IDS)
def test_avg_pool_of_integers_is_float64(size, kernel, options, dtype, threaded, rng):
    options = dict(options, count_include_pad=False)
    layer = symconv.avg_pool(size, kernel, channels=2, **options)
    module = _module(layer, threaded)
    x = _x(rng, layer.spec, 2, dtype)
    y = module.forward(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, module.forward(x.astype(np.float64)), rtol=1e-15)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = module.backward(dy, x)
    assert dx.dtype == np.float64
    expected = module.backward(dy.astype(np.float64), x.astype(np.float64))
    np.testing.assert_allclose(dx, expected, rtol=1e-15)


def test_avg_pool_of_uint8_against_torch(torch_or_skip, rng):
    torch = torch_or_skip
    layer = symconv.avg_pool((7, 7), 3, channels=3, stride=2, padding=1, ceil_mode=True)
    x = rng.integers(0, 256, (2,) + layer.spec.x_shape).astype(np.uint8)
    y = _module(layer, False).forward(x)
    ty = torch.nn.functional.avg_pool2d(
        torch.from_numpy(x.astype(np.float64)), 3, stride=2, padding=1, ceil_mode=True
    )
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-13)


def test_max_pool_keeps_extreme_integers_and_never_picks_padding():
    """Padding must not win even when every real value is the dtype's minimum (no -inf on ints)."""
    for dtype in (np.uint8, np.int32, np.int64):
        lo = np.iinfo(dtype).min
        for layer in (
            symconv.max_pool((5, 5), 2, stride=2, padding=1, ceil_mode=True),
            symconv.max_pool((4,), 3, stride=2, padding=1),
            # no tap covers every window: the running maximum starts at the dtype's minimum
            symconv.max_pool((10,), 3, stride=2, padding=1, ceil_mode=True),
        ):
            module = _module(layer, False)
            x = np.full((1,) + layer.spec.x_shape, lo, dtype)
            y, indices = module.forward(x, return_indices=True)
            assert y.dtype == np.dtype(dtype) and (y == lo).all()
            np.testing.assert_array_equal(indices, max_pool_indices(layer, x))


def test_exact_fractions_give_the_same_indices(rng):
    from fractions import Fraction

    layer = symconv.max_pool((6, 6), 3, stride=2, padding=1)
    x = _x(rng, layer.spec, 1, np.int64)
    exact = np.array([Fraction(int(v), 3) for v in x.flat], dtype=object).reshape(x.shape)
    _, indices = _module(layer, False).forward(exact, return_indices=True)
    np.testing.assert_array_equal(indices, max_pool_indices(layer, x))


def test_return_indices_errors():
    module = _module(symconv.max_pool((4, 4), 2, ties="split"), False)
    x = np.zeros((1, 1, 4, 4))
    assert module.forward(x).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="return_indices needs ties='first'"):
        module.forward(x, return_indices=True)
    module = _module(symconv.max_pool((4, 4), 2), False)
    with pytest.raises(ValueError, match="indices_layout must be 'torch' or 'onnx', got 'tf'"):
        module.forward(x, return_indices=True, indices_layout="tf")
    with pytest.raises(
        ValueError, match="storage_order must be 0, or 1 with indices_layout='onnx'"
    ):
        module.forward(x, return_indices=True, storage_order=1)
    with pytest.raises(
        ValueError, match=r"or an integer dtype \(uint8, int32, int64, ...\), got bool"
    ):
        module.forward(x.astype(bool))
    with pytest.raises(ValueError, match=r"dy must have dtype float64 \(the dtype of x\)"):
        module.backward(np.zeros((1, 1, 2, 2), np.float32), x)


@pytest.mark.parametrize(
    "layer",
    [
        symconv.conv((4, 4), 2),
        symconv.conv((6, 6), 3, in_channels=2, out_channels=2, groups=2),  # depthwise
        symconv.conv_transpose((3, 3), 2, stride=2),
    ],
    ids=["conv", "depthwise", "transpose"],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64])
def test_conv_refuses_integers_by_name(layer, dtype):
    module = _module(layer, False)
    spec = layer.spec
    x, w = np.zeros((1,) + spec.x_shape), np.zeros(spec.w_shape)
    accepted = r"must have dtype float32, float64 or object \(fractions.Fraction\), got "
    name = np.dtype(dtype).name
    with pytest.raises(ValueError, match=f"x {accepted}{name}"):
        module.forward(x.astype(dtype), w)
    with pytest.raises(ValueError, match=f"w {accepted}{name}"):
        module.forward(x, w.astype(dtype))
    with pytest.raises(ValueError, match=f"x {accepted}{name}"):
        module.backward(np.zeros((1,) + spec.y_shape), x.astype(dtype), w)


def _onnx_max_pool(onnx, size, kernel, options, storage_order, dtype):
    """A one-node ONNX model: MaxPool with its Indices output."""
    from onnx import TensorProto, helper

    nd = len(size)

    def per_axis(value):
        return list(value) if isinstance(value, tuple) else [value] * nd

    pads = per_axis(options.get("padding", 0))
    node = helper.make_node(
        "MaxPool",
        ["x"],
        ["y", "indices"],
        kernel_shape=per_axis(kernel),
        strides=per_axis(options.get("stride", kernel)),
        pads=pads + pads,
        dilations=per_axis(options.get("dilation", 1)),
        ceil_mode=int(options.get("ceil_mode", False)),
        storage_order=storage_order,
    )
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(
        [node],
        "max_pool",
        [helper.make_tensor_value_info("x", elem, None)],
        [
            helper.make_tensor_value_info("y", elem, None),
            helper.make_tensor_value_info("indices", TensorProto.INT64, None),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


@pytest.mark.parametrize("dtype", [np.float32, np.uint8], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size, kernel, options", GRID, ids=IDS)
def test_max_pool_against_onnx_reference(size, kernel, options, dtype, rng):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    layer = symconv.max_pool(size, kernel, channels=2, **options)
    module = _module(layer, False)
    x = _x(rng, layer.spec, 2, dtype)
    for order in (0, 1):
        model = _onnx_max_pool(onnx, size, kernel, options, order, dtype)
        ty, ti = ReferenceEvaluator(model).run(None, {"x": x})
        y, indices = module.forward(
            x, return_indices=True, indices_layout="onnx", storage_order=order
        )
        np.testing.assert_array_equal(y, ty)
        np.testing.assert_array_equal(indices, ti)
