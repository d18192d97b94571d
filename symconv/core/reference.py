"""Slow, obviously-correct reference loops for every layer kind: the numeric oracle.

Nothing here uses SymPy or the index map of :mod:`symconv.layers`: the functions read only the
fields of a :class:`~symconv.spec.LayerSpec` and redo the arithmetic with plain loops over
output positions and kernel taps, so that a reader can check each line against the formula in
its docstring. Speed is irrelevant; sizes are small.

Arrays carry **no batch axis**: ``x`` is ``(C_in, *input_size)``, ``y`` and ``dy`` are
``(C_out, *output_size)``, ``w`` is ``(C_out, C_in/groups, *kernel)`` for a convolution and
``(C_in, C_out/groups, *kernel)`` for a transposed convolution, ``b`` is ``(C_out,)``.

Two number modes:

* **exact**: if any given array has ``dtype=object`` (for example :class:`fractions.Fraction`
  entries), every integer entry becomes a ``Fraction`` and the results are object arrays of
  ``Fraction`` (exact, including the 1/N of average pooling);
* **float**: otherwise every array is converted to float64 and the results are float64.

Notation used in the docstrings, per spatial axis (the multi-index forms apply axis by axis):
``s`` stride, ``d`` dilation, ``lo``/``hi`` the padding before/after the input, ``K`` the kernel
size, ``t`` a kernel tap ``0 <= t < K``, ``o`` an output position, and
``pos(o, t) = o*s - lo + t*d`` the input position that tap ``t`` of output ``o`` reads.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from .errors import SpecError

__all__ = ["forward", "backward", "output_size", "auto_padding"]

_KINDS = ("conv", "conv_transpose", "max_pool", "avg_pool")
_NEG_INF = float("-inf")


# ---------------------------------------------------------------------- small helpers
def _spec_of(spec):
    """Accept a LayerSpec or anything with a ``.spec`` (a :class:`symconv.Layer`)."""
    spec = getattr(spec, "spec", spec)
    if getattr(spec, "kind", None) not in _KINDS:
        raise SpecError(
            f"reference: spec must be a symconv LayerSpec or Layer (kind one of {_KINDS}), "
            f"got {spec!r}"
        )
    return spec


def _op(spec) -> str:
    return f"reference.{spec.kind}{len(spec.input_size)}d"


def _grid(shape):
    """All multi-indices of ``shape`` in row-major order."""
    return itertools.product(*(range(n) for n in shape))


def _inside(pos, size) -> bool:
    """True when the multi-index ``pos`` lies inside an array of spatial size ``size``."""
    return all(0 <= p < n for p, n in zip(pos, size))


def _tap_position(spec, o, t):
    """``pos(o, t) = o*s - lo + t*d`` per axis: the input position read by tap t of output o
    (a convolution or a pool; may fall into the padding, i.e. outside the input)."""
    return tuple(
        oi * s - lo + ti * d
        for oi, ti, s, d, (lo, _) in zip(o, t, spec.stride, spec.dilation, spec.padding)
    )


def _weight_index(spec, t):
    """The kernel entry multiplying tap ``t``: ``t`` itself (cross-correlation) or ``K-1-t``
    per axis for ``flip=True`` (true convolution: the kernel rotated by 180 degrees)."""
    if spec.flip:
        return tuple(k - 1 - ti for ti, k in zip(t, spec.kernel_size))
    return tuple(t)


def _to_exact(v):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"booleans are not numbers here, got {v!r}")
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if isinstance(v, (float, np.floating)):
        return float(v)
    raise TypeError(f"expected int, Fraction or float entries, got {v!r}")


def _coerce(spec, name, value, shape, exact):
    """``value`` as an array of ``shape`` (object of Fraction in exact mode, else float64)."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=object if exact else np.float64)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{_op(spec)}: {name} must be an array of numbers: {exc}") from None
    if arr.shape != tuple(shape):
        raise SpecError(
            f"{_op(spec)}: {name} must have shape {tuple(shape)}, got shape {arr.shape}"
        )
    if exact:
        out = np.empty(arr.shape, dtype=object)
        for idx in _grid(arr.shape):
            try:
                out[idx] = _to_exact(arr[idx])
            except TypeError as exc:
                raise SpecError(f"{_op(spec)}: {name} must hold numbers: {exc}") from None
        return out
    return arr


def _zeros(shape, exact):
    return np.full(shape, Fraction(0), dtype=object) if exact else np.zeros(shape, np.float64)


def _dtype(spec, value):
    try:
        return np.asarray(value).dtype
    except (ValueError, TypeError) as exc:
        raise SpecError(
            f"{_op(spec)}: arrays must be rectangular arrays of numbers: {exc}"
        ) from None


