"""LaTeX of a whole network: its layer table and backprop recursions (seed 002's summary).

The recursions come as data from :mod:`symconv.nn.recursions` (index names, sums, sizes);
``templates/latex/network.tex.jinja`` and its macros in ``network_layers.tex.jinja`` lay them
out. Shapes are joined as the printer joins them in math mode (:data:`.printer.TIMES`).

Every document kind of :func:`symconv.latex.render_latex` is offered: ``'snippet'`` (a body to
paste into a document that loads amsmath and amssymb; booktabs is optional), ``'article'`` and
``'beamer'``. The slides follow the layer decks' policy: nothing is scaled, what does not fit a
frame goes to the next one (:data:`TABLE_ROWS`, :data:`FORWARD_ROWS`), and a layer's backward
rules get a frame of their own.
"""

from __future__ import annotations

from ..core.errors import SpecError
from ..core.spec import dims_text
from ..nn.recursions import layer_recursions, loss_start
from ..templating import render
from .layout import FRAME_LINES
from .options import ASPECTS, DOCUMENTS, document_texts, escape_text
from .printer import TIMES

__all__ = ["network_latex", "TABLE_ROWS", "FORWARD_ROWS"]

#: Layer-table rows per slide (\small rows; the header, the input and the total fit beside).
TABLE_ROWS = 14
#: Forward rules per slide (the loss counts as one): sums and fractions in display style stand
#: about two lines tall, and a rule's note may drop to a line of its own on a narrow slide.
FORWARD_ROWS = int(FRAME_LINES // 3.0)


def _chunks(items, size: int) -> list:
    """``items`` in as few parts of at most ``size`` as possible, of lengths differing by one at
    most (21 rules at 5 a frame give 5 + 4 + 4 + 4 + 4, not 5 + 5 + 5 + 5 + 1)."""
    parts = max(1, -(-len(items) // size))
    short, extra = divmod(len(items), parts)
    bounds = [k * short + min(k, extra) for k in range(parts + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def network_latex(
    net,
    *,
    document: str | None = None,
    standalone: bool = True,
    aspect: str = "169",
    title: str | None = None,
    subtitle: str | None = None,
    author: str | None = None,
    institute: str | None = None,
    date: str | None = None,
) -> str:
    """The per-layer backprop recursions of ``net``, instantiated with its sizes, after a
    table of its layers.

    ``document`` is ``'article'`` (a full document), ``'snippet'`` (its body, no preamble) or
    ``'beamer'`` (slides: the table, the forward pass, one frame per layer's backward rules,
    ``aspect`` ``'169'`` or ``'43'``). Without ``document``, ``standalone=False`` (the keyword
    of :meth:`Network.latex <symconv.nn.network.Network.latex>`) means ``'snippet'``.

    ``title`` (default "Backpropagation through <name>"), ``subtitle`` (default the network's
    description), ``author`` (default "symconv" on slides), ``institute`` and ``date`` are
    printed verbatim (LaTeX's special characters escaped); a snippet shows its title as a
    heading and leaves the others out."""
    if document is None:
        document = "article" if standalone else "snippet"
    if document not in DOCUMENTS:
        raise SpecError(f"network latex: document must be one of {DOCUMENTS}, got {document!r}")
    aspect = str(aspect).replace(":", "")
    if aspect not in ASPECTS:
        raise SpecError(f"network latex: aspect must be '169' or '43', got {aspect!r}")
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
    texts = document_texts(
        "network latex",
        title=title,
        subtitle=subtitle,
        author=author,
        institute=institute,
        date=date,
    )
    recursions, loss = layer_recursions(net), loss_start(net)
    return render(
        "latex/network.tex.jinja",
        document=document,
        aspect=aspect,
        net_name=net.name,
        description=net.description,
        input_shape=dims_text(net.input_shape, sep=TIMES),
        rows=rows,
        table_frames=_chunks(rows, TABLE_ROWS),
        total=net.parameter_count,
        recursions=recursions,
        forward_frames=_chunks(recursions + ([loss] if loss else []), FORWARD_ROWS),
        loss=loss,
        texts=texts,
        escape=escape_text,
    )
