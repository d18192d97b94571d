"""Command-line interface: ``symconv <command> ...`` (also ``python -m symconv``).

Every command takes the same layer options (see :func:`add_layer_options`). Errors print
``error: <message>`` on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from ..core import budget
from ..core.errors import SymconvError
from .options import (
    LAYER_KINDS,
    UsageError,
    add_layer_options,
    layer_from_args,
    parse_padding,
    parse_size,
)

__all__ = ["main", "add_layer_options", "layer_from_args", "parse_size", "parse_padding"]

#: Modules that add subcommands, in the order of ``symconv --help``: each defines
#: ``register(subparsers)`` whose parsers call ``set_defaults(func=...)``; ``func(args)``
#: returns the exit status.
COMMAND_MODULES = [
    "symconv.cli.derive",
    "symconv.cli.toeplitz",
    "symconv.cli.codegen",
    "symconv.cli.regenerate",
    "symconv.cli.latex",
    "symconv.cli.check",
    "symconv.cli.grade",
    "symconv.cli.network",
    "symconv.cli.draw",
    "symconv.cli.assignment",
    "symconv.cli.explore",
]


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="symconv",
        description="Symbolic convolution and pooling layers: forward expressions, exact "
        "gradients, Toeplitz matrices, LaTeX, pictures, generated NumPy code and a homework "
        "checker. "
        "Without a command, runs 'derive' on the seed-000 example (3x3 input, 2x2 kernel).",
    )
    parser.add_argument("--version", action="version", version=f"symconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``symconv`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("--") and argv[0] not in ("--help", "--version"):
        argv = ["derive"] + argv
    args = parser.parse_args(argv)
    try:
        with budget.allow_large(getattr(args, "allow_large", False)):
            return int(args.func(args) or 0)
    except SymconvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (MemoryError, ValueError) as exc:  # the last line of defence: budgets come first
        if isinstance(exc, ValueError) and "too big" not in str(exc):
            raise
        print(f"error: {_out_of_memory(args)}", file=sys.stderr)
        return 2
    except (OSError, RecursionError) as exc:
        print(f"error: {exc or type(exc).__name__}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


def _out_of_memory(args) -> str:
    """The one line printed when memory ran out despite the budgets (e.g. --allow-large)."""
    lifted = " (--allow-large lifted the budgets)" if getattr(args, "allow_large", False) else ""
    return (
        f"{args.command or 'symconv'}: ran out of memory building the result{lifted}; "
        "drop --full / --allow-large for a preview, lower --max-entries, or use "
        "'symconv codegen' for real-size layers (budgets: symconv.core.budget)"
    )


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))
