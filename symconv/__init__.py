"""symconv: symbolic convolution and pooling layers, their exact gradients, Toeplitz matrices,
LaTeX for teaching, generated NumPy kernels and a homework checker.

The core (layers, derivations) is imported eagerly; code generation, LaTeX, the checker and
networks load on first use of one of their names.
"""

from importlib import import_module

from .derive import Derivation, Identity, derive
from .errors import AnswerError, CodegenError, SpecError, SymconvError
from .layers import Layer, avg_pool, conv, conv_transpose, max_pool
from .spec import LayerSpec

# The function ``check`` shadows its module's name on the package: bind it eagerly so that
# ``symconv.check(...)`` is always the function (``from symconv.check import ...`` still works).
from .check import CheckResult, check  # noqa: E402  (after the core it depends on)

__version__ = "0.1.0"

_LAZY = {
    "generate_numpy": "codegen",
    "regenerate": "codegen",
    "render_latex": "latex",
    "compile_pdf": "latex",
    "grade_folder": "check",
    "load_problem": "check",
    "parse_answer": "answers",
    "sigmoid": "nn_layers",
    "tanh": "nn_layers",
    "relu": "nn_layers",
    "flatten": "nn_layers",
    "dense": "nn_layers",
    "softmax": "nn_layers",
    "cross_entropy": "nn_layers",
    "softmax_cross_entropy": "nn_layers",
    "l2_loss": "nn_layers",
    "derive_nn": "nn_layers",
    "network": "network",
    "load_network": "network",
    "example": "network",
    "Network": "network",
    "separable_parameter_counts": "network",
    "load_generated": "network",
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
