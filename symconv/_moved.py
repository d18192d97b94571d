"""Old module paths (``symconv.spec``, ``symconv.check``, ...) kept importable.

Until version 0.2 symconv was one flat package. Its modules now live in subpackages by pipeline
stage (see docs/ARCHITECTURE.md); an import of an old path returns the module at the new one,
so ``from symconv.spec import LayerSpec`` keeps working. Nothing is imported before it is asked
for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: old dotted path -> new dotted path
MOVED = {
    "symconv.answers": "symconv.core.answers",
    "symconv.check": "symconv.grading",
    "symconv.cli_core": "symconv.cli.derive",
    "symconv.derive": "symconv.core.derive",
    "symconv.errors": "symconv.core.errors",
    "symconv.layers": "symconv.core.layers",
    "symconv.network": "symconv.nn.network",
    "symconv.nn_layers": "symconv.nn.layers",
    "symconv.printing": "symconv.codegen.printing",
    "symconv.reference": "symconv.core.reference",
    "symconv.spec": "symconv.core.spec",
    "symconv.symbols": "symconv.core.symbols",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and hands back the module object of its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        """The module was executed under its new name already."""


def install() -> None:
    """Register the finder once (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


def alias(old: str) -> None:
    """Bind an old path to its already imported module without touching the package's
    attribute of the same name (``symconv.check`` stays the function)."""
    sys.modules.setdefault(old, sys.modules[MOVED[old]])
