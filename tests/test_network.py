"""symconv.network: shapes, parameter counts, spec files, errors, generated module, gradient
checks (finite differences, chained references, PyTorch), symbolic backprop, LaTeX, DOT, CLI."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess

import numpy as np
import pytest
import sympy

import symconv.network as N
from symconv.cli import main
from symconv.errors import SpecError


def test_lenet5_shapes_match_seed003():
    net = N.example("lenet5")
    shapes = {lay.name: lay.output_shape for lay in net.layers}
    assert shapes["conv1"] == (6, 28, 28)
    assert shapes["pool1"] == (6, 14, 14)
    assert shapes["conv2"] == (16, 10, 10)
    assert shapes["pool2"] == (16, 5, 5)
    assert shapes["flatten"] == (400,)
    assert [shapes[k] for k in ("fc1", "fc2", "fc3")] == [(120,), (84,), (10,)]
    assert net.parameter_count == (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (
        120 * 84 + 84
    ) + (84 * 10 + 10)


def test_alexnet_shapes_and_hand_computed_parameter_count():
    net = N.example("alexnet")
    shapes = {lay.name: lay.output_shape for lay in net.layers}
    assert net.input_shape == (3, 227, 227)
    assert shapes["conv1"] == (96, 55, 55)
    assert shapes["pool1"] == (96, 27, 27)
    assert shapes["conv2"] == (256, 27, 27)
    assert shapes["pool2"] == (256, 13, 13)
    assert shapes["conv3"] == shapes["conv4"] == (384, 13, 13)
    assert shapes["conv5"] == (256, 13, 13)
    assert shapes["pool3"] == (256, 6, 6)
    assert shapes["flatten"] == (9216,)
    # by hand: weights + biases per layer
    conv1 = 96 * 3 * 11 * 11 + 96  # 34,944
    conv2 = 256 * 96 * 5 * 5 + 256  # 614,656
    conv3 = 384 * 256 * 3 * 3 + 384  # 885,120
    conv4 = 384 * 384 * 3 * 3 + 384  # 1,327,488
    conv5 = 256 * 384 * 3 * 3 + 256  # 884,992
    fc6 = 9216 * 4096 + 4096  # 37,752,832
    fc7 = 4096 * 4096 + 4096  # 16,781,312
    fc8 = 4096 * 1000 + 1000  # 4,097,000
    assert net.parameter_count == conv1 + conv2 + conv3 + conv4 + conv5 + fc6 + fc7 + fc8
    assert net.parameter_count == 62_378_344  # seed 003: "60M parameters"
    assert "62,378,344" in net.summary()


def test_seed002_and_seed004_structure():
    kinds = [lay.kind for lay in N.example("seed002").layers]
    assert kinds == [
        "conv", "sigmoid", "max_pool", "conv", "sigmoid", "max_pool",
        "flatten", "dense", "sigmoid", "dense", "softmax",
    ]  # fmt: skip
    net4 = N.example("seed004")
    assert [lay.kind for lay in net4.layers] == [
        "conv", "max_pool", "conv", "relu", "dense", "softmax",
    ]  # fmt: skip
    assert net4.fused_softmax and N.example("seed002").fused_softmax


def test_separable_counts_seed003():
    c = N.separable_parameter_counts(in_channels=3, out_channels=8, kernel_size=3)
    assert c == {"conventional": 8 * 3 * 9, "separable": 8 * 3 + 3 * 9}
    assert "15 vs 54" in N.example("lenet_digits").summary()


@pytest.mark.parametrize("name", ["seed002", "seed004"])
def test_gradcheck_seed_networks(name):
    report = N.example(name).gradcheck(batch=2, fd_entries=40)
    assert report["ok"], report
    assert set(report["checks"]) >= {"finite_differences", "reference", "torch"}


SMALL = [
    pytest.param(
        [{"type": "conv", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
          "groups": 2, "dilation": 1}, "tanh", {"type": "avg_pool", "kernel_size": 2,
          "padding": 1, "count_include_pad": False}, "flatten",
         {"type": "dense", "out_features": 3}],
        (2, 7, 7), "softmax_cross_entropy", id="conv-groups-stride-avgpool-excl",
    ),
    pytest.param(
        [{"type": "conv", "out_channels": 2, "kernel_size": 2, "dilation": 2, "flip": True},
         "relu", {"type": "max_pool", "kernel_size": 2, "stride": 1, "ties": "split"},
         {"type": "conv_transpose", "out_channels": 2, "kernel_size": 2, "stride": 2},
         "sigmoid", {"type": "dense", "out_features": 2}, "softmax"],
        (1, 6, 6), "cross_entropy", id="dilated-flip-split-convT",
    ),
    pytest.param(
        [{"type": "conv", "out_channels": 2, "kernel_size": 3, "padding": "same"},
         {"type": "max_pool", "kernel_size": 2, "ceil_mode": True}, "flatten",
         {"type": "dense", "out_features": 2, "bias": False}],
        (1, 5), "l2", id="1d-same-ceil-l2",
    ),
    pytest.param(
        [{"type": "conv", "out_channels": 2, "kernel_size": 2},
         {"type": "avg_pool", "kernel_size": 2}, "flatten", {"type": "dense", "out_features": 3},
         "softmax"],
        (1, 3, 3, 3), "cross_entropy", id="3d",
    ),
]  # fmt: skip


@pytest.mark.parametrize("layers, shape, loss", SMALL)
@pytest.mark.parametrize("kernels", ["codegen", "index_map"])
def test_gradcheck_small_networks(layers, shape, loss, kernels, monkeypatch):
    net = N.network(layers, input_shape=shape, loss=loss, name="small")
    real_module = net.module
    monkeypatch.setattr(net, "module", lambda: real_module(kernels=kernels))
    report = net.gradcheck(batch=2, fd_entries=30)
    assert report["ok"], report


def test_split_ties_and_relu_zero_route_like_reference():
    net = N.network(
        ["relu", {"type": "max_pool", "kernel_size": 2, "ties": "split"}, "flatten"],
        input_shape=(1, 2, 2),
        loss="l2",
    )
    x = np.zeros((1, 1, 2, 2))  # all tied and on the ReLU kink
    for kernels in ("codegen", "index_map"):
        mod = net.module(kernels=kernels)
        _, grads, dx = mod.loss_and_gradients({}, x, np.ones((1, 1)))
        rl, _, rdx = net.reference_gradients({}, x[0], np.ones(1))
        np.testing.assert_array_equal(dx[0], rdx)
        assert not dx.any()  # subgradient 0 at 0


def test_both_kernel_kinds_agree(rng):
    net = N.example("lenet_digits")
    a, b = net.module(kernels="codegen"), net.module(kernels="index_map")
    params = a.init_params(3)
    x = rng.standard_normal((5, 1, 8, 8))
    y = rng.integers(0, 10, 5)
    la, ga, dxa = a.loss_and_gradients(params, x, y)
    lb, gb, dxb = b.loss_and_gradients(params, x, y)
    assert la == pytest.approx(lb, rel=1e-13)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(dxa, dxb, rtol=1e-11, atol=1e-14)


def _imported(tree) -> set:
    """Top-level names of every module an AST imports."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def test_generated_module_needs_only_numpy():
    """The network module and the kernel modules embedded in it import NumPy and, for the
    kernels' worker threads, nothing but the standard library."""
    source = N.example("seed002").codegen()
    assert source.startswith('"""generated by symconv from templates/numpy/network.py.jinja')
    tree = ast.parse(source)
    assert _imported(tree) == {"numpy"}
    embedded = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("# generated by symconv")
    ]
    assert len(embedded) == 4  # the codegen modules of conv1, pool1, conv2, pool2
    for text in embedded:  # worker threads (os, concurrent) only where they pay
        imported = _imported(ast.parse(text))
        assert "numpy" in imported and imported <= {"numpy", "os", "concurrent"}
    mod = N.load_generated(source)
    for name in ("conv1", "pool1", "conv2", "pool2"):
        assert {"forward", "backward"} <= set(vars(getattr(mod, name)))


