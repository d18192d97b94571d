"""The SVG printer: a scene as a standalone SVG document (no dependency), for the README and
Jupyter. Every scene cell is one ``<rect class="cell role-...">``; math text is set with
Unicode symbols and ``<tspan>`` subscripts.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from ..templating import render
from .drawables import drawables
from .scene import Scene

__all__ = ["svg_document", "svg_text", "UNIT_PX", "FONT_PX"]

#: Length of one cell in pixels, and the caption font size (text size 1).
UNIT_PX = 40
FONT_PX = 16.8
_SYMBOLS = {
    "cdot": "\u00b7",
    "cdots": "\u22ef",
    "delta": "\u03b4",
    "partial": "\u2202",
    "infty": "\u221e",
    "max": "max",
    "times": "\u00d7",
    "to": "\u2192",
    "leftarrow": "\u2190",
    "quad": "\u2003",
    "sum": "\u03a3",
}
_TOKEN = re.compile(
    r"\\frac\{([^{}]*)\}\{([^{}]*)\}|\\mathrel\{([^{}]*)\}|\\([A-Za-z]+) ?|\\[,;]|([_^])\{([^{}]*)\}|([_^])(.)|[{}]|[^\\_^{}]+"
)


def _math(text: str) -> str:
    """SVG markup of math text: commands to Unicode, scripts to shifted smaller tspans."""
    out = []
    for m in _TOKEN.finditer(text):
        frac_a, frac_b, rel, command, script, body, script1, body1 = m.groups()
        if frac_a is not None:
            out.append(f"{_math(frac_a)}/{_math(frac_b)}")
        elif rel is not None:
            out.append(_math(rel))
        elif command is not None:
            out.append(_SYMBOLS.get(command, command))
        elif m.group(0) in ("\\,", "\\;"):
            out.append("\u2009")
        elif script or script1:
            inner = _math(body if script else body1)
            down, up = ("0.35em", "-0.35em") if (script or script1) == "_" else ("-0.5em", "0.5em")
            out.append(
                f'<tspan dy="{down}" font-size="72%">{inner}</tspan>'
                f'<tspan dy="{up}" font-size="72%">\u200b</tspan>'
            )
        elif m.group(0) in ("{", "}"):
            continue
        else:
            out.append(escape(m.group(0)))
    return "".join(out)


def svg_text(text: str, math: bool = False) -> str:
    """SVG markup of mixed text (``$...$`` math) or, with ``math``, of a math label."""
    if math:
        return _math(text)
    parts = text.split("$")
    return "".join(_math(p) if k % 2 else escape(p) for k, p in enumerate(parts))


#: Rotation of the vertical hatch line that gives each pattern kind.
_ROTATE = {"ne": 45, "nw": -45, "cross": 45, "horizontal": 90, "vertical": 0}


def _num(v: float) -> str:
    text = f"{v * UNIT_PX:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def svg_document(scene: Scene) -> str:
    """One scene as a standalone SVG document."""
    d = drawables(scene)
    patterns = {}

    def rect(r):
        st = r.style
        fill = st.fill
        if st.hatch:
            pid = f"hatch-{r.role}"
            patterns[pid] = {
                "id": pid,
                "fill": st.fill,
                "hatch": st.hatch,
                "kind": st.pattern,
                "rotate": _ROTATE.get(st.pattern, 0),
            }
            fill = f"url(#{pid})"
        dash = {
            "solid": "",
            "dashed": ' stroke-dasharray="5,3"',
            "dotted": ' stroke-dasharray="1.5,2.5"',
        }
        return {
            "x": _num(r.x),
            "y": _num(r.y),
            "w": _num(r.w),
            "h": _num(r.h),
            "fill": fill,
            "stroke": st.stroke,
            "width": f"{st.width * 1.3:.2f}".rstrip("0").rstrip("."),
            "dash": dash[st.dash],
            "cls": f"cell role-{r.role}" if r.cell else f"block role-{r.role}",
            "role": r.role,
        }

    def label(t):
        extra = ' font-weight="bold"' if t.bold else ""
        if t.rotate:
            extra += f' transform="rotate(-90 {_num(t.x)} {_num(t.y)})"'
        return {
            "x": _num(t.x),
            "y": _num(t.y),
            "size": f"{FONT_PX * t.size:.1f}",
            "anchor": t.anchor,
            "colour": t.colour,
            "extra": extra,
            "markup": svg_text(t.text, t.math),
        }

    cells = [rect(r) for r in d["cells"]]
    sheets = [rect(r) for r in d["sheets"]]
    outlines = [rect(r) for r in d["outlines"]]
    return render(
        "svg/figure.svg.jinja",
        width=_num(scene.width),
        height=_num(scene.height),
        title=escape(next((t.text for t in scene.texts if t.bold), "symconv figure")),
        patterns=[patterns[k] for k in sorted(patterns)],
        sheets=sheets,
        cells=cells,
        outlines=outlines,
        arrows=[tuple(_num(v) for v in a) for a in d["arrows"]],
        labels=[label(t) for t in d["labels"] + d["texts"]],
    )
