"""Layers from the ecosystem: PyTorch modules and ONNX nodes become ordinary symconv layers.

A stage between ``core``/``nn`` and ``latex``: it imports only those two. PyTorch and ONNX are
optional; each is imported when a function needs it, with an error naming the package when it
is missing. docs/INTEROP.md has the parameter table of each framework.
"""

from __future__ import annotations

from .onnx_nodes import from_onnx, load_onnx_node, onnx_input_shape
from .pytorch import from_torch

__all__ = ["from_torch", "from_onnx", "load_onnx_node", "onnx_input_shape"]
