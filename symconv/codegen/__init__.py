"""Code generation: fast, standalone NumPy kernels read off a layer's index map.

``generate_numpy(layer)`` returns the source of a module that needs only NumPy and defines

* conv / conv_transpose: ``forward(x, w, b=None) -> y`` and ``backward(dy, x, w) -> (dx, dw,
  db)``;
* max_pool / avg_pool: ``forward(x) -> y`` and ``backward(dy, x) -> dx``;

on batched arrays ``(N, C, *spatial)`` of float32, float64 or object (``fractions.Fraction``).
The pipeline, one module per step:

* :mod:`.plans`: the layer's per-axis index maps become *gather plans* (which slice of the
  source each kernel tap reads into which region of the output grid, per output phase);
* :mod:`.strategies`: the plans pick the kernels (direct / im2col / polyphase GEMM, depthwise
  taps, pool taps) and whether the layer is large enough for worker threads and a workspace;
* :mod:`.printing`, :mod:`.context`, :mod:`.docstring`: the NumPy printer prints slices,
  offsets and shapes into a template context; the docstring gets a usage example, the
  formulas and (small layers) every entry;
* :mod:`.render`: a jinja2 template in ``templates/numpy/`` lays the module out, black formats
  it;
* :mod:`.manifest`: ``generated/manifest.toml`` lists the committed modules;
  :func:`regenerate` rewrites or checks them.

The ``codegen`` and ``regenerate`` commands live in :mod:`symconv.cli`.
"""

from __future__ import annotations

# every name below stays importable from symconv.codegen, as before the split into modules
from ..core.errors import CodegenError, SpecError
from ..fileio import write_atomic
from .context import conv_context, depthwise_context, pool_context
from .manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    RegenerateResult,
    default_generated_dir,
    load_manifest,
    parse_manifest_text,
    regenerate,
)
from .plans import (
    AxisPhase,
    AxisTap,
    AxisWindow,
    GatherPlan,
    Phase,
    TapCopy,
    axis_phases,
    axis_window,
    check_against_index_map,
    forward_plan,
    gather_plan,
    inverse_plan,
    invert_axis_map,
)
from .printing import formula, index, py
from .render import LINE_LENGTH, cli_command, format_source, generate_numpy
from .strategies import (
    DEPTHWISE_BLOCK_BYTES,
    GROUP_BLOCK_BYTES,
    POOL_BLOCK_BYTES,
    THREAD_MIN_READS,
    Strategy,
    choose,
    strategy,
    uses_threads,
)

__all__ = [
    "generate_numpy",
    "gather_plan",
    "strategy",
    "Manifest",
    "ManifestEntry",
    "load_manifest",
    "regenerate",
]
