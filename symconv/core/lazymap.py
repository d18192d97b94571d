"""The index map read lazily: one axis's arithmetic solved in closed form, and single rows,
columns and counts of the flat map as products of their axes.

Along one axis every layer kind relates two coordinates through a kernel tap ``k``::

    v = s*a + d*k - lo,    0 <= a < A,  0 <= k < K,  0 <= v < L

For a convolution or a pool ``a`` is the output position and ``v`` the input position it
reads (``L`` the input length); for a transposed convolution ``a`` is the input position and
``v`` the output position it reaches (``L`` the output length). :class:`AxisRule` answers every
question a preview asks about this relation (the taps of one ``a``, the ``(a, k)`` pairs that
meet one ``v``, the ``a`` of one ``k``, the number of pairs) as Python ``range`` objects or
integers, in O(1) or O(log) time whatever the sizes: nothing is as long as an axis.

A box window's map is the product of its axes, so a row of the flat index map is the
row-major product of per-axis ranges (:class:`Row`), enumerated lazily. The tests compare
every reading here with the dense :attr:`Layer.index_map` and the reference loops.
"""

from __future__ import annotations

import itertools
import math

__all__ = [
    "AxisRule",
    "AxisPairs",
    "Row",
    "floor_sum",
    "lazy_product",
    "axis_rules",
    "padded_rules",
    "forward_row",
    "input_row",
    "tap_column",
    "window_size",
]


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum(floor((a*i + b) / m) for i in range(n))`` for ``a, b >= 0``, ``m >= 1`` in
    O(log) steps (the Euclid-like reduction)."""
    total = 0
    while n > 0:
        if a >= m:
            total += (n - 1) * n // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            break
        n, b = y_max // m, y_max % m
        m, a = a, m
    return total


def _ceil_div(p: int, q: int) -> int:
    return -(-p // q)


def _clip(first: int, last: int, low: int, high: int, step: int = 1) -> range:
    """``range(first, last + 1, step)`` cut to ``[low, high]`` (``first`` on the step)."""
    if first < low:
        first += _ceil_div(low - first, step) * step
    last = min(last, high)
    return range(first, max(last + 1, first), step)


class AxisRule:
    """``v = s*a + d*k - lo`` with ``0 <= a < A``, ``0 <= k < K``, ``0 <= v < L`` (see the
    module docstring). Every method works on Python ints of any size."""

    __slots__ = ("A", "K", "L", "s", "d", "lo")

    def __init__(self, A: int, K: int, L: int, s: int, d: int, lo: int):
        self.A, self.K, self.L, self.s, self.d, self.lo = A, K, L, s, d, lo

    def v(self, a, k):
        """The coordinate ``a`` meets through tap ``k`` (may fall outside ``[0, L)``); works
        on NumPy arrays too."""
        return self.s * a + self.d * k - self.lo

    def k_for_a(self, a: int) -> range:
        """The taps ``k`` (ascending) with which ``a`` meets a ``v`` in ``[0, L)``."""
        base = self.s * a - self.lo
        first = _ceil_div(-base, self.d)
        last = (self.L - 1 - base) // self.d
        return _clip(first, last, 0, self.K - 1)

    def counts_for_a(self, np):
        """``len(self.k_for_a(a))`` for every ``a`` at once, as a NumPy array (``np``)."""
        base = self.s * np.arange(self.A, dtype=np.int64) - self.lo
        first = np.maximum(-(base // self.d), 0)
        last = np.minimum((self.L - 1 - base) // self.d, self.K - 1)
        return np.maximum(last - first + 1, 0)

    def a_for_k(self, k: int) -> range:
        """The positions ``a`` (ascending) that tap ``k`` joins to a ``v`` in ``[0, L)``."""
        base = self.d * k - self.lo
        first = _ceil_div(-base, self.s)
        last = (self.L - 1 - base) // self.s
        return _clip(first, last, 0, self.A - 1)

    def k_for_v(self, v: int) -> range:
        """The taps ``k`` (ascending) for which some ``a`` in ``[0, A)`` meets ``v`` (none when
        ``v`` is outside ``[0, L)``):
        ``s*a = v + lo - d*k``. The matching ``a`` is :meth:`a_of`; it decreases as ``k``
        grows."""
        s, d, rhs = self.s, self.d, v + self.lo
        g = math.gcd(s, d)
        if rhs % g or not 0 <= v < self.L:
            return range(0)
        step = s // g
        k0 = (rhs // g) * pow(d // g, -1, step) % step if step > 1 else 0
        low = max(0, _ceil_div(rhs - s * (self.A - 1), d))
        high = min(self.K - 1, rhs // d)
        if low > high:
            return range(0)
        first = low + (k0 - low) % step
        return range(first, max(high + 1, first), step)

    def a_of(self, v: int, k: int) -> int:
        """The ``a`` that meets ``v`` through tap ``k`` (for ``k`` in :meth:`k_for_v`)."""
        return (v + self.lo - self.d * k) // self.s

    def _below(self, x: int) -> int:
        """Number of pairs ``(a, k)`` in the box with ``s*a + d*k <= x``."""
        A, K, s, d = self.A, self.K, self.s, self.d
        if x < 0:
            return 0
        full = min(max((x - s * (A - 1)) // d + 1, 0), K)  # taps whose every a qualifies
        some = min(x // d + 1, K)  # taps with a = 0 qualifying
        n = some - full
        if n <= 0:
            return full * A
        # taps k = full .. some-1 contribute floor((x - d*k)/s) + 1 each (below A)
        return full * A + floor_sum(n, s, d, x - d * (some - 1)) + n

    def pairs(self) -> int:
        """Number of pairs ``(a, k)`` whose ``v`` lies in ``[0, L)``."""
        return self._below(self.L - 1 + self.lo) - self._below(self.lo - 1)


def axis_rules(spec) -> tuple:
    """One :class:`AxisRule` per axis: which input each output reads (conv, pools) or which
    output each input reaches (conv_transpose)."""
    rules = []
    for n, k, s, d, lo, _, _, o in spec.axes:
        if spec.kind == "conv_transpose":
            rules.append(AxisRule(n, k, o, s, d, lo))
        else:
            rules.append(AxisRule(o, k, n, s, d, lo))
    return tuple(rules)


def padded_rules(spec) -> tuple:
    """Per axis, the rule whose ``v`` range is the padded extent (conv and pools): the taps of
    an output that read an input or padding (not the ceil_mode overhang)."""
    return tuple(AxisRule(o, k, n + lo + hi, s, d, 0) for n, k, s, d, lo, hi, _, o in spec.axes)


class Row:
    """A set of flat pairs (e.g. ``(tap, input position)``) that is the product of per-axis
    sequences: ``axes[a]`` is a list-like of coordinate pairs along axis ``a``
    (:class:`AxisPairs`), ``tap_sizes`` / ``pos_sizes`` the axis lengths that flatten the first
    and the second coordinate row-major. Iterating yields the flat pairs in row-major order of
    the per-axis orders, lazily; ``len`` is the product of the axis lengths."""

    __slots__ = ("axes", "tap_strides", "pos_strides")

    def __init__(self, axes, tap_sizes, pos_sizes):
        self.axes = axes
        self.tap_strides = _strides(tap_sizes)
        self.pos_strides = _strides(pos_sizes)

    def __len__(self) -> int:
        return math.prod(len(ax) for ax in self.axes)

    def _flat(self, combo):
        tap = sum(t * st for (t, _), st in zip(combo, self.tap_strides))
        pos = sum(p * st for (_, p), st in zip(combo, self.pos_strides))
        return tap, pos

    def __iter__(self):
        return map(self._flat, lazy_product(self.axes))

    def first(self, n: int) -> list:
        """The first ``n`` pairs (all of them when fewer)."""
        return list(itertools.islice(iter(self), max(n, 0)))

    def last(self):
        """The last pair (the row must not be empty)."""
        return self._flat(tuple(ax[-1] for ax in self.axes))


class AxisPairs:
    """A lazy sequence of ``(tap, position)`` along one axis: ``ks`` a range of taps (or of
    the other coordinate) and ``pair(k)`` the pair it gives."""

    __slots__ = ("ks", "pair")

    def __init__(self, ks: range, pair):
        self.ks, self.pair = ks, pair

    def __len__(self) -> int:
        return len(self.ks)

    def __getitem__(self, i):
        return self.pair(self.ks[i])

    def __iter__(self):
        return map(self.pair, self.ks)


def lazy_product(axes):
    """``itertools.product(*axes)`` for list-likes with ``len`` and indexing, without copying
    them first (an axis may be a billion long; only the combinations asked for are made)."""
    lens = [len(ax) for ax in axes]
    if any(n == 0 for n in lens):
        return
    idx = [0] * len(axes)
    while True:
        yield tuple(ax[i] for ax, i in zip(axes, idx))
        j = len(axes) - 1
        while j >= 0:
            idx[j] += 1
            if idx[j] < lens[j]:
                break
            idx[j] = 0
            j -= 1
        if j < 0:
            return


def _strides(sizes) -> tuple:
    out, acc = [], 1
    for n in reversed(tuple(sizes)):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


# ---------------------------------------------------------------------- flat readings
def _coords(flat: int, shape) -> tuple:
    out = []
    for n in reversed(tuple(shape)):
        flat, r = divmod(flat, n)
        out.append(r)
    return tuple(reversed(out))


def forward_row(spec, rules, o_flat: int, by_position: bool = False) -> Row:
    """The taps of output ``o_flat`` that read an input: ``(flat tap, flat input)`` pairs in
    tap order (``by_position``: in input order)."""
    axes = []
    for rule, o in zip(rules, _coords(o_flat, spec.output_size)):
        if spec.kind == "conv_transpose":
            ks = rule.k_for_v(o)
            axes.append(
                AxisPairs(
                    ks[::-1] if by_position else ks, lambda k, r=rule, o=o: (k, r.a_of(o, k))
                )
            )
        else:
            axes.append(AxisPairs(rule.k_for_a(o), lambda k, r=rule, o=o: (k, r.v(o, k))))
    return Row(axes, spec.kernel_size, spec.input_size)


def input_row(spec, rules, i_flat: int) -> Row:
    """The (output, tap) links that read input ``i_flat``: ``(flat tap, flat output)`` pairs
    in output order."""
    axes = []
    for rule, i in zip(rules, _coords(i_flat, spec.input_size)):
        if spec.kind == "conv_transpose":
            axes.append(AxisPairs(rule.k_for_a(i), lambda k, r=rule, i=i: (k, r.v(i, k))))
        else:
            ks = rule.k_for_v(i)[::-1]
            axes.append(AxisPairs(ks, lambda k, r=rule, i=i: (k, r.a_of(i, k))))
    return Row(axes, spec.kernel_size, spec.output_size)


def tap_column(spec, rules, t_flat: int) -> Row:
    """The links through kernel tap ``t_flat``: ``(flat output, flat input)`` pairs in output
    order."""
    axes = []
    for rule, k in zip(rules, _coords(t_flat, spec.kernel_size)):
        if spec.kind == "conv_transpose":
            pair = lambda a, r=rule, k=k: (r.v(a, k), a)  # noqa: E731 - a is the input
        else:
            pair = lambda a, r=rule, k=k: (a, r.v(a, k))  # noqa: E731 - a is the output
        axes.append(AxisPairs(rule.a_for_k(k), pair))
    return Row(axes, spec.output_size, spec.input_size)


def window_size(spec, rules, padded, o_flat: int) -> int:
    """An average pool's divisor at output ``o_flat`` (taps inside the padded extent with
    count_include_pad, else taps reading an input): the product of its axes' counts."""
    use = padded if spec.count_include_pad else rules
    return math.prod(len(r.k_for_a(o)) for r, o in zip(use, _coords(o_flat, spec.output_size)))
