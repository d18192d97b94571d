"""The calls students paste around a list: ``np.array(...)``, ``numpy.array(...)``,
``torch.tensor(...)``, ``array(...)``, ``tensor(...)`` and ``Matrix(...)``, with the keywords
their printed reprs carry (``dtype=np.float64``, ``dtype=torch.float32``, ``requires_grad=True``,
``device='cpu'``).

This is still a whitelist, never evaluation: :func:`_unwrap` recognises exactly one of the
wrapper names at the start of the answer (after an optional label such as ``x =``), whose
parenthesis closes at the end of the answer (an optional ``;`` may follow) and holds one
bracketed list followed only by whitelisted keywords. The wrapper's characters are then blanked
(replaced by spaces, so that error columns still point into the text as written) and the list
is parsed as any other. Anything else with a ``.`` or a call (``np.load(...)``,
``np.array(...).T``, ``__import__('os')``, ``dtype=eval(...)``) is refused by the tokenizer or
here, with a message naming what is accepted (:data:`ACCEPTED`).
"""

from __future__ import annotations

import re

from .context import _Context, _q

#: What the answer parser accepts, for error messages that refuse a format.
ACCEPTED = (
    "accepted: a list [[1, 2], [3, 4]] (also inside np.array(...), numpy.array(...), "
    "torch.tensor(...), array(...), tensor(...) or Matrix(...), with dtype=...), rows of "
    "numbers, MATLAB [1 2; 3 4], or LaTeX \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}"
)

_HEAD_RE = re.compile(
    r"(?P<label>[ \t\r\n$]*[A-Za-z][A-Za-z0-9_]*[ \t]*=[ \t\r\n]*)?[ \t\r\n]*"
    r"(?P<head>(?:np|numpy)[ \t]*\.[ \t]*(?:array|asarray)|torch[ \t]*\.[ \t]*tensor"
    r"|array|tensor|Matrix)[ \t]*\("
)
_DTYPE_NAMES = (
    r"(?:float|double|half|int|long|object|bool|complex)(?:8|16|32|64|128)?|"
    r"u?int(?:8|16|32|64)|bfloat16"
)
_KEYWORD_RE = re.compile(
    r"[ \t\r\n]*,[ \t\r\n]*(?:"
    rf"dtype[ \t]*=[ \t]*(?:(?:(?:np|numpy|torch)[ \t]*\.[ \t]*)?(?:{_DTYPE_NAMES})"
    rf"|'(?:{_DTYPE_NAMES})'|\"(?:{_DTYPE_NAMES})\")"
    r"|requires_grad[ \t]*=[ \t]*(?:True|False)"
    r"|device[ \t]*=[ \t]*(?:'cpu'|\"cpu\")"
    r")"
)
_TAIL_RE = re.compile(r"[ \t\r\n]*,?[ \t\r\n]*")
_END_RE = re.compile(r"[ \t\r\n]*;?[ \t\r\n$]*")


def _closing(text: str, start: int) -> int:
    """The offset of the bracket closing the one at ``start`` (nesting was checked)."""
    depth = 0
    for j in range(start, len(text)):
        if text[j] in "([{":
            depth += 1
        elif text[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return -1  # pragma: no cover - nesting checked before


def _unwrap(ctx: _Context) -> None:
    """Blank a whitelisted wrapper call around the answer's list (in ``ctx.text``)."""
    text = ctx.text
    m = _HEAD_RE.match(text)
    if m is None:
        return
    name = re.sub(r"\s+", "", m.group("head"))
    open_at = m.end() - 1
    close_at = _closing(text, open_at)
    if close_at < 0 or not _END_RE.fullmatch(text, close_at + 1):
        rest = text[close_at + 1 :].strip() if close_at >= 0 else ""
        raise ctx.error(
            f"unexpected {_q(rest)} after {name}(...) (attribute access and other calls are "
            f"not accepted; {ACCEPTED})",
            close_at + 1,
        )
    i = open_at + 1
    while i < close_at and text[i] in " \t\r\n":
        i += 1
    if text[i] != "[":
        raise ctx.error(f"{name}(...) must hold a bracketed list; {ACCEPTED}", i)
    list_end = _closing(text, i)
    j = list_end + 1
    while True:
        k = _KEYWORD_RE.match(text, j)
        if k is None or k.end() > close_at:
            break
        j = k.end()
    if not _TAIL_RE.fullmatch(text, j, close_at):
        raise ctx.error(
            f"{_q(text[j:close_at].strip())} is not accepted in {name}(...) (only "
            f"dtype=..., requires_grad=... and device='cpu' may follow the list)",
            j,
        )
    head_start = m.start("head")
    blanked = (
        text[:head_start]
        + " " * (i - head_start)
        + text[i : list_end + 1]
        + " " * (len(text) - list_end - 1)
    )
    ctx.text = blanked
    ctx.wrapped = name
