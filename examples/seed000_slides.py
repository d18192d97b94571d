"""Seed 000's walk-through, regenerated: the Beamer deck and an article with worked numbers.

The lecture (gradient descent in a CNN: 3x3 input x, 2x2 kernel w, no padding, stride 1)
builds y = x * w term by term, unrolls it into x W = y, takes E = 1/2 sum (y - yhat)^2, expands
every dE/dw_ij and dE/dx_ij as a total derivative over the outputs and ends with
dE/dw = x * dE/dy and dE/dx = dE/dy W^T. This script writes

* ``seed000_slides.tex`` / ``.pdf``: the deck, one idea per frame, overlays for the reveal;
* ``seed000_article.tex`` / ``.pdf``: the same derivation as text, with the numbers of
  ``VALUES`` substituted in exact arithmetic (an answer key);

into the folder given on the command line (default ``./out/``). The PDFs need pdflatex (and
pgf for Beamer: Debian's texlive-pictures); without it only the .tex files are written.

    python examples/seed000_slides.py [OUT_DIR] [--aspect 43] [--png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import symconv
from symconv.latex import LatexError, compile_pdf, pdf_to_png, render_latex

VALUES = {
    "x": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "w": [[1, 0], [0, -1]],
    "target": [[0, "1/2"], [1, 2]],
    "eta": "1/10",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="out", help="output folder (default ./out)")
    parser.add_argument("--aspect", choices=["169", "43"], default="169")
    parser.add_argument("--png", action="store_true", help="also render every slide to PNG")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    deriv = symconv.derive(symconv.conv((3, 3), 2))
    documents = {
        "seed000_slides": render_latex(
            deriv,
            document="beamer",
            aspect=args.aspect,
            title="Gradient descent in CNNs",
        ),
        "seed000_article": render_latex(
            deriv, document="article", values=VALUES, title="Gradient descent in CNNs"
        ),
    }
    for name, tex in documents.items():
        path = out / f"{name}.tex"
        path.write_text(tex, encoding="utf-8")
        print(f"wrote {path}")
    if shutil.which("pdflatex") is None:
        print("pdflatex not found: skipping the PDFs", file=sys.stderr)
        return 0
    for name, tex in documents.items():
        try:
            pdf = compile_pdf(tex, out / f"{name}.pdf")
        except LatexError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {pdf}")
    if args.png:
        pngs = pdf_to_png(out / "seed000_slides.pdf", out / "png", dpi=60)
        print(f"wrote {len(pngs)} PNG files to {out / 'png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
