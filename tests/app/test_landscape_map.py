"""The Map tab's loss landscapes (widgets/landscape_map.py): every model on data gets the line,
PCA and random kinds; grids are computed on request in a worker, never per frame; the caption
says what the picture is; the line's start is exactly the run's recorded loss at step 0."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.app.app import GdsimApp
from gdsim.app.widgets.landscape_map import LandscapeMap
from gdsim.app.widgets.surface_map import SurfaceMap
from gdsim.engine.landscape import evaluate_points
from gdsim.scenario.library import resolve
from gdsim.scenario.load import load_scenario
from tests.app.conftest import make_app


def builtin(name: str) -> GdsimApp:
    return GdsimApp(load_scenario(resolve(name)))


def text(widget) -> str:
    return "\n".join(strip.text for strip in widget._strips)


async def settle(pilot) -> None:
    """Let the landscape worker finish and the screen draw what it sent."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.screen.redraw(force=True)
    await pilot.pause()


async def open_map_tab(pilot, steps: int):
    screen = pilot.app.screen
    if screen.flow is not None:
        await pilot.press("0")  # skip the scenario's question
    screen.session.step(steps)
    await pilot.press("2")
    await pilot.pause(0.2)
    await settle(pilot)
    return screen


async def test_a_classifier_keeps_its_decision_map_and_K_cycles_through_the_landscapes():
    app = builtin("overfitting")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_map_tab(pilot, 120)
        surface, land = screen.query_one("#map-full", SurfaceMap), screen.query_one("#landscape-map", LandscapeMap)
        assert surface.display and not land.display  # the decision map first
        await pilot.press("K")
        await settle(pilot)
        assert land.display and not surface.display
        result = land.result
        assert result.kind == "line"
        shown = text(land)
        assert "line: loss along" in shown and "○" in shown and "train loss (bce, whole set)" in shown
        # the line's t = 0 is the run's start: exactly the loss the run recorded at step 0 (full batch)
        steps, losses = screen.session.sim.history.series("loss")
        row = int(screen.session.current.rows[0])
        assert result.loss[result.origin[0]] == losses[0, row] and steps[0] == 0
        assert result.loss[result.end[0]] == screen.session.sim.loss[row]
        await pilot.press("K")  # the line from run A's point to run B's
        await settle(pilot)
        assert screen.landscape_options.kind == "pair"
        # B is A with early stopping: the same updates until it stops (at step 200)
        assert land.error is not None and "at the same point" in text(land)
        await pilot.press("down")  # select B: the line from B to C (with L2)
        await settle(pilot)
        assert land.result.kind == "line" and "line from run B (t = 0) to run C (t = 1)" in text(land)
        sim = screen.session.sim
        b, c = (int(screen.session.display[k].rows[0]) for k in (1, 2))
        assert land.result.loss[land.result.origin[0]] == sim.loss[b]
        # C's point under B's objective (B has no L2 penalty): said in the caption
        b_problem = screen.session.cohort_of(b)[0].problem
        c_params = screen.session.cohort_of(c)[0].params[screen.session.cohort_of(c)[1]]
        assert land.result.loss[land.result.end[0]] == evaluate_points(b_problem, c_params[None])[0]
        assert "run B's objective" in text(land)
        await pilot.press("up")
        await pilot.press("K")
        await settle(pilot)
        assert land.result.kind == "pca"
        shown = text(land)
        assert "PCA plane:" in shown and "of the path's variance" in shown and "a projection" in shown
        assert 0.5 < land.result.variance <= 1.0
        await pilot.press("K")
        await settle(pilot)
        assert land.result.kind == "random" and "random plane (filter-normalized)" in text(land)
        await pilot.press("K")
        await pilot.pause()
        assert surface.display and not land.display  # back to the decision map


