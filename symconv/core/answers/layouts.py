"""How entries are laid out: lists, rows, LaTeX environments and JSON, and the array they give.

:func:`_dispatch` detects the format of a tokenized answer (``latex``, ``json``, ``list``,
``rows`` or ``scalar``, see :mod:`symconv.core.answers`), splits it into entries, parses each
with :func:`symconv.core.answers.expr._parse_entry` and returns a tree of :class:`_Seq` and
:class:`~symconv.core.answers.context._Entry`; :func:`_to_array` checks that the tree is
rectangular and turns it into an object ndarray.
"""

from __future__ import annotations

import numpy as np

from .context import _Context, _Entry, _q, _where
from .expr import _parse_entry
from .tokens import _Tok, _delta, _ends_operand, _starts_operand

_ENVS = frozenset({"bmatrix", "pmatrix", "matrix", "vmatrix", "Bmatrix", "Vmatrix", "smallmatrix"})


class _Seq:
    """A parsed list (row, sublist) and where it started."""

    __slots__ = ("items", "start")

    def __init__(self, items: list, start: int):
        self.items = items
        self.start = start


def _split_top(toks: list[_Tok], is_sep) -> tuple[list[list[_Tok]], list[_Tok]]:
    """Split ``toks`` at top-level tokens for which ``is_sep`` is true."""
    chunks: list[list[_Tok]] = [[]]
    seps: list[_Tok] = []
    depth = 0
    for tok in toks:
        if depth == 0 and is_sep(tok):
            chunks.append([])
            seps.append(tok)
            continue
        depth += tok.delta
        chunks[-1].append(tok)
    return chunks, seps


def _split_whitespace(toks: list[_Tok]) -> tuple[list[list[_Tok]], _Tok | None]:
    """Split a comma-free row at whitespace, MATLAB-style.

    Whitespace separates two entries when the token before it can end an entry
    and the token after it can start one; a sign written right before its
    operand after whitespace (``1 -2``) also starts a new entry.  Returns the
    chunks and, when the row also contains a binary ``+``/``-`` (so that
    whitespace might have meant multiplication), that operator token.
    """
    chunks: list[list[_Tok]] = [[]]
    depth = 0
    binary_pm = None
    separated = False
    for k, tok in enumerate(toks):
        if tok.kind == "nl":
            continue
        if depth == 0 and chunks[-1]:
            prev = chunks[-1][-1]
            is_sign = tok.is_op("+", "-")
            if tok.ws and _ends_operand(prev):
                nxt = toks[k + 1] if k + 1 < len(toks) else None
                if _starts_operand(tok) or (
                    is_sign and nxt is not None and not nxt.ws and _starts_operand(nxt)
                ):
                    chunks.append([])
                    separated = True
                elif is_sign and binary_pm is None:
                    binary_pm = tok
            elif is_sign and _ends_operand(prev) and binary_pm is None:
                binary_pm = tok
        depth += _delta(tok)
        chunks[-1].append(tok)
    return chunks, (binary_pm if separated else None)


def _strip_label(ctx: _Context, toks: list[_Tok]) -> list[_Tok]:
    """Drop a leading label such as ``W =`` (anything before one top-level ``=``)."""
    chunks, seps = _split_top(toks, lambda t: t.is_op("="))
    if len(seps) > 1:
        raise ctx.error("more than one '=' in the answer", seps[1].start)
    if seps:
        rest = chunks[1]
        if not any(t.kind != "nl" for t in rest):
            raise ctx.error("nothing after '='", seps[0].start)
        return rest
    return toks


def _matlab_rows(toks: list[_Tok]) -> list[list[_Tok]] | None:
    """The rows of a MATLAB matrix ``[1 2; 3 4]`` (``;`` between rows, or newlines between
    rows of a comma-free list whose rows are not lists), or None for any other list."""
    inner = toks[1:-1]
    depth, marks = 0, set()
    for tok in inner:  # one pass: which separators occur at the top level
        if depth == 0 and (tok.kind == "nl" or tok.is_op(";", ",")):
            marks.add(tok.text)
        depth += tok.delta
    if ";" not in marks and ("," in marks or "\n" not in marks):
        return None
    rows, semis = _split_top(inner, lambda t: t.is_op(";"))
    if not semis:
        if any(_split_top(inner, lambda t: t.is_op(","))[1]):
            return None
        rows, nls = _split_top(inner, lambda t: t.kind == "nl")
        rows = [r for r in rows if r]
        if not nls or len(rows) < 2 or any(r[0].is_op("[") for r in rows):
            return None
    rows = [[t for t in r if t.kind != "nl"] for r in rows]
    if rows and not rows[-1]:
        rows.pop()  # a trailing ';' before ']'
    return rows


