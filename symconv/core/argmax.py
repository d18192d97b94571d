"""Max-pool argmax indices read off the index map: PyTorch's ``return_indices=True`` and the
second output (``Indices``) of ONNX MaxPool with its ``storage_order``.

For every window, the winner is the tap that the layer's tie policy routes the gradient to:
``ties='first'`` takes the first maximum in row-major kernel order (PyTorch's CPU kernel and
ONNX's reference both keep the first strict maximum); ``ties='split'`` shares a tie among the
maxima, which no single index can say, so a tie under 'split' is an error. Padding taps
(which read -inf) never win.

Index conventions (``x`` of shape ``(C, *input_size)`` or ``(N, C, *input_size)``):

* ``'torch'``: the flat row-major position inside the channel's input plane/volume;
* ``'onnx'``: the flat position in the whole tensor, ``(n * C + c) * prod(input_size) + p``,
  where ``p`` numbers the spatial position row-major (``storage_order=0``) or column-major
  (``storage_order=1``, the first spatial axis varying fastest).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import SpecError

__all__ = ["max_pool_indices", "CONVENTIONS"]

CONVENTIONS = ("torch", "onnx")


def max_pool_indices(layer, x, *, convention="torch", storage_order=0) -> np.ndarray:
    """The argmax index of every max-pool window of ``layer`` on input ``x``, shaped like the
    output (``(C, *output_size)`` or ``(N, C, *output_size)``), ``int64``.

    >>> import symconv
    >>> layer = symconv.max_pool((2, 4), 2)
    >>> max_pool_indices(layer, [[[1, 5, 2, 0], [3, 4, 9, 9]]]).tolist()
    [[[1, 6]]]
    """
    spec = layer.spec
    if spec.kind != "max_pool":
        raise SpecError(f"{spec.op}: argmax indices belong to a max pool, got a {spec.kind} layer")
    if convention not in CONVENTIONS:
        raise SpecError(f"{spec.op}: convention must be one of {CONVENTIONS}, got {convention!r}")
    if storage_order not in (0, 1):
        raise SpecError(f"{spec.op}: storage_order must be 0 or 1, got {storage_order!r}")
    if storage_order and convention != "onnx":
        raise SpecError(f"{spec.op}: storage_order is an ONNX option, use convention='onnx'")
    x = np.asarray(x)
    batched = x.ndim == spec.ndim + 2
    if x.shape[-spec.ndim - 1 :] != spec.x_shape or x.ndim not in (spec.ndim + 1, spec.ndim + 2):
        raise SpecError(
            f"{spec.op}: x must have shape {spec.x_shape} or (N, *{spec.x_shape}), "
            f"got {x.shape}"
        )
    xb = x.reshape((-1, spec.in_channels, math.prod(spec.input_size))).astype(np.float64)
    index = layer.index_map
    values = np.where(index >= 0, xb[..., np.maximum(index, 0)], -np.inf)  # (N, C, out, taps)
    winner = values.argmax(axis=-1)
    if spec.ties == "split":
        top = values.max(axis=-1, keepdims=True)
        tied = (values == top).sum(axis=-1) > 1
        if tied.any():
            n, c, o = (int(v[0]) for v in np.nonzero(tied))
            where = np.unravel_index(o, spec.output_size)
            raise SpecError(
                f"{spec.op}: window {tuple(int(v) for v in where)} of channel {c} (batch {n}) "
                f"has tied maxima; ties='split' shares the gradient, so there is no single "
                f"argmax index: use ties='first'"
            )
    flat = np.take_along_axis(np.broadcast_to(index, values.shape), winner[..., None], -1)[..., 0]
    if convention == "onnx":
        if storage_order == 1:
            coords = np.unravel_index(flat, spec.input_size)
            flat = np.ravel_multi_index(coords, spec.input_size, order="F")
        plane = np.arange(xb.shape[0] * spec.in_channels).reshape(xb.shape[:2])
        flat = flat + plane[..., None] * math.prod(spec.input_size)
    shape = spec.y_shape if not batched else (x.shape[0],) + spec.y_shape
    return flat.reshape(shape).astype(np.int64)
