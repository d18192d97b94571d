"""The one palette of symconv's pictures: a role per kind of cell, each with a colour from the
Okabe-Ito colour-blind-safe set and a second cue (border style, hatch, border width) so that a
grey-scale print still tells the roles apart. A role never changes meaning between figures or
printers; printers look styles up here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Style",
    "ROLES",
    "TAP_COLOURS",
    "PATTERNS",
    "DISTINCT_TAPS",
    "OKABE_ITO",
    "style",
    "tap_colour",
    "hex_rgb",
]

#: The Okabe-Ito palette (Okabe & Ito 2008), by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermilion": "#D55E00",
    "purple": "#CC79A7",
}


@dataclass(frozen=True)
class Style:
    """How one role is drawn: fill, border colour, border dash (``solid``, ``dashed``,
    ``dotted``), border width in points, optional hatch colour (diagonal lines) and text
    colour. ``meaning`` is the legend text; ``pattern`` the hatch's kind (one of
    :data:`PATTERNS`: ``ne`` diagonal lines, the default)."""

    fill: str
    stroke: str
    dash: str = "solid"
    width: float = 0.6
    hatch: str | None = None
    text: str = "#000000"
    meaning: str = ""
    pattern: str = "ne"


ROLES = {
    "input": Style("#D4ECFA", "#0072B2", meaning="input"),
    "padding": Style(
        "#E6E6E6", "#7F7F7F", dash="dashed", hatch="#A6A6A6", meaning="padding (hatched)"
    ),
    "outside": Style("#FFFFFF", "#B3B3B3", dash="dotted", meaning="past the padding"),
    "window": Style("#E69F00", "#000000", width=1.4, meaning="current window / kernel taps"),
    "window_pad": Style(
        "#F5D595",
        "#000000",
        dash="dashed",
        width=1.4,
        hatch="#B07A00",
        meaning="window tap on padding",
    ),
    "kernel": Style("#E69F00", "#000000", width=1.0, meaning="kernel tap"),
    "kernel_idle": Style("#FBEBC7", "#B07A00", dash="dotted", meaning="tap not used here"),
    "output": Style("#C2EBDD", "#009E73", meaning="output"),
    "output_current": Style("#009E73", "#000000", width=1.4, meaning="current output"),
    "output_extra": Style(
        "#C2EBDD", "#009E73", dash="dashed", hatch="#7FCDB5", meaning="output_padding"
    ),
    "stride_zero": Style(
        "#FBF7CC", "#8C8626", dash="dotted", meaning="zero inserted by the stride"
    ),
    "gradient": Style("#F2D7E6", "#CC79A7", meaning="gradient"),
    "gradient_current": Style("#CC79A7", "#000000", width=1.4, meaning="gradient entry worked on"),
    "winner": Style("#D55E00", "#000000", width=1.4, text="#FFFFFF", meaning="window maximum"),
    "zero": Style("#FFFFFF", "#D9D9D9", meaning="zero"),
    "previous": Style("none", "#E69F00", dash="dashed", width=1.8, meaning="previous position"),
    "footprint": Style("none", "#000000", width=2.0, meaning="window footprint"),
    "layer": Style("#D4ECFA", "#0072B2", meaning="feature map"),
    "dense": Style("#F2D7E6", "#CC79A7", meaning="fully connected"),
}

#: Colours of the kernel taps in the Toeplitz picture: Okabe-Ito's seven and grey, then four of
#: Paul Tol's "muted" scheme, so that a 3x3 kernel's nine weights all differ (cycled beyond 12;
#: the picture then says so, and the legend and the cell labels say which weight each holds).
TAP_COLOURS = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#882255",
    "#44AA99",
    "#DDCC77",
    "#332288",
)
#: Text colour on each tap colour (white on the dark ones).
_TAP_TEXT = {
    "#0072B2": "#FFFFFF",
    "#D55E00": "#FFFFFF",
    "#882255": "#FFFFFF",
    "#332288": "#FFFFFF",
}


#: Hatch kinds, in the order the tap colours' repeat cycles take them: the first twelve weights
#: are plain, the next twelve hatched with north-east lines, and so on.
PATTERNS = ("ne", "nw", "cross", "dots", "horizontal", "vertical")
#: How many weights look different (colour, hatch) before the appearances repeat.
DISTINCT_TAPS = len(TAP_COLOURS) * (len(PATTERNS) + 1)


def style(role: str) -> Style:
    """The style of a role; ``tap3`` style roles are Toeplitz entries of kernel tap 3. Weight
    k has colour ``k mod 12`` and, from the second cycle on, a hatch (:data:`PATTERNS`), so that
    :data:`DISTINCT_TAPS` weights all look different."""
    if role.startswith("tap"):
        k = int(role[3:])
        colour = tap_colour(k)
        text = _TAP_TEXT.get(colour, "#000000")
        cycle = (k // len(TAP_COLOURS)) % (len(PATTERNS) + 1)
        if cycle == 0:
            return Style(colour, "#000000", text=text)
        hatch = "#FFFFFF" if text == "#FFFFFF" else "#000000"
        return Style(colour, "#000000", text=text, hatch=hatch, pattern=PATTERNS[cycle - 1])
    return ROLES[role]


def tap_colour(tap: int) -> str:
    return TAP_COLOURS[tap % len(TAP_COLOURS)]


def hex_rgb(colour: str) -> tuple:
    """``'#E69F00' -> (230, 159, 0)``."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
