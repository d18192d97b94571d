"""The single jinja2 Environment of symconv.

Templates live at the top of the repository (``templates/``) and are shipped inside the wheel as
``symconv/templates``; :func:`templates_dir` finds whichever exists. jinja2 is imported on first
use, so that importing symconv (e.g. for grading on a server without jinja2) does not need it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .core.errors import CodegenError

__all__ = ["environment", "render", "templates_dir"]


def templates_dir() -> Path:
    """The folder holding ``numpy/`` and ``latex/`` templates."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise CodegenError(f"symconv templates not found next to {here} (broken installation?)")


@lru_cache(maxsize=None)
def environment():
    """The shared ``jinja2.Environment``: StrictUndefined, trim_blocks, lstrip_blocks, no
    autoescape."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name: str, /, **context) -> str:
    """Render ``templates/<name>`` (e.g. ``'numpy/conv.py.jinja'``) with ``context``."""
    import jinja2

    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise CodegenError(f"template {name}: {exc}") from None
