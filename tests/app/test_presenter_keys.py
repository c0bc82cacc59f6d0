"""Pilot tests of the keys issue 14 added or changed: escape asks before discarding changes, `f`
full screen and back, `h` hides the run table, page keys scroll the lesson, `[`/`]` jump between
events, optimizer cycling keeps the learning rate, `r` clears stale status text, a long status
message is never cut to nothing at 80x24, and the tab keys focus a panel already on screen."""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent

from gdsim.app.app import GdsimApp
from gdsim.app.screens.help import HelpScreen
from gdsim.app.screens.presenter import _shown as shown_now  # on screen now: not in a hidden tab or container
from gdsim.app.screens.picker import PickerScreen
from gdsim.app.screens.prompt import ConfirmScreen
from gdsim.app.screens.scenario import ScenarioScreen
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.app.widgets.status_line import StatusLine
from gdsim.engine.state_events import state_events
from gdsim.scenario.load import load_scenario
from tests.app.conftest import bowl, make_app, run, said

SIZE = (120, 40)


LESSON = " ".join(f"Paragraph {i} of a lesson long enough to scroll, with words to wrap." for i in range(40))
FOUR_RATES = bowl("".join(run(label, lr) for label, lr in (
    ("too small", 0.002), ("just right", 0.15), ("too large", 0.19), ("far too large", 0.21))),
    title="Four learning rates", claim="The learning rate hardly matters", lesson=LESSON)


@pytest.fixture
def four_rates(tmp_path):
    """Four runs on a bowl of condition 10 (as the built-in learning-rate was): one reaches the
    minimum, one oscillates, one grows and diverges at step 141; a lesson that must scroll."""
    path = tmp_path / "four_rates.toml"
    path.write_text(FOUR_RATES)
    return lambda: GdsimApp(load_scenario(path))


def status_text(app) -> str:
    status = app.screen.query_one(StatusLine)
    return "\n".join(status.render_line(y).text for y in range(status.size.height))


def lr_of(session, index: int) -> float:
    cohort, _ = session.cohort_of(int(session.display[index].rows[0]))
    return float(cohort.optimizer.hyper["lr"])


