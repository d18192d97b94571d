"""``symconv regenerate``: rewrite (or, with ``--check``, diff) the committed modules listed in
``generated/manifest.toml``."""

from __future__ import annotations

import sys

__all__ = ["register"]


def _run_regenerate(args) -> int:
    from ..codegen import regenerate

    result = regenerate(args.dir, check=args.check)
    if args.check:
        for diff in result.diffs:
            sys.stdout.write(diff)
        if result.stale:
            print(
                f"error: {len(result.stale)} generated file(s) are stale: "
                f"{', '.join(result.stale)}; run 'symconv regenerate'",
                file=sys.stderr,
            )
            return 1
        print("generated files are up to date")
        return 0
    for name in result.written:
        print(f"wrote {name}")
    if not result.written:
        print("generated files are up to date")
    return 0


def register(sub) -> None:
    """Add ``symconv regenerate`` to the CLI."""
    p = sub.add_parser(
        "regenerate",
        help="rewrite the committed modules listed in generated/manifest.toml",
        description="Regenerate every module listed in generated/manifest.toml. With --check, "
        "write nothing, print a unified diff of every stale file and exit 1 if any.",
    )
    p.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    p.add_argument("--dir", default=None, help="folder holding manifest.toml (default: generated)")
    p.set_defaults(func=_run_regenerate)
