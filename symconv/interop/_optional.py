"""Import an optional dependency when it is first needed, or say which package to install."""

from __future__ import annotations

import importlib

from ..core.errors import SymconvError

__all__ = ["MissingDependency", "require"]


class MissingDependency(SymconvError, ImportError):
    """An optional package that a symconv function needs is not installed."""


def require(module: str, package: str, purpose: str):
    """``import module`` or raise :class:`MissingDependency` naming ``package``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"{purpose} needs the {package!r} package, which is not installed "
            f"(pip install {package})"
        ) from None
