"""ConfusionMatrix: the selected run's counts on the held-out split, true classes down, predicted
across; the right answers on the diagonal, every mix-up off it.

The counts come from gdsim/engine/predictions.py (the same ones `gdsim run --format summary`
names); this widget only lays them out. Too many classes for the width: the largest mix-ups as
a list instead.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style

from gdsim.app.draw.canvas import Canvas
from gdsim.app.runtime.data_views import SPLIT_WORDS, held_out_split, selected_model
from gdsim.app.text import clean, first_fit, short
from gdsim.app.widgets.session_view import SessionView
from gdsim.engine.metrics import most_confused
from gdsim.engine.predictions import SplitPredictions, split_predictions

DIM, BOLD = Style(dim=True), Style(bold=True)
MAX_WIDTH = 60


def class_labels(names) -> tuple[tuple[str, ...], bool]:
    """Short column labels: the names when all are at most 3 characters, else 0..K-1 (True: a key
    line then says which is which)."""
    names = tuple(clean(n, keep_newlines=False) for n in names)
    if names and max(len(n) for n in names) <= 3:
        return names, False
    if names == tuple(f"class {k}" for k in range(len(names))):  # generated data: the numbers say it all
        return tuple(str(k) for k in range(len(names))), False
    return tuple(str(k) for k in range(len(names))), True


class ConfusionMatrix(SessionView):
    """Redrawn from the Session at the screen's rate (show)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.predictions: SplitPredictions | None = None  # the last frame's (tests read them)
        self.label = ""

    def _cell(self, counts: np.ndarray, labels) -> int:
        return max(len(str(int(counts.max(initial=0)))), max(len(a) for a in labels)) + 1

    def get_content_width(self, container, viewport) -> int:
        """As wide as the matrix (width: auto in gdsim.tcss), at most MAX_WIDTH."""
        model = selected_model(self.session) if self.session is not None else None
        if model is None or model.problem.task == "regression":
            return 24
        k = model.problem.data.n_classes
        labels, _ = class_labels(model.problem.class_names)
        _, y = model.problem.split_points(held_out_split(model.problem))
        largest = int(np.bincount(np.asarray(y, dtype=np.int64), minlength=k).max(initial=0))  # no count is larger
        cell = max(len(str(largest)), max(len(a) for a in labels)) + 1
        return max(30, min(MAX_WIDTH, 4 + cell * k))

    def _rasterise(self) -> None:
        width, height = self.size.width, self.size.height
        canvas = Canvas(width, height)
        session = self.session
        if session is None or width < 8 or height < 3:
            self._strips = canvas.strips(self._base())
            return
        model = selected_model(session)
        problem = model.problem
        mono = bool(getattr(self.app, "mono", False)) if self.is_attached else False
        split = held_out_split(problem)
        preds = split_predictions(problem, model.cohort.params[model.index], split, model.state)
        self.predictions = preds
        if preds is None:
            canvas.text(0, 0, short(f"run {model.name} predicts numbers: no classes to confuse", width), DIM)
            self._strips = canvas.strips(self._base())
            return
        n = len(preds.labels)
        self.label = f"{SPLIT_WORDS[split]} ({n}), run {model.name}: {preds.wrong} wrong"
        titles = [self.label, f"{SPLIT_WORDS[split]} ({n}), {model.short}: {preds.wrong} wrong",
                  f"{model.short}: {preds.wrong} of {n} wrong", f"{model.short}: {preds.wrong}/{n} wrong"]
        canvas.text(0, 0, first_fit(titles, width), BOLD)
        canvas.text(1, 0, short("rows true, columns predicted", width), DIM)
        labels, keyed = class_labels(problem.class_names)
        counts = preds.confusion
        k = len(labels)
        cell = self._cell(counts, labels)
        left = max(len(a) for a in labels) + 1
        if left + cell * k > width or 3 + k > height:
            self._mix_ups(canvas, preds, problem.class_names, 2)
        else:
            self._matrix(canvas, counts, labels, left, cell)
            if keyed:  # which number is which class, one a line while there is room
                for i, (a, name) in enumerate(zip(labels, problem.class_names)):
                    canvas.text(4 + k + i, 0, short(f"{a} {name}", width), DIM)
        self._strips = canvas.strips(self._base())
        self.draws += 1

    def _matrix(self, canvas: Canvas, counts, labels, left: int, cell: int) -> None:
        for j, a in enumerate(labels):
            canvas.text(2, left + j * cell, a.rjust(cell), DIM)
        # not the run's colour, nor red: either would clash with some run's colour (B is red)
        right, wrong = BOLD, Style(reverse=True, bold=True)
        for i, a in enumerate(labels):
            row = 3 + i
            canvas.text(row, 0, a.rjust(left - 1), DIM)
            for j in range(len(labels)):
                count = int(counts[i, j])
                text = (str(count) if count else "·").rjust(cell)
                style = right if i == j and count else (wrong if count else DIM)
                canvas.text(row, left + j * cell, text, style)

    def _mix_ups(self, canvas: Canvas, preds: SplitPredictions, names, row: int) -> None:
        pairs = most_confused(preds.confusion, max(1, canvas.rows - row))
        if not pairs:
            canvas.text(row, 0, "no mistakes", DIM)
        for k, (t, p, count) in enumerate(pairs):
            canvas.text(row + k, 0, short(f"{names[t]} as {names[p]}: {count}", canvas.cols), DIM)
