"""Branches and batch-size changes start from the latest checkpoint before the step where they part
from the runs they copy (gdsim.app.runtime.replay, gdsim.engine.checkpoints), and give exactly the
bits a fresh simulation of the changed scenario gives; the new simulation keeps the checkpoints
that still hold, so rewound states (the Data tab) come from them too."""

from __future__ import annotations

import numpy as np

from gdsim.app import tweaks
from gdsim.app.runtime import replay
from gdsim.app.runtime.session import Session
from gdsim.build import build
from gdsim.scenario.load import load_scenario, validate_raw
from tests.app.conftest import DATA


def session_of(**problem) -> Session:
    loaded = load_scenario(DATA / "moons.toml")
    raw = dict(loaded.raw, runs=[{"label": "net", "seed": 0}, {"label": "pair", "seed": 1, "seeds": 2}],
               problem={**loaded.raw["problem"], **problem})
    return Session(validate_raw(raw, path=loaded.path, id=loaded.id))


def press(session, tweak, *args):
    result = tweak(session, *args)
    session.rebuild(result.loaded, result.replay, result.select_entry)


def same_as_fresh(session) -> None:
    fresh = build(session.loaded)
    fresh.step(session.sim.step_count)
    for name in fresh.history.fields:
        assert np.array_equal(session.sim.history.series(name)[1], fresh.history.series(name)[1], equal_nan=True), name
    for mine, theirs in zip(session.sim.cohorts, fresh.cohorts, strict=True):
        assert mine.params.tobytes() == theirs.params.tobytes()
        assert [f.tobytes() if isinstance(f, np.ndarray) else f for f in mine.state] == [
            f.tobytes() if isinstance(f, np.ndarray) else f for f in theirs.state]


def spy(monkeypatch) -> list[int]:
    starts: list[int] = []
    original = replay._continue_at

    def continue_at(sim, new, cohort, start):
        starts.append(start[0])
        original(sim, new, cohort, start)
    monkeypatch.setattr(replay, "_continue_at", continue_at)
    return starts


def test_a_branch_starts_from_the_checkpoint_before_its_step_and_is_exact(monkeypatch):
    session = session_of(dropout=0.2)
    starts = spy(monkeypatch)
    session.step(300)
    every = session.sim.checkpoints.every
    session.scrub_to(250)
    press(session, tweaks.momentum, 1)  # a branch of "net" at 250
    assert session.display[-1].label == "net′ @250"
    assert starts and 250 - every <= starts[0] <= 250
    same_as_fresh(session)
    session.step(40)
    same_as_fresh(session)
    # a branch of the branch, from the checkpoints the new simulation kept
    session.scrub_to(270)
    press(session, tweaks.learning_rate, -1)
    assert len(starts) >= 2 and 270 - session.sim.checkpoints.every <= starts[-1] <= 270
    same_as_fresh(session)


def test_a_served_session_keeps_the_served_budget_through_a_branch_which_stays_exact(monkeypatch):
    from gdsim.engine import checkpoints

    assert session_of().sim.checkpoints.budget == checkpoints.BUDGET  # on your own machine
    monkeypatch.setenv("GDSIM_SERVED", "1")  # one of a server's sessions
    session = session_of(dropout=0.2)
    limits = lambda kept: {"budget": kept.budget, "min_kept": kept.min_kept}  # noqa: E731
    assert limits(session.sim.checkpoints) == checkpoints.SERVED
    session.step(300)
    session.scrub_to(250)
    press(session, tweaks.momentum, 1)  # a branch at 250: the new simulation carries the checkpoints
    assert limits(session.sim.checkpoints) == checkpoints.SERVED
    same_as_fresh(session)


def test_a_batch_size_change_at_the_live_step_starts_from_a_checkpoint_and_is_exact(monkeypatch):
    session = session_of(batch_norm=True)
    starts = spy(monkeypatch)
    session.step(230)
    session.select(1)  # the two-seed ensemble
    press(session, tweaks.batch_size, 1)
    assert starts and 230 - session.sim.checkpoints.every <= starts[0] <= 230
    same_as_fresh(session)
    session.step(20)
    same_as_fresh(session)


def test_after_a_branch_the_rewound_state_of_every_cohort_is_exact():
    session = session_of()
    session.step(200)
    session.scrub_to(150)
    press(session, tweaks.momentum, 1)
    session.step(10)
    sim = session.sim
    for step in (120, 151, 190):
        fresh = build(session.loaded, record=False)
        fresh.step(step)
        for index, cohort in enumerate(fresh.cohorts):
            rewound = sim.cohort_at(index, step)
            assert rewound is not None and rewound.params.tobytes() == cohort.params.tobytes(), (step, index)


def test_the_data_tab_model_is_the_run_at_the_rewound_step():
    """Rewound, the Data tab's model (unit maps, digits, confusion matrix, fits) is the selected
    run's at the shown step, stepped again from the checkpoint before it, not the live network."""
    from gdsim.app.runtime.data_views import selected_model
    from gdsim.app.widgets.fit_view import run_params

    session = session_of(batch_norm=True)
    session.step(300)
    live = selected_model(session)
    assert "step" not in live.name and live.cohort is session.sim.cohorts[0]
    session.scrub_to(150)
    model = selected_model(session)
    fresh = build(session.loaded, record=False)
    fresh.step(150)
    expected = fresh.cohorts[0]
    assert model.name.endswith(", step 150") and model.cohort is not live.cohort
    assert model.cohort.params[model.index].tobytes() == expected.params[0].tobytes()
    assert model.state.mean.tobytes() == expected.problem_state.mean[:1].tobytes()
    assert run_params(session, session.current).tobytes() == expected.params[0].tobytes()
    assert selected_model(session).cohort is model.cohort  # made once per shown step
    session.sim.checkpoints = None  # none to start from: the live network, and the name says so
    session.scrub_to(100)
    assert selected_model(session).name.endswith(", live step 300")


def test_the_parameter_path_survives_a_key_and_a_branch_as_a_fresh_simulation_records_it():
    """The landscapes' path (Simulation.paths) after a key mid-run and after a branch: the records
    of a fresh simulation of the changed scenario (before, a key restarted it at step 0)."""
    session = session_of(batch_norm=True)

    def same_path_as_fresh():
        fresh = build(session.loaded)
        fresh.step(session.sim.step_count)
        mine, theirs = session.sim.paths, fresh.paths
        assert np.array_equal(session.sim.path_rows, fresh.path_rows)
        for name in theirs.fields:
            steps, values = mine.series(name)
            expected_steps, expected = theirs.series(name)
            assert np.array_equal(steps, expected_steps) and np.array_equal(values, expected, equal_nan=True), name

    session.step(130)
    press(session, tweaks.learning_rate, -1)  # live: every run taken over
    assert session.sim.paths.count > 30
    same_path_as_fresh()
    session.step(70)
    session.scrub_to(150)
    press(session, tweaks.momentum, 1)  # a branch at 150, from a checkpoint
    same_path_as_fresh()
    session.select(1)
    press(session, tweaks.batch_size, 1)  # replayed from a checkpoint at the live step
    same_path_as_fresh()
    session.step(40)
    same_path_as_fresh()
