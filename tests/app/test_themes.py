"""Every theme gdsim cycles through: inline code and the selected run are readable (WCAG AA), the
light theme is light in every panel, and monochrome / NO_COLOR shows the selected row in reverse.

The colours are read from the composited screen (what Textual sends to the terminal), not from
the CSS, so an alpha that is dropped or a cell with no background at all is caught.
"""

from __future__ import annotations

import pytest
from rich.segment import Segment
from textual.color import Color

from gdsim.app.app import THEMES, GdsimApp
from gdsim.app.draw.contrast import AA, contrast_ratio, luminance, readable
from gdsim.app.widgets.lesson_text import LessonText
from gdsim.app.widgets.run_table import RunTable
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.app.widgets.notice_bar import NoticeBar
from gdsim.app.widgets.verdict_line import VerdictLine
from gdsim.scenario.load import load_scenario
from tests.app.conftest import bowl, run
from tests.app.test_predict_and_verdicts import measured as verified

SCENARIO = bowl(run("fine", 0.05) + run("diverges", 0.5), title="Contrast", claim="Every theme is readable",
                lesson="Inline `code` and **bold**, and more `inline code` to read.", steps=50)


CHECKS = """
[[expect]]
id = "fine"
because = "The small rate gets below 1."
run = "fine"
metric = "loss"
below = 1.0

[[expect]]
id = "wrong"
because = "A check that fails, so that both marks are drawn."
run = "fine"
metric = "loss"
above = 1e6
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "contrast.toml"
    path.write_text(SCENARIO)
    return load_scenario(path)


def screen_lines(app) -> list[list[Segment]]:
    """The screen as composited, one list of segments per row."""
    return [list(strip) for strip in app.screen._compositor.render_strips()]


def cells(line: list[Segment], x0: int, x1: int):
    """(text, style) of the segments of `line` between columns x0 and x1, cut to that range."""
    at = 0
    for segment in line:
        width = segment.cell_length
        if at + width > x0 and at < x1:
            text = segment.text[max(0, x0 - at): x1 - at]
            yield text, segment.style
        at += width


def colours(style) -> tuple[Color, Color]:
    """The (foreground, background) a terminal shows for `style` (reverse swaps them)."""
    assert style is not None and style.color is not None and style.bgcolor is not None, style
    fg, bg = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
    return (bg, fg) if style.reverse else (fg, bg)


async def _drawn(app, pilot, theme: str) -> None:
    app.theme = theme
    await pilot.pause()
    app.screen.session.step(40)
    app.screen.redraw(force=True)
    await pilot.pause()


def test_contrast_helpers_follow_wcag():
    assert contrast_ratio(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio(Color(119, 119, 119), Color(255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert luminance(Color(255, 0, 0)) == pytest.approx(0.2126)
    fixed = readable(Color(255, 0, 0), Color(1, 120, 212))  # red on the dark theme's cursor blue
    assert contrast_ratio(fixed, Color(1, 120, 212)) >= AA
    assert readable(Color(255, 255, 255), Color(0, 0, 0)) == Color(255, 255, 255)  # already fine: kept


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("focused", [True, False])
async def test_inline_code_and_selected_run_are_readable(scenario, theme, focused):
    app = GdsimApp(scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        await _drawn(app, pilot, theme)
        table = app.screen.query_one(RunTable)
        await pilot.press("down")  # select the run that diverged: its status is coloured
        assert "diverged" in table.rows[1][-1]
        if not focused:
            app.screen.set_focus(None)
        await pilot.pause()
        app.screen.redraw(force=True)
        await pilot.pause()
        assert table.has_focus == focused
        lines = screen_lines(app)

        region = table.region
        row = lines[region.y + 1 + table.selected]
        checked = 0
        for text, style in cells(row, region.x, region.right):
            if text.strip():
                fg, bg = colours(style)
                assert contrast_ratio(fg, bg) >= AA, (theme, text, fg.hex, bg.hex)
                checked += 1
        assert checked >= 5  # the mark, label, optimizer, lr, loss... were all measured

        lesson = app.screen.query_one(LessonText)
        base_bg = lesson.rich_style.bgcolor
        code = []
        for y in range(lesson.region.y, lesson.region.bottom):
            for text, style in cells(lines[y], lesson.region.x, lesson.region.right):
                if text.strip() and style.bgcolor != base_bg:
                    code.append(text)
                    fg, bg = colours(style)
                    assert contrast_ratio(fg, bg) >= AA, (theme, text, fg.hex, bg.hex)
        assert "".join(code).replace(" ", "") == "codeinlinecode"


async def test_light_theme_is_light_in_every_panel(scenario):
    app = GdsimApp(scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        await _drawn(app, pilot, "textual-light")
        lines = screen_lines(app)
        table = app.screen.query_one(RunTable)
        cursor_y = table.region.y + 1 + table.selected
        dark = []
        for y, line in enumerate(lines):
            x = 0
            for segment in line:
                style = segment.style
                assert style is not None and style.bgcolor is not None, (y, x, segment.text)  # never the terminal's own
                background = Color.from_rich_color(style.bgcolor)
                # the selected row and the run colour marks are deliberately coloured
                if luminance(background) < 0.3 and y != cursor_y and not (table.region.x <= x < table.region.x + 3):
                    dark.append((y, x, segment.text, background.hex))
                x += segment.cell_length
        assert not dark, dark[:5]


async def test_monochrome_and_no_color_select_in_reverse_video(scenario, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = GdsimApp(scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.mono
        await _drawn(app, pilot, app.theme)
        table = app.screen.query_one(RunTable)
        lines = screen_lines(app)
        filtered = []
        for line in lines:  # what the terminal gets: NO_COLOR's filter removes every colour
            for line_filter in app._filters:
                line = line_filter.apply(line, Color(0, 0, 0))
            filtered.append(line)
        region = table.region
        selected = list(cells(filtered[region.y + 1 + table.selected], region.x + 3, region.right))
        other = list(cells(filtered[region.y + 2 + table.selected], region.x + 3, region.right))
        assert selected and all(style.reverse for text, style in selected)
        assert other and not any(style.reverse for text, style in other if text.strip())


@pytest.mark.parametrize("theme", THEMES)
async def test_coloured_words_are_readable(tmp_path, theme):
    """The run table's coloured states ("diverged at 5", "global min at 30"), the verdicts' ✓/✗, the
    notices, the footer's keys and the lesson's title, on the screen's own grounds: on textual-light
    $success was 1.8:1, the notices' ANSI yellow 2.1:1, the footer's keys 2.9:1, the title 3.3:1."""
    path = tmp_path / "checks.toml"
    path.write_text(SCENARIO + CHECKS)
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _drawn(app, pilot, theme)
        app.screen.session.step(160)
        await verified(pilot, app.screen)  # the background verification (slow under load: "measuring…", no ✓ yet)
        app.screen.redraw(force=True)
        await pilot.pause()
        lines = screen_lines(app)
        table = app.screen.query_one(RunTable)
        base = Color.from_rich_color(table.rich_style.color)
        checked = []
        others = [table.region.y + 1 + row for row in range(len(table.rows)) if row != table.selected]
        rows = [(y, table.region.x + 3, table.region) for y in others]  # past the run colour marks
        for widget in (app.screen.query_one(VerdictLine), app.screen.query_one(NoticeBar),
                       app.screen.query_one(KeyFooter), app.screen.query_one(".lesson-title")):
            rows += [(y, widget.region.x, widget.region) for y in range(widget.region.y, widget.region.bottom)]
        for y, x0, region in rows:
            for text, style in cells(lines[y], x0, region.right):
                if not text.strip(" ▏│") or style.color is None or style.dim:  # rules are not words
                    continue
                fg, bg = colours(style)
                if fg != base:  # a coloured word: a state, a mark, a notice, a key, the title
                    checked.append(text.strip())
                    assert contrast_ratio(fg, bg) >= AA, (theme, text, fg.hex, bg.hex)
        joined = " ".join(checked)
        if theme != "gdsim-mono":
            for word in ("diverged at", "✓", "✗", "✖ diverges (B)", "space", "Contrast"):
                assert word in joined, (word, joined)


@pytest.mark.parametrize("theme", THEMES)
async def test_quiet_text_is_readable_too(tmp_path, theme):
    """What is drawn quieter than the rest and was still below WCAG AA on textual-light: the
    inactive tabs' labels ("Map", "Maths": 3.03:1, Textual's $foreground 50%), the status line's
    "/ 50" and scenario title (dim, 4.40:1), a check still open ("… decided at step 300", dim, 4.40:1)
    and a coloured state on the run table's striped row ("local min at 26" 4.47:1). Dimmed text is
    measured as a terminal blends it (Textual's factor)."""
    from textual.constants import DIM_FACTOR
    from textual.widgets import Tab

    from gdsim.app.widgets.status_line import StatusLine

    path = tmp_path / "checks.toml"
    path.write_text(SCENARIO + CHECKS + run("third", 0.5) + run("fourth", 0.05))  # a state word on a stripe
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _drawn(app, pilot, theme)
        await verified(pilot, app.screen)  # the background verification (slow under load: "measuring…")
        app.screen.redraw(force=True)
        await pilot.pause()
        lines = screen_lines(app)  # at step 40 of 50 the checks are still open: "… decided at step 50"

        def measured(widget, x0=None) -> list[tuple[str, float]]:
            out = []
            for y in range(widget.region.y, widget.region.bottom):
                for text, style in cells(lines[y], widget.region.x if x0 is None else x0, widget.region.right):
                    if not text.strip(" ▏│·") or style is None or style.color is None or style.bgcolor is None:
                        continue
                    fg, bg = colours(style)
                    if style.dim:
                        fg = bg.blend(fg, DIM_FACTOR)
                    out.append((text.strip(), contrast_ratio(fg, bg)))
            return out

        open_checks = measured(app.screen.query_one(VerdictLine))
        app.screen.session.step(160)  # 'fourth' (row D, striped) reaches the minimum: a coloured state
        app.screen.redraw(force=True)
        await pilot.pause()
        lines = screen_lines(app)
        tabs = [m for tab in app.screen.query(Tab) if tab.display and tab.region.width for m in measured(tab)]
        status = measured(app.screen.query_one(StatusLine))
        table = app.screen.query_one(RunTable)
        striped = [table.region.y + 1 + row for row in range(len(table.rows)) if row % 2 and row != table.selected]
        assert striped
        rows = [m for y in striped for text, style in cells(lines[y], table.region.x + 3, table.region.right)
                if text.strip() and style.color is not None
                for m in [(text.strip(), contrast_ratio(*colours(style)))]]
        words = " ".join(text for text, _ in tabs + status + rows + open_checks)
        for expected in ("Plots", "Map", "/ 50", "Contrast", "diverged", "global min", "decided at step 50"):
            assert expected in words, (expected, words)
        low = [(text, round(ratio, 2)) for text, ratio in tabs + status + rows + open_checks if ratio < AA]
        assert not low, (theme, low)
