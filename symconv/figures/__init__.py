"""Pictures of a layer read off its index map: the window sliding over the padded input, the
gradients' footprints, the unrolled matrix, pooling's routing, a transposed convolution's
stamps and a network's feature maps, printed as TikZ (slides), SVG, PNG and animated GIF.

    >>> import symconv
    >>> from symconv.figures import figure
    >>> fig = figure(symconv.conv((3, 3), 2), "window", position=(1, 2))
    >>> fig.save("window.svg")  # doctest: +SKIP

PNG, GIF and PDF need matplotlib: ``pip install "symconv[figures]"``.
"""

from .figure import FIGURE_KINDS, Figure, figure

__all__ = ["figure", "Figure", "FIGURE_KINDS"]
