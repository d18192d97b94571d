"""Shared fixtures (keep this file small)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def torch_or_skip():
    """The ``torch`` module, or skip the test cleanly when PyTorch is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    """A seeded NumPy generator, so that every test sees reproducible numbers."""
    return np.random.default_rng(20240607)