def _prepare(spec, x, w, b, dy, *, op_name):
    """Check presence and shapes of the arrays and convert them to one number mode."""
    exact = any(_dtype(spec, a) == object for a in (x, w, b, dy) if a is not None)
    if x is None:
        raise SpecError(f"{_op(spec)}: {op_name} needs x of shape {_x_shape(spec)}, got None")
    has_weight = spec.kind in ("conv", "conv_transpose")
    if has_weight and w is None:
        raise SpecError(f"{_op(spec)}: {op_name} needs w of shape {_w_shape(spec)}, got None")
    if not has_weight and w is not None:
        raise SpecError(f"{_op(spec)}: a pooling layer has no weights, got w={w!r}")
    if b is not None and not spec.bias:
        raise SpecError(f"{_op(spec)}: the layer has no bias (bias=False), got b={b!r}")
    x = _coerce(spec, "x (C_in, *input_size)", x, _x_shape(spec), exact)
    w = _coerce(spec, "w", w, _w_shape(spec), exact) if has_weight else None
    b = _coerce(spec, "b (C_out,)", b, (spec.out_channels,), exact)
    dy = _coerce(spec, "dy (C_out, *output_size)", dy, _y_shape(spec), exact)
    return exact, x, w, b, dy


def output_size(spec) -> tuple:
    """The output's spatial size, computed here independently of :mod:`symconv.spec`.

    Per axis with effective kernel ``e = (K-1)*d + 1`` and input length ``L``:

    * convolution and pools: ``floor((L + lo + hi - e) / s) + 1``;
    * pools with ``ceil_mode``: ``ceil((L + lo + hi - e) / s) + 1``, minus one when that last
      window would start at or after ``L + lo`` in padded coordinates (it must start inside
      the input or the left padding: PyTorch's rule);
    * transposed convolution: ``(L - 1)*s - lo - hi + e + output_padding``.
    """
    spec = _spec_of(spec)
    sizes = []
    for n, k, s, d, (lo, hi), op in zip(
        spec.input_size,
        spec.kernel_size,
        spec.stride,
        spec.dilation,
        spec.padding,
        spec.output_padding,
    ):
        e = (k - 1) * d + 1
        if spec.kind == "conv_transpose":
            sizes.append((n - 1) * s - lo - hi + e + op)
            continue
        span = n + lo + hi - e
        if spec.kind in ("max_pool", "avg_pool") and spec.ceil_mode:
            count = math.ceil(span / s) + 1
            if (count - 1) * s >= n + lo:
                count -= 1
        else:
            count = span // s + 1
        sizes.append(count)
    return tuple(sizes)


