"""What every frame builder shares: the derivation, the options, the printer, the flat symbol
lists, the worked numbers, and the helpers that turn expressions and arrays into the layout
model (sums split into lines, elided matrices, blocks of matrices per channel).
"""

from __future__ import annotations

import numpy as np
import sympy

from ...core.arrays import as_object_array, flat_entries
from ..layout import Sum, elide, make_term, matrix_data, pack, tex_width
from ..printer import SlidePrinter, index_commas, number_tex
from ..values import worked_numbers

__all__ = ["FrameContext"]


def _split_wide(term, budget) -> list:
    """A term wider than ``budget`` holding ``\\left[a,\\ b,\\ ...\\right]`` as pieces
    ``...\\bigl[a``, ``, b``, ..., ``z\\bigr]`` (lines may break between them)."""
    tex = term.tex
    if term.width <= budget or r"\left[" not in tex or not tex.endswith(r"\right]"):
        return [term]
    head, inner = tex.split(r"\left[", 1)
    parts = inner[: -len(r"\right]")].split(r",\ ")
    if len(parts) < 2:
        return [term]
    out = [make_term(term.op, head + r"\bigl[" + parts[0], show=term.show, box=term.box)]
    out += [make_term(",", p, show=term.show) for p in parts[1:-1]]
    out.append(make_term(",", parts[-1] + r"\bigr]", show=term.show))
    return out


