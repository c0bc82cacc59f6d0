"""Partial repaints: widgets drawn as Strips repaint only the lines that changed, and what the
compositor holds is always what the widget would draw now."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from gdsim.app.widgets.raster import RasterWidget, changed_rows
from gdsim.app.widgets.run_table import RunTable
from tests.app.conftest import make_app


def strips(*texts: str) -> list[Strip]:
    return [Strip([Segment(text, Style())]) for text in texts]


def test_changed_rows_groups_runs_of_changed_lines():
    old = strips("a", "b", "c", "d", "e")
    assert changed_rows(old, strips("a", "b", "c", "d", "e"), 5) == []
    assert changed_rows(old, strips("a", "X", "Y", "d", "Z"), 5) == [Region(0, 1, 5, 2), Region(0, 4, 5, 1)]
    assert changed_rows(old, strips("X", "b", "c", "d", "e"), 5) == [Region(0, 0, 5, 1)]


def test_changed_rows_repaints_everything_when_the_line_count_changes():
    assert changed_rows(strips("a", "b"), strips("a", "b", "c"), 3) is None
    assert changed_rows([], strips("a"), 3) is None


async def test_a_step_repaints_only_some_lines():
    """Run table: the header stays; a step changes only the rows with readings."""
    refreshed: list[tuple] = []
    app = make_app("three_runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(RunTable)
        original = table.refresh
        table.refresh = lambda *regions, **kw: (refreshed.append(regions), original(*regions, **kw))[1]
        screen.session.step(1)
        screen.redraw()
        await pilot.pause()
    assert refreshed, "the run table was not repainted after a step"
    regions = [r for call in refreshed for r in call]
    assert regions and all(r.y >= 1 for r in regions), f"the header row was repainted: {refreshed}"


async def test_the_screen_never_shows_stale_lines():
    """Through resizes, steps, rewinds and tab switches, every line the compositor has cached for a
    Strip widget is the line the widget draws now (a stale line would be a bug in the partial repaint)."""
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        for size, keys in [((80, 24), "..."), ((120, 40), ".."), ((100, 30), ["left", "left"]),
                           ((100, 30), ["end", "2", "1", "."]), ((60, 20), ["down", "."])]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
            screen.session.step(7)
            screen.redraw()
            await pilot.pause()
            widgets = [w for w in screen.query(RasterWidget) if w.display and w.size.area] + \
                      [w for w in screen.query(RunTable) if w.size.area]
            assert widgets
            for widget in widgets:
                width, height = widget.size
                shown = [s.text for s in widget.render_lines(Region(0, 0, width, height))]
                drawn = [widget.render_line(y).text for y in range(height)]
                assert shown == drawn, f"{widget!r} at {size}: the screen holds lines the widget no longer draws"


def test_status_line_is_cut_with_an_ellipsis_and_padded():
    from gdsim.app.widgets.status_line import _line

    pieces = [(" ⏸ paused ", Style(bold=True)), (" step 12", Style()), ("  · a long title", Style(dim=True))]
    full = _line(pieces, 60, Style())
    assert full.cell_length == 60 and full.text.startswith(" ⏸ paused  step 12  · a long title")
    cut = _line(pieces, 20, Style())
    assert cut.cell_length == 20 and cut.text == " ⏸ paused  step 12 …"
    assert _line([("界界界", Style())], 4, Style()).cell_length <= 4  # a wide character is not split
