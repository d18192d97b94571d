"""The computation graph of a network (seed 004) as Graphviz DOT, and pictures of it.

Tensors are ellipses (``x``, ``a(1)``, ...), operations boxes, parameters notes; the backward
pass adds the reverse-mode edges carrying ``dL/da(l)`` (red, dashed). :func:`write_graph`
writes the DOT file and, when Graphviz's ``dot`` is installed, an SVG/PNG/PDF picture.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ..core.errors import SpecError
from ..core.spec import dims_text

__all__ = ["to_dot", "write_graph"]


def to_dot(net, *, backward: bool = True) -> str:
    """The DOT text of ``net``'s graph; ``backward`` adds the gradient edges."""
    lines = [
        f"digraph {json.dumps(net.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f'  a0 [shape=ellipse, label="x\\n{dims_text(net.input_shape)}"];',
    ]
    for lay in net.layers:
        l = lay.index
        detail = lay.describe()
        label = f"{lay.name}\\n{lay.kind}" + (f"\\n{detail}" if detail else "")
        lines.append(f'  op{l} [shape=box, style=filled, fillcolor="#dde8f7", label="{label}"];')
        lines.append(f'  a{l} [shape=ellipse, label="a({l})\\n{dims_text(lay.output_shape)}"];')
        lines.append(f"  a{l - 1} -> op{l};")
        lines.append(f"  op{l} -> a{l};")
        for key, shape in lay.params:
            pid = key.replace(".", "_")
            lines.append(f'  {pid} [shape=note, label="{key}\\n{dims_text(shape)}"];')
            lines.append(f"  {pid} -> op{l};")
    n = len(net.layers)
    if net.loss is not None:
        lines.append('  target [shape=ellipse, label="y (target)"];')
        lines.append(
            f'  loss [shape=box, style=filled, fillcolor="#f7e0dd", label="{net.loss.kind}"];'
        )
        lines.append('  L [shape=doublecircle, label="L"];')
        lines.append(f"  a{n} -> loss;")
        lines.append("  target -> loss;")
        lines.append("  loss -> L;")
    if backward:
        red = 'color="#c0392b", fontcolor="#c0392b", style=dashed, constraint=false'
        if net.loss is not None:
            start = "yhat - y" if net.fused_softmax else f"dL/da({n})"
            lines.append(f'  L -> a{n} [{red}, label="{start}"];')
        for lay in reversed(net.layers):
            l = lay.index
            lines.append(f'  a{l} -> op{l} [{red}, label="dL/da({l})"];')
            lines.append(f'  op{l} -> a{l - 1} [{red}, label="dL/da({l - 1})"];')
            for key, _ in lay.params:
                pid = key.replace(".", "_")
                lines.append(f'  op{l} -> {pid} [{red}, label="dL/d{key}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(net, path) -> list:
    """Write DOT to ``path`` (``.dot``/``.gv``) or, for ``.svg``/``.png``/``.pdf``, DOT next to
    it plus the picture when Graphviz's ``dot`` is installed. Returns the files written."""
    path = Path(path)
    dot_text = to_dot(net)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv", ""):
        path.write_text(dot_text, encoding="utf-8")
        return [path]
    if suffix not in (".svg", ".png", ".pdf"):
        raise SpecError(
            f"--graph: file must end in .dot, .gv, .svg, .png or .pdf, got {str(path)!r}"
        )
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(dot_text, encoding="utf-8")
    exe = shutil.which("dot")
    if exe is None:
        return [dot_path]
    subprocess.run([exe, f"-T{suffix[1:]}", str(dot_path), "-o", str(path)], check=True)
    return [dot_path, path]
