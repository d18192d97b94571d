"""The raster printer: scenes as PNG, animated GIF (one frame per scene) and PDF, drawn with
matplotlib (the optional extra ``pip install "symconv[figures]"``). Output is byte-identical
across runs: no timestamps or software names in the metadata, a fixed palette per GIF.
"""

from __future__ import annotations

import io

from ..core.errors import SymconvError
from .drawables import drawables
from .palette import hex_rgb
from .scene import Scene

__all__ = ["png_bytes", "gif_bytes", "pdf_bytes", "cell_pixel", "UNIT_IN", "FONT_PT"]

#: Length of one cell in inches, and the caption font size in points (text size 1).
UNIT_IN = 0.5
FONT_PT = 15.0
#: Frame duration of an animated GIF, in milliseconds.
FRAME_MS = 900


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


def _mpl_text(text: str, math: bool) -> str:
    """matplotlib mathtext: labels are math; ``\\mathrel{+}`` is spelt as plain ``+``."""
    text = text.replace(r"\mathrel{+}", "+")
    return f"${text}$" if math else text


def _draw(scene: Scene):
    """A matplotlib Figure (not attached to pyplot) of one scene."""
    matplotlib, canvas_cls = _matplotlib()
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig = MplFigure(figsize=(scene.width * UNIT_IN, scene.height * UNIT_IN))
    canvas_cls(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    d = drawables(scene)
    dashes = {"solid": "solid", "dashed": (0, (4, 2)), "dotted": (0, (1, 2))}
    for r in d["sheets"] + d["cells"]:
        st = r.style
        ax.add_patch(Rectangle((r.x, r.y), r.w, r.h, facecolor=st.fill, edgecolor="none"))
        if st.hatch:
            with matplotlib.rc_context({"hatch.color": st.hatch, "hatch.linewidth": 1.2}):
                ax.add_patch(
                    Rectangle((r.x, r.y), r.w, r.h, facecolor="none", edgecolor="none", hatch="//")
                )
        ax.add_patch(
            Rectangle(
                (r.x, r.y),
                r.w,
                r.h,
                facecolor="none",
                edgecolor=st.stroke,
                linewidth=st.width,
                linestyle=dashes[st.dash],
            )
        )
    for r in d["outlines"]:
        st = r.style
        ax.add_patch(
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
        ax.add_patch(
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
    return _png(scene, dpi)


def gif_bytes(scenes, *, dpi: int = 100) -> bytes:
    """An animated GIF of the scenes, one frame each, looping; frames share one canvas size."""
    image_mod = _pillow()
    frames = [image_mod.open(io.BytesIO(_png(s, dpi))).convert("RGB") for s in scenes]
    width = max(f.width for f in frames)
    height = max(f.height for f in frames)
    padded = []
    for f in frames:
        canvas = image_mod.new("RGB", (width, height), (255, 255, 255))
        canvas.paste(f, (0, 0))
        padded.append(canvas.quantize(colors=255, method=image_mod.Quantize.MEDIANCUT, dither=0))
    buf = io.BytesIO()
    padded[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=padded[1:],
        duration=FRAME_MS,
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