def _parse_list(ctx: _Context, toks: list[_Tok]) -> _Seq:
    """Parse ``[ ... ]`` (``toks`` includes both brackets) into a :class:`_Seq`; a MATLAB
    matrix ``[1 2; 3 4]`` (rows ended by ``;`` or newlines) gives one list per row."""
    open_tok = toks[0]
    rows = _matlab_rows(toks)
    if rows is not None:
        seqs = []
        for row in rows:
            if not row:
                raise ctx.error("empty row before ';'", open_tok.start)
            fake = [open_tok, *row, toks[-1]]
            seqs.append(_parse_list(ctx, fake))
        return _Seq(seqs, open_tok.start)
    inner = [t for t in toks[1:-1] if t.kind != "nl"]
    chunks, commas = _split_top(inner, lambda t: t.is_op(","))
    if commas:
        if not chunks[-1]:
            chunks.pop()  # a trailing comma, as Python allows
        for chunk, comma in zip(chunks, commas):
            if not chunk:
                raise ctx.error("empty entry before ','", comma.start)
    elif inner:
        chunks, ambiguous = _split_whitespace(inner)
        if ambiguous is not None:
            raise ctx.error(
                f"ambiguous {_q(ambiguous.text)} in a list without commas "
                "(separate entries with commas, or write '*' for products)",
                ambiguous.start,
            )
    else:
        chunks = []
    items = []
    for chunk in chunks:
        if chunk[0].is_op("[") and _closes_at_end(chunk):
            items.append(_parse_list(ctx, chunk))
        else:
            items.append(_parse_entry(ctx, chunk, open_tok.start))
    return _Seq(items, open_tok.start)


def _closes_at_end(toks: list[_Tok]) -> bool:
    """True if the bracket opened by ``toks[0]`` is closed by ``toks[-1]``."""
    depth = 0
    for j, tok in enumerate(toks):
        depth += _delta(tok)
        if depth == 0:
            return j == len(toks) - 1
    return False  # pragma: no cover - balance checked


def _parse_rows(ctx: _Context, toks: list[_Tok], expect_scalar: bool) -> tuple[object, str]:
    """Parse the whitespace/comma-separated rows format (or a scalar).

    Without commas, LaTeX-looking text (a command such as ``\\frac`` or
    ``\\cdot``, or math delimiters) is one expression in which whitespace
    and newlines are multiplication, as in LaTeX; so is any text when
    ``expect_scalar`` is true.
    """
    lines, _ = _split_top(toks, lambda t: t.kind == "nl" or t.is_op(";"))
    lines = [line for line in lines if line]
    commas = any(seps for seps in (_split_top(line, lambda t: t.is_op(","))[1] for line in lines))
    latex = ctx.math_mode or any(
        t.kind == "cmd" or ctx.text.startswith("\\", t.start) for t in toks
    )
    if expect_scalar or (latex and not commas):
        return _parse_entry(ctx, toks, 0), "scalar"
    rows = []
    for line in lines:
        if commas:
            chunks, seps = _split_top(line, lambda t: t.is_op(","))
            for j, chunk in enumerate(chunks):
                if not chunk:
                    where = seps[j - 1].start if j else seps[0].start
                    raise ctx.error("empty entry in a comma-separated row", where)
        else:
            chunks, ambiguous = _split_whitespace(line)
            if ambiguous is not None:
                if len(lines) == 1:
                    chunks = [line]  # one line: read as a single expression
                else:
                    raise ctx.error(
                        f"ambiguous {_q(ambiguous.text)} in a row whose entries "
                        "are separated by spaces (separate entries with commas, "
                        "or write '*' for products)",
                        ambiguous.start,
                    )
        entries = [_parse_entry(ctx, chunk, line[0].start) for chunk in chunks]
        rows.append(_Seq(entries, line[0].start))
    if len(rows) == 1:
        row = rows[0]
        if len(row.items) == 1 and not commas:
            return row.items[0], "scalar"
        return row, "rows"
    return _Seq(rows, rows[0].start), "rows"


