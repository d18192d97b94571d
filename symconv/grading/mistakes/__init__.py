"""The entries of the mistake catalogue (:mod:`symconv.grading.catalogue`), by family.

Importing this package registers them. Diagnoses are reported in registration order, so the
modules are imported in report order (keep it when sorting imports), and each registers its
entries in report order:

- :mod:`.layer`: the layer misread (flipped or transposed kernel, missing bias, the kernel
  not rotated for dE/dx);
- :mod:`.parameters`: the parametric mistakes (:mod:`symconv.grading.perturb`): padding,
  stride, dilation, output_padding, ceil_mode, groups, computed for every layer kind and
  quantity on the perturbed layer;
- :mod:`.backward`: a step of the backward pass (valid instead of full correlation, strided
  dE/dw cropped, dE/db not summed);
- :mod:`.channels`: multi-channel sums (wrong channel axis, first filter only);
- :mod:`.pool`: pooling (avg-pool divisor, max-pool routing);
- :mod:`.factor`: a constant factor (sign, scale);
- :mod:`.layout`: the result laid out or numbered wrongly (Toeplitz convention, index shift,
  swapped operands of dE/dw, the forward size formula for a transposed convolution).
"""

from __future__ import annotations

# isort: off
from . import layer
from . import parameters
from . import backward
from . import channels
from . import pool
from . import factor
from . import layout

# isort: on

__all__ = ["layer", "parameters", "backward", "channels", "pool", "factor", "layout"]
