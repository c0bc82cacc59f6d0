"""Pilot tests of the sweep screen: W (lr) and G (lr x momentum) from the scenario screen, the
theory drawn on quadratics, the range-test caption on networks, and a UI that stays live."""

from __future__ import annotations

import re
import time

import numpy as np

from gdsim.app.app import GdsimApp
from gdsim.app.runtime.sweep_job import SweepJob, make_plan
from gdsim.app.screens.scenario import ScenarioScreen
from gdsim.app.screens.sweep import SweepScreen
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA, make_app

SIZE = (120, 40)

QUADRATIC = """
[scenario]
title = "A bowl"
claim = "Any learning rate works"
steps = 200

[problem]
surface = "quadratic"
condition = 10

[optimizer]
name = "sgd"
lr = 0.05

[[runs]]
label = "plain"
start = [-2.5, 1.5]

[[runs]]
label = "ada"
start = [-2.5, 1.5]
optimizer = { name = "adagrad", lr = 0.5 }
"""


def quadratic_app(tmp_path) -> GdsimApp:
    path = tmp_path / "bowl.toml"
    path.write_text(QUADRATIC)
    return GdsimApp(load_scenario(path))


async def finished(pilot, screen: SweepScreen, seconds: float = 30.0) -> None:
    start = time.monotonic()
    while screen.result is None and time.monotonic() - start < seconds:
        await pilot.pause(0.05)
    assert screen.result is not None, "the sweep did not finish"


def caption(screen) -> str:
    return str(screen.query_one("#sweep-caption").render())


async def test_W_sweeps_the_lr_of_a_quadratic_with_theory_s_edge_drawn(tmp_path):
    app = quadratic_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("W")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await finished(pilot, screen)
        plan, result, _ = screen.result
        assert plan.kind == "lr" and plan.axes[0].n == 200 and plan.axes[0].scale == "log"
        plot = screen.query_one("#sweep-curve")
        assert plot.display and not screen.query_one("#sweep-heat").display
        await pilot.pause()
        assert {"edge", "best", "diverged"} <= set(plot.marks)
        text = caption(screen)
        assert "theory: 2/λmax = 0.2 on this quadratic (curvatures 1 to 10); inside the measured cell" in text
        assert "200 runs as one cohort, 200 steps each" in text
        # the screen shows what the engine computes for the same plan
        again = SweepJob(app.screen.session.loaded, plan).run()[0]
        assert np.array_equal(again.final_loss, result.final_loss, equal_nan=True)
        # the edge column sits between the last stable and first diverging lr the sweep drew
        lrs = result.settings["lr"]
        edge_col = plot.marks["edge"][1]
        assert plot.marks["best"][1] < edge_col
        assert lrs[result.best()] < 0.2 < lrs[result.diverged][0]
        await pilot.press("escape")
        assert isinstance(app.screen, ScenarioScreen)


async def test_G_draws_the_grid_with_goh_s_optimum_and_the_best_cell(tmp_path):
    app = quadratic_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        screen = app.screen
        await finished(pilot, screen)
        plan, result, _ = screen.result
        assert [a.key for a in plan.axes] == ["lr", "momentum"] and result.shape == (40, 40)
        heat = screen.query_one("#sweep-heat")
        await pilot.pause()
        assert {"optimum", "best"} <= set(heat.marks)
        (orow, ocol), (brow, bcol) = heat.marks["optimum"], heat.marks["best"]
        assert abs(orow - brow) <= 3 and abs(ocol - bcol) <= 4  # κ = 10: the best cell is beside α*, β*
        text = caption(screen)
        assert "Goh's optimum (Distill 2017): lr α* = 0.2309, momentum β* = 0.2699" in text
        # near β = 1 a run just below the edge shrinks by only √β a step: in 200 steps it may end
        # no lower than it started, so the measured cell can sit one below theory's there
        inside = int(re.search(r"lies in the measured grid cell for (\d+) of 40 momentum values", text).group(1))
        assert inside >= 38
        await pilot.press("W")  # the other sweep from the sweep screen
        assert screen.query_one("#sweep-curve").display and not heat.display
        await finished(pilot, screen)
        assert screen.result[0].kind == "lr"


async def test_a_run_without_momentum_gets_a_sentence_not_a_grid(tmp_path):
    app = quadratic_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")  # the adagrad run
        await pilot.press("G")
        screen = app.screen
        start = time.monotonic()
        while "no momentum" not in caption(screen) and time.monotonic() - start < 10:
            await pilot.pause(0.05)
        assert "ada uses adagrad, which has no momentum to sweep; the lr sweep (W) works" in caption(screen)
        assert screen.result is None


