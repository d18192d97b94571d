"""The raster printer: scenes as PNG, animated GIF (one frame per scene) and PDF, drawn with
matplotlib (the optional extra ``pip install "symconv[figures]"``). Output is byte-identical
across runs: no timestamps or software names in the metadata, a fixed palette per GIF.
"""

from __future__ import annotations

import contextlib
import functools
import io

from ..core.errors import SymconvError
from .drawables import drawables
from .palette import hex_rgb
from .scene import Scene

__all__ = ["png_bytes", "gif_bytes", "pdf_bytes", "cell_pixel", "UNIT_IN", "FONT_PT"]

#: Length of one cell in inches, and the caption font size in points (text size 1).
UNIT_IN = 0.5
FONT_PT = 15.0
#: Frame duration of an animated GIF, in milliseconds (``--frame-duration``).
FRAME_MS = 900
#: Resolution of an animated GIF's frames (a GIF is for a screen: 72 dpi keeps it small).
GIF_DPI = 72


def _matplotlib():
    """matplotlib with the Agg backend, or a clear error naming the extra to install."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        raise SymconvError(
            "figure: PNG, GIF and PDF output need matplotlib; install it with "
            'pip install "symconv[figures]"'
        ) from None
    return matplotlib, FigureCanvasAgg


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise SymconvError(
            'figure: GIF output needs Pillow; install it with pip install "symconv[figures]"'
        ) from None
    return Image


#: matplotlib's hatch for each pattern kind of the palette.
_HATCH = {
    "ne": "//",
    "nw": "\\\\",
    "cross": "xx",
    "dots": "..",
    "horizontal": "--",
    "vertical": "||",
}


@contextlib.contextmanager
def _mathtext_cache(size: int = 4096):
    """matplotlib keeps the 50 last typeset math texts; a picture of many labelled cells (and
    every frame of an animation, which share most labels) typesets hundreds. Inside this
    block the cache holds ``size`` (the same output, several times faster); outside, and on a
    matplotlib without that cache, nothing changes."""
    try:
        from matplotlib.mathtext import MathTextParser
    except ImportError:
        yield
        return
    original = MathTextParser.__dict__.get("_parse_cached")
    inner = getattr(original, "__wrapped__", None)
    if inner is None:
        yield
        return
    MathTextParser._parse_cached = functools.lru_cache(size)(inner)
    try:
        yield
    finally:
        MathTextParser._parse_cached = original


def _mpl_text(text: str, math: bool) -> str:
    """matplotlib mathtext: labels are math; ``\\mathrel{+}`` is spelt as plain ``+``."""
    text = text.replace(r"\mathrel{+}", "+")
    return f"${text}$" if math else text


def _draw(scene: Scene):
    """A matplotlib Figure (not attached to pyplot) of one scene."""
    matplotlib, canvas_cls = _matplotlib()
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import FancyArrowPatch, Rectangle

    # patches are added with add_artist: the limits are fixed, so matplotlib need not update
    # them patch by patch (add_patch's cost grows with the scene)
    fig = MplFigure(figsize=(scene.width * UNIT_IN, scene.height * UNIT_IN))
    canvas_cls(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    d = drawables(scene)
    dashes = {"solid": "solid", "dashed": (0, (4, 2)), "dotted": (0, (1, 2))}
    for r in d["sheets"]:
        st = r.style
        ax.add_artist(
            Rectangle(
                (r.x, r.y), r.w, r.h, facecolor=st.fill, edgecolor=st.stroke, linewidth=st.width
            )
        )
    # the cells as two collections (fills, then borders in drawing order: thick ones last)
    # with the hatches between them: one artist each instead of three per cell
    cells = d["cells"]
    if cells:
        boxes = [Rectangle((r.x, r.y), r.w, r.h) for r in cells]
        ax.add_artist(
            PatchCollection(
                boxes, facecolors=[r.style.fill for r in cells], edgecolors="none", linewidths=0
            )
        )
        for r in cells:
            if r.style.hatch:
                with matplotlib.rc_context({"hatch.color": r.style.hatch, "hatch.linewidth": 1.2}):
                    ax.add_artist(
                        Rectangle(
                            (r.x, r.y),
                            r.w,
                            r.h,
                            facecolor="none",
                            edgecolor="none",
                            hatch=_HATCH[r.style.pattern],
                        )
                    )
        ax.add_artist(
            PatchCollection(
                [Rectangle((r.x, r.y), r.w, r.h) for r in cells],
                facecolors="none",
                edgecolors=[r.style.stroke for r in cells],
                linewidths=[r.style.width for r in cells],
                linestyles=[dashes[r.style.dash] for r in cells],
            )
        )
    for r in d["outlines"]:
        st = r.style
        ax.add_artist(
            Rectangle(
                (r.x, r.y),
                r.w,
                r.h,
                facecolor="none",
                edgecolor=st.stroke,
                linewidth=st.width * 1.2,
                linestyle=dashes[st.dash],
            )
        )
    for x0, y0, x1, y1 in d["arrows"]:
        ax.add_artist(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                arrowstyle="-|>",
                mutation_scale=14,
                linewidth=1.2,
                color="#000000",
            )
        )
    halign = {"start": "left", "middle": "center", "end": "right"}
    for t in d["labels"] + d["texts"]:
        ax.text(
            t.x,
            t.y,
            _mpl_text(t.text, t.math),
            fontsize=FONT_PT * t.size,
            color=t.colour,
            ha="left" if t.rotate else halign[t.anchor],
            va="bottom" if t.rotate else "center",
            rotation=90 if t.rotate else 0,
            fontweight="bold" if t.bold else "normal",
            rotation_mode="anchor",
        )
    return fig


def _scale_dpi(scene: Scene, dpi: int, max_px: int = 2400) -> int:
    longest = max(scene.width, scene.height) * UNIT_IN
    return max(20, min(dpi, int(max_px / longest)))


def _png(scene: Scene, dpi: int) -> bytes:
    fig = _draw(scene)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_scale_dpi(scene, dpi), metadata={"Software": None})
    return buf.getvalue()


def png_bytes(scene: Scene, *, dpi: int = 100) -> bytes:
    """One scene as PNG bytes (deterministic)."""
    with _mathtext_cache():
        return _png(scene, dpi)


def _rgb(scene: Scene, dpi: int, size=None):
    """One scene rendered straight from the canvas (no PNG round trip) as a Pillow RGB image,
    on a white canvas of ``size`` (width, height) in pixels when given."""
    image_mod = _pillow()
    fig = _draw(scene)
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = fig.canvas.buffer_rgba()
    image = image_mod.frombuffer("RGBA", fig.canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1)
    image = image.convert("RGB")
    if size is None or image.size == tuple(size):
        return image
    canvas = image_mod.new("RGB", tuple(size), (255, 255, 255))
    canvas.paste(image, (0, 0))
    return canvas


def _palette(image_mod, image) -> list:
    """64 colours of the first frame (median cut), the entries nearest white and black made
    exactly white and black (the background and the text must not turn grey)."""
    quantised = image.quantize(colors=64, method=image_mod.Quantize.MEDIANCUT, dither=0)
    entries = quantised.getpalette()[: 64 * 3]
    colours = [tuple(entries[k : k + 3]) for k in range(0, len(entries), 3)]
    for target in ((255, 255, 255), (0, 0, 0)):
        nearest = min(
            range(len(colours)),
            key=lambda k: sum((a - b) ** 2 for a, b in zip(colours[k], target)),
        )
        colours[nearest] = target
    return colours


def _indexed(image_mod, image, colours):
    """``image`` as a palette image of ``colours``, each pixel the exactly nearest colour
    (found once per distinct colour of the frame)."""
    import numpy as np

    rgb = np.asarray(image, dtype=np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    distinct, inverse = np.unique(packed.reshape(-1), return_inverse=True)
    seen = np.stack([(distinct >> 16) & 255, (distinct >> 8) & 255, distinct & 255], axis=1)
    palette = np.array(colours, dtype=np.int32)
    nearest = ((seen[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    out = image_mod.fromarray(nearest[inverse].reshape(packed.shape).astype(np.uint8), "P")
    out.putpalette([v for c in colours for v in c])
    return out


def gif_bytes(scenes, *, dpi: int = GIF_DPI, duration: int = FRAME_MS) -> bytes:
    """An animated GIF of the scenes, one frame each, looping, ``duration`` milliseconds a
    frame; frames share one canvas size and one palette (quantised from the first frame with
    the palette's role colours, so that a cell keeps its colour across frames)."""
    if not isinstance(duration, int) or isinstance(duration, bool) or not 20 <= duration <= 60000:
        raise SymconvError(
            f"figure: frame duration must be an integer of milliseconds in 20..60000, "
            f"got {duration!r}"
        )
    image_mod = _pillow()
    scenes = list(scenes)
    width = max(s.width for s in scenes)
    height = max(s.height for s in scenes)
    dpi = _scale_dpi(Scene([], width=width, height=height), dpi)
    size = (int(round(width * UNIT_IN * dpi)), int(round(height * UNIT_IN * dpi)))
    palette = None
    frames = []
    with _mathtext_cache():
        for s in scenes:
            image = _rgb(s, dpi, size)
            if palette is None:
                palette = _palette(image_mod, image)
            frames.append(_indexed(image_mod, image, palette))
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=duration,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buf.getvalue()


def pdf_bytes(scenes) -> bytes:
    """A PDF with one page per scene (no creation date, so byte-identical across runs)."""
    _matplotlib()
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    meta = {"Creator": None, "Producer": None, "CreationDate": None}
    with PdfPages(buf, metadata=meta) as pdf:
        for s in scenes:
            pdf.savefig(_draw(s))
    return buf.getvalue()


def cell_pixel(scene: Scene, x: float, y: float, image_size: tuple) -> tuple:
    """The pixel (column, row) of the scene point ``(x, y)`` in a rendering of ``image_size``
    (width, height): where a test samples a cell's colour."""
    width, height = image_size
    return (int(x / scene.width * width), int(y / scene.height * height))


def role_rgb(role: str) -> tuple:
    """(r, g, b) of a role's fill (what a test expects at an unlabelled cell's centre)."""
    from .palette import style

    return hex_rgb(style(role).fill)
