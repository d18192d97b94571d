"""Padding arithmetic of a layer spec: explicit padding, ``'valid'``, ``'same'`` (SAME_UPPER),
``'same_lower'``, and the transposed convolution's ``output_shape``.

Everything here returns resolved ``(low, high)`` pairs per spatial axis; :mod:`symconv.core.spec`
validates the rest. The rules, per axis with input length ``L``, stride ``s`` and effective
kernel ``e = (k - 1) d + 1``:

* conv and pools, ``'same'`` / ``'same_lower'``: the output is ``ceil(L / s)``; the total
  padding ``max((ceil(L / s) - 1) s + e - L, 0)`` is split in half, the odd pixel on the
  **high** side for ``'same'`` (TensorFlow ``'SAME'``, ONNX ``SAME_UPPER``) and on the **low**
  side for ``'same_lower'`` (ONNX ``SAME_LOWER``).
* conv_transpose with a target output size ``T`` (``output_shape=``, or ``L * s`` for
  ``'same'`` / ``'same_lower'`` as ONNX ConvTranspose): ``total = (L - 1) s + e +
  output_padding - T``. A positive total is cropped, split as above; a negative total is
  added to ``output_padding`` (zeros nothing reaches at the high end, as TensorFlow's
  ``conv2d_transpose`` and PyTorch's ``output_padding``), which must stay below
  ``max(s, d)``.
"""

from __future__ import annotations

import numbers

from .errors import SpecError

__all__ = ["SAME_MODES", "resolve_padding", "transpose_padding", "padding_text"]

#: Accepted spellings of the two 'same' modes -> the mode recorded in the spec.
SAME_MODES = {"same": "same", "same_upper": "same", "same_lower": "same_lower"}

PADDING_FORMS = "an int, a tuple, per-side pairs, 'valid', 'same' (= 'same_upper') or 'same_lower'"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def padding_text(pads) -> str:
    """``1`` for ((1, 1), (1, 1)), ``(1, 2)`` per axis, else the pairs."""
    if all(lo == hi for lo, hi in pads):
        sym = tuple(lo for lo, _ in pads)
        return str(sym[0]) if len(set(sym)) == 1 else str(sym)
    return str(pads)


def split_total(total: int, mode: str) -> tuple:
    """``(low, high)`` of a total padding: the odd pixel high for 'same', low for 'same_lower'."""
    small, large = total // 2, total - total // 2
    return (large, small) if mode == "same_lower" else (small, large)


def resolve_padding(op, kind, padding, input_size, stride, effective):
    """Return ``(((lo, hi), ...), mode)``, mode one of 'explicit', 'valid', 'same',
    'same_lower'. Transposed convs resolve 'same' through :func:`transpose_padding`."""
    ndim = len(input_size)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * ndim, "valid"
        if mode not in SAME_MODES:
            raise SpecError(f"{op}: padding must be {PADDING_FORMS}, got {padding!r}")
        mode = SAME_MODES[mode]
        pads = []
        for n, s, e in zip(input_size, stride, effective):
            pads.append(split_total(max((-(-n // s) - 1) * s + e - n, 0), mode))
        return tuple(pads), mode
    if _is_int(padding):
        if padding < 0:
            raise SpecError(f"{op}: padding must be non-negative, got {padding!r}")
        return ((int(padding),) * 2,) * ndim, "explicit"
    if isinstance(padding, (tuple, list)):
        if len(padding) != ndim:
            raise SpecError(
                f"{op}: padding must have {ndim} entries (one per spatial dimension), "
                f"got {padding!r}"
            )
        pads = []
        for entry in padding:
            if _is_int(entry):
                pair = (int(entry), int(entry))
            elif (
                isinstance(entry, (tuple, list))
                and len(entry) == 2
                and all(_is_int(v) for v in entry)
            ):
                pair = (int(entry[0]), int(entry[1]))
            else:
                raise SpecError(
                    f"{op}: padding entries must be ints or (low, high) pairs, got {padding!r}"
                )
            if min(pair) < 0:
                raise SpecError(f"{op}: padding must be non-negative, got {padding!r}")
            pads.append(pair)
        return tuple(pads), "explicit"
    raise SpecError(f"{op}: padding must be {PADDING_FORMS}, got {padding!r}")


def transpose_padding(op, padding, output_shape, input_size, stride, dilation, effective, op_pad):
    """Transposed convolution: ``(pads, output_padding, mode)`` for 'same' / 'same_lower'
    padding or an explicit ``output_shape`` (see the module docstring); ``output_shape`` with
    ``padding`` 0 or 'valid' may only add output_padding, never crop."""
    ndim = len(input_size)
    mode = padding.lower() if isinstance(padding, str) else None
    if output_shape is None:
        if mode not in SAME_MODES:
            pads, mode = resolve_padding(
                op, "conv_transpose", padding, input_size, stride, effective
            )
            return pads, op_pad, mode
        target = tuple(n * s for n, s in zip(input_size, stride))
    else:
        target = _output_shape(op, output_shape, ndim)
        if mode is None and padding not in (0, (0,) * ndim):
            raise SpecError(
                f"{op}: give output_shape with padding 'same', 'same_lower' or 'valid' (the "
                f"padding is computed from it), got padding={padding!r}"
            )
        mode = mode or "valid"
        if mode != "valid" and mode not in SAME_MODES:
            raise SpecError(f"{op}: padding must be {PADDING_FORMS}, got {padding!r}")
    split = SAME_MODES.get(mode, "valid")
    pads, extra = [], []
    for axis, (n, s, d, e, p, t) in enumerate(
        zip(input_size, stride, dilation, effective, op_pad, target)
    ):
        full = (n - 1) * s + e + p
        total = full - t
        if total > 0 and split == "valid":
            raise SpecError(
                f"{op}: output_shape {t} along axis {axis} is smaller than the uncropped "
                f"output {full} and padding {padding!r} crops nothing; use padding='same' "
                f"or 'same_lower' to crop {total}"
            )
        if total < 0 and p - total >= max(s, d):
            limit = full + max(s, d) - 1 - p
            raise SpecError(
                f"{op}: output_shape {t} along axis {axis} cannot be reached: input {n}, "
                f"stride {s}, effective kernel {e} give at most {limit} (output_padding must "
                f"stay smaller than stride or dilation)"
                + (f"; 'same' asks for input * stride = {t}" if output_shape is None else "")
            )
        pads.append(split_total(total, split) if total > 0 else (0, 0))
        extra.append(p - min(total, 0))
    return tuple(pads), tuple(extra), ("output_shape" if output_shape is not None else split)


def _output_shape(op, value, ndim):
    if _is_int(value):
        value = (value,) * ndim
    if (
        not isinstance(value, (tuple, list))
        or len(value) != ndim
        or not all(_is_int(v) and v > 0 for v in value)
    ):
        raise SpecError(
            f"{op}: output_shape must be {ndim} positive integers (the spatial output size), "
            f"got {value!r}"
        )
    return tuple(int(v) for v in value)
