"""Compiling LaTeX: pdflatex into a PDF, the log's overfull boxes, pdftoppm into PNG files.

Both programs run as subprocesses (never through a shell, pdflatex with ``-no-shell-escape``);
a missing program or a failed run raises :class:`LatexError` with the log's first error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import SymconvError
from ..templating import render

__all__ = [
    "LatexError",
    "TEX_PACKAGES",
    "compile_pdf",
    "overfull_boxes",
    "pdf_to_png",
    "wrap_snippet",
]

#: The Debian/Ubuntu packages the documents need: pdflatex, amsmath and geometry
#: (texlive-latex-base), beamer, xcolor and booktabs (texlive-latex-recommended), the fonts
#: (texlive-fonts-recommended, lmodern), TikZ/pgf for the pictures (texlive-pictures), and
#: pdftoppm/pdftotext for PNG pages (poppler-utils).
TEX_PACKAGES = (
    "texlive-latex-base",
    "texlive-latex-recommended",
    "texlive-fonts-recommended",
    "texlive-pictures",
    "lmodern",
    "poppler-utils",
)
_INSTALL_HINT = "Debian/Ubuntu: apt-get install " + " ".join(TEX_PACKAGES)


class LatexError(SymconvError):
    """pdflatex/pdftoppm is missing or failed; the message quotes the log's first error."""


#: The preamble lines a snippet with pictures lists as comments (see snippet.tex.jinja).
_NEEDED = re.compile(r"^%   (\\use(?:package|tikzlibrary)\{[^}]*\})$", re.M)


def wrap_snippet(tex: str) -> str:
    """A minimal article around a snippet (the packages a snippet needs, and those its
    pictures list), for compiling."""
    return render("latex/wrapper.tex.jinja", body=tex, preamble=_NEEDED.findall(tex))


def _which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise LatexError(f"{program} not found on PATH ({_INSTALL_HINT})")
    return path


_ERROR_RE = re.compile(r"^(?:\./)?[^:\n]*\.tex:(\d+): (.*)$", re.M)


def _first_error(log: str, tex: str) -> str:
    """The first error of a pdflatex log (run with -file-line-error), with its source line."""
    missing = re.search(r"File `([^']+)' not found", log)
    if missing:
        return f"LaTeX file {missing.group(1)} is not installed ({_INSTALL_HINT})"
    m = _ERROR_RE.search(log)
    if m:
        line_no = int(m.group(1))
        msg = m.group(2).strip()
        lines = tex.splitlines()
        src = lines[line_no - 1].strip() if 0 < line_no <= len(lines) else ""
        return f"{msg} (line {line_no}: {src[:120]})"
    m = re.search(r"^! (.*)$", log, re.M)
    if m:
        return m.group(1).strip()
    tail = [l for l in log.strip().splitlines() if l.strip()][-3:]
    return " / ".join(tail) or "no log"


def compile_pdf(tex: str, out_pdf, *, runs: int = 2, timeout: float = 180.0) -> Path:
    """Compile LaTeX source with pdflatex into ``out_pdf``; returns its path.

    A snippet (no ``\\documentclass``) is wrapped by :func:`wrap_snippet` first. pdflatex runs
    ``runs`` times (2: beamer's navigation and references settle) in a temporary folder, with
    ``-halt-on-error -no-shell-escape``. The log is copied next to the PDF (``.log``). On
    failure raises :class:`LatexError` quoting the log's first error and its line.
    """
    exe = _which("pdflatex")
    if "\\documentclass" not in tex:
        tex = wrap_snippet(tex)
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="symconv-latex-") as tmp:
        src = Path(tmp) / "doc.tex"
        src.write_text(tex, encoding="utf-8")
        log = ""
        for _ in range(max(1, runs)):
            try:
                proc = subprocess.run(
                    [
                        exe,
                        "-interaction=nonstopmode",
                        "-halt-on-error",
                        "-file-line-error",
                        "-no-shell-escape",
                        "doc.tex",
                    ],
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex: timed out after {timeout:g} s") from None
            logfile = Path(tmp) / "doc.log"
            log = (
                logfile.read_text(encoding="latin-1")
                if logfile.exists()
                else proc.stdout.decode("latin-1")
            )
            if proc.returncode != 0 or not (Path(tmp) / "doc.pdf").exists():
                shutil.copyfile(logfile, out_pdf.with_suffix(".log")) if logfile.exists() else None
                raise LatexError(f"pdflatex failed: {_first_error(log, tex)}")
        shutil.copyfile(Path(tmp) / "doc.pdf", out_pdf)
        out_pdf.with_suffix(".log").write_text(log, encoding="latin-1")
    return out_pdf


_OVERFULL_RE = re.compile(r"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)[^\n]*")


def overfull_boxes(log: str, kind: str = "h") -> list:
    """``[(points, message), ...]`` for every ``Overfull \\hbox`` (``kind='v'``: vbox) of a log."""
    out = []
    for m in _OVERFULL_RE.finditer(log):
        if m.group(0).startswith(f"Overfull \\{kind}box"):
            out.append((float(m.group(1)), m.group(0)))
    return out


def pdf_to_png(pdf, out_dir, *, dpi: int = 60, first: int | None = None, last=None) -> list:
    """Render PDF pages to PNG files in ``out_dir`` with pdftoppm; returns their paths."""
    exe = _which("pdftoppm")
    pdf = Path(pdf)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "-png", "-r", str(int(dpi))]
    if first is not None:
        cmd += ["-f", str(int(first))]
    if last is not None:
        cmd += ["-l", str(int(last))]
    prefix = out_dir / pdf.stem
    proc = subprocess.run(
        cmd + [str(pdf), str(prefix)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if proc.returncode != 0:
        raise LatexError(f"pdftoppm failed: {proc.stderr.decode(errors='replace').strip()}")
    return sorted(out_dir.glob(f"{pdf.stem}*.png"))