def auto_padding(kind, input_size, kernel_size, stride, dilation, mode, output_shape=None):
    """The ``((lo, hi), ...)`` pads and the output_padding that an ``auto_pad``-style request
    resolves to, written from the ONNX operator text (independently of :mod:`symconv.core`):

    * conv / pools, ``mode`` 'same' (SAME_UPPER) or 'same_lower': ``out = ceil(L / s)``,
      ``total = max((out - 1) s + e - L, 0)``; SAME_UPPER puts ``total // 2`` low and the rest
      high, SAME_LOWER the reverse.
    * conv_transpose: ``out = output_shape`` or ``L * s``; ``total = s (L - 1) + e - out``; a
      non-negative total is split as above; a negative one leaves the pads 0 and becomes
      ``output_padding = -total`` (the output grows at the high end).

    Returns ``(pads, output_padding)``.
    """
    pads, extra = [], []
    for axis, (n, k, s, d) in enumerate(zip(input_size, kernel_size, stride, dilation)):
        e = (k - 1) * d + 1
        if kind == "conv_transpose":
            out = output_shape[axis] if output_shape is not None else n * s
            total = s * (n - 1) + e - out
        else:
            out = math.ceil(n / s)
            total = max((out - 1) * s + e - n, 0)
        extra.append(max(-total, 0))
        total = max(total, 0)
        if mode == "same_lower":
            pads.append((total - total // 2, total // 2))
        else:
            pads.append((total // 2, total - total // 2))
    return tuple(pads), tuple(extra)


def _x_shape(spec):
    return (spec.in_channels,) + tuple(spec.input_size)


def _y_shape(spec):
    return (spec.out_channels,) + output_size(spec)


def _w_shape(spec):
    if spec.kind == "conv":
        return (spec.out_channels, spec.in_channels // spec.groups) + tuple(spec.kernel_size)
    if spec.kind == "conv_transpose":
        return (spec.in_channels, spec.out_channels // spec.groups) + tuple(spec.kernel_size)
    return None


def _conv_channel_pairs(spec):
    """Every ``(co, ci, cl)`` a convolution connects: output channel ``co`` of group
    ``g = co // (C_out/groups)`` reads input channel ``ci = g*(C_in/groups) + cl`` through
    ``w[co, cl]``."""
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    for co in range(spec.out_channels):
        g = co // cout_g
        for cl in range(cin_g):
            yield co, g * cin_g + cl, cl


def _transpose_channel_pairs(spec):
    """Every ``(ci, co, cl)`` a transposed convolution connects: input channel ``ci`` of group
    ``g = ci // (C_in/groups)`` writes output channel ``co = g*(C_out/groups) + cl`` through
    ``w[ci, cl]``."""
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    for ci in range(spec.in_channels):
        g = ci // cin_g
        for cl in range(cout_g):
            yield ci, g * cout_g + cl, cl


def _window(spec, xc, o):
    """The taps of the pooling window of output ``o`` in row-major kernel order, as a list of
    ``(position or None, value, counted_with_padding)``:

    * a tap inside the input reads ``x`` (position given);
    * a tap in the padding reads ``-inf`` (max pool; an average pool adds nothing) and has
      position ``None``;
    * ``counted_with_padding`` is True when the tap lies inside input + padding, i.e.
      ``-lo <= pos < L + hi`` per axis; the ceil_mode overhang beyond the padding is not
      counted (PyTorch's divisor with ``count_include_pad=True``).
    """
    taps = []
    for t in _grid(spec.kernel_size):
        p = _tap_position(spec, o, t)
        counted = all(
            -lo <= pi < n + hi for pi, n, (lo, hi) in zip(p, spec.input_size, spec.padding)
        )
        if _inside(p, spec.input_size):
            taps.append((p, xc[p], counted))
        else:
            taps.append((None, _NEG_INF, counted))
    return taps


# ---------------------------------------------------------------------- forward
def forward(spec, x, w=None, b=None):
    """The layer's output ``y`` (C_out, *output_size), by loops.

    * ``conv``: ``y[co, o] = b[co] + sum_{cl, t} w[co, cl, t'] * x[ci, pos(o, t)]`` with
      ``ci = g*(C_in/groups) + cl`` for the group ``g`` of ``co``, ``t' = t`` (cross-correlation)
      or ``K-1-t`` (``flip=True``), and ``x = 0`` at positions in the padding.
    * ``conv_transpose``: every input entry scatters its kernel:
      ``y[co, i*s + t*d - lo] += x[ci, i] * w[ci, cl, t']`` for ``co = g*(C_out/groups) + cl``,
      wherever that position is inside the output; then ``y[co] += b[co]``.
    * ``max_pool``: ``y[c, o] = max_t x[c, pos(o, t)]`` with padding reading ``-inf``.
    * ``avg_pool``: ``y[c, o] = (sum over taps inside the input of x[c, pos(o, t)]) / N`` where
      ``N`` counts the taps inside input + padding (``count_include_pad=True``, not the
      ceil_mode overhang) or only the taps inside the input (``False``).

    A missing ``b`` of a layer with bias counts as zero. Wrong shapes raise ``ValueError``.
    """
    spec = _spec_of(spec)
    exact, x, w, b, _ = _prepare(spec, x, w, b, None, op_name="forward")
    if spec.bias and b is None:
        b = _zeros((spec.out_channels,), exact)
    out = output_size(spec)
    y = _zeros(_y_shape(spec), exact)
    if spec.kind == "conv":
        for co, ci, cl in _conv_channel_pairs(spec):
            for o in _grid(out):
                for t in _grid(spec.kernel_size):
                    p = _tap_position(spec, o, t)
                    if _inside(p, spec.input_size):  # padding reads 0: nothing to add
                        y[(co,) + o] += w[(co, cl) + _weight_index(spec, t)] * x[(ci,) + p]
    elif spec.kind == "conv_transpose":
        for ci, co, cl in _transpose_channel_pairs(spec):
            for i in _grid(spec.input_size):
                for t in _grid(spec.kernel_size):
                    o = tuple(
                        ii * s + ti * d - lo
                        for ii, ti, s, d, (lo, _) in zip(
                            i, t, spec.stride, spec.dilation, spec.padding
                        )
                    )
                    if _inside(o, out):  # cropped by the padding otherwise
                        y[(co,) + o] += x[(ci,) + i] * w[(ci, cl) + _weight_index(spec, t)]
    elif spec.kind == "max_pool":
        for c in range(spec.in_channels):
            for o in _grid(out):
                y[(c,) + o] = max(value for _, value, _ in _window(spec, x[c], o))
    else:  # avg_pool
        for c in range(spec.in_channels):
            for o in _grid(out):
                taps = _window(spec, x[c], o)
                total = sum((value for p, value, _ in taps if p is not None), _zero(exact))
                y[(c,) + o] = total / _divisor(spec, taps, exact)
    if spec.bias:
        for co in range(spec.out_channels):
            for o in _grid(out):
                y[(co,) + o] += b[co]
    return y


def _zero(exact):
    return Fraction(0) if exact else 0.0


def _divisor(spec, taps, exact):
    """Average-pool divisor ``N`` of one window (see :func:`forward`)."""
    if spec.count_include_pad:
        n = sum(1 for _, _, counted in taps if counted)
    else:
        n = sum(1 for p, _, _ in taps if p is not None)
    return Fraction(n) if exact else float(n)


# ---------------------------------------------------------------------- backward
def backward(spec, dy, x, w=None):
    """Gradients ``(dx, dw, db)`` of ``E`` given the upstream gradient ``dy = dE/dy``, by loops
    (``dw`` is None for pools, ``db`` None without bias).

    * ``conv``: for every output ``o``, tap ``t`` with ``p = pos(o, t)`` inside the input and
      connected channels (co, ci, cl): ``dx[ci, p] += w[co, cl, t'] * dy[co, o]`` and
      ``dw[co, cl, t'] += x[ci, p] * dy[co, o]``; ``db[co] = sum_o dy[co, o]``.
    * ``conv_transpose``: for every input ``i``, tap ``t`` with ``o = i*s + t*d - lo`` inside
      the output: ``dx[ci, i] += w[ci, cl, t'] * dy[co, o]`` and
      ``dw[ci, cl, t'] += x[ci, i] * dy[co, o]``; ``db[co] = sum_o dy[co, o]``.
    * ``max_pool``: each window sends ``dy[c, o]`` to its maximum, accumulating with ``+=``
      where windows overlap. Ties: ``'first'`` gives all of it to the first maximal tap in
      row-major kernel order (PyTorch's CPU kernel), ``'split'`` gives each of the ``m`` tied
      maxima ``dy[c, o] / m``.
    * ``avg_pool``: ``dx[c, p] += dy[c, o] / N`` for every tap of window ``o`` inside the
      input, with the divisor ``N`` of :func:`forward`.
    """
    spec = _spec_of(spec)
    exact, x, w, _, dy = _prepare(spec, x, w, None, dy, op_name="backward")
    if dy is None:
        raise SpecError(f"{_op(spec)}: backward needs dy of shape {_y_shape(spec)}, got None")
    out = output_size(spec)
    dx = _zeros(_x_shape(spec), exact)
    dw = _zeros(_w_shape(spec), exact) if w is not None else None
    db = None
    if spec.kind == "conv":
        for co, ci, cl in _conv_channel_pairs(spec):
            for o in _grid(out):
                for t in _grid(spec.kernel_size):
                    p = _tap_position(spec, o, t)
                    if _inside(p, spec.input_size):
                        k = (co, cl) + _weight_index(spec, t)
                        dx[(ci,) + p] += w[k] * dy[(co,) + o]
                        dw[k] += x[(ci,) + p] * dy[(co,) + o]
    elif spec.kind == "conv_transpose":
        for ci, co, cl in _transpose_channel_pairs(spec):
            for i in _grid(spec.input_size):
                for t in _grid(spec.kernel_size):
                    o = tuple(
                        ii * s + ti * d - lo
                        for ii, ti, s, d, (lo, _) in zip(
                            i, t, spec.stride, spec.dilation, spec.padding
                        )
                    )
                    if _inside(o, out):
                        k = (ci, cl) + _weight_index(spec, t)
                        dx[(ci,) + i] += w[k] * dy[(co,) + o]
                        dw[k] += x[(ci,) + i] * dy[(co,) + o]
    elif spec.kind == "max_pool":
        for c in range(spec.in_channels):
            for o in _grid(out):
                taps = _window(spec, x[c], o)
                top = max(value for _, value, _ in taps)
                winners = [p for p, value, _ in taps if value == top]
                if spec.ties == "first":
                    winners = winners[:1]
                winners = [p for p in winners if p is not None]  # never a padding tap
                for p in winners:
                    share = dy[(c,) + o] / (Fraction(len(winners)) if exact else len(winners))
                    dx[(c,) + p] += share
    else:  # avg_pool
        for c in range(spec.in_channels):
            for o in _grid(out):
                taps = _window(spec, x[c], o)
                n = _divisor(spec, taps, exact)
                for p, _, _ in taps:
                    if p is not None:
                        dx[(c,) + p] += dy[(c,) + o] / n
    if spec.bias:
        db = _zeros((spec.out_channels,), exact)
        for co in range(spec.out_channels):
            for o in _grid(out):
                db[co] += dy[(co,) + o]
    return dx, dw, db
