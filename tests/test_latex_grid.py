"""The compile grid: every document kind (snippet, article, beamer) for 32 layer specs and 8
networks compiles with pdflatex and its log holds no overfull box above 1 pt and no underfull box.

Layers: 1-D, 2-D and 3-D; 2 -> 3 channels with bias; stride 2; 'same'; dilation; groups;
transposed with output_padding; max and avg pools with ceil_mode, count_include_pad, ties and
worked numbers. Networks (:func:`symconv.latex.network.network_latex`, which takes no worked
numbers): the built-in ones (AlexNet's 20 layers, LeNet-5, the 8x8-digits LeNet, seeds 002
and 004), a small conv -> relu -> pool -> dense network with an L2 loss, a 14-layer 1-D network
(strided, grouped and dilated convs, a transposed conv, split ties, an avg pool that does not
count its padding, the fused softmax cross-entropy; the longest layer table one slide holds)
and a 3-D one; their slides compile in both aspect ratios.

Run it alone with ``pytest -k latex_grid``. To save time, pdflatex runs once per document
(``runs=1``: the log of the first run already has every box), the snippets are compiled together
in one article (each snippet starts with a marker, so a box is traced back to its layer), and
the documents compile two at a time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import symconv
from symconv.latex import compile_pdf, render_latex, wrap_snippet
from symconv.latex.network import TABLE_ROWS, network_latex
from symconv.nn.network import example, example_names, network


def _values(layer, *, target=False, ties=False, eta=None):
    """Small deterministic integer worked numbers for a layer (dy, or a target)."""
    spec = layer.spec
    rng = np.random.default_rng(len(spec.x_shape) * 31 + int(np.prod(spec.x_shape)))
    hi = 3 if ties else 9
    out = {"x": rng.integers(-hi, hi + 1, spec.x_shape).tolist()}
    if spec.has_weight:
        out["w"] = rng.integers(-2, 3, spec.w_shape).tolist()
        if spec.bias:
            out["b"] = rng.integers(-2, 3, (spec.w_shape[0 if spec.kind == "conv" else 1],))
            out["b"] = out["b"].tolist()
    key = "target" if target else "dy"
    out[key] = rng.integers(-3, 4, spec.y_shape).tolist()
    if eta is not None:
        out["eta"] = eta
    return out


def _grid():
    c, ct, mp, ap = symconv.conv, symconv.conv_transpose, symconv.max_pool, symconv.avg_pool
    specs = {
        "c1-5-k3": (c((5,), 3), None),
        "c1-9-k3-d2": (c((9,), 3, dilation=2), None),
        "c1-8-k3-s2-p1-num": (c((8,), 3, stride=2, padding=1), {}),
        "c2-seed000": (c((3, 3), 2), None),
        "c2-seed000-num": (c((3, 3), 2), {"target": True, "eta": "1/2"}),
        "c2-4-k3-s2-p1-o2-bias": (
            c((4, 4), 3, stride=2, padding=1, out_channels=2, bias=True),
            None,
        ),
        "c2-5-k3-2to2-same": (c((5, 5), 3, in_channels=2, out_channels=2, padding="same"), None),
        "c2-5-k3-2to3-bias-s2-num": (
            c((5, 5), 3, in_channels=2, out_channels=3, stride=2, bias=True),
            {},
        ),
        "c2-4-k2-2to3-bias-num": (
            c((4, 4), 2, in_channels=2, out_channels=3, bias=True),
            {"eta": "1/10"},
        ),
        "c2-6-k3-d2": (c((6, 6), 3, dilation=2), None),
        "c2-4-k2-groups2": (c((4, 4), 2, in_channels=2, out_channels=2, groups=2), {}),
        "c2-5-k3-same-num": (c((5, 5), 3, padding="same"), {}),
        "c2-7-k3-s2": (c((7, 7), 3, stride=2), None),
        "c2-3-k2-flip-num": (c((3, 3), 2, flip=True), {}),
        "c3-3-k2": (c((3, 3, 3), 2), None),
        "c3-4-k3-s2-p1": (c((4, 4, 4), 3, stride=2, padding=1), None),
        "ct2-2-k3-s2": (ct((2, 2), 3, stride=2), None),
        "ct2-3-k3-s2-p1-op1": (ct((3, 3), 3, stride=2, padding=1, output_padding=1), None),
        "ct1-4-k3-s2-op1-num": (ct((4,), 3, stride=2, output_padding=1), {}),
        "ct2-2-k2-2to3-bias-num": (
            ct((2, 2), 2, in_channels=2, out_channels=3, bias=True),
            {},
        ),
        "mp2-4-k2-num": (mp((4, 4), 2), {}),
        "mp2-5-k2-ceil-num": (mp((5, 5), 2, stride=2, ceil_mode=True), {}),
        "mp2-5-k3-s2-p1-num": (mp((5, 5), 3, stride=2, padding=1), {}),
        "mp1-7-k3-s2": (mp((7,), 3, stride=2), None),
        "mp3-4-k2": (mp((4, 4, 4), 2), None),
        "mp2-4-k2-split-num": (mp((4, 4), 2, stride=1, ties="split"), {"ties": True}),
        "ap2-5-k3-s2-p1": (ap((5, 5), 3, stride=2, padding=1), None),
        "ap2-5-k3-s2-p1-nopad-num": (
            ap((5, 5), 3, stride=2, padding=1, count_include_pad=False),
            {},
        ),
        "ap2-5-k2-ceil-num": (ap((5, 5), 2, stride=2, ceil_mode=True), {}),
        "ap1-6-k2": (ap((6,), 2), None),
        "ap2-4-k2-2ch-num": (ap((4, 4), 2, channels=2), {"target": True}),
        "c2-32-k5-o6-bias-lenet": (c((32, 32), 5, out_channels=6, bias=True), None),
    }
    return {
        name: (symconv.derive(layer), None if opts is None else _values(layer, **opts))
        for name, (layer, opts) in specs.items()
    }


def _networks():
    nets = {f"net-{name}": example(name) for name in example_names()}
    nets["net-conv-relu-pool-dense-l2"] = network(
        [
            {"type": "conv", "out_channels": 2, "kernel_size": 3, "bias": True},
            "relu",
            {"type": "max_pool", "kernel_size": 2},
            "flatten",
            {"type": "dense", "out_features": 3},
        ],
        (6, 6),
        loss="l2",
        name="small_cnn",
        description="conv -> relu -> pool -> dense, L2 loss",
    )
    nets["net-conv1d-14-layers"] = network(
        [
            {"type": "conv", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
            "tanh",
            {"type": "max_pool", "kernel_size": 2, "ties": "split"},
            {"type": "conv", "out_channels": 4, "kernel_size": 3, "groups": 2, "dilation": 2},
            "sigmoid",
            {
                "type": "avg_pool",
                "kernel_size": 3,
                "stride": 1,
                "padding": 1,
                "count_include_pad": False,
            },
            {"type": "conv_transpose", "out_channels": 2, "kernel_size": 2, "stride": 2},
            "relu",
            "flatten",
            {"type": "dense", "out_features": 8},
            "tanh",
            {"type": "dense", "out_features": 6},
            "relu",
            {"type": "dense", "out_features": 4},
        ],
        (32,),
        2,
        loss="softmax_cross_entropy",
        name="conv1d_net",
    )
    nets["net-conv3d"] = network(
        [
            {"type": "conv", "out_channels": 2, "kernel_size": 2, "bias": True},
            {"type": "max_pool", "kernel_size": 2, "stride": 1},
            "flatten",
            {"type": "dense", "out_features": 2},
        ],
        (4, 4, 4),
        loss="l2",
        name="conv3d_net",
    )
    return nets


GRID = _grid()
NETWORKS = _networks()
DOCUMENTS = ("snippet", "article", "beamer")

_BOX_RE = re.compile(
    r"^(Overfull|Underfull) \\([hv])box \((?:([\d.]+)pt too (?:wide|high)|badness (\d+))\)"
    r"(.*)$",
    re.M,
)
_LINES_RE = re.compile(r"at lines? (\d+)")


def bad_boxes(log: str, tolerance: float = 1.0) -> list:
    """Box warnings of a pdflatex log that a reader would see: every overfull box more than
    ``tolerance`` pt too wide or high, and every underfull box (its badness), as
    ``(line or None, message)``."""
    out = []
    for m in _BOX_RE.finditer(log):
        kind, pts = m.group(1), m.group(3)
        if kind == "Overfull" and float(pts) <= tolerance:
            continue
        line = _LINES_RE.search(m.group(5))
        out.append((int(line.group(1)) if line else None, m.group(0).strip()))
    return out


def _have(*files) -> bool:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(["kpsewhich", *files], capture_output=True, text=True).stdout
    return len(found.split()) == len(files)


def _render(name, document, aspect="169"):
    if name in NETWORKS:
        return network_latex(NETWORKS[name], document=document, aspect=aspect)
    deriv, values = GRID[name]
    return render_latex(deriv, document=document, values=values, title=name)


def _snippets_together(tmp: Path, names) -> dict:
    """The snippets of ``names`` in one article; boxes traced back to the snippet's lines."""
    bodies = []
    for name in names:
        body = f"\\clearpage\n% grid: {name}\n" + _render(name, "snippet")
        bodies.append(body)
    tex = wrap_snippet("\n".join(bodies))
    pdf = compile_pdf(tex, tmp / f"snippets-{names[0]}.pdf", runs=1)
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    found = {name: [] for name in names}
    src = tex.splitlines()
    for at, msg in bad_boxes(log):
        owner = "?"
        if at is not None:
            owner = next(
                (
                    src[i].split(": ", 1)[1]
                    for i in range(at - 1, -1, -1)
                    if src[i].startswith("% grid: ")
                ),
                "?",
            )
        found.setdefault(owner, []).append(msg)
    return {f"snippet/{k}": v for k, v in found.items()}


