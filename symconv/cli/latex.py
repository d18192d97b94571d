"""``symconv latex``: the derivation of a layer as a LaTeX snippet, article or Beamer deck,
optionally with worked numbers, compiled to PDF and rendered to PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import add_layer_options, layer_from_args
from ..core.derive import derive
from ..core.symbols import NOTATIONS
from ..fileio import check_folder, write_atomic
from ..latex.compile import compile_pdf, pdf_to_png
from ..latex.document import PARTS, render_latex
from ..latex.options import ASPECTS, DOCUMENTS
from ..latex.values import VALUE_KEYS, LatexValueError, parse_values_text

__all__ = ["register", "add_text_options", "text_options"]

#: The worked-number options and their help.
_VALUE_HELP = (
    ("x", "input"),
    ("w", "weights"),
    ("b", "bias"),
    ("target", "target yhat (L2 loss)"),
    ("dy", "upstream gradient dE/dy (instead of --target)"),
    ("eta", "learning rate (default: symbolic eta)"),
)


def add_text_options(p, default_title: str, default_subtitle: str) -> None:
    """``--title``, ``--subtitle``, ``--author``, ``--institute``, ``--date``: the title page's
    texts, printed verbatim (LaTeX's special characters are escaped)."""
    g = p.add_argument_group("title page (printed as typed: & % $ # _ { } ~ ^ \\ are escaped)")
    g.add_argument("--title", default=None, help=f"document title (default: {default_title})")
    g.add_argument("--subtitle", default=None, help=f"subtitle (default: {default_subtitle})")
    g.add_argument("--author", default=None, help='author (default "symconv")')
    g.add_argument("--institute", default=None, help="institute (default: none)")
    g.add_argument("--date", default=None, help="date (default: none)")


def text_options(args) -> dict:
    """The title page's texts given on the command line, as keywords of the printers."""
    return {k: getattr(args, k) for k in ("title", "subtitle", "author", "institute", "date")}


def register(sub) -> None:
    """Add ``symconv latex`` to the CLI."""
    p = sub.add_parser(
        "latex",
        help="LaTeX derivation: snippet, article or Beamer slides (optionally PDF/PNG)",
        description="Write the derivation of a layer as LaTeX: set-up, forward expansion, "
        "Toeplitz matrix, loss, every gradient as a total derivative then simplified, the "
        "identities, the update rule; with --x/--w/--target (or --dy), worked numbers in exact "
        'arithmetic. Values are JSON nested lists (ints, decimals, "p/q"), CSV rows, a '
        "bmatrix, or a file holding one of those.",
    )
    add_layer_options(p)
    p.add_argument(
        "--document",
        choices=DOCUMENTS,
        default="snippet",
        help="snippet (equations), article or beamer slides (default %(default)s)",
    )
    p.add_argument(
        "--notation",
        choices=sorted(NOTATIONS),
        default="seed000",
        help="letters of a seed lecture: x, w, y, E (seed000); X, F, O, L (seed001); "
        "Y, w, z, Div (seed003)",
    )
    p.add_argument(
        "--convention",
        choices=["row", "column"],
        default="row",
        help="W as in x W = y (row, the slides) or T with vec(y) = T vec(x) (column)",
    )
    p.add_argument("--aspect", choices=list(ASPECTS), default="169", help="beamer aspect ratio")
    p.add_argument("--parts", default=None, help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument(
        "--max-entries",
        type=int,
        default=None,
        help="longest list before eliding (default 16, or the whole list when it fits an "
        "article's page; beamer 9); honoured by every document, long lists continue on the "
        "next slides",
    )
    p.add_argument(
        "--max-terms",
        type=int,
        default=None,
        help="longest sum before eliding (default 25 in every document: a sum that long wraps "
        "to more lines instead)",
    )
    p.add_argument(
        "--max-matrix",
        type=int,
        default=None,
        help="largest matrix side shown (default 10; an article shows W and the final "
        "results whole up to 40 rows and 16 columns; beamer 7 for x, w and dE/dy, 10 for W "
        "and the final results)",
    )
    add_text_options(p, "the layer", "the layer's sizes on slides, none in an article")
    p.add_argument(
        "--handout",
        type=int,
        nargs="?",
        const=2,
        default=0,
        metavar="N",
        help="beamer: a deck to print, in Beamer's handout mode (each frame on one page, in the "
        "state of its last overlay), N slides per A4 page (1, 2 or 4; default 2)",
    )
    p.add_argument(
        "--figures",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pictures of the sliding window, W's pattern, the gradients and a pool's routing "
        "(TikZ, drawn from the index map; default: on in the article and beamer, off in a "
        "snippet)",
    )
    g = p.add_argument_group("worked numbers")
    for name, what in _VALUE_HELP:
        g.add_argument(f"--{name}", default=None, metavar="VALUES", help=what)
    p.add_argument("-o", "--output", default=None, help="write the .tex here (default: stdout)")
    p.add_argument("--pdf", action="store_true", help="also compile a PDF next to -o")
    p.add_argument("--png", default=None, metavar="DIR", help="render the PDF's pages to DIR")
    p.add_argument("--dpi", type=int, default=60, help="PNG resolution (default 60)")
    p.set_defaults(func=_run_latex)


def _values_from_args(args):
    """The worked numbers given on the command line (``None``: none), parsed."""
    given = {k: getattr(args, k) for k in VALUE_KEYS if getattr(args, k) is not None}
    if not given:
        return None
    values = {name: parse_values_text(text, f"--{name}") for name, text in given.items()}
    if "x" not in values:
        raise LatexValueError("--x", "worked numbers need --x (and --w, --target or --dy)")
    return values


def _run_latex(args) -> int:
    if args.output is not None:
        check_folder(args.output, "latex")
    deriv = derive(layer_from_args(args), index_base=args.index_base)
    values = _values_from_args(args)
    try:
        tex = render_latex(
            deriv,
            document=args.document,
            parts=args.parts,
            notation=args.notation,
            convention=args.convention,
            aspect=args.aspect,
            max_entries=args.max_entries,
            max_terms=args.max_terms,
            max_matrix=args.max_matrix,
            values=values,
            figures=args.figures,
            handout=args.handout,
            **text_options(args),
        )
    except LatexValueError as exc:  # name the option as the user typed it
        opt = exc.option if exc.option.startswith("--") else f"--{exc.option}"
        raise LatexValueError(opt, exc.detail) from None
    out = args.output
    if (args.pdf or args.png) and out is None:
        out = f"symconv-{deriv.spec.op}-{args.document}.tex"
        print(f"writing {out}", file=sys.stderr)
    if out is None:
        sys.stdout.write(tex)
        return 0
    out = Path(out)
    write_atomic(out, tex)
    if args.pdf or args.png:
        pdf = compile_pdf(tex, out.with_suffix(".pdf"))
        print(f"wrote {pdf}", file=sys.stderr)
        if args.png:
            pngs = pdf_to_png(pdf, args.png, dpi=args.dpi)
            print(f"wrote {len(pngs)} PNG file(s) to {args.png}", file=sys.stderr)
    return 0