async def test_the_ui_stays_live_while_a_long_sweep_computes_and_escape_cancels_it(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text((DATA / "moons.toml").read_text().replace("steps = 200", "steps = 100000"))
    app = GdsimApp(load_scenario(path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")  # running: the sweep pauses it
        await pilot.press("G")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        assert not screen.session.running
        await pilot.pause(0.5)
        assert screen.result is None  # 400 networks x 100,000 steps: minutes of work
        assert "step " in screen.query_one("#sweep-heat").note and "s left" in screen.query_one("#sweep-heat").note
        await pilot.press("question_mark")  # the screen answers keys meanwhile
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen is screen
        workers = [w for w in app.workers if w.group == "sweep"]
        assert workers and workers[0].is_running
        await pilot.press("escape")  # leaving cancels the sweep
        assert isinstance(app.screen, ScenarioScreen)
        start = time.monotonic()
        while workers[0].is_running and time.monotonic() - start < 5:
            await pilot.pause(0.05)
        assert workers[0].is_cancelled and not workers[0].is_running


async def test_a_network_lr_sweep_is_called_a_range_test():
    app = make_app("moons")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("W")
        screen = app.screen
        await finished(pilot, screen, 60)
        plan, result, _ = screen.result
        assert plan.network and plan.optimizer == "adam" and result.final_loss.shape == (200,)
        text = caption(screen)
        assert "learning-rate range test (Smith 2017)" in text
        assert "theory" not in text.split("range test")[0].lower()  # no quadratic theory for a network


def test_plans_follow_the_run_and_the_problem_size(tmp_path):
    path = tmp_path / "bowl.toml"
    path.write_text(QUADRATIC)
    loaded = load_scenario(path)
    lr = make_plan(loaded, 0, "plain", "lr")
    assert lr.axes[0].low == 0.2 * 1e-4 and lr.axes[0].high == 0.2 * 10  # around theory's edge 2/λmax
    grid = make_plan(loaded, 0, "plain", "grid")
    assert [(a.key, a.n) for a in grid.axes] == [("lr", 40), ("momentum", 40)]
    assert "no momentum" in make_plan(loaded, 1, "ada", "grid")
    moons = load_scenario(DATA / "moons.toml")
    net = make_plan(moons, 0, "net", "grid")
    assert [(a.key, a.n) for a in net.axes] == [("lr", 20), ("beta1", 20)] and "20 x 20" in net.note


def test_no_key_is_bound_twice_on_the_scenario_screen():
    """Two bindings of one key: only one can ever run (W was bound to the weights view and the lr
    sweep for a while, then R to the sweep and the Map tab's recompute)."""
    keys = [key.strip() for binding in ScenarioScreen.BINDINGS for key in binding.key.split(",")]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"bound twice: {repeated}"
    assert "W" in keys and "G" in keys


async def test_the_heat_map_never_shows_a_missing_value_as_a_low_loss():
    """A point with no finite value that did not diverge is a "?", not the lowest colour."""
    from textual.app import App

    from gdsim.app.widgets.sweep_heat import SweepHeat

    class One(App):
        def compose(self):
            yield SweepHeat(id="heat")

    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        heat = app.query_one(SweepHeat)
        values = np.array([[1e-3, np.nan], [1.0, 10.0]])
        heat.show(np.array([0.1, 1.0]), np.array([0.0, 0.9]), values, np.array([[False, False], [False, True]]),
                  (0, 0), None, None, "t", "β")
        await pilot.pause()
        text = "\n".join(strip.text for strip in heat._strips)
        assert "?" in text and "✕" in text and "●" in text


def test_a_served_sweep_keeps_to_its_cpu_share(tmp_path, monkeypatch):
    """With a share of a quarter core the job rests three times as long as it computes."""
    import gdsim.app.runtime.sweep_job as sweep_job

    path = tmp_path / "bowl.toml"
    path.write_text(QUADRATIC)
    loaded = load_scenario(path)
    plan = make_plan(loaded, 0, "plain", "grid")
    slept: list[float] = []
    monkeypatch.setattr(sweep_job.time, "sleep", slept.append)
    job = SweepJob(loaded, plan)
    assert job.run(share=lambda wall: 0.25) is not None
    assert slept and job.rested == sum(slept) and max(slept) <= 1.0
    assert abs(job.rested - 3 * job.computed) <= 1e-9 * job.rested or max(slept) == 1.0
    unlimited = SweepJob(loaded, plan)
    slept.clear()
    unlimited.run(share=lambda wall: None)
    assert not slept and unlimited.rested == 0.0


def test_a_sweep_in_a_child_process_gives_the_same_bits_and_can_be_stopped(tmp_path):
    from gdsim.app.runtime.sweep_child import ChildSweep

    path = tmp_path / "bowl.toml"
    path.write_text(QUADRATIC)
    loaded = load_scenario(path)
    plan = make_plan(loaded, 0, "plain", "grid")
    seen = []
    result, seconds = ChildSweep(loaded, plan).run(lambda d, t, eta: seen.append((d, t)))
    here = SweepJob(loaded, plan).run()[0]
    assert result.final_loss.tobytes() == here.final_loss.tobytes()
    assert np.array_equal(result.diverged_at, here.diverged_at) and seconds > 0
    assert seen and seen[-1] == (200, 200)
    long = make_plan(load_scenario(path), 0, "plain", "grid")
    long = type(long)(**{**long.__dict__, "steps": 10_000_000})
    child = ChildSweep(loaded, long)
    started = time.monotonic()
    assert child.run(lambda d, t, eta: child.cancel() if d > 0 else None) is None
    assert time.monotonic() - started < 30 and child._process.poll() is not None


async def test_the_screen_uses_the_child_process_where_the_app_may_use_a_second_core(tmp_path, monkeypatch):
    monkeypatch.setattr("gdsim.app.runtime.engine_worker.worker_wanted", lambda: True)
    app = quadratic_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("W")
        screen = app.screen
        await finished(pilot, screen)
        assert screen._child is not None and screen._child._process.poll() is not None
        plan, result, _ = screen.result
        again = SweepJob(screen.session.loaded, plan).run()[0]
        assert result.final_loss.tobytes() == again.final_loss.tobytes()
        assert "inside the measured cell" in caption(screen)
