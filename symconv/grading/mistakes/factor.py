"""Mistakes by a constant factor: the sign (yhat - y instead of y - yhat) and a scale (the 1/2
of E dropped, mean instead of sum, an average pool's window sum instead of its mean). The factor
is read off the answer (:attr:`Case.ratio`) and named when a common mistake explains it."""

from __future__ import annotations

import math

import numpy as np
import sympy

from ...core.layers import Layer
from ..catalogue import Candidate, mistake
from ..compute import GRADIENTS
from ..values import object_array

_FACTORED = ("output", *GRADIENTS, "toeplitz")


def _times(c, E):
    return object_array(E.shape, (c * e for e in E.reshape(-1)))


def _factor_text(c) -> str:
    c = sympy.Rational(c)
    return str(c) if c.q == 1 else f"{c.p}/{c.q}"


def _gradient_factor_reason(c, spec):
    """Why a gradient may be c times the result, or None."""
    n_out = math.prod(spec.y_shape)
    known = [
        (sympy.Integer(2), "the 1/2 of E = 1/2 sum (y - yhat)^2 was dropped"),
        (sympy.Rational(1, 2), "an extra factor 1/2"),
        (sympy.Rational(1, n_out), f"mean instead of sum over the {n_out} outputs"),
        (sympy.Integer(n_out), f"sum instead of mean over the {n_out} outputs"),
        (sympy.Rational(2, n_out), f"mean over the {n_out} outputs and the 1/2 of E dropped"),
        (sympy.Integer(-2), "the sign and the 1/2 of E both wrong"),
    ]
    per_channel = math.prod(spec.output_size)
    if per_channel != n_out:
        known.insert(
            3,
            (
                sympy.Rational(1, per_channel),
                f"mean instead of sum over the {per_channel} outputs of a channel",
            ),
        )
    return next((t for f, t in known if f == c), None)


def _factor_explanation(c, case) -> str:
    """Name a constant factor c (answer = c * result) where a common mistake explains it."""
    text = f"the answer is {_factor_text(c)} times the result"
    spec = case.spec
    why = None
    if case.quantity in GRADIENTS:
        why = _gradient_factor_reason(c, spec)
    elif spec.kind == "avg_pool":
        n = math.prod(spec.kernel_size)
        if c == n:
            why = f"the window sum instead of the mean over {n} entries"
        elif c == sympy.Rational(1, n):
            why = f"divided by the window size {n} twice"
    return f"{text} ({why})" if why else text


@mistake(
    "sign",
    "the sign is wrong (yhat - y used instead of y - yhat, or a sign slip)",
    quantities=_FACTORED,
    common=5,
)
def _sign(case):
    """The negative of the result."""
    E = case.expected
    if case.quantity in GRADIENTS:
        text = "the answer is the negative of the result (yhat - y instead of y - yhat)"
        yield Candidate(text, _times(-1, E))
    if case.ratio == -1:
        yield Candidate("the answer is the negative of the result", _times(-1, E))


@mistake(
    "scale",
    "off by a constant factor (sum vs mean, or the 1/2 of E = 1/2 sum (y - yhat)^2)",
    quantities=_FACTORED,
)
def _scale(case):
    """A constant multiple of the result; average pooling also with the window sum instead
    of the mean (per-window divisor)."""
    spec, q, E = case.spec, case.quantity, case.expected
    if spec.kind == "avg_pool" and q in ("output", "grad-input"):
        sizes = np.asarray(Layer(spec).window_sizes).reshape(spec.output_size)
        Nw = object_array(
            spec.y_shape, (sympy.Integer(int(sizes[i[1:]])) for i in np.ndindex(spec.y_shape))
        )
        text = "matches the window sum instead of the mean (no 1/window size)"
        if q == "output":
            yield Candidate(text, E * Nw)
        else:
            yield case.variant(text, DY=case.dy_value * Nw)
    c = case.ratio
    if c is not None and c != -1:
        yield Candidate(_factor_explanation(c, case), _times(c, E))
