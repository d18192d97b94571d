"""The entries of the mistake catalogue (:mod:`symconv.grading.catalogue`), by family.

Importing this package registers them. Diagnoses are reported in registration order, so the
modules are imported in report order (keep it when sorting imports), and each registers its
entries in report order:

- :mod:`.layer`: the layer misread (flipped or transposed kernel, padding, stride, missing
  bias, the kernel not rotated for dE/dx);
- :mod:`.factor`: a constant factor (sign, scale);
- :mod:`.layout`: the result laid out or numbered wrongly (Toeplitz convention, index shift,
  swapped operands of dE/dw).
"""

from __future__ import annotations

# isort: off
from . import layer
from . import factor
from . import layout

# isort: on

__all__ = ["layer", "factor", "layout"]
