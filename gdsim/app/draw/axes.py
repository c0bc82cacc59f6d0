"""Number formatting and data-to-pixel scales shared by the plots and the map."""

from __future__ import annotations

import math

import numpy as np


def tick(value: float, width: int = 7) -> str:
    """A number in at most `width` characters: 0.0123, 1.2e-05, 3.4e+04."""
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    for digits in (4, 3, 2, 1):
        text = f"{value:.{digits}g}"
        if len(text) <= width:
            return text
    text = f"{value:.0e}"
    return text if len(text) <= width else text[:width]


def value(number: float) -> str:
    """A reading for tables and the maths panel: 5 significant figures, '-' if not finite."""
    if number is None or not math.isfinite(number):
        return "-"
    if number == 0 or 1e-3 <= abs(number) < 1e5:
        return f"{number:.5g}"
    return f"{number:.3e}"


class Scale:
    """Maps data values in [low, high] (optionally on a log axis) to pixels [start, start + size]."""

    def __init__(self, low: float, high: float, start: float, size: float, *, log: bool = False,
                 flip: bool = False):
        self.log = log
        if log:
            low, high = math.log10(max(low, 1e-300)), math.log10(max(high, 1e-300))
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = 0.0, 1.0
        if high <= low:
            pad = abs(low) * 0.05 or 0.5
            low, high = low - pad, high + pad
        self.low, self.high = low, high
        self.start, self.size, self.flip = start, size, flip

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(all="ignore"):
                values = np.log10(np.maximum(values, 1e-300))
        fraction = (values - self.low) / (self.high - self.low)
        if self.flip:
            fraction = 1.0 - fraction
        return self.start + fraction * self.size

    def label_low(self) -> float:
        return 10**self.low if self.log else self.low

    def label_high(self) -> float:
        return 10**self.high if self.log else self.high