def _parse_latex_rows(ctx: _Context, toks: list[_Tok], start: int) -> _Seq:
    """Split LaTeX matrix body tokens at ``\\\\`` and ``&`` and parse the cells."""
    row_toks, row_seps = _split_top(toks, lambda t: t.kind == "rowsep")
    if len(row_toks) > 1 and not row_toks[-1]:
        row_toks.pop()  # trailing \\ before \end
    rows = []
    for r, cells_toks in enumerate(row_toks):
        row_start = row_seps[r - 1].end if r else start
        cells, amps = _split_top(cells_toks, lambda t: t.is_op("&"))
        entries = []
        for c, cell in enumerate(cells):
            fallback = amps[c - 1].start if c else row_start
            entries.append(_parse_entry(ctx, cell, fallback))
        rows.append(_Seq(entries, cells_toks[0].start if cells_toks else row_start))
    return _Seq(rows, start)


def _read_braced_word(ctx: _Context, toks: list[_Tok], i: int, what: str):
    """Read ``{word}`` at ``toks[i]``; return the word token and the next index."""
    if (
        i + 2 < len(toks)
        and toks[i].is_op("{")
        and toks[i + 1].kind == "word"
        and toks[i + 2].is_op("}")
    ):
        return toks[i + 1], i + 3
    where = toks[i].start if i < len(toks) else toks[-1].end
    raise ctx.error(f"expected {{name}} after {what}", where)


def _parse_latex_env(ctx: _Context, toks: list[_Tok]) -> _Seq:
    """Parse ``\\begin{env} ... \\end{env}``, optionally inside ``\\left[ \\right]``."""
    begin = next(j for j, t in enumerate(toks) if t.kind == "cmd" and t.text == "begin")
    before = toks[:begin]
    if before and not (len(before) == 1 and before[0].is_op("(")):
        raise ctx.error(
            f"unexpected {_q(ctx.src(before[0].start, before[-1].end))} before \\begin",
            before[0].start,
        )
    name_tok, i = _read_braced_word(ctx, toks, begin + 1, "\\begin")
    env = name_tok.text
    if env != "array" and env not in _ENVS:
        raise ctx.error(
            f"unsupported LaTeX environment {_q(env)} (accepted: "
            f"{', '.join(sorted(_ENVS))} and array)",
            name_tok.start,
        )
    if env == "array":
        if i >= len(toks) or not toks[i].is_op("{"):
            raise ctx.error(
                "expected a column spec such as {cc} after \\begin{array}", toks[i - 1].end
            )
        i += 1
        while i < len(toks) and not toks[i].is_op("}"):
            tok = toks[i]
            if not (tok.is_op("|") or (tok.kind == "word" and set(tok.text) <= set("lcr"))):
                raise ctx.error(f"bad column spec {_q(ctx.src(tok.start, tok.end))}", tok.start)
            i += 1
        i += 1
    body_start = i
    depth = 0
    end = None
    for j in range(body_start, len(toks)):
        tok = toks[j]
        if tok.kind == "cmd" and tok.text == "begin":
            raise ctx.error("nested \\begin is not supported", tok.start)
        if tok.kind == "cmd" and tok.text == "end" and depth == 0:
            end = j
            break
        depth += _delta(tok)
    if end is None:
        raise ctx.error(f"missing \\end{{{env}}}", toks[begin].start)
    end_name, after = _read_braced_word(ctx, toks, end + 1, "\\end")
    if end_name.text != env:
        raise ctx.error(f"\\begin{{{env}}} is closed by \\end{{{end_name.text}}}", end_name.start)
    rest = toks[after:]
    if rest and not (len(rest) == 1 and rest[0].is_op(")") and before):
        raise ctx.error(
            f"unexpected {_q(ctx.src(rest[0].start, rest[-1].end))} after \\end{{{env}}}",
            rest[0].start,
        )
    return _parse_latex_rows(ctx, toks[body_start:end], toks[begin].start)


def _is_json(toks: list[_Tok]) -> bool:
    """True if the bracket list uses only JSON syntax (numbers, strings, commas)."""
    quoted = False
    prev = None
    for k, tok in enumerate(toks):
        if (quoted and tok.kind != "qclose") or tok.kind == "nl":
            continue
        if tok.kind in ("qopen", "qclose"):
            if tok.text != '"':
                return False
            quoted = tok.kind == "qopen"
        elif tok.kind == "num":
            if tok.text.startswith(".") or tok.text.endswith("."):
                return False
        elif tok.is_op("-"):
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            if nxt is None or nxt.kind != "num" or nxt.ws:
                return False
        elif not tok.is_op("[", "]", ","):
            return False
        starts = tok.kind in ("num", "qopen") or tok.is_op("[", "-")
        if starts and prev is not None and _ends_operand(prev):
            return False  # two values without a comma between them
        prev = tok
    return True


