"""Pictures of a layer read off its index map: the window sliding over the padded input, the
gradients' footprints, the unrolled matrix, pooling's routing, a transposed convolution's
stamps (adding up to y) and its equivalent direct convolution, and a network's feature maps,
printed as TikZ (slides), SVG, PNG, PDF and animated GIF. A figure of several frames saved as
SVG, PNG or PDF (or shown in Jupyter) is a numbered contact sheet of its frames.

    >>> import symconv
    >>> from symconv.figures import figure
    >>> fig = figure(symconv.conv((3, 3), 2), "window", position=(1, 2))
    >>> fig.save("window.svg")  # doctest: +SKIP

PNG, GIF and PDF need matplotlib: ``pip install "symconv[figures]"``.
"""

from .figure import FIGURE_KINDS, Figure, figure

__all__ = ["figure", "Figure", "FIGURE_KINDS"]