def test_index_map_kernels_read_the_layer_index_map():
    net = N.example("seed004")
    mod = net.module(kernels="index_map")
    for lay in net.layers:
        if lay.layer is not None:
            want = np.where(
                lay.layer.index_map >= 0, lay.layer.index_map, np.prod(lay.spec.input_size)
            )
            np.testing.assert_array_equal(getattr(mod, f"{lay.name.upper()}_INDEX"), want)


def test_training_steps_reduce_the_loss(rng):
    mod = N.example("seed004").module()
    net = mod.Network(seed=1)
    x = rng.standard_normal((8, 1, 6, 6))
    y = rng.integers(0, 3, 8)
    first = net.loss(x, y)
    for _ in range(30):
        net.train_step(x, y, 0.5)
    assert net.loss(x, y) < 0.5 * first
    assert net.predict(x).shape == (8,)


def test_symbolic_backprop_equals_sympy_diff_and_generated(rng):
    """The per-layer recursion, chained, equals sympy.diff of the composed loss; and the numbers
    equal the generated module's (batch of one)."""
    net = N.network(
        [
            {"type": "conv", "out_channels": 1, "kernel_size": 2},
            "sigmoid",
            {"type": "max_pool", "kernel_size": 2, "stride": 1},
            "flatten",
            {"type": "dense", "out_features": 2},
            "softmax",
        ],
        input_size=(3, 3),
        loss="cross_entropy",
        name="tiny",
    )
    d = net.backprop()
    mod = net.module()
    params = mod.init_params(5)
    x = rng.standard_normal((1, 1, 3, 3))
    t = np.array([[0.0, 1.0]])
    loss, grads, dx = d.numeric_gradients(params, x[0], t[0])
    gl, gg, gdx = mod.loss_and_gradients(params, x, t)
    assert loss == pytest.approx(gl, rel=1e-12)
    for k in gg:
        np.testing.assert_allclose(grads[k], gg[k], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dx, gdx[0], rtol=1e-10, atol=1e-14)
    composed, _ = d.composed()
    vals = dict(zip(d.a[0].reshape(-1), x.reshape(-1)))
    for key, sym in d.params.items():
        vals.update(zip(sym.reshape(-1), params[key].reshape(-1)))
    vals.update(zip(d.target.reshape(-1), t.reshape(-1)))
    for key in ("conv1.w", "fc1.w"):
        for idx in [(0,) * d.params[key].ndim]:
            p = d.params[key][idx]
            want = float(sympy.diff(composed, p).subs(vals))
            assert grads[key][idx] == pytest.approx(want, rel=1e-9)


