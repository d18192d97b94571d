"""The linear maps of a derivation as sparse SymPy matrices: the Jacobian dy/dx, the Toeplitz
(unrolled) matrix in either convention, the broadcast bias, and the per-parameter Jacobian terms
of the total-derivative sums. All are read off the sparse Jacobian triplets that
:class:`~symconv.core.derive.Derivation` builds from the index map."""

from __future__ import annotations

import math

import numpy as np
import sympy

from .arrays import grouped
from .errors import SpecError, SymconvError

__all__ = ["bias_vector", "jacobian", "jacobian_terms", "toeplitz"]


def jacobian_terms(deriv, wrt: str):
    """Non-zero partial derivatives of the outputs, per parameter entry.

    ``wrt`` is ``'x'`` or ``'w'``; returns a list (row-major over that parameter) whose
    entries are lists of ``(flat output index, dy_o / d param)`` in output order: the
    total-derivative sum dE/dp = sum_o dE/dy_o dy_o/dp with its zero terms left out.
    """
    if wrt == "x":
        rows, cols, coefs = deriv._jx
        n = deriv._n[1]
    elif wrt == "w" and deriv._jw is not None:
        rows, cols, coefs = deriv._jw
        n = deriv._w.size
    else:
        raise SymconvError(
            f"{deriv.spec.op}: jacobian_terms wrt must be 'x' or 'w' (weights only for "
            f"conv layers), got {wrt!r}"
        )
    order = np.lexsort((rows, cols))
    pairs = list(zip(rows[order].tolist(), coefs[order]))
    return grouped(pairs, cols[order], n, list)


def jacobian(deriv):
    """The sparse Jacobian dy/dx, shape (n_y, n_x), row-major vec of (C, *spatial)."""
    rows, cols, coefs = deriv._jx
    entries = dict(zip(zip(rows.tolist(), cols.tolist()), coefs))
    return sympy.SparseMatrix(deriv._n[0], deriv._n[1], entries)


def toeplitz(deriv, convention: str = "column"):
    """The unrolled (Toeplitz) matrix of a linear layer as a sparse SymPy matrix.

    ``convention='column'`` gives T with vec(y) = T vec(x) (+ bias); ``'row'`` gives the
    slides' form x W = y with W = T^T (for seed 000, the 9x4 matrix). It equals the
    Jacobian dy/dx and is built without any dense intermediate. Max pooling is not
    linear: use :meth:`jacobian`.
    """
    if convention not in ("column", "row"):
        raise SpecError(
            f"{deriv.spec.op}: convention must be 'column' or 'row', got {convention!r}"
        )
    if deriv.spec.kind == "max_pool":
        raise SymconvError(
            f"{deriv.spec.op}: max pooling is not linear, so it has no Toeplitz matrix; "
            "use Derivation.jacobian() for its (input-dependent) Jacobian"
        )
    rows, cols, coefs = deriv._jx
    n_y, n_x = deriv._n
    if convention == "row":
        rows, cols, n_y, n_x = cols, rows, n_x, n_y
    entries = dict(zip(zip(rows.tolist(), cols.tolist()), coefs))
    return sympy.SparseMatrix(n_y, n_x, entries)


def bias_vector(deriv):
    """vec of the bias broadcast over the output (the '+ bias' of vec(y) = T vec(x) + b)."""
    n_out = math.prod(deriv.spec.output_size)
    if deriv._b is None:
        return sympy.zeros(deriv._n[0], 1)
    return sympy.Matrix(
        [deriv._b[co] for co in range(deriv.spec.out_channels) for _ in range(n_out)]
    )
