"""Symbolic backprop through a whole network (seed 002/004), layer by layer, in SymPy.

Each layer's own derivation (:func:`symconv.core.derive.derive` for conv/pool,
:func:`symconv.nn.layers.derive_nn` otherwise) is re-expressed in the network's symbols
(``x``, ``a{l}``, ``w{l}``, ``b{l}``, ``d{l}`` = dL/da^(l), ``t`` the target), so that the
recursion can be read, composed into closed forms, or evaluated at numbers. Small inputs only:
the expressions grow with the layer sizes. The same recursions in index notation, for any size,
are in :mod:`.recursions`.
"""

from __future__ import annotations

import numpy as np
import sympy

from ..core.derive import derive
from ..core.symbols import symbol_array
from . import layers as nn
from .netlayer import CONV_KINDS

__all__ = ["NetworkDerivation"]


def _rename(arr, prefix, index_base):
    """Symbols named ``{prefix}_{indices}`` of arr's shape (object ndarray)."""
    shape = arr.shape if hasattr(arr, "shape") else ()
    return symbol_array(prefix, shape, index_base=index_base)


def _np(arr):
    """A SymPy N-d array as an object ndarray."""
    if arr is None:
        return None
    return np.array(arr.tolist(), dtype=object).reshape(arr.shape)


class NetworkDerivation:
    """Symbolic backprop through a whole network (seed 002/004), for small inputs.

    For every layer ``l`` (1-based) it holds SymPy object arrays: ``a[l]`` the output symbols
    ``a{l}_...`` (``a[0]`` is the input, named ``x``), ``params[key]`` the parameter symbols
    (``w{l}_...``, ``b{l}_...``), ``delta[l]`` the symbols ``d{l}_...`` of ``dL/da^(l)``,
    ``forward[l]`` the expressions of ``a[l]`` in terms of ``a[l-1]``, ``backward[l]`` the
    expressions of ``dL/da^(l-1)`` in terms of ``delta[l]`` and ``a[l-1]``, ``param_grads[key]``
    the expressions of dL/dparam in terms of ``delta[l]`` and ``a[l-1]``. The loss adds
    ``target`` symbols ``t_...``, ``loss`` and ``delta_n`` (dL/da^(n), the start of the
    recursion; yhat - y for the fused softmax + cross-entropy, kept exact here).
    """

    def __init__(self, net, *, index_base: int = 1):
        self.net = net
        self.index_base = index_base
        ib = index_base
        self.a = {0: _rename(np.empty(net.input_shape), "x", ib)}
        self.delta, self.forward, self.backward = {}, {}, {}
        self.params, self.param_grads = {}, {}
        for lay in net.layers:
            l = lay.index
            if lay.kind in CONV_KINDS:
                d = derive(lay.layer, index_base=ib)
            else:
                d = nn.derive_nn(lay.spec, index_base=ib)
            a_in = self.a[l - 1]
            a_out = _rename(np.empty(lay.output_shape), f"a{l}", ib)
            dl = _rename(np.empty(lay.output_shape), f"d{l}", ib)
            subs = dict(zip(_np(d.x).reshape(-1), a_in.reshape(-1)))
            subs.update(zip(_np(d.dy).reshape(-1), dl.reshape(-1)))
            for attr, letter in (("w", "w"), ("b", "b")):
                sym = getattr(d, attr)
                if sym is not None:
                    new = _rename(_np(sym), f"{letter}{l}", ib)
                    self.params[f"{lay.name}.{attr}"] = new
                    subs.update(zip(_np(sym).reshape(-1), new.reshape(-1)))
            fw = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])
            self.a[l] = a_out
            self.delta[l] = dl
            self.forward[l] = fw(_np(d.y))
            self.backward[l] = fw(_np(d.grad_x))
            for attr in ("w", "b"):
                g = getattr(d, f"grad_{attr}")
                if g is not None:
                    self.param_grads[f"{lay.name}.{attr}"] = fw(_np(g))
        n = len(net.layers)
        self.target = self.loss = self.delta_n = None
        if net.loss is not None:
            ld = nn.derive_nn(net.loss.spec, index_base=ib)
            t = _rename(_np(ld.target), "t", ib)
            subs = dict(zip(_np(ld.x).reshape(-1), self.a[n].reshape(-1)))
            subs.update(zip(_np(ld.target).reshape(-1), t.reshape(-1)))
            self.target = t
            self.loss = ld.loss.xreplace(subs)
            self.delta_n = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])(
                _np(ld.grad_x)
            )

    def composed(self):
        """Closed forms: ``(loss, {a-level: expressions in x and parameters})`` by substituting
        each layer's forward into the next. Small networks only."""
        n = len(self.net.layers)
        values = {}
        outs = {0: self.a[0]}
        for l in range(1, n + 1):
            subs = dict(zip(self.a[l - 1].reshape(-1), outs[l - 1].reshape(-1))) if l > 1 else {}
            outs[l] = np.vectorize(lambda e: e.xreplace(subs), otypes=[object])(self.forward[l])
            values[l] = outs[l]
        loss = None
        if self.loss is not None:
            loss = self.loss.xreplace(dict(zip(self.a[n].reshape(-1), outs[n].reshape(-1))))
        return loss, values

    def numeric_gradients(self, params: dict, x, target):
        """Evaluate the recursion at float64 numbers for one sample: ``(loss, grads, dx)``."""
        n = len(self.net.layers)
        vals = {}
        vals.update(zip(self.a[0].reshape(-1), np.asarray(x, dtype=float).reshape(-1)))
        for key, sym in self.params.items():
            vals.update(zip(sym.reshape(-1), np.asarray(params[key], dtype=float).reshape(-1)))

        def ev(arr):
            flat = [sympy.sympify(e) for e in arr.reshape(-1)]
            fn = sympy.lambdify(
                list(vals),
                flat,
                modules=[{"Heaviside": lambda v, h=0.0: np.heaviside(v, h)}, "numpy"],
            )
            return np.asarray(fn(*vals.values()), dtype=float).reshape(arr.shape)

        for l in range(1, n + 1):
            vals.update(zip(self.a[l].reshape(-1), ev(self.forward[l]).reshape(-1)))
        vals.update(zip(self.target.reshape(-1), np.asarray(target, dtype=float).reshape(-1)))
        loss = float(ev(np.array([self.loss], dtype=object))[0])
        g = ev(self.delta_n)
        grads = {}
        for lay in reversed(self.net.layers):
            l = lay.index
            vals.update(zip(self.delta[l].reshape(-1), g.reshape(-1)))
            for attr in ("w", "b"):
                key = f"{lay.name}.{attr}"
                if key in self.param_grads:
                    grads[key] = ev(self.param_grads[key])
            g = ev(self.backward[l])
        return loss, grads, g
