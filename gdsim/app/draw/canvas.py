"""A braille-dot canvas that renders straight to Textual Strips: the app's fast plotting core.

plotext needs ~20 ms to build one small plot (measured: benchmarks/bench_app.py notes), too slow
for four live plots at 15 redraws per second, so curves are rasterised here with NumPy: each
character cell holds 2x4 dots, a line is sampled at one point per dot, and cells are coloured by
the last trace drawn in them. Only finite values ever reach this module (see series.py).
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
MAX_SAMPLES = 200_000


class Canvas:
    """`cols` x `rows` cells; dots live in pixel space (2 * cols) x (4 * rows), y = 0 at the top."""

    def __init__(self, cols: int, rows: int):
        self.cols = max(0, int(cols))
        self.rows = max(0, int(rows))
        self.bits = np.zeros((self.rows, self.cols), dtype=np.uint8)
        self.colour = np.full((self.rows, self.cols), -1, dtype=np.int16)
        self.chars: dict[tuple[int, int], tuple[str, Style]] = {}
        self.styles: list[Style] = []
        self._style_index: dict[Style, int] = {}
        self._frame: tuple | None = None  # what strips() drew: codes, styles, looks and the Strips

    def _index(self, style: Style) -> int:
        index = self._style_index.get(style)
        if index is None:
            index = self._style_index[style] = len(self.styles)
            self.styles.append(style)
        return index

    def dots(self, px: np.ndarray, py: np.ndarray, style: Style) -> None:
        """Set the dots at pixel coordinates (px, py); those off the canvas are dropped."""
        if not self.rows or not self.cols or len(px) == 0:
            return
        ix = np.rint(px).astype(np.int64)
        iy = np.rint(py).astype(np.int64)
        keep = (ix >= 0) & (ix < 2 * self.cols) & (iy >= 0) & (iy < 4 * self.rows)
        ix, iy = ix[keep], iy[keep]
        if len(ix) == 0:
            return
        cy, cx = iy >> 2, ix >> 1
        np.bitwise_or.at(self.bits, (cy, cx), _BITS[iy & 3, ix & 1])
        self.colour[cy, cx] = self._index(style)

    def line(self, px: np.ndarray, py: np.ndarray, style: Style) -> None:
        """A polyline through the points, one sample per dot along each segment."""
        if len(px) < 2:
            self.dots(px, py, style)
            return
        # Clip far-away points to just outside the canvas so a diverging run costs no more samples.
        px = np.clip(px, -2, 2 * self.cols + 1)
        py = np.clip(py, -2, 4 * self.rows + 1)
        xs, ys = interpolate(px, py)
        self.dots(xs, ys, style)

    def vspans(self, px: np.ndarray, low: np.ndarray, high: np.ndarray, style: Style) -> None:
        """Fill each pixel column px[i] from low[i] to high[i] (a band between two curves)."""
        if len(px) == 0:
            return
        low = np.clip(np.minimum(low, high), -1, 4 * self.rows)
        high = np.clip(np.maximum(low, high), -1, 4 * self.rows)
        counts = np.ceil(high - low).astype(np.int64) + 1
        counts = np.clip(counts, 1, 4 * self.rows + 2)
        total = int(counts.sum())
        if total > MAX_SAMPLES:
            return
        owner = np.repeat(np.arange(len(px)), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        self.dots(px[owner], low[owner] + offset, style)

    def text(self, row: int, col: int, string: str, style: Style) -> None:
        """Characters drawn over the dots (labels, markers); clipped to the canvas."""
        if not 0 <= row < self.rows:
            return
        for i, char in enumerate(string):
            if 0 <= col + i < self.cols:
                self.chars[(row, col + i)] = (char, style)

    def strips(self, base: Style = Style(), previous: Canvas | None = None) -> list[Strip]:
        """One Strip per row; runs of cells with the same style become one Segment.

        Vectorised: the characters of the whole canvas are decoded in one go and rows are split
        where the style changes, so a plot costs a few NumPy calls per row, not one Python step
        per cell (it is redrawn at every frame). Rows identical to those of `previous` (the
        canvas drawn last time) are that canvas's very Strip objects: no Segments are built for
        them, and the widget sees at once that they need no repaint."""
        rows, cols = self.rows, self.cols
        if not rows or not cols:
            return [Strip([], cols) for _ in range(rows)]
        drawn = self.bits > 0
        codes = np.where(drawn, 0x2800 + self.bits.astype(np.uint32), 0x20).astype("<u4")
        index = np.where(drawn, self.colour, -1).astype(np.int32)
        styles = list(self.styles)
        known = dict(self._style_index)
        for (row, col), (char, style) in self.chars.items():
            k = known.get(style)
            if k is None:
                k = known[style] = len(styles)
                styles.append(style)
            codes[row, col] = ord(char)
            index[row, col] = k
        looks = [base + style for style in styles] + [base]  # index -1 is the blank cell
        kept = None
        if previous is not None and previous._frame is not None:
            old_codes, old_index, old_looks, old_strips = previous._frame
            if old_codes.shape == codes.shape and old_looks == looks:
                kept = ((codes == old_codes) & (index == old_index)).all(axis=1).tolist()
        text = codes.tobytes().decode("utf-32-le")
        starts = np.ones((rows, cols), dtype=bool)
        starts[:, 1:] = index[:, 1:] != index[:, :-1]
        cuts = np.flatnonzero(starts)  # every row starts a segment, so rows never merge
        ends = np.append(cuts[1:], rows * cols).tolist()
        kinds = index.ravel()[cuts].tolist()
        first = np.searchsorted(cuts, np.arange(rows + 1) * cols).tolist()  # each row's first cut
        cuts = cuts.tolist()
        strips = []
        for row in range(rows):
            if kept is not None and kept[row]:
                strips.append(old_strips[row])
                continue
            strips.append(Strip(
                [Segment(text[cuts[i]:ends[i]], looks[kinds[i]]) for i in range(first[row], first[row + 1])], cols
            ))
        self._frame = (codes, index, looks, strips)
        return strips


def interpolate(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points along the polyline, about one per pixel step (at most MAX_SAMPLES)."""
    dx, dy = np.diff(px), np.diff(py)
    counts = np.ceil(np.maximum(np.abs(dx), np.abs(dy))).astype(np.int64)
    counts = np.clip(counts, 1, None)
    total = int(counts.sum())
    if total > MAX_SAMPLES:
        counts = np.maximum(1, (counts * (MAX_SAMPLES / total)).astype(np.int64))
        total = int(counts.sum())
    segment = np.repeat(np.arange(len(dx)), counts)
    t = (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)) / np.repeat(counts, counts)
    xs = np.append(px[segment] + dx[segment] * t, px[-1])
    ys = np.append(py[segment] + dy[segment] * t, py[-1])
    return xs, ys
