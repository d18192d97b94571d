"""symconv: symbolic convolution and pooling layers, their exact gradients, Toeplitz matrices,
LaTeX for teaching, generated NumPy kernels and a homework checker.

The core (layers, derivations) is imported eagerly; code generation, LaTeX, the checker and
networks load on first use of one of their names.
"""

from importlib import import_module

from .core.derive import Derivation, Identity, derive
from .core.errors import AnswerError, CodegenError, SpecError, SymconvError
from .core.layers import Layer, avg_pool, conv, conv_transpose, max_pool
from .core.spec import LayerSpec

from .grading import CheckResult, check
from . import _hooks, _moved

# Old flat module paths keep working. ``derive`` and ``check`` are functions on the package
# and old module names at once: alias those two now, so that a later ``import symconv.check``
# cannot replace the function by the module.
_moved.install()
_moved.alias("symconv.derive")
_moved.alias("symconv.check")


def _derivation_repr_latex(self) -> str:
    """Jupyter display of a Derivation: the forward expansion and the gradients (elided when
    large). Registered here so that the core never imports the LaTeX stage."""
    from .latex import derivation_repr_latex

    return derivation_repr_latex(self)


Derivation._repr_latex_ = _derivation_repr_latex


# Printers that an earlier stage calls (Network.latex/codegen/module, the pictures of a LaTeX
# document): registered here so that nn/ and latex/ never import a later stage.
def _network_latex(net, **options):
    from .latex.network import network_latex

    return network_latex(net, **options)


def _network_source(net, **options):
    from .codegen.network import network_source

    return network_source(net, **options)


def _load_generated(*args, **options):
    from .codegen.network import load_generated

    return load_generated(*args, **options)


def _document_pictures(*args, **options):
    from .figures.embed import document_pictures

    return document_pictures(*args, **options)


_hooks.PRINTERS.update(
    document_pictures=_document_pictures,
    network_latex=_network_latex,
    network_source=_network_source,
    load_generated=_load_generated,
)

from ._version import __version__

_LAZY = {
    "generate_numpy": "codegen",
    "regenerate": "codegen",
    "render_latex": "latex",
    "compile_pdf": "latex",
    "grade_folder": "grading",
    "load_problem": "grading",
    "parse_answer": "core.answers",
    "sigmoid": "nn.layers",
    "tanh": "nn.layers",
    "relu": "nn.layers",
    "flatten": "nn.layers",
    "dense": "nn.layers",
    "softmax": "nn.layers",
    "cross_entropy": "nn.layers",
    "softmax_cross_entropy": "nn.layers",
    "l2_loss": "nn.layers",
    "derive_nn": "nn.layers",
    "network": "nn.network",
    "load_network": "nn.network",
    "example": "nn.network",
    "Network": "nn.network",
    "separable_parameter_counts": "nn.network",
    "load_generated": "codegen.network",
    "figure": "figures",
    "Figure": "figures",
    "from_torch": "interop",
    "from_onnx": "interop",
    "load_onnx_node": "interop",
    "max_pool_indices": "core.argmax",
    "explore": "explore",
    "Explorer": "explore",
}

__all__ = [
    "AnswerError",
    "CodegenError",
    "Derivation",
    "Identity",
    "Layer",
    "LayerSpec",
    "SpecError",
    "SymconvError",
    "avg_pool",
    "conv",
    "conv_transpose",
    "derive",
    "max_pool",
    "__version__",
    "check",
    "CheckResult",
    *sorted(_LAZY),
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symconv' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
