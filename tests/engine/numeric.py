"""Numerical checks shared by the surface and expression tests: tolerances and finite differences."""

from __future__ import annotations

import numpy as np


def assert_close(actual, expected, rtol, atol):
    """|actual - expected| <= rtol |expected| + atol elementwise, atol possibly per row."""
    err = np.abs(actual - expected) - rtol * np.abs(expected) - atol
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= 0, f"mismatch at {worst}: {actual[worst]} vs {expected[worst]}"


def central_difference(fn, xy: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d fn / d(x, y) by central differences; fn maps (R, 2) -> (R, ...)."""
    parts = []
    for k in range(2):
        step = np.zeros(2)
        step[k] = h
        parts.append((fn(xy + step) - fn(xy - step)) / (2 * h))
    return np.stack(parts, axis=-1)
