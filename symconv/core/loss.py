"""The seed-000 loss E = 1/2 sum (y - yhat)^2 substituted into a derivation."""

from __future__ import annotations

import numpy as np
import sympy
from sympy import Add

from .arrays import to_sympy_array
from .evaluate import object_array
from .symbols import symbol_array

__all__ = ["with_l2_loss"]


def with_l2_loss(deriv, target=None):
    """A copy of ``deriv`` with the seed-000 loss E = 1/2 sum (y - yhat)^2 substituted.

    ``target`` is yhat: numbers or expressions shaped like ``y``; default symbols
    ``yhat_ij``. The copy has ``loss`` (E), ``target``, ``dy_value`` (dE/dy = y - yhat) and
    gradients in which every dE/dy_ij is replaced by y_ij - yhat_ij.
    """
    spec = deriv.spec
    if target is None:
        tgt = symbol_array("yhat", spec.y_shape, index_base=deriv.index_base, keep_leading=1)
    else:
        tgt = object_array(target, spec.y_shape, "target", spec.op)
    deriv.y  # build the expressions first: the copy shares them, then replaces the gradients
    new = object.__new__(type(deriv))
    new.__dict__.update(deriv.__dict__)
    new.__dict__.pop("identities", None)
    new._base = getattr(deriv, "_base", deriv)
    yv = np.array(deriv.y.tolist(), dtype=object).reshape(spec.y_shape)
    diff = yv - tgt
    new.target = to_sympy_array(tgt.reshape(-1), spec.y_shape)
    new.dy_value = to_sympy_array(diff.reshape(-1), spec.y_shape)
    new.loss = sympy.Rational(1, 2) * Add(*[d**2 for d in diff.reshape(-1)])
    subs = dict(zip(deriv._dy.reshape(-1), diff.reshape(-1)))
    new.grad_x = deriv.grad_x.xreplace(subs)
    new.grad_w = None if deriv.grad_w is None else deriv.grad_w.xreplace(subs)
    new.grad_b = None if deriv.grad_b is None else deriv.grad_b.xreplace(subs)
    return new
