"""Printed handouts of a deck: Beamer's handout mode, each frame on one page in its final state.

In handout mode Beamer ignores every overlay specification that has no ``handout:`` part, so
a frame that shows its steps one at a time (``\\only<2>{...}\\only<3>{...}``) would print them
all on top of each other. :func:`handout_overlays` gives every overlay specification of a frame
the ``handout:`` part of the frame's last slide: what the last slide shows is printed, the rest
is not (an overlay whose content is a ``\\global`` assignment, such as a picture's background
saved once on its first slide, always runs). The specifications are read, never guessed: a form it cannot read is an error.
"""

from __future__ import annotations

import re

from ..core.errors import SpecError

__all__ = ["HANDOUT_LAYOUTS", "handout_overlays", "handout_preamble", "slide_active"]

#: Slides per printed page and the pgfpages layout that puts them there (A4).
HANDOUT_LAYOUTS = {
    1: "",
    2: r"\pgfpagesuselayout{2 on 1}[a4paper,border shrink=5mm]",
    4: r"\pgfpagesuselayout{4 on 1}[a4paper,landscape,border shrink=5mm]",
}

_FRAME = re.compile(r"\\begin\{frame\}.*?\\end\{frame\}", re.S)
#: A command with an overlay specification: ``\only<2->``, ``\item<1->``, ``\alt<1,3>``.
_SPEC = re.compile(r"(\\(?!left\b|right\b|big)[A-Za-z]+\*?)<([\d\s,\-+.|:a-z]+)>")
_RANGE = re.compile(r"^\s*(\d*)\s*(-?)\s*(\d*)\s*$")


def _ranges(spec: str) -> list:
    """``'1,3-4,6-'`` -> ``[(1, 1), (3, 4), (6, None)]``; a form other than numbers and ranges
    (``+-``, ``.-``, modes) is a :class:`SpecError`."""
    out = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if m is None or not (m.group(1) or m.group(3)):
            raise SpecError(f"latex: handout cannot read the overlay specification <{spec}>")
        lo = int(m.group(1)) if m.group(1) else 1
        hi = None if m.group(2) and not m.group(3) else int(m.group(3) or m.group(1))
        out.append((lo, hi))
    return out


def slide_active(spec: str, slide: int) -> bool:
    """Whether the overlay specification ``spec`` is active on ``slide``."""
    return any(lo <= slide and (hi is None or slide <= hi) for lo, hi in _ranges(spec))


def _frame_handout(frame: str) -> str:
    specs = [m.group(2) for m in _SPEC.finditer(frame) if "|" not in m.group(2)]
    if not specs:
        return frame
    last = max(max(lo if hi is None else hi, lo) for s in specs for lo, hi in _ranges(s))

    def mark(m):
        if "|" in m.group(2):  # already says what the handout shows
            return m.group(0)
        # an assignment that prints nothing (a picture's background saved once, on its first
        # slide, with \global) must still run on the handout's only slide
        setup = frame.startswith("{\\global", m.end())
        shown = 1 if setup or slide_active(m.group(2), last) else 0
        return f"{m.group(1)}<{m.group(2)}| handout:{shown}>"

    return _SPEC.sub(mark, frame)


def handout_overlays(tex: str) -> str:
    """``tex`` (a Beamer document) with every frame's overlay specifications given the
    ``handout:`` part of the frame's last slide (see the module docstring)."""
    return _FRAME.sub(lambda m: _frame_handout(m.group(0)), tex)


def handout_preamble(per_page: int) -> str:
    """The preamble lines that put ``per_page`` slides (1, 2 or 4) on each printed page."""
    if per_page not in HANDOUT_LAYOUTS:
        raise SpecError(
            f"latex: handout must be one of {sorted(HANDOUT_LAYOUTS)} slides per page, "
            f"got {per_page!r}"
        )
    layout = HANDOUT_LAYOUTS[per_page]
    return "\\usepackage{pgfpages}\n" + layout if layout else ""
