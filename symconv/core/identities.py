"""The seeds' identities for a layer, stated with their own arithmetic.

dE/dw is a correlation of x with dE/dy; dE/dx is the full correlation of the zero-padded,
stride-dilated dE/dy with the rotated kernel, i.e. dE/dy W^T; dE/db sums dE/dy. Each
:class:`Identity` holds both sides: the left from the derivation (read off the index map), the
right recomputed here with padding, dilation and rotation of whole arrays (on purpose: that is
what an identity checks). :func:`identity_operands` builds the correlation operands for the
checks here and for the LaTeX printer, which draws them.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy import Add

from .arrays import correlation_size, dilate, rotate180, to_sympy_array, zero_pad

__all__ = ["Identity", "build_identities", "identity_operands"]


def identity_operands(spec, x, dy, kern) -> dict:
    """The operands of the two identities for one channel pair, ``{"w": (a, k, step), "x": (a,
    k, step)}``: dE/dw and dE/dx are the valid correlations of ``a`` with ``k`` taken every
    ``step`` (before the crop to the kernel or input, and the kernel flip of ``flip=True``).

    conv: dE/dw from x zero-padded and dE/dy stride-dilated, at the kernel dilation; dE/dx
    from dE/dy stride-dilated and fully padded with the rotated (dilated) kernel.
    conv_transpose: both from dE/dy zero-padded, with x stride-dilated (at the dilation) and
    with the dilated kernel (at the stride)."""
    s, d = spec.stride, spec.dilation
    if spec.kind == "conv":
        weff = rotate180(kern) if spec.flip else kern
        full = [(e - 1, e - 1) for e in spec.effective_kernel]
        return {
            "w": (zero_pad(x, spec.padding), dilate(dy, s), d),
            "x": (zero_pad(dilate(dy, s), full), dilate(rotate180(weff), d), (1,) * spec.ndim),
        }
    dyp = zero_pad(dy, spec.padding)
    return {"w": (dyp, dilate(x, s), d), "x": (dyp, dilate(kern, d), s)}


def _correlate(a, k, stride):
    """Valid cross-correlation ``out[n] = sum_m a[n*stride + m] k[m]`` of object arrays."""
    out_shape = correlation_size(a.shape, k.shape, stride)
    out = np.full(out_shape, sympy.Integer(0), dtype=object)
    for m in np.ndindex(*k.shape):
        if k[m] == 0:
            continue
        sl = tuple(slice(mi, mi + (no - 1) * s + 1, s) for mi, no, s in zip(m, out_shape, stride))
        out = out + a[sl] * k[m]
    return out


def _fit(a, start, size):
    """``a`` cropped from ``start`` to ``size`` per axis, zero-filled past its end."""
    out = np.full(size, sympy.Integer(0), dtype=object)
    src = tuple(slice(s0, min(s0 + n, dim)) for s0, n, dim in zip(start, size, a.shape))
    dst = tuple(slice(0, sl.stop - sl.start) for sl in src)
    out[dst] = a[src]
    return out


class Identity:
    """A stated identity ``lhs == rhs`` with its wording; :meth:`verify` checks it with SymPy.

    ``name``, ``statement`` (plain text) and ``latex`` are plain strings. The two sides are
    arrays, built on first use by ``sides()`` (so a large layer can state its identities without
    computing them)."""

    __slots__ = ("name", "statement", "latex", "_sides", "_values")

    def __init__(self, name: str, statement: str, latex: str, sides):
        self.name, self.statement, self.latex = name, statement, latex
        self._sides = sides
        self._values = None

    def _both(self):
        if self._values is None:
            self._values = self._sides()
        return self._values

    @property
    def lhs(self):
        """The side read off the derivation."""
        return self._both()[0]

    @property
    def rhs(self):
        """The side computed here with whole-array operations."""
        return self._both()[1]

    def verify(self) -> bool:
        lhs = np.asarray(self.lhs.tolist() if hasattr(self.lhs, "tolist") else self.lhs, object)
        rhs = np.asarray(self.rhs.tolist() if hasattr(self.rhs, "tolist") else self.rhs, object)
        if lhs.shape != rhs.shape:
            return False
        return all(sympy.expand(l - r) == 0 for l, r in zip(lhs.flat, rhs.flat))

    def __repr__(self) -> str:
        return f"Identity({self.name!r}: {self.statement})"


def build_identities(deriv) -> list:
    """The identities of the seeds for a derivation, stated with arithmetic independent of the
    index map (see the module docstring). Only the statements are built here."""
    spec = deriv.spec
    out = []
    if spec.kind != "max_pool":
        out.append(
            Identity(
                "grad_x_transpose",
                "dE/dx = dE/dy W^T (row vectors, as x W = y: the transposed convolution)",
                r"\frac{\partial E}{\partial x} = \frac{\partial E}{\partial y}\, W^{T}",
                lambda: (deriv.grad_x, _transpose_side(deriv)),
            )
        )
    if spec.has_weight:
        texts = _CONV_TEXTS if spec.kind == "conv" else _TRANSPOSE_TEXTS
        sides = _correlation_sides(deriv)  # computed once for both identities, on first use
        out.append(
            Identity("grad_w_correlation", *texts[:2], lambda: (deriv.grad_w, sides()["grad_w"]))
        )
        out.append(
            Identity(
                "grad_x_full_correlation",
                *texts[2:],
                lambda: (deriv.grad_x, sides()["grad_x"]),
            )
        )
    if spec.bias:
        out.append(
            Identity(
                "grad_b_sum",
                "dE/db_c = sum of dE/dy over output channel c",
                r"\frac{\partial E}{\partial b_c} = \sum_{o} \frac{\partial E}{\partial y_{c,o}}",
                lambda: (deriv.grad_b, _bias_side(deriv)),
            )
        )
    return out


_CONV_TEXTS = (
    "dE/dw = x (zero-padded) cross-correlated with dE/dy (stride-dilated), "
    "sampled at the kernel dilation",
    r"\frac{\partial E}{\partial w} = x \star \frac{\partial E}{\partial y}",
    "dE/dx = full correlation of the zero-padded, stride-dilated dE/dy with the "
    "180-degree-rotated kernel",
    r"\frac{\partial E}{\partial x} = \operatorname{pad}\!\left("
    r"\frac{\partial E}{\partial y}\right) \star \operatorname{rot}_{180}(w)",
)
_TRANSPOSE_TEXTS = (
    "dE/dw = dE/dy (cropping undone by padding) cross-correlated with x " "(stride-dilated)",
    r"\frac{\partial E}{\partial w} = \frac{\partial E}{\partial y} \star x",
    "dE/dx = the forward convolution of dE/dy with w (stride s, dilation d)",
    r"\frac{\partial E}{\partial x} = \frac{\partial E}{\partial y} \star w",
)


def _transpose_side(deriv):
    """dE/dy W^T, with W the Toeplitz matrix."""
    T = deriv.toeplitz("column")
    vec = sympy.Matrix(list(deriv._dy.reshape(-1)))
    return to_sympy_array(list((T.T * vec).reshape(1, T.shape[1])), deriv.spec.x_shape)


def _bias_side(deriv):
    dy, spec = deriv._dy, deriv.spec
    return to_sympy_array(
        [Add(*dy[c].reshape(-1)) for c in range(spec.out_channels)], (spec.out_channels,)
    )


def _correlation_sides(deriv):
    """A function giving ``{"grad_w": ..., "grad_x": ...}``, the correlations of the two
    identities for every channel pair, computed on its first call."""
    cache = {}

    def sides():
        if not cache:
            cache.update(_correlations(deriv))
        return cache

    return sides


def _correlations(deriv) -> dict:
    spec, layer = deriv.spec, deriv.layer
    nd = spec.ndim
    x, dy, w = deriv._x, deriv._dy, deriv._w
    gw = np.empty(w.shape, dtype=object)
    gx = np.full(x.shape, sympy.Integer(0), dtype=object)
    # dE/dx of a conv is cropped at the padding; everything else starts at index 0
    x_start = [lo for lo, _ in spec.padding] if spec.kind == "conv" else (0,) * nd
    for co, ci, (w0, w1) in layer.channel_pairs():
        ops = identity_operands(spec, x[ci], dy[co], w[w0, w1])
        g = _fit(_correlate(*ops["w"]), (0,) * nd, spec.kernel_size)
        gw[w0, w1] = rotate180(g) if spec.kind == "conv" and spec.flip else g
        gx[ci] = gx[ci] + _fit(_correlate(*ops["x"]), x_start, spec.input_size)
    return {
        "grad_w": to_sympy_array(gw.reshape(-1), w.shape),
        "grad_x": to_sympy_array(gx.reshape(-1), x.shape),
    }
