"""Document assembly: :func:`render_latex` builds the frames a layer needs and hands them to
``templates/latex/<document>.tex.jinja``.

The pipeline reads top to bottom: the options are checked (:mod:`.options`), a
:class:`~.frames.FrameContext` prepares the derivation (and its worked numbers), each chosen
part's builder (:data:`.frames.BUILDERS`) returns plain data (lists of equations, sums split
into lines, matrices as rows of cells, all elided to a readable size), and the templates lay
it out.
"""

from __future__ import annotations

from ..core import budget
from ..core.derive import Derivation, derive
from ..core.errors import SpecError
from ..core.layers import Layer
from ..templating import render
from .frames import BUILDERS, FrameContext
from .handout import handout_overlays, handout_preamble
from .frames.setup import layer_subtitle, layer_title, spatial_letters, weight_indices
from .layout import Eq, chunks
from .options import PAGE_LINES, document_options, document_texts
from .pictures import document_pictures, wants_pictures

__all__ = ["PARTS", "render_latex"]

#: The parts of a document, in order. Pools have no grad_w/grad_b/update; convs no routing;
#: the results (the final matrices) need worked numbers.
PARTS = tuple(BUILDERS)


def _applies(part, spec) -> bool:
    if part in ("grad_w", "update"):
        return spec.has_weight
    if part == "grad_b":
        return spec.bias
    if part == "routing":
        return spec.is_pool
    return True


