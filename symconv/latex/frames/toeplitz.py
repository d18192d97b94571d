"""The Toeplitz frame: the layer as one matrix product, x W = y (row convention) or
vec y = T vec x (column convention), the bias vector added; max pooling is not linear."""

from __future__ import annotations

import numpy as np

from ...core.arrays import flat_entries

__all__ = ["build"]


def build(ctx) -> dict:
    """The Toeplitz frame's context (``{"linear": False}`` for max pooling)."""
    spec = ctx.spec
    if spec.kind == "max_pool":
        return {"linear": False}
    shape, entries = ctx.toeplitz_entries()
    out = {
        "linear": True,
        "row": ctx.opts.row,
        "shape": shape,
        "matrix": ctx.sparse(shape, entries),
        "x_vec": ctx.matrix(np.array([ctx.xs], dtype=object)),
        "y_vec": ctx.matrix(np.array([ctx.ys], dtype=object)),
        "bias": spec.bias,
        "flat_order": "left to right, top to bottom" if spec.ndim == 2 else "row-major",
        "elided": any(n > ctx.opts.max_matrix for n in shape),
    }
    if spec.bias:
        out["b_vec"] = ctx.matrix(np.array([flat_entries(ctx.deriv.bias_vector())], dtype=object))
    return out
