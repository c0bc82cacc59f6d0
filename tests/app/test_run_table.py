"""The run table: one row per run, selection by keys and clicks, columns dropped to fit, not cut."""

from __future__ import annotations

from gdsim.app.screens.scenario import ScenarioScreen
from gdsim.app.widgets.run_table import COLUMNS, RunTable
from tests.app.conftest import make_app
from tests.app.test_plots import app_from


def col(name: str) -> int:
    return [c.name for c in COLUMNS].index(name)


def header(table: RunTable) -> str:
    return table._strips[0].text


async def test_rows_and_readings_follow_the_runs():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(RunTable)
        assert [row[1] for row in table.rows] == ["A", "B", "C"]
        assert [row[3] for row in table.rows] == ["sgd", "sgd μ=0.9", "adam"]
        before = [row[col('loss')] for row in table.rows]
        await pilot.press(".", ".", ".")
        await pilot.pause()
        assert [row[col('loss')] for row in table.rows] != before  # the loss column is live
        loss = screen.session.sim.loss
        assert table.rows[0][col('loss')] == f"{float(loss[0]):.5g}"
        assert "batch" not in header(table)  # surfaces have no batch: the column says nothing, so it goes
        await pilot.press("a")
        await pilot.pause()
        assert len(table.rows) == 4 and table.selected == 3
        assert table.size.height == 5  # the header and four rows


async def test_keys_and_clicks_select_a_run():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen: ScenarioScreen = app.screen
        table = screen.query_one(RunTable)
        assert table.has_focus
        await pilot.press("down")
        assert screen.session.selected == 1 and table.selected == 1
        await pilot.press("down", "down", "down")  # stops at the last row
        assert screen.session.selected == 2
        await pilot.press("up")
        assert screen.session.selected == 1
        await pilot.click(RunTable, offset=(5, 1))  # line 0 is the header; line 1 is run A
        await pilot.pause()
        assert screen.session.selected == 0
        assert screen.session.current.label == "A"


async def test_narrow_terminals_drop_columns_instead_of_cutting_them():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunTable)
        wide = header(table)
        assert "schedule" in wide and "status" in wide
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        # the settings every run shares (seed 0, constant) go first; the state words stay
        assert "schedule" not in header(table) and "seed" not in header(table) and "status" in header(table)
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        narrow = header(table)
        assert len(narrow) <= 40
        assert "seed" not in narrow and "optimizer" not in narrow
        for name in ("run", "loss", "status"):
            assert name in narrow  # the readings a learner needs most are kept: the state words always
        assert all(strip.cell_length == table.size.width for strip in table._strips)


async def test_the_key_column_waits_for_the_answer_then_shows_the_expects_measure():
    from gdsim.scenario.columns import Column, measure

    app = make_app("s4/keys")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        table = screen.query_one(RunTable)
        await pilot.pause()
        assert "val acc" in header(table)  # derived from the expect the question is shown by
        key = [c.name for c in table.columns].index("val acc")
        screen.session.step(10)  # before the step that reveals the answer by itself (30)
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.flow.phase == "asking"
        assert [row[key] for row in table.rows] == ["?", "?"]  # asking: the reading would answer it
        await pilot.press("0")  # skipped: the question is closed, the readings may show
        screen.session.step(20)
        screen.redraw(force=True)
        await pilot.pause()
        values = measure(screen.session.sim, (Column(metric="val_accuracy"),))[0]
        assert [row[key] for row in table.rows] == [f"{v:.0%}" for v in values]
        assert table.rows[0][key] != table.rows[1][key]
        assert header(table).index("loss") < header(table).index("val acc") < header(table).index("status")


async def test_at_80x24_every_builtin_shows_every_run_and_its_state():
    """Every built-in scenario at 80x24 after 200 steps (question skipped): the status column, and a
    line per run with its label and state words, every run of every built-in (up to SHORT_RUNS: the
    tab bar's underline and, from six runs, the notices' second line make the room; the height budget
    of tests/app/test_height_budget.py holds). A user who adds runs past that finds the rest announced
    in the header and reached with the arrow keys (test_predict_and_verdicts: ..._cut_rows_are_announced)."""
    from gdsim.app.app import GdsimApp
    from gdsim.scenario.library import list_entries
    from gdsim.scenario.load import load_scenario

    most = 0
    for entry in [e for e in list_entries() if e.builtin]:
        app = GdsimApp(load_scenario(entry.path))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await pilot.press("0")
            screen.session.step(min(200, screen.session.stop_at))
            screen.redraw(force=True)
            await pilot.pause()
            table = screen.query_one(RunTable)
            lines = [strip.text for strip in table._strips[: table.size.height]]
            assert "status" in lines[0], (entry.id, lines[0])
            assert len(table.rows) <= SHORT_RUNS, entry.id
            most = max(most, len(table.rows))
            assert len(lines) == len(table.rows) + 1, (entry.id, lines)  # the header and every run
            assert "more run" not in lines[0] and "↓" not in lines[0], (entry.id, lines[0])
            for row, line in zip(table.rows, lines[1:]):
                assert row[1][:6] in line, (entry.id, row[1], line)  # cut only with an ellipsis, never gone
                assert row[-1][:6] in line, (entry.id, row[-1], line)  # the state words
    assert most == SHORT_RUNS  # local-minima-networks' six widths


