"""Rendering: a layer's strategy and template context through a jinja2 template in
``templates/numpy/``, formatted by black, headed by how to rebuild it.

:func:`generate_numpy` is the whole pipeline: :func:`~symconv.codegen.strategies.choose` reads the
gather plans off the index map and picks the kernels, :mod:`~symconv.codegen.context` prints
their slices, offsets and shapes, :mod:`~symconv.codegen.docstring` writes the docstring, the
template lays the module out and black formats it.
"""

from __future__ import annotations

from .._version import __version__
from ..core import budget
from ..core.errors import CodegenError, SpecError
from ..core.layers import Layer
from ..core.spec import dims_text
from ..templating import render
from .context import (
    conv_context,
    depthwise_context,
    implicit_context,
    pool_context,
    winograd_context,
)
from .docstring import docstring_context
from .printing import py
from .strategies import choose

__all__ = ["generate_numpy", "format_source", "cli_command", "LINE_LENGTH"]

#: black's line length for generated code (the project's pyproject setting, fixed here so that
#: the output does not depend on the working directory).
LINE_LENGTH = 99

_CONTEXTS = {
    "pool taps": pool_context,
    "depthwise taps": depthwise_context,
    "implicit GEMM": implicit_context,
    "Winograd": winograd_context,
}


def generate_numpy(layer, implicit: bool = False, winograd: bool = False) -> str:
    """The source of a standalone NumPy module with ``forward`` and ``backward`` for ``layer``.

    ``implicit=True``: a stride-1 dense convolution runs as an implicit GEMM (tap accumulation,
    no column buffer) instead of im2col; ``winograd=True``: a 2-D stride-1 3x3 convolution
    (dilation 1, one group) runs as Winograd F(2x2, 3x3) (transformed 4x4 tiles, one batched
    GEMM); see :mod:`~symconv.codegen.strategies` for where each pays and what the default
    picks. Deterministic: the same layer gives byte-identical, black-formatted source.
    """
    if not isinstance(layer, Layer):
        raise SpecError(
            f"generate_numpy: layer must be a symconv layer (from symconv.conv, ...), "
            f"got {layer!r}"
        )
    if implicit not in (True, False):
        raise SpecError(f"generate_numpy: implicit must be True or False, got {implicit!r}")
    if winograd not in (True, False):
        raise SpecError(f"generate_numpy: winograd must be True or False, got {winograd!r}")
    budget.check_module(layer.spec)
    strat = choose(layer, implicit, winograd)
    ctx = _CONTEXTS.get(strat.name, conv_context)(layer, strat)
    source = render(
        strat.template,
        rstrip=str.rstrip,
        line=_line,
        **_header(layer, strat.template),
        **_machinery(strat, ctx),
        doc=docstring_context(layer, strat),
        **ctx,
    )
    return format_source(source, what=f"{layer.spec.op} module")


def _line(text: str) -> str:
    """A macro's output as whole lines: nothing when it is blank (templates call it as
    ``{{ line(macro(...)) -}}`` so that a macro with nothing to say leaves no blank line)."""
    return text.rstrip() + "\n" if text.strip() else ""


def _machinery(strat, ctx: dict) -> dict:
    """Which shared helpers of ``_common.py.jinja`` the module needs: the worker threads
    (``threads``), batch splitting (``split``), the workspace and its zero-bordered buffers;
    ``integers``: the module accepts integer inputs (pools)."""
    conv = strat.template == "numpy/conv.py.jinja"
    padded = strat.name in ("depthwise taps", "implicit GEMM")
    if conv:
        padded = (ctx["fwd_pad"]["padded"] and not ctx["memo"]) or (
            ctx["bwd_pad"]["padded"] and not ctx["dx_scatter"]
        )
    return dict(
        threads=strat.threads,
        split=strat.threads and (conv or strat.name == "implicit GEMM"),
        # a lean module that folds the batch keeps its batch-sized buffers too: allocated
        # afresh, they are paged in again on every call (glibc hands them back to the system)
        workspace=(strat.threads and strat.name != "pool taps") or strat.fold_batch,
        padded_buffers=strat.threads and padded,
        integers=strat.name == "pool taps",
    )


def _header(layer: Layer, template: str) -> dict:
    spec = layer.spec
    return dict(
        version=__version__,
        template=f"templates/{template}",
        spec_repr=repr(spec),
        command=cli_command(spec),
        op=spec.op,
        kind=spec.kind,
        x_shape=py(spec.x_shape),
        y_shape=py(spec.y_shape),
        w_shape=py(spec.w_shape) if spec.has_weight else "None",
        b_shape=py(spec.b_shape) if spec.bias else "None",
        bias=spec.bias,
    )


def format_source(source: str, what: str = "module") -> str:
    """Format generated Python with black (line length 99)."""
    import black

    try:
        return black.format_str(source, mode=black.Mode(line_length=LINE_LENGTH))
    except Exception as exc:  # black raises several exception types for bad input
        raise CodegenError(
            f"codegen: black could not format the generated {what}: {exc}"
        ) from None


def cli_command(spec) -> str:
    """The ``symconv codegen`` command line that rebuilds ``spec``."""
    kind = spec.kind.replace("_", "-")
    parts = [f"symconv codegen {kind}", f"--input-size {dims_text(spec.input_size)}"]
    parts.append(f"--kernel-size {dims_text(spec.kernel_size)}")
    if spec.has_weight:
        parts.append(f"--in-channels {spec.in_channels} --out-channels {spec.out_channels}")
    else:
        parts.append(f"--channels {spec.in_channels}")
    parts.append(f"--stride {dims_text(spec.stride)}")
    if any(lo != hi for lo, hi in spec.padding):
        parts.append("--padding " + "x".join(f"{lo}:{hi}" for lo, hi in spec.padding))
    else:
        parts.append(f"--padding {dims_text([lo for lo, _ in spec.padding])}")
    for name, value in spec.extra_options():
        flag = "--" + name.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif value is False:
            parts.append("--no-" + name.replace("_", "-"))
        else:
            parts.append(f"{flag} {dims_text(value) if isinstance(value, tuple) else value}")
    return " ".join(parts)
