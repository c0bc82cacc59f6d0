"""Pilot tests: every key of the scenario screen does what the help screen says."""

from __future__ import annotations

import tomllib

import pytest

from gdsim.app.screens.help import HelpScreen
from gdsim.app.screens.picker import PickerScreen
from gdsim.app.screens.prompt import PromptScreen
from gdsim.app.screens.scenario import ScenarioScreen
from tests.app.conftest import DATA, make_app, said

SIZE = (120, 40)


async def answer(pilot, text: str) -> None:
    """Type `text` as the answer of the open prompt, replacing its default, and press enter."""
    from textual.widgets import Input

    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one(Input).value = ""
    await pilot.press(*text, "enter")
    await pilot.pause()


def cohort_hyper(screen, key):
    session = screen.session
    cohort, _ = session.cohort_of(int(session.current.rows[0]))
    return cohort.optimizer.hyper[key]


async def test_space_runs_and_pauses():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        await pilot.press("space")
        assert screen.session.running
        await pilot.pause(0.3)
        assert screen.session.sim.step_count > 0
        await pilot.press("space")
        assert not screen.session.running
        steps = screen.session.sim.step_count
        await pilot.pause(0.2)
        assert screen.session.sim.step_count == steps


async def test_step_once_step_n_and_reset():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("full_stop")
        assert screen.session.sim.step_count == 1
        await pilot.press("n")
        assert isinstance(app.screen, PromptScreen)
        await answer(pilot, "25")
        assert screen.session.sim.step_count == 26
        await pilot.press("r")
        assert screen.session.sim.step_count == 0


async def test_step_n_rejects_nonsense():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("n")
        await answer(pilot, "ten")
        assert screen.session.sim.step_count == 0
        assert any("whole number" in m for m in said(app))


async def test_speed_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        start = session.speed_index
        await pilot.press("plus")
        assert session.speed_index == start + 1
        await pilot.press("minus", "minus")
        assert session.speed_index == start - 1


async def test_rewind_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(50)
        await pilot.press("left")
        assert session.cursor == 49
        await pilot.press("right")
        assert session.cursor is None
        await pilot.press("home")
        assert session.cursor == 0
        await pilot.press("end")
        assert session.cursor is None
        await pilot.press("shift+left")
        assert session.cursor is not None and session.cursor < 50
        await pilot.press("shift+right", "shift+right")
        assert session.cursor is None
        await pilot.press("left", "space")
        assert session.cursor is None and session.running  # running returns to the live step


