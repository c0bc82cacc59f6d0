"""A frame whose widgets keep their sizes does not lay out the whole screen again.

A layout of the scenario screen is a large part of a frame's cost at 120x40 (profiled in session 5:
with the notice bar re-laid out at every step it was ~40% of a follower's frame, 30 of which a room
draws for each step of the presenter). Widgets whose height follows their text (the notice bar, the
status line, the verdicts) ask for a layout only when their number of lines changes.
"""

from __future__ import annotations

from textual.screen import Screen

from gdsim.app.widgets.notice_bar import NoticeBar
from tests.app.conftest import make_app


async def test_stepping_redraws_without_laying_out_the_screen(monkeypatch):
    layouts, said = [], []
    real = Screen._refresh_layout

    def counting(self, *args, **kwargs):
        layouts.append((type(self).__name__, len(said)))  # after the frame said[-1] shows
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counting)
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        screen = app.screen
        bar = screen.query_one(NoticeBar)
        screen.session.step(20)
        screen.redraw()
        await pilot.pause(0.1)
        layouts[:] = []
        said.append((bar.display, bar._height, str(bar.render())))
        for _ in range(15):
            screen.session.step(1)
            screen.redraw()
            said.append((bar.display, bar._height, str(bar.render())))
            await pilot.pause(0.05)
        assert bar.display and len({text for *_, text in said}) > 3, said  # the notices' words changed...
        resized = {i + 2 for i, (a, b) in enumerate(zip(said, said[1:])) if a[:2] != b[:2]}
        # ... but the screen was laid out only after frames that changed the bar's number of lines
        # (a taller bar leaves the plots less room: they are arranged again, a second layout)
        assert {frame for _, frame in layouts} <= resized, (layouts, resized, said)
