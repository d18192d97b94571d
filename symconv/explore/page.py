"""The explorer page: one self-contained HTML file (inline CSS, SVG drawn by a small script, the
data as embedded JSON), for one layer or a sweep over some of its parameters.

    >>> import symconv
    >>> page = symconv.explore(symconv.conv((4, 4), 3, padding=1))
    >>> page.save("layer.html")  # doctest: +SKIP

The numbers and the index arithmetic come from Python (:mod:`symconv.explore.data`); the script
in ``templates/html/explore.html.jinja`` only draws the grids and lights cells.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path

from .._version import __version__
from ..core.errors import SpecError, SymconvError
from ..core.layers import Layer
from ..fileio import write_atomic
from ..figures.palette import ROLES, TAP_COLOURS, style
from ..templating import render
from .data import LIMITS, check_size, layer_data

__all__ = ["Explorer", "explore", "SWEEPABLE"]

#: Parameters a sweep may vary (those of :meth:`symconv.LayerSpec.replace`).
SWEEPABLE = (
    "input_size",
    "kernel_size",
    "in_channels",
    "out_channels",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "flip",
    "output_padding",
    "ceil_mode",
    "count_include_pad",
    "ties",
)
#: At most this many combinations in one sweep page.
MAX_COMBINATIONS = 16


class Explorer:
    """An explorer page: :attr:`html` is the document, :meth:`save` writes it, and Jupyter or
    VS Code notebooks show it inline (:meth:`_repr_html_`, in a sandboxed iframe so that several
    pages in one notebook do not share element ids)."""

    def __init__(self, combos: list, sweep: dict):
        self.combos = combos
        self.sweep = sweep

    @property
    def html(self) -> str:
        payload = {"sweep": self.sweep, "combos": self.combos}
        blob = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        blob = blob.replace("</", "<\\/")
        title = next((c["data"]["title"] for c in self.combos if c["data"]), "symconv explore")
        return render(
            "html/explore.html.jinja",
            title=html.escape(title),
            data=blob,
            version=__version__,
            limits=LIMITS,
            roles=ROLES,
            tap_colours=json.dumps(list(TAP_COLOURS)),
            dark_taps=json.dumps(
                [c for c in TAP_COLOURS if style("tap%d" % TAP_COLOURS.index(c)).text != "#000000"]
            ),
        )

    def save(self, path) -> Path:
        """Write the page (atomically) and return its path."""
        path = Path(path)
        write_atomic(path, self.html)
        return path

    def _repr_html_(self) -> str:
        doc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:760px;border:1px solid #ccc" '
            'sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Explorer({len(self.combos)} layer{'s' if len(self.combos) != 1 else ''})"


def _sweep_values(sweep) -> dict:
    if sweep is None:
        return {}
    if not isinstance(sweep, dict):
        raise SpecError(f"explore: sweep must be a dict of parameter -> values, got {sweep!r}")
    out = {}
    for name, values in sweep.items():
        if name not in SWEEPABLE:
            raise SpecError(f"explore: sweep parameter must be one of {SWEEPABLE}, got {name!r}")
        if not isinstance(values, (list, tuple)) or not values:
            raise SpecError(
                f"explore: sweep values of {name} must be a non-empty list, got {values!r}"
            )
        out[name] = list(values)
    total = 1
    for values in out.values():
        total *= len(values)
    if total > MAX_COMBINATIONS:
        raise SpecError(
            f"explore: a sweep must have at most {MAX_COMBINATIONS} combinations, got {total}"
        )
    return out


def _label(value) -> str:
    if isinstance(value, tuple):
        return "x".join(_label(v) for v in value)
    return str(value)


def _combo(layer, values, index_base) -> dict:
    """One combination's data, or its error message (a sweep may hold invalid layers)."""
    try:
        return {"data": layer_data(layer, values, index_base), "error": None, "note": None}
    except SpecError as exc:
        if values and values.get("dy") is not None:
            rest = {k: v for k, v in values.items() if k != "dy"}
            try:
                data = layer_data(layer, rest, index_base)
            except SymconvError:
                return {"data": None, "error": str(exc), "note": None}
            note = "the dE/dy numbers do not fit this output size; gradients are symbolic"
            return {"data": data, "error": None, "note": note}
        raise


def explore(layer, values=None, *, sweep=None, index_base: int = 1) -> Explorer:
    """An interactive page of a layer: forward window, dE/dx, dE/dw, dE/db, W, pooling routes
    and transposed stamps, linked to each other.

    ``values`` maps ``x``, ``w``, ``b``, ``dy`` to worked numbers (nested lists, NumPy arrays,
    Fractions) shown in the cells and the formulas. ``sweep`` maps layer parameters (see
    :data:`SWEEPABLE`) to lists of values: the page embeds every combination (at most
    :data:`MAX_COMBINATIONS`) and offers selectors instead of recomputing anything. A layer
    larger than :data:`symconv.explore.data.LIMITS` (16x16 inputs, 4 channels) is refused.
    """
    if not isinstance(layer, Layer):
        raise SpecError(
            f"explore: layer must be a symconv layer (from symconv.conv, ...), got {layer!r}"
        )
    if index_base not in (0, 1):
        raise SpecError(f"explore: index_base must be 0 or 1, got {index_base!r}")
    sweep = _sweep_values(sweep)
    if not sweep:
        check_size(layer)
        return Explorer([{"key": [], **_combo(layer, values, index_base)}], {})
    names = list(sweep)
    combos = []
    for choice in itertools.product(*(range(len(sweep[n])) for n in names)):
        changes = {n: sweep[n][k] for n, k in zip(names, choice)}
        try:
            variant = Layer(layer.spec.replace(**changes))
            check_size(variant)
        except SpecError as exc:
            combos.append({"key": list(choice), "data": None, "error": str(exc), "note": None})
            continue
        try:
            combos.append({"key": list(choice), **_combo(variant, values, index_base)})
        except SpecError as exc:
            combos.append({"key": list(choice), "data": None, "error": str(exc), "note": None})
    if all(c["data"] is None for c in combos):
        raise SpecError(
            f"explore: no combination of the sweep is a valid layer: {combos[0]['error']}"
        )
    labels = {n: [_label(v) for v in sweep[n]] for n in names}
    return Explorer(combos, {"names": names, "labels": labels})