def _chosen_parts(parts, spec) -> list:
    """The parts asked for (a list or a comma-separated string; default: all) that apply."""
    applicable = [p for p in PARTS if _applies(p, spec)]
    if parts is None:
        return applicable
    if isinstance(parts, str):
        parts = [p.strip() for p in parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise SpecError(f"latex: parts must be among {PARTS}, got {bad[0]!r}")
    return [p for p in applicable if p in parts]


def list_lines(eq) -> float:
    """The display lines an equation of a list takes on a page: each line of each step, twice
    for a line with a fraction (dots: one)."""
    if eq is None:
        return 1.0
    total = 0.0
    for k, step in enumerate(eq.steps):
        frac = any("\\frac" in t.tex for line in step.lines for t in line)
        frac = frac or (k == 0 and "\\frac" in eq.lhs)
        total += len(step.lines) * (2.0 if frac else 1.0)
    return total


def _fit_lists(ctx, data, chosen) -> None:
    """An article elides only what does not fit its page: a part whose list was cut to
    ``max_entries`` is built again whole when all its entries fit :data:`PAGE_LINES`."""
    for name in chosen:
        part = data.get(name)
        if not isinstance(part, dict) or not part.get("elided") or not part.get("n"):
            continue
        eqs = next(
            (
                v
                for v in part.values()
                if isinstance(v, list) and any(isinstance(e, Eq) for e in v)
            ),
            None,
        )
        if eqs is None:
            continue
        shown = [e for e in eqs if e is not None]
        if sum(map(list_lines, shown)) / len(shown) * part["n"] > PAGE_LINES:
            continue
        limit = ctx.opts.max_entries
        ctx.opts.max_entries = part["n"]
        try:
            data[name] = BUILDERS[name](ctx)
        finally:
            ctx.opts.max_entries = limit


def render_latex(
    derivation,
    *,
    document: str = "snippet",
    parts=None,
    notation="seed000",
    convention: str = "row",
    aspect: str = "169",
    max_entries: int | None = None,
    max_terms: int | None = None,
    max_matrix: int | None = None,
    values: dict | None = None,
    title: str | None = None,
    figures: bool | None = None,
    subtitle: str | None = None,
    author: str | None = None,
    institute: str | None = None,
    date: str | None = None,
    handout: int | bool = False,
) -> str:
    """LaTeX of a derivation: ``document`` is ``'snippet'`` (body only), ``'article'`` or
    ``'beamer'`` (slides in seed 000's step-by-step style, ``aspect`` '169' or '43').

    ``parts`` selects from :data:`PARTS` (default all that apply to the layer). ``notation`` is
    a preset of :data:`symconv.symbols.NOTATIONS` (seed000: x, w, y, E; seed001: X, F, O, L;
    seed003: Y, w, z, Div). ``convention`` is ``'row'`` (the slides' x W = y) or ``'column'``
    (vec y = T vec x). Lists longer than ``max_entries``, sums longer than ``max_terms`` and
    matrices larger than ``max_matrix`` rows/columns are elided with dots and a note; ``None``
    takes the document's default (:data:`symconv.latex.options.LIMITS`: 16, 25, 10 for the
    snippet and article, 9, 25, 7 on slides, W and the final results 10). An article elides
    only what does not fit its page: W and the final results are whole up to 40 rows and 16
    columns, and a list longer than 16 entries is whole when it fits one page; its notes speak
    to the reader, never of options. Elision keeps the entries that carry the lesson (the
    first, the last, routed max-pool gradients).

    ``values`` adds worked numbers: a dict with ``x``, ``w`` (conv), optional ``b``, and
    ``target`` (yhat, for the L2 loss) or ``dy`` (the upstream gradient), optional ``eta``
    (learning rate, else kept symbolic). Ints, Fractions and ``'p/q'`` strings stay exact.

    ``figures`` adds pictures drawn from the index map (:mod:`symconv.figures`): the window
    sliding over the input, W's pattern, dE/dx and dE/dw read off their operands, a pool's
    routing. ``None`` (default) draws them in the article and the deck, not in a snippet.

    ``title``, ``subtitle``, ``author``, ``institute`` and ``date`` fill the title (page) of an
    article or a deck; each is printed verbatim (LaTeX's special characters are escaped, see
    :func:`symconv.latex.options.escape_text`). Defaults: the layer as the title (and on slides
    as the subtitle), "symconv" as the author, no institute, no date.

    ``handout`` (slides only) prints the deck: Beamer's handout mode, every frame on one page
    in the state of its last slide (:mod:`symconv.latex.handout`), ``2`` (or ``True``) slides
    per A4 page, or ``1`` or ``4``.
    """
    if isinstance(derivation, Layer):
        derivation = derive(derivation)
    if not isinstance(derivation, Derivation):
        raise SpecError(f"latex: expected a Derivation (symconv.derive(...)), got {derivation!r}")
    budget.check_document(derivation.spec)
    opts = document_options(
        document, notation, convention, aspect, max_entries, max_terms, max_matrix
    )
    texts = document_texts(
        "latex", title=title, subtitle=subtitle, author=author, institute=institute, date=date
    )
    if handout is True:
        handout = 2
    if handout and document != "beamer":
        raise SpecError(f"latex: handout applies to document 'beamer' only, got {document!r}")
    handout_lines = handout_preamble(handout) if handout else ""
    spec = derivation.spec
    chosen = _chosen_parts(parts, spec)
    ctx = FrameContext(derivation, opts, values)
    pictures = document_pictures(ctx, chosen) if wants_pictures(figures, document) else None
    data = {name: build(ctx) if name in chosen else None for name, build in BUILDERS.items()}
    if document == "article" and max_entries is None:
        _fit_lists(ctx, data, chosen)
    data.update(
        document=document,
        parts=chosen,
        spec=spec,
        nt=opts.notation,
        aspect=opts.aspect,
        numbers=ctx.num is not None,
        title=texts["title"] or f"Gradients of a {layer_title(spec)}",
        layer_repr=repr(spec),
        subtitle=layer_subtitle(spec) if texts["subtitle"] is None else texts["subtitle"],
        user_subtitle=texts["subtitle"],
        author="symconv" if texts["author"] is None else texts["author"],
        institute=texts["institute"] or "",
        date=texts["date"] or "",
        chunks=lambda eqs, which: chunks(eqs, which, opts.frame_lines),
        frame_rows=opts.frame_rows or 10**6,
        max_entries=opts.max_entries,
        max_terms=opts.max_terms,
        max_matrix=opts.max_matrix,
        base=derivation.index_base,
        loss_symbol=opts.notation.loss,
        has_eta=bool(ctx.num and ctx.num["eta"] is not None),
        wij=weight_indices(spec, ctx.ws[0], ctx.commas) if ctx.ws else "",
        ij=ctx.idx(spatial_letters(spec)),
        b_s="_{s}" if spec.has_weight and spec.out_channels > 1 else "",
        pictures=pictures["pictures"] if pictures else {},
        picture_preamble=pictures["preamble"] if pictures else "",
        picture_notes=pictures["notes"] if pictures else {},
        padded=any(lo or hi for lo, hi in spec.padding),
        strided=any(s > 1 for s in spec.stride),
    )
    data.update(handout=bool(handout), handout_preamble=handout_lines)
    tex = render(f"latex/{document}.tex.jinja", **data)
    return handout_overlays(tex) if handout else tex