def _one(tmp: Path, name: str, document: str, aspect: str):
    key = f"{document}{'' if aspect == '169' else '-' + aspect}/{name}"
    path = tmp / f"{key.replace('/', '-')}.pdf"
    pdf = compile_pdf(_render(name, document, aspect), path, runs=1)
    log = pdf.with_suffix(".log").read_text(encoding="latin-1")
    return key, [msg for _, msg in bad_boxes(log)]


def compile_grid(tmp: Path, documents=DOCUMENTS, names=tuple(GRID)) -> dict:
    """``{'document/name': [box messages]}`` for the layers or networks ``names`` (a
    network's slides are also compiled in 4:3, as ``'beamer-43/name'``)."""
    names = list(names)
    jobs = [(n, d, "169") for d in documents if d != "snippet" for n in names]
    if "beamer" in documents:
        jobs += [(n, "beamer", "43") for n in names if n in NETWORKS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_one, tmp, n, d, a) for n, d, a in jobs]
        out = _snippets_together(tmp, names) if "snippet" in documents else {}
        out.update(f.result() for f in futures)
    return out


def test_latex_grid_has_at_least_30_specs():
    assert len(GRID) >= 30
    kinds = {d.spec.kind for d, _ in GRID.values()}
    assert kinds == {"conv", "conv_transpose", "max_pool", "avg_pool"}
    assert {d.spec.ndim for d, _ in GRID.values()} == {1, 2, 3}


