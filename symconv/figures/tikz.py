"""The TikZ printer: a scene as a ``tikzpicture`` (for slides and articles), the preamble lines
it needs, and a standalone document of one page per picture (compiles with pdflatex).

Colours are named after their palette role (``symconvwindow``, ``symconvpaddingline`` ...)
so that a document including several pictures defines them once.
"""

from __future__ import annotations

import re

from ..templating import environment, render
from .drawables import drawables
from .palette import ROLES, TAP_COLOURS
from .scene import Scene

__all__ = ["tikz_picture", "tikz_overlays", "tikz_preamble", "tikz_document", "UNIT_CM", "FONT_PT"]

#: Length of one cell in centimetres.
UNIT_CM = 0.7
#: Caption font size in points (text size 1); about 0.42 of a cell.
FONT_PT = 8.4
_PARTS = {"fill": "", "stroke": "line", "hatch": "hatch", "text": "text"}


def _colour_table() -> dict:
    """``{(role, part): (name, hex)}`` for every palette colour, plus the tap colours."""
    table = {}
    for role, st in ROLES.items():
        for part, suffix in _PARTS.items():
            value = getattr(st, part)
            if value and value != "none":
                table[(role, part)] = (f"symconv{role.replace('_', '')}{suffix}", value[1:])
    for k, colour in enumerate(TAP_COLOURS):
        table[(f"tap{k}", "fill")] = (f"symconvtap{k}", colour[1:])
    return table


_COLOURS = _colour_table()


def _colour(role: str, part: str, value: str) -> str:
    if role.startswith("tap") and part == "fill":
        role = f"tap{int(role[3:]) % len(TAP_COLOURS)}"
    entry = _COLOURS.get((role, part))
    if entry is not None:
        return entry[0]
    return {"#000000": "black", "#FFFFFF": "white"}.get(value, "black")


def tikz_preamble() -> str:
    """The preamble lines a picture needs: TikZ, its libraries and the palette colours."""
    colours = sorted({entry for entry in _COLOURS.values()})
    return render("latex/figure_preamble.tex.jinja", colours=colours)


def _num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: TikZ's pattern (library ``patterns``) for each pattern kind of the palette.
_PATTERN = {
    "ne": "north east lines",
    "nw": "north west lines",
    "cross": "crosshatch",
    "dots": "crosshatch dots",
    "horizontal": "horizontal lines",
    "vertical": "vertical lines",
}

_SPECIAL = re.compile(r"([#%&_])")


def _text(text: str, math: bool) -> str:
    """Math text as LaTeX: cell labels go in math mode; outside ``$...$`` the characters
    LaTeX treats specially are escaped."""
    if math:
        return f"${text}$"
    parts = text.split("$")
    for k in range(0, len(parts), 2):
        parts[k] = _SPECIAL.sub(r"\\\1", parts[k])
    return "$".join(parts)


def _rect(r) -> dict:
    st = r.style
    dash = {"solid": "", "dashed": ", dashed", "dotted": ", dotted"}[st.dash]
    return {
        "x": _num(r.x),
        "y": _num(r.y),
        "w": _num(r.w),
        "h": _num(r.h),
        "fill": _colour(r.role, "fill", st.fill),
        "stroke": _colour(r.role, "stroke", st.stroke),
        "hatch": _colour(r.role, "hatch", st.hatch) if st.hatch else "",
        "pattern": _PATTERN[st.pattern],
        "width": _num(st.width),
        "dash": dash,
    }


def _label(t, text_colours) -> dict:
    size = FONT_PT * t.size
    anchor = {"start": "west", "middle": "center", "end": "east"}[t.anchor]
    options = [f"anchor={anchor}", "inner sep=0pt"]
    if t.rotate:
        options.append("rotate=90")
    font = rf"\fontsize{{{_num(size)}}}{{{_num(size * 1.2)}}}\selectfont"
    if t.bold:
        font += r"\bfseries"
    options.append(f"font={{{font}}}")
    if t.colour != "#000000":
        options.append(f"text={text_colours.get(t.colour, 'white')}")
    return {
        "x": _num(t.x),
        "y": _num(t.y),
        "text": _text(t.text, t.math),
        "options": ", ".join(options),
    }