def _dispatch(ctx: _Context, toks: list[_Tok], expect_scalar: bool):
    """Detect the format and parse; returns the parse tree and the format name."""
    content = [t for t in toks if t.kind != "nl"]
    if any(t.kind == "cmd" and t.text == "begin" for t in content):
        return _parse_latex_env(ctx, content), "latex"
    first = content[0]
    if len(content) > 2 and content[-1].is_op(";") and first.is_op("["):
        content = content[:-1]  # MATLAB's A = [1 2; 3 4];
        toks = toks[: toks.index(content[-1]) + 1]
    if first.is_op("[") and _closes_at_end(content):
        lines = _inner_lines(toks)
        fmt = "json" if _is_json(toks) and not ctx.wrapped else "list"
        if _matlab_rows(lines) is not None:
            fmt = "matlab"
        return _parse_list(ctx, lines), fmt
    if _left_right(ctx, content):
        return _parse_latex_rows(ctx, content[1:-1], first.start), "latex"
    if (
        first.kind == "word"
        and first.text in ("array", "Matrix")
        and len(content) >= 4
        and content[1].is_op("(")
        and content[2].is_op("[")
        and content[-1].is_op(")")
        and _closes_at_end(content[1:])
        and _closes_at_end(content[2:-1])
    ):
        return _parse_list(ctx, content[2:-1]), "list"
    if first.is_op("["):
        depth = 0
        for k, tok in enumerate(content):
            depth += _delta(tok)
            if depth == 0:
                nxt = content[k + 1]
                raise ctx.error(
                    f"unexpected {_q(ctx.src(nxt.start, nxt.end))} after the list", nxt.start
                )
    _, seps = _split_top(content, lambda t: t.kind == "rowsep" or t.is_op("&"))
    if seps:
        return _parse_latex_rows(ctx, content, first.start), "latex"
    return _parse_rows(ctx, toks, expect_scalar)


def _inner_lines(toks: list[_Tok]) -> list[_Tok]:
    """A bracketed answer's tokens with the newlines outside its brackets dropped (the ones
    inside may end MATLAB rows)."""
    first = next(j for j, t in enumerate(toks) if t.kind != "nl")
    last = max(j for j, t in enumerate(toks) if t.kind != "nl")
    return toks[first : last + 1]


def _left_right(ctx: _Context, content: list[_Tok]) -> bool:
    """True for ``\\left[ 1 & 2 \\\\ 3 & 4 \\right]``: LaTeX rows inside ``\\left ... \\right``
    without an environment."""
    if len(content) < 3 or not (content[0].is_op("(") and content[-1].is_op(")")):
        return False
    if not (ctx.text.startswith("\\left", content[0].start) and _closes_at_end(content)):
        return False
    _, seps = _split_top(content[1:-1], lambda t: t.kind == "rowsep" or t.is_op("&"))
    return bool(seps)


def _to_array(ctx: _Context, tree) -> np.ndarray:
    """Turn the parse tree into an object ndarray, checking that it is rectangular."""
    if isinstance(tree, _Entry):
        out = np.empty((), dtype=object)
        out[()] = tree.expr
        return out
    shape = []
    level = [tree]
    depth = 0
    while True:
        depth += 1
        seqs = [x for x in level if isinstance(x, _Seq)]
        if len(seqs) != len(level):
            if seqs:
                entry = next(x for x in level if isinstance(x, _Entry))
                raise ctx.error(
                    f"lists and single entries are mixed at depth {depth - 1}: "
                    f"a list at {_where(ctx.text, seqs[0].start)} and an entry",
                    entry.start,
                )
            break
        lengths = [len(s.items) for s in seqs]
        if len(set(lengths)) > 1:
            odd = next(s for s in seqs if len(s.items) != lengths[0])
            shown = ", ".join(map(str, lengths[:10])) + (", ..." if len(lengths) > 10 else "")
            what = "rows" if depth == 2 else f"lists at depth {depth - 1}"
            raise ctx.error(
                f"ragged {what}: lengths {shown} differ (first different one has "
                f"{len(odd.items)} entries instead of {lengths[0]})",
                odd.start,
            )
        shape.append(lengths[0])
        level = [item for s in seqs for item in s.items]
        if not level:
            break
    out = np.empty(len(level), dtype=object)
    for k, entry in enumerate(level):
        out[k] = entry.expr
    return out.reshape(shape)
