"""``symconv check``: check one hand-computed answer and name the likely mistake."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


from ..core import budget
from ..core.errors import AnswerError, SpecError
from ..core.symbols import parse_name
from ..grading import QUANTITIES, check, load_problem
from ..grading.files import MAX_FILE_BYTES, read_capped
from ..grading.values import exact_number, to_values
from .options import add_layer_options, layer_from_args

__all__ = ["register", "run_check", "read_file_or_text", "missing_values"]

#: What the options give, by symbol kind: the message when numbers are checked without them.
_GIVEN_BY = {
    "x": ("--x", "the input"),
    "w": ("--w", "the weights"),
    "b": ("--b", "the bias"),
    "dy": ("--target or --dy", "the upstream gradient dE/dy"),
    "yhat": ("--target", "the target"),
}

_VALUE_OPTIONS = (
    ("x", "input values"),
    ("w", "weights"),
    ("b", "bias"),
    ("dy", "upstream gradient dE/dy"),
    ("target", "target yhat (dE/dy = y - yhat)"),
)


def read_file_or_text(value: str, what: str) -> str:
    """FILE_OR_TEXT: '-' reads stdin, an existing file is read, anything else is the text."""
    if value == "-":
        data = sys.stdin.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise AnswerError(f"{what} on stdin is larger than {MAX_FILE_BYTES} characters")
        return data
    if len(value) < 4096 and os.path.isfile(value):
        return read_capped(Path(value), what)
    return value


def run_check(args) -> int:
    """Run ``symconv check``; exit status 0 when the answer is correct, 1 when it is wrong."""
    values = {}
    if args.problem:
        problem = load_problem(args.problem)
        layer, quantity = problem.layer, problem.quantity
        values = dict(problem.values)
        tolerance, convention, index_base = (
            problem.tolerance,
            problem.convention,
            problem.index_base,
        )
        if args.quantity and args.quantity != quantity:
            raise SpecError(
                f"check: --quantity {args.quantity} differs from the problem's {quantity!r}"
            )
    else:
        if not args.quantity:
            raise SpecError("check: --quantity is required (or give --problem)")
        layer, quantity = layer_from_args(args), args.quantity
        tolerance, convention, index_base = 0, args.convention or "row", args.index_base
    budget.check_whole(layer.spec, "checking an answer against the derivation")
    if args.tolerance is not None:
        tolerance = exact_number(args.tolerance, "--tolerance")
    if args.convention:
        convention = args.convention
    for key, _ in _VALUE_OPTIONS:
        given = getattr(args, key)
        if given is not None:
            values[key] = to_values(read_file_or_text(given, f"--{key}"), f"--{key}")
    if "dy" in values and "target" in values:
        if args.dy is not None and args.target is None:
            values.pop("target")
        elif args.target is not None and args.dy is None:
            values.pop("dy")
    answer = read_file_or_text(args.answer, "answer")
    result = check(
        layer,
        quantity,
        answer,
        tolerance=tolerance,
        convention=convention,
        index_base=index_base,
        **values,
    )
    if not result.correct:
        missing = missing_values(result)
        if missing:
            raise SpecError(f"check: {quantity} {missing}")
    if args.format == "json":
        print(json.dumps(result.to_dict(hide_solution=args.hide_solution), indent=2))
    else:
        print(result.to_text(hide_solution=args.hide_solution), end="")
    return 0 if result.correct else 1


def _free(values) -> set:
    if values is None:
        return set()
    out = set()
    for v in getattr(values, "flat", [values]):
        out |= getattr(v, "free_symbols", set())
    return out


def missing_values(result) -> str:
    """Why a numeric answer cannot be checked: the values it needs that were not given (the
    kinds of the symbols its expected value still holds), or ``""`` when nothing is missing
    or the answer itself is written in symbols."""
    if _free(result.answer):
        return ""
    kinds = sorted({parse_name(s.name)[0] for s in _free(result.expected)} & set(_GIVEN_BY))
    if not kinds:
        return ""
    need = " and ".join(f"{_GIVEN_BY[k][1]} ({_GIVEN_BY[k][0]})" for k in kinds)
    return (
        f"needs {need} to check a numeric answer, got none "
        "(without them the expected value holds symbols)"
    )


def register(sub) -> None:
    """Add ``check`` to the ``symconv`` command line."""
    p = sub.add_parser(
        "check",
        help="check a hand-computed answer and name the likely mistake",
        description="Compare an answer (JSON, CSV rows, LaTeX matrix, NumPy literal or "
        "expressions in the layer's symbols) with the exact result. Exit status 0: correct, "
        "1: wrong, 2: bad input. Without --x/--w the check is symbolic.",
    )
    add_layer_options(p)
    p.add_argument("--problem", help="a problem JSON file (its layer replaces the options)")
    p.add_argument("--quantity", choices=QUANTITIES, help="what the answer is")
    p.add_argument("--answer", required=True, help="answer FILE or TEXT ('-' for stdin)")
    for key, text in _VALUE_OPTIONS:
        p.add_argument(f"--{key}", help=f"{text}: FILE or TEXT in any answer format")
    p.add_argument(
        "--tolerance",
        default=None,
        help="largest accepted error per entry, applied only to answers written with decimals, "
        "e.g. 0.01 (default 0: exact)",
    )
    p.add_argument(
        "--convention",
        choices=["row", "column"],
        default=None,
        help="toeplitz only: row is the slides' x W = y (default), column is vec(y) = T vec(x)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text: a report for the terminal (default); json: the same fields as data",
    )
    p.add_argument(
        "--hide-solution",
        action="store_true",
        help="report only which entries are wrong and the diagnosis, never expected values",
    )
    p.set_defaults(func=run_check)
