"""Keys pressed mid-run continue from the current step; rewound, they branch; a saved session
replays byte for byte (gdsim.app.branches, gdsim.scenario.changes)."""

from __future__ import annotations

import json
import tomllib

import numpy as np

from gdsim.app import export
from gdsim.app.runtime.session import Session
from gdsim.build import build
from gdsim.cli import main
from gdsim.scenario.changes import with_changes
from gdsim.scenario.load import load_scenario, validate_raw
from tests.app.conftest import DATA, make_app, said

SIZE = (120, 40)


def row_bytes(sim, row: int, upto: int | None = None) -> dict[str, bytes]:
    """A run's history, field by field, as bytes (records up to step `upto`; lr, the rate of the
    update from each step, up to the step before)."""
    h = sim.history
    out = {}
    for name in h.fields:
        end = None if upto is None else upto + (name != "lr")
        out[name] = np.ascontiguousarray(h.series(name)[1][:end, row]).tobytes()
    return out


async def test_keys_mid_run_continue_and_the_saved_file_replays_byte_for_byte(in_tmp, capsys):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(150)
        before_sim = session.sim
        await pilot.press("l")  # run A: lr 0.001 → 0.002 from step 150
        await pilot.pause()
        assert session.sim.step_count == 150  # continued, not restarted
        assert said(app)[-1].startswith("continued: A: learning rate 0.001 → 0.002 from step 150")
        assert row_bytes(session.sim, 0, 150) == row_bytes(before_sim, 0, 150)  # A's own first 150 steps
        session.step(60)
        await pilot.press("down", "m")  # run B: momentum 0.9 → 0.99 from step 210, velocity kept
        await pilot.pause()
        assert "velocity kept" in said(app)[-1]
        session.step(40)
        lr = session.sim.history.series("lr")[1][:, 0]
        assert lr[149] == 0.001 and lr[150] == 0.002
        live = export.history_jsonl(session)
        await pilot.press("ctrl+s", "enter")
        await pilot.pause()
    saved = in_tmp / "three_runs-changed.toml"
    raw = tomllib.loads(saved.read_text())
    assert raw["runs"][0]["changes"] == [{"at": 150, "optimizer": {"lr": 0.002}}]
    assert raw["runs"][1]["changes"] == [{"at": 210, "optimizer": {"momentum": 0.99}}]
    replayed = Session(load_scenario(saved))
    replayed.step(250)
    assert export.history_jsonl(replayed) == live  # the app's own records, byte for byte
    assert main(["run", str(saved), "--steps", "250", "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = [json.loads(line) for line in live.splitlines()]
    for r, m in zip(records, mine, strict=True):  # and `gdsim run`'s, number for number
        assert (r["run"], r["step"], r["loss"], r["lr"], r["params"]) == (
            m["run"], m["step"], m["loss"], m["lr"], [m["params_0"], m["params_1"]])


async def test_a_branch_from_a_rewound_step_is_a_fresh_run_with_the_change_at_that_step():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(200)
        original = {row: row_bytes(session.sim, row) for row in range(3)}
        session.scrub_to(120)
        await pilot.press("l")  # rewound to 120: A′ @120 with lr 0.002 from 120; A goes on as it was
        await pilot.pause()
        assert session.cursor is None and session.sim.step_count == 200
        assert [run.label for run in session.display] == ["A", "B", "C", "A′ @120"]
        assert session.current.label == "A′ @120"
        assert "A goes on as it was" in said(app)[-1]
        for row in range(3):
            assert row_bytes(session.sim, row) == original[row]
        branch = row_bytes(session.sim, 3)
        lr = session.sim.history.series("lr")[1][:, 3]
        assert lr[119] == 0.001 and lr[120] == 0.002
        params = session.sim.history.series("params")[1]
        assert np.array_equal(params[:121, 3], params[:121, 0]) and not np.array_equal(params[122, 3], params[122, 0])
    fresh_file = with_changes(load_scenario(DATA / "three_runs.toml"), ["120:optimizer.lr=0.002"], run="A")
    fresh = build(fresh_file)
    fresh.step(200)
    assert branch == row_bytes(fresh, 0)


async def test_a_branch_of_a_branch_and_an_optimizer_switch_mid_run():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(100)
        await pilot.press("o")  # A: sgd → momentum at 100 (torch's SGD: the velocity starts as the gradient)
        await pilot.pause()
        assert "next gradient" in said(app)[-1]
        session.step(100)
        session.scrub_to(50)
        await pilot.press("O")  # A′ @50: sgd → newton... cycles back: the optimizer before sgd
        await pilot.pause()
        branch = session.current
        assert branch.label == "A′ @50"
        raw = session.loaded.raw["runs"][3]
        assert "changes" in raw and all(c["at"] <= 50 for c in raw["changes"])  # A's change at 100 is not the branch's
        assert session.sim.step_count == 200


async def test_a_key_that_defines_step_0_restarts_and_says_so():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        session = app.screen.session
        session.step(80)
        await pilot.press("s")
        await pilot.pause()
        assert session.sim.step_count == 0
        from gdsim.app.widgets.status_line import StatusLine

        assert "the seed defines step 0: the runs start again" in app.screen.query_one(StatusLine).message


def test_keys_on_a_network_continue_and_branch_exactly_as_a_fresh_run_of_the_scenario():
    """Keys at the live step take over the runs' state (gdsim.app.runtime.replay); a batch-size
    change, a second key at the same step, a run split from its cohort and a branch are stepped
    again. Every way must give the bits a fresh simulation of the scenario gives."""
    from gdsim.app import tweaks

    loaded = load_scenario(DATA / "moons.toml")
    raw = dict(loaded.raw, runs=[{"label": "net", "seed": 0}, {"label": "twin", "seed": 0}, {"label": "other", "seed": 3}])
    session = Session(validate_raw(raw, path=loaded.path, id=loaded.id))

    def press(tweak, *args):
        result = tweak(session, *args)
        session.rebuild(result.loaded, result.replay, result.select_entry)

    def same_as_fresh():
        fresh = build(session.loaded)
        fresh.step(session.sim.step_count)
        for name in fresh.history.fields:
            assert np.array_equal(session.sim.history.series(name)[1], fresh.history.series(name)[1],
                                  equal_nan=True), name
        for mine, theirs in zip(session.sim.cohorts, fresh.cohorts, strict=True):
            assert mine.params.tobytes() == theirs.params.tobytes()
            assert [f.tobytes() if isinstance(f, np.ndarray) else f for f in mine.state] == [
                f.tobytes() if isinstance(f, np.ndarray) else f for f in theirs.state]

    session.step(60)
    press(tweaks.learning_rate, 1)  # "net" leaves the cohort it shared with "twin"
    press(tweaks.learning_rate, 1)  # the same step again: merged into one change
    same_as_fresh()
    session.select(2)
    press(tweaks.learning_rate, -1)  # "other" alone in its cohort: takes its own state
    session.select(0)
    press(tweaks.batch_size, 1)  # a new batch at step 60: stepped again
    same_as_fresh()
    session.step(30)
    session.scrub_to(40)
    press(tweaks.momentum, 1)  # a branch of "net" at 40
    assert [run.label for run in session.display][-1] == "net′ @40"
    same_as_fresh()
    session.step(25)
    same_as_fresh()


def test_lr_key_under_a_schedule_steps_from_the_schedules_lr_and_the_schedule_goes_on_from_it():
    """Under StepLR at 0.1·0.5² = 0.025 (step 70), `l` sets 0.05 (the next rung up from 0.025, not
    from the base 0.1), and the schedule halves that at its next multiple of 30, as torch does."""
    from gdsim.app import tweaks

    raw = {"scenario": {"title": "t", "claim": "c", "steps": 120},
           "problem": {"surface": "quadratic"}, "optimizer": {"name": "sgd", "lr": 0.1},
           "schedule": {"name": "step", "step_size": 30, "gamma": 0.5}, "runs": [{"label": "A"}]}
    session = Session(validate_raw(raw, path=None, id="t"))
    session.step(70)
    result = tweaks.learning_rate(session, 1)
    assert "0.025 → 0.05" in result.message and "goes on from it" in result.message
    session.rebuild(result.loaded, result.replay, result.select_entry)
    session.step(30)
    steps, lr = session.sim.history.series("lr")
    at = dict(zip(steps.tolist(), lr[:, 0].tolist()))
    assert at[69] == 0.025 and at[70] == at[89] == 0.05 and at[90] == 0.025
