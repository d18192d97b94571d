"""Frame builders: one module per topic of a derivation, each turning a
:class:`~symconv.latex.frames.context.FrameContext` into the plain data its part of the
templates lays out (``None`` when the part does not apply to the layer).

:data:`BUILDERS` maps every part of :data:`symconv.latex.document.PARTS` to its builder.
"""

from __future__ import annotations

from . import forward, loss, pooling, results, setup, summary, toeplitz, update
from .context import FrameContext
from .gradients import grad_b, grad_w, grad_x

__all__ = ["BUILDERS", "FrameContext"]

#: part name -> builder(ctx), in document order
BUILDERS = {
    "setup": setup.build,
    "forward": forward.build,
    "toeplitz": toeplitz.build,
    "loss": loss.build,
    "grad_w": grad_w,
    "grad_x": grad_x,
    "grad_b": grad_b,
    "update": update.build,
    "routing": pooling.build,
    "results": results.build,
    "summary": summary.build,
}
