"""The ensemble histogram of final losses."""

from __future__ import annotations

import numpy as np
from textual.app import App

from gdsim.app.widgets.histogram import LossHistogram


class One(App):
    def compose(self):
        yield LossHistogram(id="histogram")


def texts(rows) -> list[str]:
    return ["".join(text for text, _ in row) for row in rows]


async def test_identical_finals_are_said_once_not_as_a_range():
    """cosine-warmup's 20 seeds without warm-up all diverge to the same loss: one row "all at
    3.4e+12" with every seed in it, not twelve rows labelled "3.4e+12–3.4e+12"."""
    async with One().run_test(size=(60, 16)) as pilot:
        histogram = pilot.app.query_one(LossHistogram)
        histogram.show(np.full(20, 3.4e12), "cosine, no warm-up", 0)
        await pilot.pause()
        rows = texts(histogram.lines())
        assert len(rows) == 2 and "–" not in rows[1]
        assert "all at 3.4e+12" in rows[1] and rows[1].rstrip().endswith(" 20")
        histogram.show(np.array([3.4e12, 3.4e12 * (1 + 1e-9)] * 10), "nearly", 0)
        await pilot.pause()
        rows = texts(histogram.lines())
        assert len(rows) == 2 and "all ≈ 3.4e+12" in rows[1]
        histogram.show(np.array([1.0, 2.0, 3.0, 4.0]), "spread", 0)  # a spread still gets its bins
        await pilot.pause()
        rows = texts(histogram.lines())
        assert len(rows) > 2 and all("–" in row for row in rows[1:])


async def test_a_long_title_keeps_the_seeds_and_the_runs_letter():
    """cosine-warmup at 120 and 200 columns read 'final loss over 20 seeds of cosine, n…': which run
    it was went with the cut. Where the whole title does not fit, the letter comes before the label."""
    async with One().run_test(size=(40, 16)) as pilot:
        histogram = pilot.app.query_one(LossHistogram)
        histogram.show(np.array([1.0, 2.0, 3.0]), "cosine, no warm-up", 3)
        await pilot.pause()
        title = texts(histogram.lines())[0]
        assert title.startswith("final loss, 3 seeds of D: cos") and title.endswith("…") and len(title) <= 40
        histogram.show(np.array([1.0, 2.0, 3.0]), "short", 3)
        await pilot.pause()
        assert texts(histogram.lines())[0] == "final loss over 3 seeds of short"
