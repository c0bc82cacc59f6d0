"""At 80x24 every run of a built-in scenario is on screen after the question, with no "+k more run"
hint: the runs a lesson's question or answer names (right-optimizer's newton, cosine-warmup's E of
"D or E", natural-gradient's unscaled gradient descent, local-minima-networks' widths 16 and 32) are
read off the screen itself, as the terminal draws it (toasts included), not off the widget's rows."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gdsim.scenario.library import builtin_dir

# (scenario, steps run before looking: the whole run where it is cheap, the letters its answer names)
CROWDED = [
    ("right-optimizer", 600, "CE"),  # momentum first; newton (E) is the optimizer that needs no tuning
    ("cosine-warmup", 150, "DE"),  # "D or E: warm up, then decay"
    ("natural-gradient", 200, "CDE"),  # natural gradient, unscaled; E: gradient descent on the unscaled inputs
    ("local-minima-networks", 300, "DEF"),  # "none from 8 units on": widths 8, 16 and 32
    ("l1-sparsity", 1500, "B"),
]


def screen_lines(app) -> list[str]:
    """The screen as the terminal shows it: every layer composited (toasts over the table too)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


async def open_builtin(app, pilot, name: str, steps: int):
    """The built-in scenario `name` at 80x24, its question skipped, `steps` steps run and revealed."""
    from gdsim.app.runtime.predict_flow import REVEALED
    from gdsim.app.runtime.session import Session
    from gdsim.app.screens.scenario import ScenarioScreen
    from gdsim.scenario.load import load_scenario

    session = Session(load_scenario(builtin_dir() / f"{name}.toml", id=name, trial_build=False))
    screen = ScenarioScreen(session)
    await app.push_screen(screen)
    await pilot.pause()
    if screen.flow is not None:
        await pilot.press("0")
    session.step(steps)
    if screen.flow is not None:
        screen.reveal()
        assert screen.flow.phase == REVEALED
    screen.redraw(force=True)
    await pilot.pause()
    await pilot.pause()
    return screen


def row_of(lines: list[str], letter: str, label: str) -> str | None:
    """The screen line that is the run table's row of run `letter` ("  E  newton ...")."""
    for line in lines:
        if line.startswith(f" {letter}  ") and line[4:].startswith(label[:8]):
            return line
    return None


@pytest.mark.parametrize("name,steps,named", CROWDED, ids=[c[0] for c in CROWDED])
async def test_every_run_is_on_screen_at_80x24(name, steps, named):
    from gdsim.app.app import GdsimApp

    app = GdsimApp(None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_builtin(app, pilot, name, steps)
        runs = screen.session.display
        lines = screen_lines(app)
        (header,) = [line for line in lines if line.lstrip().startswith("run ")]
        assert "↓" not in header and "more run" not in header, "\n".join(lines)
        missing = [run.letter for run in runs if row_of(lines, run.letter, run.label) is None]
        assert not missing, (missing, "\n".join(lines))
        assert set(named) <= {run.letter for run in runs}
        # the plots keep their readable height (tests/app/test_height_budget.py says what that is)
        assert screen.query_one("#plot-loss").size.height >= 8, "\n".join(lines)


async def test_a_message_after_a_key_leaves_the_run_table_whole():
    """A mid-run change (l) says what carried over: in the status line (a second line, whole), not in
    a toast over the right of the run table for 8 s; at 80x24, and at 120x40 where the lesson beside
    the plots leaves the table 76 columns and a toast covered nearly all of it."""
    from gdsim.app.app import GdsimApp
    from gdsim.app.widgets.run_table import RunTable

    app = GdsimApp(None)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:  # toasts drawn, as in a terminal
        screen = await open_builtin(app, pilot, "right-optimizer", 200)
        for size, words in (((80, 24), "learning rate 0.13 → 0.2 from step 200"),
                            ((120, 40), "learning rate 0.2 → 0.5 from step 200")):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.press("l")  # run A's learning rate up from step 200: "continued: ... parameters kept"
            await pilot.pause(0.5)  # a toast would be up by now (it mounts on the next refresh)
            lines = screen_lines(app)
            table = screen.query_one(RunTable)
            left, top = table.region.x, table.region.y
            assert table.region.height == 1 + len(screen.session.display)
            for y in range(table.region.height):  # every cell of the table as the table draws it: nothing over it
                assert lines[top + y][left:] == table.render_line(y).text, "\n".join(lines)
            shown = " ".join(line[left:].strip() for line in lines)
            assert words in shown and "parameters kept" in shown, "\n".join(lines)
            assert not app._notifications


async def test_six_runs_take_the_notices_second_line_only_while_the_table_is_shown():
    from gdsim.app.app import GdsimApp
    from gdsim.app.widgets.notice_bar import LINES_CROWDED, LINES_SHORT, NoticeBar

    app = GdsimApp(None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_builtin(app, pilot, "local-minima-networks", 50)
        bar = screen.query_one(NoticeBar)
        assert screen.has_class("-many-runs") and bar.max_lines == LINES_CROWDED == 1
        await pilot.press("h")  # the table hidden: the notices have their two lines again
        await pilot.pause()
        screen.redraw(force=True)
        assert not screen.has_class("-many-runs") and bar.max_lines == LINES_SHORT == 2
        await pilot.press("h")
        await pilot.pause()
        screen.redraw(force=True)
        assert screen.has_class("-many-runs") and bar.max_lines == 1
        await pilot.resize_terminal(120, 40)  # tall: the notices' own budget (4 lines), whatever the runs
        await pilot.pause()
        screen.redraw(force=True)
        assert bar.max_lines == 4
