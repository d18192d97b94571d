"""LaTeX of a whole network: its layer table and backprop recursions (seed 002's summary).

The recursions come as data from :mod:`symconv.nn.recursions` (index names, sums, sizes);
``templates/latex/network.tex.jinja`` and its macros in ``network_layers.tex.jinja`` lay them
out. Shapes are joined as the printer joins them in math mode (:data:`.printer.TIMES`).
"""

from __future__ import annotations

from ..core.spec import dims_text
from ..nn.recursions import layer_recursions, loss_start
from ..templating import render
from .printer import TIMES

__all__ = ["network_latex"]


def network_latex(net, *, standalone: bool = True) -> str:
    """The per-layer backprop recursions of ``net``, instantiated with its sizes, after a
    table of its layers; a full ``article`` document unless ``standalone=False``."""
    rows = [
        {
            "index": lay.index,
            "name": lay.name,
            "kind": lay.kind,
            "shape": dims_text(lay.output_shape, sep=TIMES),
            "params": lay.parameter_count,
        }
        for lay in net.layers
    ]
    return render(
        "latex/network.tex.jinja",
        standalone=standalone,
        net_name=net.name,
        description=net.description,
        input_shape=dims_text(net.input_shape, sep=TIMES),
        rows=rows,
        total=net.parameter_count,
        recursions=layer_recursions(net),
        loss=loss_start(net),
    )