async def test_grids_are_computed_on_request_not_every_frame():
    app = builtin("overfitting")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_map_tab(pilot, 50)
        await pilot.press("K")  # the line
        await settle(pilot)
        land = screen.query_one("#landscape-map", LandscapeMap)
        asked, step = land.computations, land._computed["step"]
        for _ in range(5):  # the run goes on and the screen redraws: the grid stays
            screen.session.step(10)
            screen.redraw(force=True)
            await pilot.pause()
        await settle(pilot)
        assert land.computations == asked and land._computed["step"] == step
        assert f"computed at step {step}" in text(land) and "R: again at step 100" in text(land)
        await pilot.press("R")  # again, at the shown step
        await settle(pilot)
        assert land.computations == asked + 1 and land._computed["step"] == 100
        await pilot.press("V")  # the validation loss
        await settle(pilot)
        assert land.result.split == "val" and "validation loss" in text(land)
        assert land.computations == asked + 2


async def test_a_regression_gets_a_map_tab_with_the_line_first():
    app = builtin("mae-vs-mse")  # linear regression on one input: no 2-D map before
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_map_tab(pilot, 60)
        land = screen.query_one("#landscape-map", LandscapeMap)
        assert land.display and land.result is not None and land.result.kind == "line"
        assert not screen.query("#map-full")
        await pilot.press("K")  # to the next run
        await pilot.press("K")
        await settle(pilot)
        assert land.result.kind == "pca"
        assert land.result.variance == pytest.approx(1.0)  # two parameters: the plane is everything
        await pilot.press("K")
        await settle(pilot)
        d = land.result.directions
        assert land.result.kind == "random" and abs(np.dot(d[0], d[1])) < np.linalg.norm(d[0]) * np.linalg.norm(d[1])


async def test_a_surface_says_its_map_is_the_whole_landscape():
    app = make_app("three_runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await pilot.pause()
        assert not app.screen.query("#landscape-map")
        from gdsim.app.widgets.status_line import StatusLine

        # at 80x24 in the status line, not in a toast over the run table
        assert "whole landscape" in app.screen.query_one(StatusLine).message and not app._notifications


async def test_a_path_that_has_not_moved_is_a_message_on_the_map():
    app = builtin("overfitting")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_map_tab(pilot, 0)
        await pilot.press("K")
        await pilot.press("K")
        await pilot.press("K")  # pca at step 0: one recorded point
        await settle(pilot)
        land = screen.query_one("#landscape-map", LandscapeMap)
        assert land.error is not None and "no landscape" in text(land)


def test_shades_by_rank_keep_a_low_valley_visible_beside_a_high_cliff():
    from gdsim.app.draw.landscape_draw import loss_levels

    valley = np.linspace(0.70, 0.75, 90)  # the run's valley: a twentieth of a unit deep
    cliff = np.linspace(5.0, 31.0, 10)  # a far side a hundred times higher
    z = np.concatenate([valley, cliff, [np.nan]])
    levels, (low, high) = loss_levels(z, 14)
    assert low == 0.70 and high == 31.0
    assert np.all(np.diff(levels[:100]) >= 0)  # monotone in the loss
    assert len(set(levels[:90].tolist())) >= 10  # the valley gets most of the shades
    assert levels[-1] == 13  # not finite: the top shade


async def test_f_shows_the_landscape_full_screen():
    app = builtin("mae-vs-mse")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_map_tab(pilot, 20)
        screen.set_focus(None)
        await pilot.press("f")
        await pilot.pause()
        land = screen.query_one("#landscape-map", LandscapeMap)
        assert screen.has_class("-zoom") and land.display


async def test_rewound_the_landscape_is_computed_at_the_record_shown():
    app = builtin("overfitting")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_map_tab(pilot, 300)  # the path keeps every 8th step by now
        await pilot.press("K")
        await settle(pilot)
        land = screen.query_one("#landscape-map", LandscapeMap)
        assert land._computed["step"] == 300
        screen.session.scrub_to(151)  # the history's record at or before 151
        shown = screen.session.shown_step
        await pilot.press("R")
        await settle(pilot)
        computed = land._computed["step"]
        # between two records of the path: at the run's exact point there, from the checkpoints
        path_steps, _ = screen.session.sim.paths.series("params")
        assert computed == shown == 151 and computed not in path_steps.tolist()
        assert "R: again" not in text(land)  # R there would compute the same picture