def test_spec_files_json_and_toml_round_trip(tmp_path):
    net = N.example("seed004")
    path = tmp_path / "net.json"
    path.write_text(json.dumps(net.to_dict()))
    again = N.load_network(path)
    assert [lay.output_shape for lay in again.all_layers] == [
        lay.output_shape for lay in net.all_layers
    ]
    assert again.parameter_count == net.parameter_count
    toml = tmp_path / "net.toml"
    toml.write_text(
        'name = "mlp"\ninput_shape = [4]\nloss = "softmax_cross_entropy"\n'
        '[[layers]]\ntype = "dense"\nout_features = 3\n[[layers]]\ntype = "tanh"\n'
        '[[layers]]\ntype = "fc"\nout_features = 2\n'
    )
    pytest.importorskip("tomllib")
    mlp = N.load_network(toml)
    assert mlp.output_shape == (2,) and mlp.parameter_count == 4 * 3 + 3 + 3 * 2 + 2


@pytest.mark.parametrize(
    "layers, kwargs, message",
    [
        pytest.param(
            [{"type": "convolution", "out_channels": 2, "kernel_size": 3}],
            {},
            "layer 1: type must be one of .* got 'convolution'",
            id="unknown-type",
        ),
        pytest.param(
            [{"type": "conv", "out_channels": 2, "kernal_size": 3}],
            {},
            r"layer 1 \(conv 'conv1'\): parameter 'kernal_size' is unknown",
            id="unknown-parameter",
        ),
        pytest.param(
            ["flatten", {"type": "dense", "out_features": 3, "in_features": 10}],
            {},
            r"layer 2 \(dense 'fc1'\): in_features must equal the previous output size 16 "
            r"\(shape 16\), got 10",
            id="dense-mismatch",
        ),
        pytest.param(
            [{"type": "conv", "out_channels": 2, "kernel_size": 3, "in_channels": 3}],
            {},
            r"layer 1 \(conv 'conv1'\): in_channels must equal the previous output's channels "
            r"1 \(shape 1x4x4\), got 3",
            id="conv-channels",
        ),
        pytest.param(
            ["flatten", {"type": "max_pool", "kernel_size": 2}],
            {},
            r"layer 2 \(max_pool 'maxpool1'\): input must be \(channels, \*spatial\), got the "
            r"vector shape \(16,\)",
            id="pool-after-flatten",
        ),
        pytest.param(
            [{"type": "conv", "out_channels": 2, "kernel_size": 5}],
            {},
            r"layer 1 \(conv 'conv1'\): conv2d: effective kernel 5x5 .* larger than the padded "
            r"input 4x4",
            id="kernel-too-large",
        ),
        pytest.param(
            ["l2", "flatten"],
            {},
            r"layer 1 \(l2\): a loss must be the last layer",
            id="loss-first",
        ),
        pytest.param(
            [{"type": "dense"}],
            {},
            r"layer 1 \(dense 'fc1'\): parameter 'out_features' is required",
            id="missing-required",
        ),
    ],
)
def test_errors_name_layer_parameter_and_value(layers, kwargs, message):
    with pytest.raises(SpecError, match=message):
        N.network(layers, input_size=(4, 4), **kwargs)