SHORT_RUNS = 6


def test_the_status_line_says_the_speed_achieved_when_it_falls_short():
    from gdsim.app.widgets.status_line import achieved_speed, speed_piece

    assert achieved_speed([(0.0, 0), (0.2, 40)]) is None  # too soon to say
    assert achieved_speed([(0.0, 0), (1.0, 9), (2.0, 18)]) == 9.0
    assert speed_piece(200, None)[0] == "  speed 200/s"  # paused, or not measured yet: what was asked
    assert speed_piece(200, 9.0)[0] == "  speed 9/s (200/s asked)" and speed_piece(200, 9.0)[1].bold
    assert speed_piece(200, 190.0)[0] == "  speed 200/s"  # close enough: nothing to say
    assert speed_piece(0, 1234.4)[0] == "  speed max: 1,234/s"


async def test_a_run_slower_than_asked_shows_its_measured_speed(monkeypatch):
    from gdsim.app.widgets.status_line import StatusLine

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        status = screen.query_one(StatusLine)
        session = screen.session
        clock = [100.0]
        monkeypatch.setattr("gdsim.app.widgets.status_line.time.monotonic", lambda: clock[0])
        session.running, session.speed_index = True, session.speed_index  # running at the speed asked
        for k in range(4):  # 5 steps per second measured, whatever was asked
            session.sim.step(5) if k else None
            clock[0] += 1.0 if k else 0.0
            status.show(session)
        text = status.text.plain
        assert "speed 5/s (" in text and "asked)" in text, text
        session.running = False
        status.show(session)
        assert "asked" not in status.text.plain


async def test_the_footer_at_80_columns_keeps_add_maths_back_and_help():
    from gdsim.app.widgets.key_footer import KeyFooter

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        line = footer.render_line(0).text
        for key in ("a add", "x maths", "esc back", "? help", "space run"):
            assert key in line, line
        assert footer.render_line(0).cell_length == 80
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        wide = footer.render_line(0).text
        assert "Add run" in wide and "Rewind" in wide  # room enough: the full descriptions


SCHEDULED = """
[scenario]
title = "t"
claim = "c"
steps = 100
[problem]
surface = "quadratic"
condition = 10
[optimizer]
name = "sgd"
lr = 0.1
[[runs]]
label = "constant"
start = [-2.5, 1.5]
[[runs]]
label = "halved"
start = [-2.5, 1.5]
schedule = { name = "step", step_size = 10, gamma = 0.5 }
[[runs]]
label = "blows up"
start = [-2.5, 1.5]
optimizer = { lr = 0.3 }
schedule = { name = "step", step_size = 1000, gamma = 0.5 }
"""


async def stepped_table(pilot, steps: int):
    """The scenario screen and its run table after `steps` steps, drawn."""
    screen = pilot.app.screen
    screen.session.step(steps)
    screen.redraw(force=True)
    await pilot.pause()
    return screen, screen.query_one(RunTable)


async def test_under_a_schedule_the_lr_column_reads_the_rate_now(tmp_path):
    """reduce-on-plateau's table said "plateau 0.1" at step 400 while the run stepped with 0.005:
    under a schedule the column is headed "lr now" and reads the rate at the shown step (rewound
    too); a diverged run, which steps no more, reads "-"."""
    app = app_from(tmp_path, SCHEDULED)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, table = await stepped_table(pilot, 35)
        assert "lr now" in header(table)
        assert [row[col("lr")] for row in table.rows[:2]] == ["0.1", "0.0125"]  # 0.1 halved at 10, 20, 30
        assert screen.session.sim.diverged_at[2] >= 0 and table.rows[2][col("lr")] == "-"
        screen.session.scrub(-(screen.session.sim.history.count - 2))  # back to the second record
        screen.redraw(force=True)
        await pilot.pause()
        assert screen.session.shown_step < 10
        assert table.rows[1][col("lr")] == "0.1"


async def test_without_a_schedule_the_lr_column_is_the_rate_set_even_after_a_divergence(tmp_path):
    app = app_from(tmp_path, SCHEDULED.replace('schedule = { name = "step", step_size = 10, gamma = 0.5 }\n', "")
                   .replace('schedule = { name = "step", step_size = 1000, gamma = 0.5 }\n', ""))
    async with app.run_test(size=(120, 40)) as pilot:
        screen, table = await stepped_table(pilot, 35)
        assert screen.session.sim.diverged_at[2] >= 0
        assert "lr now" not in header(table) and " lr " in header(table)
        assert [row[col("lr")] for row in table.rows] == ["0.1", "0.1", "0.3"]
