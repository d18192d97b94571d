"""The closing summary frame: the forward pass as a matrix product, the gradients as
convolutions, in the document's convention."""

from __future__ import annotations

__all__ = ["build"]


def build(ctx) -> dict:
    """The summary frame's context: which formulas to recall."""
    return {"kind": ctx.spec.kind, "row": ctx.opts.row, "bias": ctx.spec.bias}
