"""Pictures for a LaTeX document: the deck and the article ask for figures by name (which kind,
at which positions) and receive TikZ to place, without importing this stage.

:func:`document_pictures` is registered by the facade as the ``document_pictures`` printer
(:mod:`symconv._hooks`); the LaTeX stage decides which pictures a document shows and where
(:mod:`symconv.latex.pictures`), this module only draws them. Embedded pictures have no bold
heading line: the frame title or the figure caption names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .figure import Figure, figure
from .tikz import tikz_preamble

__all__ = ["PictureRequest", "document_pictures"]


@dataclass(frozen=True)
class PictureRequest:
    """One picture a document asks for: a figure ``kind`` at ``positions`` (flat indices of
    the output for ``window`` and ``transpose-conv``, of the input for ``grad-input`` and
    ``transpose``, of the kernel for ``grad-weight``; ``()`` for the kinds without a
    position). Several positions make one
    Beamer overlay per position when ``overlays`` is set, else one picture each. ``fit`` is
    ``(width_cm, height_cm, grow)``, the box the document fits the picture into (``toeplitz``
    keeps its texts readable in it)."""

    kind: str
    positions: tuple = ()
    overlays: bool = False
    fit: tuple = ()


def _shape(spec, kind):
    return {
        "window": spec.output_size,
        "grad-input": spec.input_size,
        "grad-weight": spec.kernel_size,
        "transpose": spec.input_size,
        "transpose-conv": spec.output_size,
    }.get(kind)


def document_pictures(
    layer,
    requests: dict,
    *,
    values=None,
    index_base: int = 1,
    convention: str = "row",
    notation=None,
) -> dict:
    """``{"preamble": the lines the pictures need, "pictures": {name: TikZ}}`` for the
    :class:`PictureRequest` (or its fields as a tuple) of each name. ``values`` are the
    document's worked numbers (``x``, ``w``, ``b``, ``dy``) or ``None``; ``notation`` the
    document's notation preset, whose letters the pictures' labels and titles use."""
    spec = layer.spec
    pictures = {}
    for name, req in requests.items():
        if not isinstance(req, PictureRequest):
            req = PictureRequest(*req)
        options = dict(values=values, index_base=index_base, heading=False, notation=notation)
        if req.kind == "toeplitz":
            options["convention"] = convention
            if req.fit:
                options["fit"] = tuple(req.fit)
        shape = _shape(spec, req.kind)
        if shape is None:
            fig = figure(layer, req.kind, **options)
        else:
            scenes = []
            for flat in req.positions:
                position = tuple(int(p) + index_base for p in np.unravel_index(flat, shape))
                scenes += figure(layer, req.kind, position=position, **options).scenes
            fig = Figure(req.kind, scenes, spec.describe())
        if req.overlays and len(fig) > 1:
            pictures[name] = fig.tikz(standalone=False, overlays=True)
        else:
            pictures[name] = fig.tikz(standalone=False)
    return {"preamble": tikz_preamble(), "pictures": pictures}