async def test_escape_from_a_changed_scenario_asks_first():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("l", "escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # stay: the change is kept
        assert app.screen is screen and screen.session.modified
        await pilot.press("escape", "escape")  # escape answers no as well
        assert app.screen is screen and screen.session.modified
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


async def test_escape_from_an_unchanged_scenario_does_not_ask():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


async def test_f_shows_the_focused_panel_full_screen_and_back():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.session.step(30)
        screen.redraw(force=True)
        await pilot.pause()
        shown_before = {w.id: w.display for w in screen.query("*") if w.id}
        await pilot.press("f")  # nothing focused but the table: the loss plot
        loss = screen.query_one("#plot-loss")
        assert screen.has_class("-zoom") and loss.has_class("-zoomed")
        await pilot.pause()
        kept = sum(screen.query_one(f"#{name}").outer_size.height for name in ("status", "verdicts", "notices")
                   if screen.query_one(f"#{name}").display)
        assert loss.size.width == SIZE[0] and loss.size.height == SIZE[1] - 1 - kept  # all but those and the footer
        for name in ("side-lesson", "plot-grad", "runs"):
            assert not screen.query_one(f"#{name}").display
        assert screen.query_one("#status").display
        await pilot.press("f")
        await pilot.pause()
        assert not screen.has_class("-zoom")
        assert {w.id: w.display for w in screen.query("*") if w.id} == shown_before
        # another panel, focused: that one; escape leaves full screen, not the scenario
        screen.query_one("#plot-grad").focus()
        await pilot.press("f")
        await pilot.pause()
        grad = screen.query_one("#plot-grad")
        assert grad.has_class("-zoomed") and grad.size.width == SIZE[0]
        assert not screen.query_one("#plot-loss").display
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and not screen.has_class("-zoom")
        assert {w.id: w.display for w in screen.query("*") if w.id} == shown_before


async def test_f_on_the_lesson_and_the_map_at_80x24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("3")  # narrow: the lesson is a tab, and the tab key opens and focuses it
        await pilot.pause()
        assert screen.query_one("#tabs", TabbedContent).active == "tab-lesson"
        lesson = screen.query_one("#tab-lesson-panel")
        assert lesson.has_focus
        await pilot.press("f")
        await pilot.pause()
        assert lesson.has_class("-zoomed") and lesson.size.width >= 78
        assert not screen.query_one("#tabs").query_one("ContentTabs").display
        await pilot.press("2")  # another tab leaves full screen and shows the map
        await pilot.pause()
        assert not screen.has_class("-zoom")
        assert screen.query_one("#tabs", TabbedContent).active == "tab-map"
        await pilot.press("f")
        await pilot.pause()
        surface = screen.query_one("#map-full")
        assert surface.has_class("-zoomed") and surface.size.width == 80


async def test_f_on_the_lesson_beside_the_plots_keeps_the_status_line_on_screen():
    """The side lesson sits beside #main, which holds the status line: full screen used to hide
    it with the rest of #main. Now #main keeps its kept lines and goes under the lesson."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.session.step(30)
        screen.redraw(force=True)
        shown_before = {w.id: w.display for w in screen.query("*") if w.id}
        await pilot.press("3")  # wide: the lesson beside the plots is focused
        await pilot.press("f")
        await pilot.pause()
        lesson, status = screen.query_one("#side-lesson"), screen.query_one("#status")
        assert lesson.has_class("-zoomed") and lesson.outer_size.width == SIZE[0]
        assert status.display and status.region.height >= 1 and status.region.y >= lesson.region.bottom
        assert status.region.bottom <= SIZE[1] - 1  # above the footer, on screen
        assert "step 30" in status_text(app)
        for name in ("tabs", "question", "runs"):
            assert not shown_now(screen.query_one(f"#{name}")), name
        await pilot.press("f")
        await pilot.pause()
        assert not screen.has_class("-zoom-side")
        assert {w.id: w.display for w in screen.query("*") if w.id} == shown_before


async def test_h_hides_the_run_table_and_arrows_still_select():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        table = screen.query_one("#runs")
        await pilot.press("h")
        await pilot.pause()
        assert not table.display and "run table hidden" in status_text(app)
        await pilot.press("down")
        assert screen.session.selected == 1
        await pilot.press("h")
        await pilot.pause()
        assert table.display
        await pilot.press("f", "f")  # full screen and back keeps the table as it was
        await pilot.pause()
        assert table.display
        await pilot.press("h", "f", "f")
        await pilot.pause()
        assert not table.display


async def test_page_keys_scroll_the_lesson_not_the_runs(four_rates):
    app = four_rates()
    async with app.run_test(size=(120, 24)) as pilot:
        screen = app.screen
        lesson = screen.query_one("#side-lesson")
        assert lesson.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert lesson.scroll_y > 0
        assert screen.session.selected == 0  # the run table used to jump 5 rows
        await pilot.press("pageup")
        await pilot.pause()
        assert lesson.scroll_y == 0


async def test_page_keys_at_80x24_say_where_the_lesson_is(four_rates):
    app = four_rates()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("pagedown")
        assert "press 3" in app.screen.query_one(StatusLine).message  # the status line: no toast over the table
        await pilot.press("3", "pagedown")
        await pilot.pause()
        assert app.screen.query_one("#tab-lesson-panel").scroll_y > 0


async def _wait_for(pilot, condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def test_brackets_jump_between_events(four_rates):
    app = four_rates()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        session = screen.session
        session.step(200)
        expected = sorted({e.step for e in state_events(session.sim)})
        assert len(expected) >= 3  # oscillating, growing, minima, a divergence
        await pilot.press("home")
        assert session.cursor == 0
        seen = []
        for _ in expected:
            before = session.shown_step
            await pilot.press("right_square_bracket")
            await _wait_for(pilot, lambda: session.shown_step != before)
            seen.append(session.shown_step)
        assert seen == expected
        assert "diverged at 141" in status_text(app)  # the last event: far too large diverged
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert session.shown_step == expected[-1] and "no later event" in status_text(app)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert session.shown_step == expected[-2]


BRIEF = bowl(run("calmed", 0.19, "changes = [{ at = 30, optimizer = { lr = 0.02 } }]\n") + run("steady", 0.02),
             title="A brief oscillation", steps=2000)


async def test_brackets_land_on_a_brief_state_as_it_was_entered(tmp_path):
    """`calmed` oscillates from step 5 until its learning rate drops at 30, then settles: a state
    entered and left between two of the 48 records the keys used to sample. `]` from step 0 lands
    on step 5, where the table says oscillating too (the same classification)."""
    path = tmp_path / "brief.toml"
    path.write_text(BRIEF)
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(2000)
        await pilot.press("home")
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert session.shown_step == 5
        assert "step 5: calmed: oscillating" in status_text(app)
        assert session.states()[0].kind == "oscillating"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert session.shown_step == 37 and session.states()[0].kind == "global min"


LATE = bowl(run("late", 0.0001, "changes = [{ at = 9001, optimizer = { lr = 0.19 } }]\n"), title="A late minimum",
            steps=20000)


async def test_brackets_after_the_history_halved_say_where_the_event_is_and_move_on(tmp_path):
    """20,000 steps: the history keeps every 8th step at the end. `late` barely moved by step 100
    (judged while every step was recorded: exact, but step 100 is no longer a record) and reached
    the minimum between steps 9,009 and 9,012 (judged at every 4th step then). `]` shows each at the
    first record from its step and says so; it never lands before the event (where the run was
    not in that state yet), and a second `]` moves on instead of landing on the same event again."""
    path = tmp_path / "late.toml"
    path.write_text(LATE)
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        while session.sim.step_count < 20000:  # Session.step stops after 2 s (a loaded machine)
            session.step(20000 - session.sim.step_count)
        assert session.sim.history.stride == 8
        events = state_events(session.sim)
        assert [(e.step, e.earliest, e.state.kind) for e in events] == [(100, None, "slow"), (9012, 9009, "global min")]
        said = lambda: " ".join(status_text(app).split())  # noqa: E731  (the status line, unwrapped)
        await pilot.press("home")
        await pilot.press("right_square_bracket")
        await _wait_for(pilot, lambda: "step 100: late: barely moved" in said())
        assert session.shown_step == 104
        assert "shown at 104, the nearest record: every 8th step is kept" in said()
        await pilot.press("right_square_bracket")
        await _wait_for(pilot, lambda: "steps 9,009-9,012: late: global min" in said())
        assert session.shown_step == 9016 and session.states()[0].kind == "global min"
        await pilot.press("right_square_bracket")
        await _wait_for(pilot, lambda: "no later event" in said())
        assert session.shown_step == 9016
        await pilot.press("left_square_bracket")
        await _wait_for(pilot, lambda: "step 100: late: barely moved" in said())
        assert session.shown_step == 104


async def test_optimizer_cycling_keeps_the_learning_rate():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        await pilot.press("down", "down")  # C: adam, lr 0.05
        assert lr_of(session, 2) == 0.05
        await pilot.press("o")
        assert session.configs[2].optimizer["name"] == "adamw" and lr_of(session, 2) == 0.05
        await pilot.press("o")  # newton: its lr is the share of the Newton step, and it says so
        assert session.configs[2].optimizer["name"] == "newton" and lr_of(session, 2) == 1.0
        assert "Newton step" in status_text(app)
        await pilot.press("o")  # cg: its lr is the longest step its line search tries; still 1
        assert session.configs[2].optimizer["name"] == "cg" and lr_of(session, 2) == 1.0
        assert "line search" in status_text(app)
        # natural has no Fisher matrix on a surface: the cycle skips it, back to sgd
        for name in ("sgd", "momentum", "nesterov", "adagrad"):
            await pilot.press("o")
            assert session.configs[2].optimizer["name"] == name
            assert lr_of(session, 2) == 0.05  # the rate from before newton came back, and stays
        await pilot.press("O", "O", "O", "O", "O")  # back through sgd and cg to newton, and out of it
        assert session.configs[2].optimizer["name"] == "newton" and lr_of(session, 2) == 1.0
        await pilot.press("O")
        assert session.configs[2].optimizer["name"] == "adamw" and lr_of(session, 2) == 0.05


async def test_r_clears_stale_status_text():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        assert "learning rate" in status_text(app)
        await pilot.press("r")
        await pilot.pause()
        text = status_text(app)
        assert "learning rate" not in text and "Three run" in text, repr(text)


async def test_a_long_status_message_is_never_cut_to_nothing_at_80x24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one(StatusLine)
        await pilot.press("down", "down", "o", "o")  # C to newton: a long explanation
        await pilot.pause()
        message = status.message
        assert len(message) > 60
        assert status.size.height in (2, 3)
        lines = [status.render_line(y).text for y in range(status.size.height)]
        assert " ".join(line.strip() for line in lines[1:]) == message  # whole, on lines of its own
        assert "paused" in lines[0]
        await pilot.press("l")  # a short one fits beside the state on one line
        await pilot.pause()
        assert status.size.height == 1
        assert status.message in status.render_line(0).text


async def test_tab_keys_focus_a_panel_already_on_screen():
    app = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        screen = app.screen
        tabs = screen.query_one("#tabs", TabbedContent)
        await pilot.press("3")  # the lesson is beside the plots: focused there, no tab switch
        assert tabs.active == "tab-plots" and screen.query_one("#side-lesson").has_focus
        await pilot.press("2")  # the map is inline at this width
        assert tabs.active == "tab-plots" and screen.query_one("#map-inline").has_focus
        await pilot.press("1")
        assert screen.query_one("#runs").has_focus
        assert all("focused" in m for m in said(app)), said(app)  # nothing says "not available"


async def test_select_run_in_the_footer_and_the_help():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        footer = app.screen.query_one(KeyFooter)
        assert footer.keys[0].display == "↑/↓" and footer.keys[0].description == "Select run"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.body.plain
        for key, words in (("↑/↓", "Select run"), ("PgUp", "Lesson"), ("[", "Previous event"),
                           ("]", "Next event"), ("f", "Full screen"), ("h", "run table")):
            assert any(line.strip().startswith(key) and words in line for line in body.splitlines()), key


@pytest.mark.parametrize("lr", [0.5])
async def test_divergence_notice_names_the_key_that_lowers_the_rate(lr, tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(f'[scenario]\ntitle = "d"\nclaim = "c"\n\n[problem]\nsurface = "quadratic"\ncondition = 10\n\n'
                    f'[optimizer]\nname = "sgd"\nlr = {lr}\n\n[[runs]]\nstart = [-2.5, 1.5]\n')
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.session.step(100)
        app.screen.redraw(force=True)
        await pilot.pause()
        text = str(app.screen.query_one("#notices").render())
        assert "diverged" in text and "(key L)" in text
