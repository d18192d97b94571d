"""Reading a student's answer into an array of SymPy values.

Answer text goes through :func:`symconv.core.answers.parse_answer_ex` (a whitelist tokenizer
and grammar: never eval/sympify) after comments are dropped (:func:`strip_comments`); symbols
are resolved by the check's :class:`~.symbols.SymbolTable`. Array-likes of numbers, SymPy
values or entry strings are read entry by entry.
"""

from __future__ import annotations

import re

import numpy as np

from ..core.answers import ParsedAnswer, parse_answer_ex
from ..core.errors import AnswerError, SpecError
from .values import MAX_ANSWER_CHARS, MAX_ANSWER_DEPTH, exact_number, object_array

__all__ = ["strip_comments", "read_answer"]

_SIZE_RE = re.compile(r"^\s*\d+(\s*[x\u00d7*,]\s*\d+)*\s*$", re.IGNORECASE)
_LATEX_COMMENT = re.compile(r"(?<!\\)%.*$", re.MULTILINE)
_HASH_COMMENT = re.compile(r"^[ \t]*#.*$", re.MULTILINE)


def strip_comments(text: str) -> str:
    """Drop LaTeX comments (``%`` to the end of the line, not ``\\%``) and whole lines
    starting with ``#``, so that annotated answer files parse. Neither character is part of
    any answer format, so nothing valid is lost."""
    if "%" in text:
        text = _LATEX_COMMENT.sub("", text)
    if "#" in text:
        text = _HASH_COMMENT.sub("", text)
    return text


def read_answer(answer, quantity, resolve, expected_size):
    """``(values, has_decimals, fmt)`` of an answer to ``quantity``.

    ``resolve(kind, indices)`` names the layer's symbols (see :class:`~.symbols.SymbolTable`);
    ``expected_size`` bounds the number of entries the parser accepts.
    """
    if isinstance(answer, str):
        text = strip_comments(answer)
        if quantity == "output-size" and _SIZE_RE.match(text):
            text = "[" + re.sub(r"\s*[x\u00d7*,]\s*", ", ", text.strip().lower()) + "]"
        elif quantity == "output-size":
            text = text.replace("(", "[").replace(")", "]")
        parsed = parse_answer_ex(
            text,
            resolve=resolve,
            max_chars=MAX_ANSWER_CHARS,
            max_depth=MAX_ANSWER_DEPTH,
            max_entries=max(10 * expected_size, 10_000),
        )
        return parsed.values, parsed.has_decimals, parsed.fmt
    if isinstance(answer, ParsedAnswer):
        return answer.values, answer.has_decimals, answer.fmt
    try:
        arr = np.array(answer, dtype=object)
    except (ValueError, TypeError) as exc:
        raise AnswerError(f"answer: must be a rectangular array, got {exc}") from None
    decimals = False
    out = []
    for v in arr.reshape(-1):
        if isinstance(v, (float, np.floating)):
            decimals = True
        if isinstance(v, str):
            p = parse_answer_ex(v, resolve=resolve, expect_scalar=True, max_chars=MAX_ANSWER_CHARS)
            decimals |= p.has_decimals
            if p.values.ndim != 0:
                raise AnswerError(f"answer: an entry must be one value, got {v!r}")
            out.append(p.values[()])
        else:
            try:
                out.append(exact_number(v, "answer"))
            except SpecError as exc:
                raise AnswerError(str(exc)) from None
    return object_array(arr.shape, out), decimals, "array"
