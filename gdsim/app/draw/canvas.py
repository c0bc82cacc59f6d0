"""A braille-dot canvas that renders straight to Textual Strips: the app's fast plotting core.

plotext needs ~20 ms to build one small plot (measured: benchmarks/bench_app.py notes), too slow
for four live plots at 15 redraws per second, so curves are rasterised here with NumPy: each
character cell holds 2x4 dots, a line is sampled at one point per dot, and cells are coloured by
the last trace drawn in them. Only finite values ever reach this module (see series.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from gdsim.app.draw.contrast import on_ground

FULL = ord("█")
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
        self.clip = (0, 2 * self.cols, 0, 4 * self.rows)  # dots outside [x0, x1) x [y0, y1) are dropped
        self._ground: tuple | None = None  # a cell layer under the dots (see ground())

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
        x0, x1, y0, y1 = self.clip
        if (x0, x1, y0, y1) != (0, 2 * self.cols, 0, 4 * self.rows):
            keep &= (ix >= x0) & (ix < x1) & (iy >= y0) & (iy < y1)
        ix, iy = ix[keep], iy[keep]
        if len(ix) == 0:
            return
        cy, cx = iy >> 2, ix >> 1
        np.bitwise_or.at(self.bits, (cy, cx), _BITS[iy & 3, ix & 1])
        self.colour[cy, cx] = self._index(style)

    def line(self, px: np.ndarray, py: np.ndarray, style: Style) -> None:
        """A polyline through the points, one sample per dot along each segment.

        Segments are clipped to the canvas (Liang-Barsky) before sampling: a point far off the
        canvas (a diverging run) costs no samples, and the part that is on it keeps its slope."""
        px = np.asarray(px, dtype=np.float64)
        py = np.asarray(py, dtype=np.float64)
        if len(px) < 2:
            self.dots(px, py, style)
            return
        x0, y0, x1, y1 = clip_segments(px, py, (-1.0, 2.0 * self.cols, -1.0, 4.0 * self.rows))
        if len(x0) == 0:
            return
        xs, ys = interpolate_segments(x0, y0, x1, y1)
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

    def ground(self, row: int, col: int, codes: np.ndarray, looks: np.ndarray, styles: list[Style],
               backs: np.ndarray | None = None, colours: list[str] | None = None) -> None:
        """A layer of whole cells under the dots (a map's shading), its top-left cell at (row, col).

        codes: (h, w) character codes; looks: (h, w) indices into `styles`. Where dots are drawn
        over a cell, the dots keep their own colour on the cell's background colour, colours[backs]
        (backs < 0: none), so a path stays on its map instead of cutting a hole in it."""
        self._ground = (row, col, np.asarray(codes, dtype=np.uint32), np.asarray(looks, dtype=np.int32),
                        list(styles), None if backs is None else np.asarray(backs, dtype=np.int32),
                        list(colours or []))

    def _apply_ground(self, drawn, codes, index, styles) -> None:
        row, col, g_codes, g_looks, g_styles, g_backs, g_colours = self._ground
        h = max(0, min(g_codes.shape[0], self.rows - row))
        w = max(0, min(g_codes.shape[1], self.cols - col))
        if not h or not w:
            return
        area = (slice(row, row + h), slice(col, col + w))
        offset = len(styles)
        styles.extend(g_styles)
        under = ~drawn[area]
        codes[area] = np.where(under, g_codes[:h, :w], codes[area])
        index[area] = np.where(under, g_looks[:h, :w] + offset, index[area])
        if g_backs is None or not g_colours:
            return
        backs = g_backs[:h, :w]
        over = ~under & (backs >= 0)
        if not over.any():
            return
        fore = index[area][over]
        keys = fore.astype(np.int64) * len(g_colours) + backs[over]
        unique, inverse = np.unique(keys, return_inverse=True)
        first = len(styles)
        for key in unique.tolist():
            styles.append(styles[key // len(g_colours)] + _background(g_colours[key % len(g_colours)]))
        sub = index[area]
        sub[over] = first + inverse.reshape(-1)
        index[area] = sub

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
        picture = np.zeros(len(styles) + (len(self._ground[4]) if self._ground is not None else 0), dtype=bool)
        if self._ground is not None:
            picture[len(styles):] = True  # the ground's own cells: a picture (▀ = two pixels), not marks on it
            self._apply_ground(drawn, codes, index, styles)
        for (row, col), (char, style) in self.chars.items():
            k = known.get(style)
            if k is None:
                k = known[style] = len(styles)
                styles.append(style)
            codes[row, col] = ord(char)
            index[row, col] = k
        picture = np.concatenate([picture, np.zeros(len(styles) - len(picture), dtype=bool)])
        swatch = codes == FULL  # a style drawn only as full blocks is a colour swatch (a map's colour scale)
        if swatch.any():
            picture[np.setdiff1d(index[swatch & (index >= 0)], index[~swatch & (index >= 0)])] = True
        # Marks (dots, lines, letters) are made to show on their ground; picture cells keep their colours
        looks = [base + style if shown else on_ground(base + style)
                 for style, shown in zip(styles, picture.tolist())] + [base]  # index -1 is the blank cell
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


def clip_segments(px: np.ndarray, py: np.ndarray, box) -> tuple[np.ndarray, ...]:
    """The segments between consecutive points, cut to the box (xmin, xmax, ymin, ymax);
    segments wholly outside (or with a non-finite end) are dropped. Returns x0, y0, x1, y1."""
    xmin, xmax, ymin, ymax = box
    x0, y0, x1, y1 = px[:-1], py[:-1], px[1:], py[1:]
    if px.min() >= xmin and px.max() <= xmax and py.min() >= ymin and py.max() <= ymax:
        return x0, y0, x1, y1  # all inside (and finite: NaN fails every comparison): nothing to cut
    dx, dy = x1 - x0, y1 - y0
    t0 = np.zeros(len(dx))
    t1 = np.ones(len(dx))
    keep = np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1)
    with np.errstate(all="ignore"):
        for p, q in ((-dx, x0 - xmin), (dx, xmax - x0), (-dy, y0 - ymin), (dy, ymax - y0)):
            r = q / p
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
            keep &= ~((p == 0) & (q < 0))
    keep &= t0 <= t1
    t0, t1 = t0[keep], t1[keep]
    x0, y0, dx, dy = x0[keep], y0[keep], dx[keep], dy[keep]
    return x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy


def interpolate_segments(x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
    """Points along each segment, about one per pixel step, both ends included."""
    dx, dy = x1 - x0, y1 - y0
    counts = np.clip(np.ceil(np.maximum(np.abs(dx), np.abs(dy))).astype(np.int64), 1, None) + 1
    total = int(counts.sum())
    if total > MAX_SAMPLES:
        counts = np.maximum(2, (counts * (MAX_SAMPLES / total)).astype(np.int64))
        total = int(counts.sum())
    segment = np.repeat(np.arange(len(dx)), counts)
    index = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    t = index / np.repeat(counts - 1, counts)
    return x0[segment] + dx[segment] * t, y0[segment] + dy[segment] * t


@lru_cache(maxsize=512)
def _background(colour: str) -> Style:
    return Style(bgcolor=Color.parse(colour))


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
