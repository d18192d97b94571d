"""The layout model: what the templates lay out, and how big it is.

Frames are built from a few plain data classes: a :class:`Sum` is a list of display lines of
:class:`Term` objects, a :class:`MatrixData` rows of :class:`Cell` objects, an :class:`Eq` a
left-hand side with its chain of right-hand sides. Sizes are estimated, never measured:
:func:`tex_width` guesses the width of math-mode LaTeX (to break long sums into lines with
:func:`pack`), :func:`display_lines` counts the lines an equation takes (to split a list of
equations into frames with :func:`chunks`). Long lists, sums and matrices are cut by
:func:`elide` to their first entries, dots and the last entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy

from ..core.preview import elide

__all__ = [
    "Term",
    "Sum",
    "Cell",
    "MatrixData",
    "Eq",
    "Display",
    "frames_of",
    "wrap",
    "tex_width",
    "make_term",
    "pack",
    "elide",
    "matrix_data",
    "display_lines",
    "chunks",
]

# ---------------------------------------------------------------------- widths
_CMD_WIDTH = {
    "partial": 0.6,
    "cdot": 0.8,
    "cdots": 1.4,
    "ldots": 1.4,
    "dots": 1.4,
    "vdots": 0.5,
    "ddots": 1.4,
    "geq": 1.1,
    "leq": 1.1,
    "eta": 0.55,
    "max": 1.9,
    "star": 1.0,
    "quad": 1.0,
    "qquad": 2.0,
    "infty": 1.0,
    "sum": 1.5,
    "mathit": 0.0,
    "mathbf": 0.0,
    "left": 0.0,
    "right": 0.0,
    "bigl": 0.0,
    "bigr": 0.0,
    "!": -0.17,
    ",": 0.17,
    " ": 0.3,
    "leftarrow": 1.6,
}


def tex_width(tex: str) -> float:
    """Rough width (in em of the surrounding font) of a math-mode LaTeX string.

    Only used to decide where long sums break lines; every display is also wrapped in a
    box that scales it down if it is still too wide, so this can afford to be crude.
    """
    pos = 0

    def group():
        nonlocal pos
        # at '{': width of the group
        pos += 1
        w = seq(stop="}")
        pos += 1
        return w

    def atom():
        nonlocal pos
        c = tex[pos]
        if c == "{":
            return group()
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[pos:])
            name = m.group(1)
            pos += len(m.group(0))
            if name == "frac":
                a = arg()
                b = arg()
                return max(a, b) + 0.3
            if name in ("hat", "boxed", "mathbf", "mathit", "text", "operatorname", "textcolor"):
                if name == "textcolor":
                    arg()
                w = arg()
                if name == "boxed":
                    w += 0.7
                if name == "text":
                    w *= 0.85
                return w
            if name in _CMD_WIDTH:
                return _CMD_WIDTH[name]
            return 0.8
        pos += 1
        if c in "_^":
            return 0.7 * arg()
        if c.isdigit():
            return 0.5
        if c.isalpha():
            return 0.55
        if c in "+-=<>":
            return 1.3
        if c in "()[]|":
            return 0.4
        if c in ",;":
            return 0.45
        if c in " &~":
            return 0.0
        return 0.5

    def arg():
        nonlocal pos
        while pos < len(tex) and tex[pos] == " ":
            pos += 1
        if pos >= len(tex):
            return 0.0
        return atom()

    def seq(stop=None):
        w = 0.0
        while pos < len(tex) and tex[pos] != stop:
            w += atom()
        return w

    try:
        return seq()
    except (IndexError, AttributeError):
        return 0.6 * len(tex)


# ---------------------------------------------------------------------- data
@dataclass
class Term:
    """One term of a displayed sum: ``op`` is '', '+', '-' or ',' (max arguments)."""

    op: str
    tex: str
    show: str = ""  # beamer overlay spec for \uncover, e.g. '3-'
    box: str = ""  # beamer overlay spec on which the term is boxed, or 'all'
    width: float = 0.0


@dataclass
class Sum:
    """A sum split into lines (lists of terms), optionally wrapped: ``prefix\\bigl( ... \\bigr)``
    (an average pool's 1/K, a max)."""

    lines: list
    prefix: str = ""
    elided: bool = False

    @property
    def width(self) -> float:
        return max((sum(t.width for t in line) for line in self.lines), default=0.0)


@dataclass
class Cell:
    """One printed matrix entry, optionally highlighted in a colour on some slides."""

    tex: str
    hl: str = ""  # beamer overlay spec of the highlight, or 'all'
    color: str = "symconvx"


@dataclass
class MatrixData:
    """A matrix as rows of :class:`Cell` (dots included when ``elided``)."""

    rows: list  # list of lists of Cell
    env: str = "bmatrix"
    elided: bool = False
    label: str = ""  # an \underbrace label (a channel)

    @property
    def frac(self) -> bool:
        """Entries with fractions: the rows get more room (they would touch otherwise)."""
        return any("\\frac" in c.tex for row in self.rows for c in row)

    @property
    def lines(self) -> float:
        """Estimated height in text lines (:data:`LINE_PT`), its label included."""
        return (
            len(self.rows) * (FRAC_ROW if self.frac else 1.0) + (1.2 if self.label else 0.0) + 0.4
        )

    @property
    def width(self) -> float:
        """Estimated width in em: the widest entry of each column, the column gaps (2
        \\arraycolsep) and the brackets; at least its label's (script size)."""
        cols = max((len(r) for r in self.rows), default=0)
        widest = [
            max((tex_width(r[j].tex) for r in self.rows if j < len(r)), default=0.0)
            for j in range(cols)
        ]
        body = sum(widest) + MATRIX_GAP * max(cols - 1, 0) + MATRIX_BRACKETS
        return max(body, SCRIPT * tex_width(self.label) if self.label else 0.0)


@dataclass
class Display:
    """One display of named matrices side by side, ``lhs = matrices``, e.g. x and w; ``cap``
    is the most it may take on a slide (a fraction of the text height, set by
    :func:`frames_of`). A display too wide for the line is broken by :func:`wrap` into
    several, one line of matrices each: ``cont`` marks the lines after the first (no
    left-hand side, no opening parenthesis), ``more`` the lines before the last (no closing
    one)."""

    parts: list  # [(lhs, [MatrixData or None, ...]), ...]
    cap: str = ""
    cont: bool = False
    more: bool = False

    @property
    def width(self) -> float:
        """Estimated width in em: left-hand sides, matrices, separators, parentheses."""
        return sum(
            (tex_width(lhs) + 1.3 if lhs else 0.0) + blocks_width(blocks) + 2.0
            for lhs, blocks in self.parts
        )

    @property
    def lines(self) -> float:
        """Estimated height in lines: the tallest matrix and the centring's space around it."""
        tallest = max(
            (m.lines for _, blocks in self.parts for m in blocks if m is not None), default=1.0
        )
        return tallest + 1.0


@dataclass
class Eq:
    """``lhs = rhs = ...``: ``sym`` are the symbolic right-hand sides in order (e.g. total
    derivative, with the partials, simplified; the last is the simplest), ``num`` the
    worked-number ones (numbers substituted, then the value). Each is a :class:`Sum`."""

    lhs: str
    sym: list = field(default_factory=list)
    num: list = field(default_factory=list)
    note: str = ""
    rel: str = "="

    @property
    def steps(self) -> list:
        return self.sym + self.num

    @property
    def simple(self):
        return self.sym[-1]


# ---------------------------------------------------------------------- building
def make_term(op, tex, **kw) -> Term:
    """A :class:`Term` with its estimated width (the operator included)."""
    return Term(op, tex, width=tex_width(tex) + (1.3 if op in "+-" and op else 0.4), **kw)


def pack(terms, budget: float) -> list:
    """Greedy line breaking of terms into lines of at most ``budget`` em (continuation lines
    start indented by 1 em); no terms give the single line ``0``."""
    lines, cur, w = [], [], 0.0
    for t in terms:
        if cur and w + t.width > budget:
            lines.append(cur)
            cur, w = [], 1.0
        cur.append(t)
        w += t.width
    if cur:
        lines.append(cur)
    return lines or [[make_term("", "0")]]


def matrix_data(
    shape, get, fmt, *, limit, hl=None, color="symconvx", label="", keep=()
) -> MatrixData:
    """A (possibly huge) matrix ``get(i, j)`` of ``shape`` as :class:`MatrixData`, elided past
    ``limit`` rows/columns (an int, or one with a ``cols`` attribute for a different column
    limit: :class:`~.options.MatrixLimit`), never hiding the cells ``(i, j)`` in ``keep``;
    ``fmt`` prints an entry, ``hl`` maps an entry (a SymPy object) to a beamer overlay spec."""
    rows_idx = elide(shape[0], int(limit), {i for i, _ in keep})
    cols_idx = elide(shape[1], getattr(limit, "cols", int(limit)), {j for _, j in keep})
    rows = []
    for i in rows_idx:
        row = []
        for j in cols_idx:
            if i is None and j is None:
                row.append(Cell(r"\ddots"))
            elif i is None:
                row.append(Cell(r"\vdots"))
            elif j is None:
                row.append(Cell(r"\cdots"))
            else:
                v = get(i, j)
                spec = hl.get(v, "") if hl and isinstance(v, sympy.Basic) else ""
                row.append(Cell(fmt(v), spec, color))
        rows.append(row)
    elided = len(rows_idx) < shape[0] or len(cols_idx) < shape[1]
    return MatrixData(rows, elided=elided, label=label)


# ---------------------------------------------------------------------- widths of matrices
#: Between two matrix columns (2 \\arraycolsep = 10pt), and a matrix's brackets, in em.
MATRIX_GAP = 0.95
MATRIX_BRACKETS = 1.0
#: Script size (a label under a matrix) relative to the text.
SCRIPT = 0.7
#: The smallest a display of matrices is scaled to fit the line (\\footnotesize of 11pt): a
#: wider one is broken into lines of matrices by :func:`wrap` instead.
WIDTH_FLOOR = 0.8


def blocks_width(blocks) -> float:
    """Estimated width of ``m.blocks``: the matrices (None: dots), the commas between them
    and the parentheses around several."""
    widths = [1.4 if m is None else m.width for m in blocks]
    return sum(widths) + 0.9 * max(len(widths) - 1, 0) + (1.2 if len(widths) > 1 else 0.0)


def wrap(displays, width: float, floor: float = WIDTH_FLOOR) -> list:
    """Displays that fit a line of ``width`` em once scaled down to ``floor`` at the least:
    named matrices too wide side by side go on displays of their own, and the matrices of
    one name too wide for one line continue on the next displays (a line never holds less
    than one matrix). The first line of a name keeps its left-hand side."""
    room = width / floor
    out = []
    for d in displays:
        if d.width <= room:
            out.append(d)
            continue
        for lhs, blocks in d.parts:
            out.extend(_wrap_blocks(lhs, blocks, room))
    return out


def _wrap_blocks(lhs, blocks, room) -> list:
    lines, cur = [], []
    lead = tex_width(lhs) + 1.3 + 2.0
    for m in blocks:
        if cur and lead + blocks_width(cur + [m]) > room:
            lines.append(cur)
            cur, lead = [], 2.0
        cur.append(m)
    lines.append(cur)
    if len(lines) == 1:
        return [Display([(lhs, blocks)])]
    return [
        Display([(lhs if k == 0 else "", line)], cont=k > 0, more=k < len(lines) - 1)
        for k, line in enumerate(lines)
    ]


# ---------------------------------------------------------------------- heights
#: One text line of a slide (11pt Beamer's baseline skip), the unit of the height estimates.
LINE_PT = 13.6
#: A slide's text height in lines (252pt), and what is left under the frame title.
TEXT_LINES = 18.5
FRAME_LINES = 15.0
#: A matrix row holding fractions, in lines (\arraystretch 1.6).
FRAC_ROW = 1.6
#: The readable floor: a display is never scaled below this; what does not fit goes to the
#: next frame.
FLOOR = 0.75


def frames_of(displays, budget: float = FRAME_LINES, first: float = 0.0, width=None) -> list:
    """The layout policy of slides: displays grouped into frames (in order) so that each frame's
    estimated height fits ``budget`` lines once scaled down, but never below :data:`FLOOR`; the
    first frame already holds ``first`` lines of text. With ``width`` (em), displays too wide
    are first broken into lines (:func:`wrap`). Each display gets its ``cap`` (its share of the
    frame) as a fraction of the text height."""
    if width is not None:
        displays = wrap(displays, width)
    groups, cur, used, room = [], [], 0.0, budget - first
    for d in displays:
        if cur and (used + d.lines) * FLOOR > room:
            groups.append(cur)
            cur, used, room = [], 0.0, budget
        cur.append(d)
        used += d.lines
    if cur:
        groups.append(cur)
    room = budget - first
    for g in groups:
        total = sum(d.lines for d in g)
        scale = min(1.0, room / total)
        for d in g:
            d.cap = f"{max(d.lines * scale, 1.0) / TEXT_LINES:.2f}\\textheight"
        room = budget
    return groups


def display_lines(eq, which) -> int:
    """Display lines an equation takes: ``which`` is 'num' (its first worked-number line),
    'simple' (its simplest symbolic form) or anything else (every step); dots take one."""
    if eq is None:
        return 1
    if which == "num":
        return len(eq.num[0].lines) if eq.num else 1
    if which == "simple":
        return len(eq.simple.lines)
    return sum(len(st.lines) for st in eq.steps)


def chunks(eqs, which, max_lines) -> list:
    """Split a list of equations into frames of at most ``max_lines`` display lines."""
    out, cur, n = [], [], 0
    for e in eqs or []:
        lines = display_lines(e, which)
        if cur and n + lines > max_lines:
            out.append(cur)
            cur, n = [], 0
        cur.append(e)
        n += lines
    if cur:
        out.append(cur)
    return out
