"""symconv: symbolic convolution and pooling layers, their exact gradients, Toeplitz matrices,
LaTeX for teaching, generated NumPy kernels and a homework checker."""

from .derive import Derivation, Identity, derive
from .errors import AnswerError, CodegenError, SpecError, SymconvError
from .layers import Layer, avg_pool, conv, conv_transpose, max_pool
from .spec import LayerSpec

__version__ = "0.1.0"

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
]
