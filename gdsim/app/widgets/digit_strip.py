"""DigitStrip: the held-out digits as 8x8 half-block images, each with what the selected run read,
the misread ones first (the surest mistakes first), then the right ones, least sure first.

The order and the predictions come from gdsim/engine/predictions.py; the pixels are the data
set's own (0-16, raw, whatever the model's inputs were scaled to).
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw.canvas import Canvas
from gdsim.app.draw.tiles import GREYS, Tiles
from gdsim.app.runtime.data_views import SPLIT_WORDS, held_out_split, selected_model
from gdsim.app.text import first_fit, short
from gdsim.app.widgets.session_view import SessionView
from gdsim.engine.digits import IMAGE_SHAPE, PIXEL_MAX, images
from gdsim.engine.predictions import split_predictions

DIM, BOLD = Style(dim=True), Style(bold=True)
TILE_ROWS = IMAGE_SHAPE[0] // 2 + 1  # the image (two pixel rows a cell) and its label
TILE_COLS = IMAGE_SHAPE[1] + 1  # the image and a gap
MONO_INK = 5  # in monochrome a pixel counts as inked from this count (of 16) on


class DigitStrip(SessionView):
    """Redrawn from the Session at the screen's rate (show)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.shown: list[tuple[int, int, int]] = []  # (data set row, true, predicted) drawn, in order
        self.wrong = 0

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        self.shown = []
        if session is None or width < TILE_COLS or height < TILE_ROWS + 1:
            self._strips = canvas.strips(self._base())
            return
        model = selected_model(session)
        problem = model.problem
        if getattr(problem.data, "name", "") != "digits":
            canvas.text(0, 0, short(f"run {model.name} is not trained on the digits", width), DIM)
            self._strips = canvas.strips(self._base())
            return
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        split = held_out_split(problem)
        preds = split_predictions(problem, model.cohort.params[model.index], split, model.state)
        order = preds.misread_first()
        self.wrong = preds.wrong
        per_row = max(1, (width + 1) // TILE_COLS)
        rows = max(0, (height - 1) // TILE_ROWS)
        fit = min(len(order), per_row * rows)
        words, shown = SPLIT_WORDS[split], (f"; {fit} shown" if fit < len(order) else "")
        misread = f"{preds.wrong} of {len(order)} misread"
        titles = [f"{words} digits, run {model.name}: {misread}, shown first (true→read, surest first), then the "
                  f"least sure right ones{shown}",
                  f"{words} digits, run {model.name}: {misread} first (true→read){shown}",
                  f"{words} digits, run {model.name}: {misread} (true→read)",
                  f"run {model.short}: {misread} (true→read)", f"{model.short}: {misread}"]
        canvas.text(0, 0, first_fit(titles, width), BOLD)
        tiles = Tiles(height, width)
        ramp = GREYS
        pictures = images(problem.data.x[preds.rows[order[:fit]]])
        wrong_style = Style(reverse=True, bold=True)  # as in the confusion matrix: no run's colour
        for k in range(fit):
            i = int(order[k])
            row = 1 + (k // per_row) * TILE_ROWS
            col = (k % per_row) * TILE_COLS
            pixels = pictures[k]
            if mono:  # one bit a pixel: averaging two rows into a shade blurs an 8x8 digit away
                tiles.bitmap(row, col, pixels >= MONO_INK)
            else:
                levels = np.clip(np.rint(pixels), 0, PIXEL_MAX).astype(np.int64)
                tiles.image(row, col, levels, ramp)
            true, read = int(preds.labels[i]), int(preds.predicted[i])
            self.shown.append((int(preds.rows[i]), true, read))
            names = problem.class_names
            if true != read:
                canvas.text(row + TILE_ROWS - 1, col, short(f"{names[true]}→{names[read]}", TILE_COLS - 1), wrong_style)
            else:
                canvas.text(row + TILE_ROWS - 1, col, short(f"{names[read]}", TILE_COLS - 1), DIM)
        tiles.draw(canvas)
        self._strips = canvas.strips(self._base())
        self.draws += 1

