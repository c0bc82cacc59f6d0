"""Small pictures made of whole cells, placed anywhere on a canvas: half-block pixel images (two
pixels a cell, one above the other) and shade glyphs for monochrome.

A Canvas has one ground layer; Tiles collects every picture of a widget (a strip of digits, a
grid of unit maps) into it, so labels and points drawn as text still go over them.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw import palette
from gdsim.app.draw.canvas import Canvas

HALF = ord("▀")  # foreground = the top pixel, background = the bottom pixel
GREYS = tuple(f"#{v:02x}{v:02x}{v:02x}" for v in np.linspace(16, 255, 17).round().astype(int))  # ink 0..16
MONO = " ░▒▓█"


def levels(values: np.ndarray, low: float, high: float, n: int) -> np.ndarray:
    """Values to whole levels 0..n-1 over [low, high] (NaN to the middle level)."""
    values = np.asarray(values, dtype=np.float64)
    span = high - low if high > low else 1.0
    with np.errstate(all="ignore"):
        fraction = np.clip((values - low) / span, 0.0, 1.0)
    fraction = np.where(np.isfinite(fraction), fraction, 0.5)
    return np.minimum((fraction * n).astype(np.int64), n - 1)


class Tiles:
    """The ground layer of a `rows` x `cols` canvas, filled picture by picture."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = max(0, rows), max(0, cols)
        self.codes = np.full((self.rows, self.cols), ord(" "), dtype=np.uint32)
        self.looks = np.zeros((self.rows, self.cols), dtype=np.int32)
        self.styles: list[Style] = [Style()]
        self._index: dict[Style, int] = {Style(): 0}
        self.backs: dict[tuple[int, int], str] = {}  # the background colour of each pixel-image cell

    def _look(self, style: Style) -> int:
        index = self._index.get(style)
        if index is None:
            index = self._index[style] = len(self.styles)
            self.styles.append(style)
        return index

    def _area(self, row: int, col: int, h: int, w: int):
        h = max(0, min(h, self.rows - row))
        w = max(0, min(w, self.cols - col))
        return h, w

    def image(self, row: int, col: int, pixels: np.ndarray, ramp) -> None:
        """An image of colour indices into `ramp`, (2h, w) pixels, top row first, as h x w cells."""
        pixels = np.asarray(pixels, dtype=np.int64)
        h, w = self._area(row, col, pixels.shape[0] // 2, pixels.shape[1])
        if h <= 0 or w <= 0:
            return
        top, bottom = pixels[0 : 2 * h : 2, :w], pixels[1 : 2 * h : 2, :w]
        for r in range(h):
            for c in range(w):
                a, b = ramp[int(top[r, c])], ramp[int(bottom[r, c])]
                self.codes[row + r, col + c] = HALF
                self.looks[row + r, col + c] = self._look(palette.half_block(a, b))
                self.backs[(row + r, col + c)] = b

    def shades(self, row: int, col: int, values: np.ndarray, style: Style = Style()) -> None:
        """Monochrome: shade glyphs from values 0..1 (h, w), one per cell."""
        values = np.asarray(values, dtype=np.float64)
        h, w = self._area(row, col, *values.shape)
        if h <= 0 or w <= 0:
            return
        index = levels(values[:h, :w], 0.0, 1.0, len(MONO))
        self.codes[row : row + h, col : col + w] = np.array([ord(c) for c in MONO], dtype=np.uint32)[index]
        self.looks[row : row + h, col : col + w] = self._look(style)

    def bitmap(self, row: int, col: int, on: np.ndarray, style: Style = Style()) -> None:
        """Monochrome pixels (2h, w) booleans, two a cell with ▀ ▄ █, so nothing is averaged away."""
        on = np.asarray(on, dtype=bool)
        h, w = self._area(row, col, on.shape[0] // 2, on.shape[1])
        if h <= 0 or w <= 0:
            return
        top, bottom = on[0 : 2 * h : 2, :w], on[1 : 2 * h : 2, :w]
        glyphs = np.array([ord(" "), ord("▄"), ord("▀"), ord("█")], dtype=np.uint32)
        self.codes[row : row + h, col : col + w] = glyphs[2 * top + bottom]
        self.looks[row : row + h, col : col + w] = self._look(style)

    def draw(self, canvas: Canvas) -> None:
        canvas.ground(0, 0, self.codes, self.looks, self.styles)


def pair_rows(values: np.ndarray) -> np.ndarray:
    """Monochrome cells from an image of 2h rows: the mean of each pair of rows (h, w)."""
    values = np.asarray(values, dtype=np.float64)
    h = values.shape[0] // 2
    return 0.5 * (values[0 : 2 * h : 2] + values[1 : 2 * h : 2])