async def test_setting_keys_change_the_selected_run():
    """l/L, s/S, m/M, o/O and c: each changes run A's settings (the file is never touched)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        session = screen.session
        before = cohort_hyper(screen, "lr")
        await pilot.press("l")
        assert cohort_hyper(screen, "lr") == pytest.approx(before * 2)
        assert session.modified
        await pilot.press("L")
        assert cohort_hyper(screen, "lr") == pytest.approx(before)
        await pilot.press("s")
        assert session.configs[0].seed == 1
        await pilot.press("S")
        assert session.configs[0].seed == 0
        await pilot.press("m")
        assert cohort_hyper(screen, "momentum") == 0.5
        await pilot.press("M")
        assert cohort_hyper(screen, "momentum") == 0.0
        await pilot.press("o")
        assert session.configs[0].optimizer["name"] == "momentum"
        await pilot.press("O", "O")
        assert session.configs[0].optimizer["name"] == "cg"  # natural needs a model: skipped on a surface
        await pilot.press("O")
        assert session.configs[0].optimizer["name"] == "newton"
        await pilot.press("c")
        assert session.configs[0].schedule["name"] == "step"
        await pilot.press("c", "c", "c")
        assert session.configs[0].schedule["name"] == "plateau"
        await pilot.press("c")
        assert session.configs[0].schedule["name"] == "constant"
        assert session.original.raw == tomllib.loads((DATA / "three_runs.toml").read_text())


async def test_momentum_on_adam_sets_beta1():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("down", "down")
        await pilot.pause()
        assert screen.session.current.label == "C"
        await pilot.press("m")
        assert cohort_hyper(screen, "betas")[0] == 0.99


async def test_start_point_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("p")
        assert isinstance(app.screen, PromptScreen)
        await answer(pilot, "0.5, -1")
        assert screen.session.configs[0].start == (0.5, -1.0)
        assert tuple(screen.session.sim.params[0]) == (0.5, -1.0)


async def test_add_remove_run_and_ensemble():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        await pilot.press("a")
        assert len(session.display) == 4
        assert session.selected == 3
        assert session.configs[3].seed == 1
        await pilot.press("d")
        assert len(session.display) == 3
        await pilot.press("e")
        assert any(run.ensemble and len(run.rows) == 200 for run in session.display)
        histogram = app.screen.query_one("#histogram")
        assert histogram.display
        await pilot.press(".", ".")
        await pilot.pause()
        rows = histogram.lines()
        assert rows[0][0][0].startswith("final loss over 200 seeds")
        counts = [int(row[2][0]) if row[2][0] else 0 for row in rows[1:]]
        assert sum(counts) == 200  # every seed is in one bin
        longest = max(len(row[1][0]) for row in rows[1:])
        assert all(len(row[1][0]) == round(c / max(counts) * longest) for row, c in zip(rows[1:], counts))
        assert [strip.cell_length for strip in histogram._strips] == [histogram.size.width] * len(rows)
        await pilot.press("e")
        assert not any(run.ensemble for run in session.display)


async def test_batch_keys_on_a_data_set():
    app = make_app("moons")
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        await pilot.press("b")
        assert session.sim.cohorts[0].problem.batch_size == 32
        await pilot.press("B", "B")
        assert session.sim.cohorts[0].problem.batch_size == 8


async def test_batch_key_on_a_surface_explains():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        assert any("data set" in m for m in said(app))
        assert not app.screen.session.modified


async def test_view_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        tabs = screen.query_one("#tabs")
        await pilot.press("x")
        assert tabs.active == "tab-maths"
        await pilot.pause()
        assert "update rule" in str(screen.query_one("#maths-text").render())
        await pilot.press("x")
        assert tabs.active == "tab-plots"
        await pilot.press("2")
        assert tabs.active == "tab-map"
        await pilot.press("4")
        assert tabs.active == "tab-maths"
        await pilot.press("1")
        assert tabs.active == "tab-plots"
        await pilot.press("3")  # the lesson sits beside the plots at this width
        assert tabs.active == "tab-plots"
        await pilot.press("v")
        assert screen.velocity_parts


async def test_theme_help_back_and_quit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        theme = app.theme
        await pilot.press("t")
        assert app.theme != theme
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ScenarioScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_save_writes_a_loadable_scenario(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "ctrl+s")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")
        await pilot.pause()
        saved = in_tmp / "three_runs-changed.toml"
        assert saved.exists()
        raw = tomllib.loads(saved.read_text())
        assert raw == app.screen.session.loaded.raw
        # again: the file exists, so the app asks; "n" leaves it alone
        saved.write_text("# mine\n")
        await pilot.press("ctrl+s", "enter")
        await pilot.pause()
        await pilot.press("n")
        assert saved.read_text() == "# mine\n"


async def test_export_csv_and_jsonl(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.session.step(10)
        await pilot.press("ctrl+e", "enter")
        await pilot.pause()
        lines = (in_tmp / "three_runs-runs.csv").read_text().splitlines()
        assert lines[0].startswith("run,seed,step,loss")
        assert len(lines) == 1 + 11 * 3
        await pilot.press("ctrl+e")
        await answer(pilot, "out.jsonl")
        assert len((in_tmp / "out.jsonl").read_text().splitlines()) == 33


async def test_screenshot(in_tmp):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+g")
        files = list(in_tmp.glob("*.svg"))
        assert len(files) == 1 and files[0].read_text().startswith("<svg")