def _lines(scene: Scene) -> list:
    """The scene's TikZ lines by section, in drawing order: sheets, cells, outlines, arrows,
    labels. Each line is ``(key, text, stroke width)``: a cell's key is its square (an overlay
    may paint a cell over another look of the same square), any other line is its own key."""
    items = environment().get_template("latex/figure_items.tex.jinja").module
    d = drawables(scene)
    text_colours = {"#FFFFFF": "white"}

    def plain(lines):
        return [(line, line, 0.0) for line in lines]

    cells = [((r.x, r.y, r.w, r.h), str(items.cell(_rect(r))), r.style.width) for r in d["cells"]]
    return [
        plain(str(items.sheet(_rect(r))) for r in d["sheets"]),
        cells,
        plain(str(items.outline(_rect(r))) for r in d["outlines"]),
        plain(str(items.arrow(tuple(_num(v) for v in a))) for a in d["arrows"]),
        plain(str(items.label(_label(t, text_colours))) for t in d["labels"] + d["texts"]),
    ]


def _section(frames: list) -> dict:
    """One section of an overlay picture from each frame's ``(key, text, width)`` lines: the
    lines drawn on every slide (``common``) and each frame's own (``frames``: ``(k, lines)``).

    A key present in every frame is drawn once in its most frequent look among those of the
    thinnest border (so that a look painted over it covers its border); the frames where it
    looks otherwise paint their look over it. Other lines are common when every frame has
    them, else drawn by the frames that have them."""
    n = len(frames)
    looks = {}
    for lines in frames:
        for key, text, width in lines:
            looks.setdefault(key, []).append((width, text))
    base = {}
    for key, seen in looks.items():
        if len(seen) == n:
            texts = [text for _, text in seen]
            # the thinnest border, then the most frequent, then the first frame's
            base[key] = min(dict.fromkeys(seen), key=lambda wt: (wt[0], -texts.count(wt[1])))[1]
    common = list(dict.fromkeys(base[key] for key, _, _ in frames[0] if key in base))
    own = []
    for k, lines in enumerate(frames, start=1):
        mine = [text for key, text, _ in lines if base.get(key) != text]
        if mine:
            own.append((k, mine))
    return {"common": common, "frames": own}


def tikz_picture(scene: Scene) -> str:
    """One scene as a ``tikzpicture`` environment (no preamble)."""
    return render(
        "latex/figure_picture.tex.jinja",
        unit=_num(UNIT_CM),
        overlays=False,
        sections=[{"common": [text for _, text, _ in lines]} for lines in _lines(scene)],
    )


def tikz_overlays(scenes) -> str:
    """Scenes as one picture of Beamer overlays (frame k is overlay k) on the bounding box of
    the largest. What the frames share (see :func:`_section`) is typeset once, on the first
    slide, into the boxes ``\\symconvbelow`` and ``\\symconvabove`` (allocated by
    :func:`tikz_preamble`); every slide draws them and its own lines."""
    per_frame = [_lines(s) for s in scenes]
    size = (max(s.width for s in scenes), max(s.height for s in scenes))
    return render(
        "latex/figure_picture.tex.jinja",
        unit=_num(UNIT_CM),
        overlays=True,
        sections=[_section(list(frames)) for frames in zip(*per_frame)],
        size=tuple(_num(v) for v in size),
    )


def tikz_document(pictures) -> str:
    """A standalone LaTeX document: one page per picture, each page cut to its picture."""
    from .._version import __version__

    return render(
        "latex/figure_standalone.tex.jinja",
        version=__version__,
        preamble=tikz_preamble().rstrip("\n"),
        pictures=[p.rstrip("\n") for p in pictures],
    )