class FrameContext:
    """A derivation prepared for the frame builders (one per rendered document).

    ``num`` is ``None`` without worked numbers, else :func:`symconv.latex.values.worked_numbers`.
    """

    def __init__(self, deriv, opts, values):
        self.deriv = deriv
        self.spec = deriv.spec
        self.opts = opts
        self.commas = index_commas(deriv)
        self.printer = SlidePrinter(opts.notation, commas=self.commas)
        self.nt = opts.notation
        self.beamer = opts.beamer
        self.xs = flat_entries(deriv.x)
        self.ys = flat_entries(deriv.y_symbols)
        self.dys = flat_entries(deriv.dy)
        self.ws = flat_entries(deriv.w) if deriv.w is not None else None
        self.bs = flat_entries(deriv.b) if deriv.b is not None else None
        self.x_np = as_object_array(deriv.x)
        self.dy_np = as_object_array(deriv.dy)
        self.w_np = as_object_array(deriv.w) if deriv.w is not None else None
        self._toeplitz = None
        self._y_flat = None
        self.num = None
        if values:
            self.num = worked_numbers(
                deriv, values, xs=self.xs, ws=self.ws, bs=self.bs, dys=self.dys
            )

    # ------------------------------------------------------------------ the layer
    def y_expr(self, o):
        """The forward expression of output ``o`` (flat index)."""
        if self._y_flat is None:
            self._y_flat = flat_entries(self.deriv.y)
        return self._y_flat[o]

    def toeplitz_entries(self, transpose=False):
        """The Toeplitz matrix in the chosen convention as ``(shape, {(i, j): entry})``.

        Equal to ``Derivation.toeplitz(convention)`` (the Jacobian dy/dx, transposed for the
        row convention); read straight from ``jacobian_terms('x')`` so that huge layers do
        not pay for building a SymPy SparseMatrix only to show a corner of it."""
        if self._toeplitz is None:
            row = self.opts.row
            entries = {}
            for i, col in enumerate(self.deriv.jacobian_terms("x")):
                for o, c in col:
                    entries[(i, o) if row else (o, i)] = c
            n_x, n_y = len(self.xs), len(self.ys)
            self._toeplitz = ((n_x, n_y) if row else (n_y, n_x)), entries
        shape, entries = self._toeplitz
        if transpose:
            return (shape[1], shape[0]), {(j, i): v for (i, j), v in entries.items()}
        return shape, entries

    # ------------------------------------------------------------------ printing
    def tex(self, expr) -> str:
        return self.printer.doprint(expr)

    def ntex(self, v) -> str:
        """A worked number, exact."""
        return number_tex(v, self.printer)

    def pd(self, num: str, den: str) -> str:
        return rf"\frac{{\partial {num}}}{{\partial {den}}}"

    def dloss(self, sym) -> str:
        return self.pd(self.nt.loss, self.tex(sym))

    def idx(self, letters) -> str:
        """Index letters of a generic entry (``ij``; ``s,i,j`` when indices print apart)."""
        return ("," if self.commas else "").join(letters)

    # ------------------------------------------------------------------ sums
    def pack(self, terms, lhs_w=0.0) -> list:
        """Terms broken into lines that fit the display width next to a left-hand side (a
        term too wide alone, a max-pool indicator with many conditions, breaks between its
        conditions)."""
        budget = max(self.opts.width - lhs_w - 1.5, 12.0)
        return pack([piece for t in terms for piece in _split_wide(t, budget)], budget)

    def terms_sum(self, n, make, *, limit=None, prefix="", first_op="", sep="+", lhs_w=0.0):
        """A Sum of ``n`` terms, ``make(i) -> (op, tex)``, elided past ``limit`` terms."""
        limit = self.opts.max_terms if limit is None else limit
        terms = []
        elided = False
        for k, i in enumerate(elide(n, limit)):
            if i is None:
                elided = True
                terms.append(make_term(sep, r"\cdots" if sep != "," else r"\dots"))
                continue
            op, tex = make(i)
            if k == 0:
                op = "-" if op == "-" else first_op
            terms.append(make_term(op, tex))
        return Sum(self.pack(terms, lhs_w), prefix=prefix, elided=elided)

    def single(self, tex) -> Sum:
        return Sum([[make_term("", tex)]])

    def lhs_width(self, texs) -> float:
        return max((tex_width(t) for t in texs), default=0.0) + 1.3

    # ------------------------------------------------------------------ matrices
    def matrix(
        self, arr2d, *, hl=None, color="symconvx", fmt=None, label="", limit=None, keep=False
    ):
        """A 2-D object array (1-D: a row) as MatrixData, elided past ``limit`` rows/columns
        (default: the document's, smaller on slides); ``keep``: never hide a non-zero entry.

        ``hl`` maps an entry (the object in the array) to a beamer overlay spec."""
        arr2d = np.asarray(arr2d, dtype=object)
        if arr2d.ndim == 1:
            arr2d = arr2d.reshape(1, -1)
        kept = list(zip(*np.nonzero(arr2d != 0))) if keep else ()
        limit = self.opts.block_matrix if limit is None else limit
        return matrix_data(
            arr2d.shape,
            lambda i, j: arr2d[i, j],
            fmt or self.tex,
            limit=limit,
            hl=hl,
            color=color,
            label=label,
            keep=kept,
        )

    def sparse(self, shape, entries):
        """A (possibly huge) sparse matrix given as ``{(i, j): entry}``, elided."""
        zero = sympy.Integer(0)
        return matrix_data(
            shape,
            lambda i, j: entries.get((i, j), zero),
            self.tex,
            limit=self.opts.max_matrix,
            color="symconvw",
        )

    def blocks(self, arr, lead, names, *, hl=None, color="symconvx", fmt=None, limit=3, **matrix):
        """An array (lead channel axes, then spatial axes) as a list of matrices, one per
        channel combination (and per leading slice of a 3-D volume), with labels; elided past
        ``limit`` blocks (None marks the dots). ``matrix``: ``matrix_limit`` (each block's
        side) and ``keep`` of :meth:`matrix`."""
        if "matrix_limit" in matrix:
            matrix["limit"] = matrix.pop("matrix_limit")
        arr = np.asarray(arr, dtype=object)
        lead_shape = arr.shape[:lead]
        spatial = arr.shape[lead:]
        keys = list(np.ndindex(*lead_shape)) if lead else [()]
        slices = []
        for key in keys:
            sub = arr[key] if key else arr
            if len(spatial) == 3:
                for dz in range(spatial[0]):
                    slices.append((key + (dz,), sub[dz], True))
            else:
                slices.append((key, sub, False))
        out = []
        base = self.deriv.index_base
        for i in elide(len(slices), limit):
            if i is None:
                out.append(None)
                continue
            key, sub, depth = slices[i]
            parts = []
            shown = [(n, k) for n, k, size in zip(names, key[:lead], lead_shape) if size > 1]
            parts += [f"{n}={k + base}" for n, k in shown]
            if depth:
                parts.append(f"{names[-1]}={key[-1] + base}")
            label = ",\\ ".join(parts)
            out.append(self.matrix(sub, hl=hl, color=color, fmt=fmt, label=label, **matrix))
        return out

    def x_blocks(self, values=None, hl=None, **kw):
        arr = self.x_np if values is None else values
        fmt = kw.pop("fmt", None) or (None if values is None else self.ntex)
        names = ["p", "d"] if self.spec.ndim == 3 else ["p"]
        return self.blocks(arr, 1, names, hl=hl, fmt=fmt, **kw)

    def w_blocks(self, values=None, hl=None, **kw):
        arr = self.w_np if values is None else values
        fmt = kw.pop("fmt", None) or (None if values is None else self.ntex)
        names = ["p", "s"] if self.spec.kind == "conv_transpose" else ["s", "p"]
        return self.blocks(arr, 2, names + ["d"], hl=hl, color="symconvw", fmt=fmt, **kw)

    def y_blocks(self, arr, fmt=None, **kw):
        names = ["s", "d"] if self.spec.ndim == 3 else ["s"]
        return self.blocks(arr, 1, names, fmt=fmt, **kw)

    def spatial(self, arr, fmt=None):
        """A spatial array (1-, 2- or 3-D) as a matrix (a 3-D volume: its first slice)."""
        arr = np.asarray(arr, dtype=object)
        if arr.ndim == 3:
            arr = arr[0]
        return self.matrix(arr, fmt=fmt)