def test_cli_summary_codegen_gradcheck_graph_errors(tmp_path, capsys):
    assert main(["network", "--example", "lenet5"]) == 0
    assert "16x5x5 (400)" in capsys.readouterr().out
    out = tmp_path / "net.py"
    assert main(["network", "--example", "seed004", "--codegen", "-o", str(out)]) == 0
    assert "def step(params, grads, lr)" in out.read_text()
    assert main(["network", "--example", "seed004", "--gradcheck"]) == 0
    assert "OK" in capsys.readouterr().out
    dot = tmp_path / "g.dot"
    assert main(["network", "--example", "seed004", "--graph", str(dot)]) == 0
    text = dot.read_text()
    assert text.startswith('digraph "seed004"') and "dL/da(3)" in text and "yhat - y" in text
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input_size": [4, 4], "layers": [{"type": "pool"}]}))
    capsys.readouterr()
    assert main(["network", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: layer 1: type must be one of") and err.count("\n") == 1
    assert main(["network"]) == 2


def test_latex_compiles_with_pdflatex(tmp_path):
    tex = N.example("seed002").latex()
    assert r"\hat y_i - y_i" in tex
    assert r"a^{(3)}_{c,i+m-1,j+n-1}" not in tex  # seed 002's kernels are flipped
    assert r"w^{(4)}_{s,p,m,n}\, a^{(3)}_{p,i-m+3,j-n+3}" in tex
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "net.tex").write_text(tex)
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "net.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "net.pdf").exists()


def test_latex_conv_backward_index_unflipped():
    """u = i + m - 1 (stride 1, no padding) gives dL/da_{u} = sum_m w_m dL/dz_{u-m+1}."""
    net = N.network(
        [{"type": "conv", "out_channels": 1, "kernel_size": 2, "bias": False}],
        input_size=(3, 3),
    )
    tex = net.latex(standalone=False)
    assert r"a^{(0)}_{i+m-1,j+n-1}" in tex
    assert r"\frac{\partial L}{\partial a^{(1)}_{u-m+1,v-n+1}}" in tex
