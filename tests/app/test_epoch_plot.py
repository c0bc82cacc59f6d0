"""The training loss by epoch (gdsim/app/draw/by_epoch.py): each run at its own epochs, on a log
x axis, where a scenario compares runs whose epochs differ in length (epochs-vs-steps,
batch-size); nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.app.draw import panels
from gdsim.app.draw.by_epoch import epoch_plot, log_thin
from gdsim.app.runtime.session import Session
from gdsim.app.widgets.curve_plot import CurvePlot
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario
from tests.app.test_plots import builtin_at_80x24, settled, shown_panels, stepped


def builtin(name: str, steps: int | None = None) -> Session:
    session = Session(load_scenario(builtin_dir() / f"{name}.toml", id=name))
    target = session.stop_at if steps is None else steps
    # Session.step stops after 2 s (a key press must not block): on a loaded machine batch-size's
    # 1,000 steps took more than one call, and the plot then ended at step 500
    while session.sim.step_count < target and not session.sim.all_frozen:
        session.step(target - session.sim.step_count)
    return session


def measured(session: Session, row: int) -> tuple[np.ndarray, np.ndarray]:
    steps, values = session.sim.history.series("train_loss")
    column = values[:, row]
    keep = np.isfinite(column) & (steps > 0)
    return steps[keep], column[keep]


def test_each_run_is_drawn_at_its_own_epochs():
    """epochs-vs-steps: 700 steps are 50 epochs of 140 examples and 5 epochs of 1,400 (batches of
    10); each curve ends there, and its points are the training loss the engine measured."""
    session = builtin("epochs-vs-steps")
    data = epoch_plot(session, 400)
    small, large = data.traces
    assert small.steps[-1] == pytest.approx(50) and large.steps[-1] == pytest.approx(5)
    assert data.x_max == pytest.approx(50) and data.log_x and data.x_label == "epochs"
    for trace, row, per_epoch in ((small, 0, 14), (large, 1, 140)):
        steps, values = measured(session, row)
        assert len(trace.steps) == len(steps)  # 70 measurements: all fit in 400 points
        np.testing.assert_allclose(trace.steps, steps / per_epoch)
        np.testing.assert_array_equal(trace.values, values)
    # the lesson's comparison, read off the plot: after 5 epochs each, the small data set's loss
    # is several times the large one's (its expect `same-epochs` says more than 3)
    at_five = float(small.values[np.searchsorted(small.steps, 5.0)])
    assert small.steps[np.searchsorted(small.steps, 5.0)] == pytest.approx(5.0)
    assert at_five > 3 * float(large.values[-1])


def test_ensembles_are_bands_at_their_epochs_and_the_cursor_is_the_selected_runs_epoch():
    session = builtin("batch-size")
    session.scrub_to(420)
    data = epoch_plot(session, 80)
    per_epoch = [210, 14, 1, 1]  # 210 training points in batches of 1, 16, 210 and 210
    assert [t.kind for t in data.traces] == ["band"] * 4
    for trace, per in zip(data.traces, per_epoch):
        assert trace.steps[-1] == pytest.approx(1000 / per)
        assert np.all(trace.low <= trace.values) and np.all(trace.values <= trace.high)
    assert data.cursor == pytest.approx(session.shown_step / 210)  # run A (stochastic) is selected
    session.select(1)
    assert epoch_plot(session, 80).cursor == pytest.approx(session.shown_step / 14)


def test_log_thinning_keeps_the_first_decade():
    steps = np.arange(1, 10_001)
    index = log_thin(steps, 40)
    assert len(index) <= 40 and index[0] == 0 and index[-1] == len(steps) - 1
    assert np.sum(steps[index] <= 10) >= 5  # evenly in steps, the first decade would get no point
    np.testing.assert_array_equal(log_thin(steps[:30], 40), np.arange(30))


@pytest.mark.parametrize("name", ["epochs-vs-steps", "batch-size"])
def test_the_panel_is_wanted_where_runs_epochs_differ_and_the_lesson_counts_epochs(name):
    assert panels.wanted(builtin(name, 1))["plot-epochs"]


def test_no_panel_where_every_run_has_the_same_epoch_or_epochs_are_not_the_point(tmp_path):
    same = (builtin_dir() / "epochs-vs-steps.toml").read_text().replace("problem = { samples = 2000 }", "")
    (tmp_path / "same.toml").write_text(same)
    session = Session(load_scenario(tmp_path / "same.toml"))
    assert session.loaded.scenario.expect[0].metric == "epochs"  # still a lesson about epochs...
    assert not panels.wanted(session)["plot-epochs"]  # ...but one epoch length: the loss plot says it all
    for name in ("overfitting", "dropout", "learning-rate"):
        assert not panels.wanted(builtin(name, 1))["plot-epochs"], name


async def test_at_80x24_epochs_vs_steps_shows_the_loss_by_epoch_beside_the_loss():
    app, _ = await builtin_at_80x24("epochs-vs-steps", 0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("0")
        await stepped(pilot, 700)
        screen = await settled(pilot)
        assert shown_panels(screen)[:2] == ["plot-loss", "plot-epochs"]
        plot = screen.query_one("#plot-epochs", CurvePlot)
        lines = [strip.text for strip in plot._strips]
        assert "training loss by epoch" in lines[0]
        # the x axis in epochs, not their logarithms: from the first measured epoch (step 10 of
        # 1,400 examples in batches of 10: 0.07143) to the 50 epochs of the small data set
        assert "0.07143" in lines[-1] and lines[-1].rstrip().endswith("50") and "epochs (log x" in lines[-1]
        # on a log axis the first tenth of the epochs (the whole `10x data` curve) takes two thirds of the
        # width: its curve reaches beyond the plot's middle column
        axis = lines[-1].index("└")
        drawn = [i for line in lines[1:-1] for i, ch in enumerate(line) if i > axis and ch not in " │"]
        middle = axis + (len(lines[-1]) - axis) // 2
        assert min(drawn) <= axis + 2 and max(drawn) >= len(lines[-1]) - 3
        assert sum(i < middle for i in drawn) > 0.3 * len(drawn)
