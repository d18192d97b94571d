"""Every ONNX Conv, ConvTranspose, MaxPool and AveragePool node test case through from_onnx.

The cases are built by ONNX's own generators (``onnx.backend.test.case.node``: each module's
``export*`` functions call ``expect(node, inputs, outputs, name)``, which is intercepted here),
so the expected outputs are ONNX's, computed without symconv. Each case runs through
``symconv.from_onnx`` and then the generated NumPy kernel, the symbolic derivation (small cases)
and the loop oracle ``symconv.reference`` (small cases); MaxPool's Indices output is checked
against ``symconv.core.argmax.max_pool_indices``. ONNX's reference evaluator covers the
semantics the node tests do not (AveragePool dilations with padding, SAME_LOWER pools, large
pool padding, ConvTranspose 'same' and output_shape, storage_order on 3-D inputs).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math

import numpy as np
import pytest

import symconv
from symconv import reference
from symconv.core.argmax import max_pool_indices
from symconv.interop import from_onnx, load_onnx_node

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402

MODULES = ("averagepool", "maxpool", "conv", "convtranspose")

#: Every node test case of the four operators in onnx 1.23.2 (a new ONNX release adding one
#: fails test_the_case_list_is_complete, so that it gets looked at).
CASES = [
    "test_averagepool_1d_default",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_ceil_last_window_starts_on_pad",
    "test_averagepool_2d_default",
    "test_averagepool_2d_dilations",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_strides",
    "test_averagepool_3d_default",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
    "test_averagepool_3d_dilations_small",
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_convtranspose",
    "test_convtranspose_1d",
    "test_convtranspose_3d",
    "test_convtranspose_autopad_same",
    "test_convtranspose_dilations",
    "test_convtranspose_group_2",
    "test_convtranspose_group_2_image_3",
    "test_convtranspose_kernel_shape",
    "test_convtranspose_output_shape",
    "test_convtranspose_pad",
    "test_convtranspose_pads",
    "test_maxpool_1d_default",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_ceil_output_size_reduce_by_one",
    "test_maxpool_2d_default",
    "test_maxpool_2d_dilations",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_uint8",
    "test_maxpool_3d_default",
    "test_maxpool_3d_dilations",
    "test_maxpool_3d_dilations_use_ref_impl",
    "test_maxpool_3d_dilations_use_ref_impl_large",
    "test_maxpool_with_argmax_2d_precomputed_pads",
    "test_maxpool_with_argmax_2d_precomputed_strides",
]


@functools.lru_cache(maxsize=None)
def onnx_cases() -> dict:
    """name -> (node, inputs, outputs), from ONNX's generators.

    Importing a generator module runs its exports (ONNX's metaclass does it, after seeding
    NumPy's global generator with 0), and they call ``expect`` imported from the package: so
    ``expect`` is replaced before the import. A module imported earlier is run again."""
    import sys

    import onnx.backend.test.case.node as package

    cases = {}

    def expect(node, inputs, outputs, name, **_):
        cases[name] = (node, inputs, outputs)

    saved, package.expect = package.expect, expect
    try:
        for name in MODULES:
            full = f"{package.__name__}.{name}"
            if full not in sys.modules:
                importlib.import_module(full)
                continue
            module = sys.modules[full]
            module_saved, module.expect = module.expect, expect
            try:
                for _, cls in inspect.getmembers(module, inspect.isclass):
                    if cls.__module__ == full:
                        for attr in dir(cls):
                            if attr.startswith("export"):
                                np.random.seed(0)
                                getattr(cls, attr)()
            finally:
                module.expect = module_saved
    finally:
        package.expect = saved
    return cases


#: Largest outputs x taps checked through the symbolic derivation (max-pool evaluate is slow:
#: about 30 s for 5x5 outputs of 25 taps).
DERIVE_LIMIT = {"max_pool": 40, "avg_pool": 1000, "conv": 1000, "conv_transpose": 1000}

#: Cases whose expected output ONNX's generator writes out rounded to 4 decimals.
ROUNDED = {"test_averagepool_2d_ceil_last_window_starts_on_pad": 1e-4}


@functools.lru_cache(maxsize=None)
def kernel(layer):
    return symconv.load_generated(symconv.generate_numpy(layer), "onnx_case")


def run_generated(layer, x, w=None, b=None):
    module = kernel(layer)
    if layer.spec.has_weight:
        return module.forward(x, w, b)
    return module.forward(x)


def layer_of(node, inputs):
    weight = inputs[1].shape if len(inputs) > 1 else None
    return from_onnx(node, inputs[0].shape, weight_shape=weight)


def test_the_case_list_is_complete():
    assert sorted(onnx_cases()) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_onnx_node_case(name):
    node, inputs, outputs = onnx_cases()[name]
    layer = layer_of(node, inputs)
    x = inputs[0].astype(np.float64)  # integer inputs of the generated pool kernels: see report
    w = inputs[1].astype(np.float64) if len(inputs) > 1 else None
    b = inputs[2].astype(np.float64) if len(inputs) > 2 else None
    expected = outputs[0].astype(np.float64)
    tol = dict(rtol=1e-5, atol=ROUNDED.get(name, 1e-5))
    assert layer.spec.y_shape == expected.shape[1:]
    np.testing.assert_allclose(run_generated(layer, x, w, b), expected, **tol)
    small = math.prod(layer.spec.y_shape) * math.prod(layer.spec.kernel_size) <= 2000
    if small:
        for n in range(x.shape[0]):
            ours = reference.forward(layer, x[n], w, b)
            np.testing.assert_allclose(ours, expected[n], **tol)
        if (
            math.prod(layer.spec.y_shape) * math.prod(layer.spec.kernel_size)
            <= DERIVE_LIMIT[layer.kind]
        ):
            y = symconv.derive(layer).evaluate(x=x[0], w=w, b=b)["y"]
            np.testing.assert_allclose(y.astype(float), expected[0], **tol)
    if len(outputs) > 1:  # MaxPool's Indices
        order = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        got = max_pool_indices(
            layer, x, convention="onnx", storage_order=order.get("storage_order", 0)
        )
        np.testing.assert_array_equal(got, outputs[1])


# ---------------------------------------------------------------------- beyond the node tests
# ONNX's reference evaluator, on inputs where it follows the operator text. Two places where it
# does not, and which these cases avoid: MaxPool with auto_pad SAME_LOWER and stride > 1 (it
# drops the first output row), and ConvTranspose 'same' with a negative total padding (it floors
# total // 2 to -1 and shifts the output; the text's C integer division extends the high end,
# as symconv does).
def _evaluate(node, *arrays):
    from onnx.reference import ReferenceEvaluator

    names = list(node.input)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names],
        [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in node.output],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, dict(zip(names, arrays)))


EXTRA = [
    ("AveragePool", (1, 2, 7, 6), dict(kernel_shape=[3, 2], dilations=[2, 2], pads=[2, 1, 2, 1])),
    (
        "AveragePool",
        (1, 1, 7, 6),
        dict(kernel_shape=[2, 2], dilations=[2, 1], pads=[1, 1, 1, 1], count_include_pad=1),
    ),
    (
        "AveragePool",
        (1, 1, 6, 7),
        dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
    ),
    ("MaxPool", (1, 2, 6, 6), dict(kernel_shape=[3, 3], pads=[2, 2, 2, 2], strides=[2, 2])),
    ("MaxPool", (1, 1, 7, 5), dict(kernel_shape=[2, 3], auto_pad="SAME_LOWER")),
    ("MaxPool", (1, 1, 7, 5), dict(kernel_shape=[2, 3], auto_pad="SAME_UPPER", strides=[2, 1])),
    ("MaxPool", (1, 1, 4), dict(kernel_shape=[3], pads=[2, 2], dilations=[2])),
    ("AveragePool", (1, 1, 5), dict(kernel_shape=[3], pads=[2, 2], count_include_pad=0)),
    ("Conv", (1, 2, 6, 5), dict(auto_pad="SAME_LOWER", strides=[2, 2]), (4, 2, 2, 3)),
    ("Conv", (1, 4, 7), dict(group=2, dilations=[2], pads=[1, 3]), (2, 2, 3)),
    ("Conv", (1, 1, 5, 6), dict(auto_pad="SAME_UPPER", dilations=[2, 1]), (1, 1, 2, 2)),
    ("ConvTranspose", (1, 1, 3, 4), dict(auto_pad="SAME_UPPER", strides=[2, 3]), (1, 2, 4, 3)),
    ("ConvTranspose", (1, 1, 3, 4), dict(auto_pad="SAME_LOWER", strides=[3, 2]), (1, 1, 4, 3)),
    ("ConvTranspose", (1, 2, 3), dict(output_shape=[8], strides=[2]), (2, 1, 3)),
    ("ConvTranspose", (1, 1, 4, 3), dict(output_shape=[9, 6], strides=[2, 2]), (1, 1, 2, 2)),
]


@pytest.mark.parametrize("case", EXTRA, ids=[f"{c[0]}-{c[2]}" for c in EXTRA])
def test_new_semantics_against_onnx_reference_evaluator(case):
    op, x_shape, attrs = case[:3]
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(np.float32)
    arrays = [x]
    if len(case) > 3:
        arrays.append(rng.standard_normal(case[3]).astype(np.float32))
    node = helper.make_node(op, [f"i{k}" for k in range(len(arrays))], ["y"], **attrs)
    expected = _evaluate(node, *arrays)[0].astype(np.float64)
    layer = layer_of(node, arrays)
    x64 = x.astype(np.float64)
    w64 = arrays[1].astype(np.float64) if len(arrays) > 1 else None
    np.testing.assert_allclose(run_generated(layer, x64, w64), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        reference.forward(layer, x64[0], w64), expected[0], rtol=1e-5, atol=1e-5
    )


def test_indices_storage_order_on_3d_input_against_onnx_reference():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, (2, 2, 4, 5, 3)).astype(np.float32)  # ties: the first maximum wins
    for order in (0, 1):
        node = helper.make_node(
            "MaxPool",
            ["x"],
            ["y", "i"],
            kernel_shape=[2, 2, 2],
            strides=[2, 2, 1],
            pads=[1, 0, 1, 1, 1, 0],
            storage_order=order,
        )
        y, indices = _evaluate(node, x)
        layer = layer_of(node, [x])
        got = max_pool_indices(layer, x, convention="onnx", storage_order=order)
        np.testing.assert_array_equal(got, indices)


def test_load_onnx_node_reads_a_node_and_its_shapes_from_a_file(tmp_path):
    w = onnx.numpy_helper.from_array(np.ones((3, 2, 2, 2), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1", strides=[2, 2])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializer=[w],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    found, model = load_onnx_node(path, "conv1")
    layer = from_onnx(found, model=model)
    assert layer == symconv.conv((6, 6), 2, in_channels=2, out_channels=3, stride=2)
    with pytest.raises(symconv.SpecError, match="no node named 'nope'.*'conv1'"):
        load_onnx_node(path, "nope")
    from symconv.cli import main

    assert main(["derive", "--from-onnx", str(path), "--node", "conv1", "--format", "json"]) == 0
