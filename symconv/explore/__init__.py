"""The interactive explorer: one self-contained HTML page of a layer, forward and backward.

    >>> import symconv
    >>> page = symconv.explore(symconv.conv((5, 5), 3, stride=2, padding=1))
    >>> page.save("layer.html")  # doctest: +SKIP

Hovering (or focusing) a cell lights what it reads and shows its formula: the window of an
output, the outputs and taps that read an input, the dE/dy cells and kernel taps behind a
dE/dx entry, the inputs and dE/dy cells of a dE/dw entry, dE/db, the rows and columns of W, a
max pool's routing and a transposed convolution's stamps. Everything is computed here in Python
(:mod:`symconv.explore.data`) and embedded as JSON; the page's script only draws and reacts.

``symconv.explore`` is both this package and the function :func:`explore`: the package is
callable, so ``symconv.explore(layer)`` works however it was imported.
"""

import sys
import types

from .data import LIMITS, check_size, layer_data
from .page import SWEEPABLE, Explorer, explore

__all__ = ["explore", "Explorer", "LIMITS", "SWEEPABLE", "check_size", "layer_data"]


class _CallablePackage(types.ModuleType):
    """``symconv.explore(layer, ...)`` calls :func:`explore` even when ``symconv.explore`` is
    this package (as after ``import symconv.explore``)."""

    def __call__(self, *args, **kwargs):
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