def test_latex_grid_networks_cover_the_builtins_1d_and_a_full_table_slide():
    assert {f"net-{n}" for n in example_names()} <= set(NETWORKS)
    assert {len(net.input_shape) - 1 for net in NETWORKS.values()} == {1, 2, 3}
    kinds = {lay.kind for net in NETWORKS.values() for lay in net.layers}
    assert {"conv", "conv_transpose", "max_pool", "avg_pool", "dense", "softmax"} <= kinds
    assert {net.loss.kind for net in NETWORKS.values()} == {
        "l2",
        "cross_entropy",
        "softmax_cross_entropy",
    }
    assert TABLE_ROWS in {len(net.layers) for net in NETWORKS.values()}


@pytest.mark.skipif(
    not _have("beamer.cls", "pgfcore.sty"), reason="needs pdflatex, beamer and pgf"
)
def test_latex_grid_compiles_without_box_warnings(tmp_path):
    found = compile_grid(tmp_path)
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.skipif(
    not _have("beamer.cls", "booktabs.sty"), reason="needs pdflatex, beamer and booktabs"
)
def test_latex_grid_networks_compile_without_box_warnings(tmp_path):
    found = compile_grid(tmp_path, names=NETWORKS)
    assert len(found) == 4 * len(NETWORKS)
    assert {k: v for k, v in found.items() if v} == {}


if (
    __name__ == "__main__"
):  # exploration: python tests/test_latex_grid.py [networks] [document ...]
    import sys
    import tempfile
    import time

    args = sys.argv[1:]
    names = NETWORKS if args[:1] == ["networks"] else GRID
    documents = tuple(a for a in args if a != "networks") or DOCUMENTS
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        res = compile_grid(Path(d), documents, names)
    for k, v in res.items():
        if v:
            print(k, len(v), *v[:4], sep="\n  ")
    print(f"{sum(map(len, res.values()))} boxes, {time.time() - t0:.0f} s")
