"""The engine worker: a second process whose stepping is bit for bit the UI process's own."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from gdsim.app.runtime.engine_worker import EngineWorker
from gdsim.app.runtime.session import SPEEDS, Session
from gdsim.build import build
from gdsim.scenario.library import builtin_dir
from gdsim.scenario.load import load_scenario
from tests.app.conftest import DATA

# A surface with three optimizers, a diverging run, an ensemble of 100 seeds, and a network trained
# on mini-batches with evaluation and early stopping.
SCENARIOS = [DATA / "three_runs.toml", builtin_dir() / "learning-rate.toml", builtin_dir() / "global-minimum.toml",
             builtin_dir() / "overfitting.toml",
             # per-run state beside the parameters: batch norm's running statistics, the plateau
             # schedule's lr, conjugate gradient's previous direction, the natural gradient's batch
             builtin_dir() / "batch-norm.toml", builtin_dir() / "reduce-on-plateau.toml",
             builtin_dir() / "conjugate-gradient.toml", builtin_dir() / "natural-gradient.toml",
             # changes at a step: the worker builds each phase's optimizer and schedule itself
             Path(__file__).parents[1] / "data" / "changes-moons.toml",
             Path(__file__).parents[1] / "data" / "golden" / "changes-swap.toml"]


@pytest.fixture(scope="module")
def worker():
    worker = EngineWorker()
    yield worker
    worker.close()


def equal(x, y) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    return np.array_equal(x, y, equal_nan=x.dtype.kind == "f" and y.dtype.kind == "f")


def same_state(a, b) -> None:
    assert a.step_count == b.step_count
    for ca, cb in zip(a.cohorts, b.cohorts, strict=True):
        for name in ("params", "loss", "grad", "diverged_at", "stopped_at", "frozen"):
            assert equal(getattr(ca, name), getattr(cb, name)), name
        for x, y in zip(ca.state, cb.state, strict=True):
            assert x is y is None or equal(x, y)
        assert equal(ca.lr, cb.lr)
        for extra in ("problem_state", "schedule_state"):
            xs, ys = getattr(ca, extra), getattr(cb, extra)
            assert (xs is None) == (ys is None), extra
            for x, y in zip(xs or (), ys or (), strict=True):
                assert equal(x, y), extra
    ha, hb = a.history, b.history
    assert (ha.count, ha.stride) == (hb.count, hb.stride)
    for field in ha.fields:
        assert equal(ha.series(field)[1], hb.series(field)[1]), field


def run_flat_out(session: Session, timeout: float = 60.0) -> None:
    session.speed_index = SPEEDS.index(0)
    session.toggle()
    deadline = time.monotonic() + timeout
    while session.running:
        session.advance(0.05, 0.01)
        time.sleep(0.002)
        assert time.monotonic() < deadline, "the worker did not finish"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_running_in_the_worker_is_bit_for_bit_stepping_here(worker, path):
    loaded = load_scenario(path)
    session = Session(loaded)
    session.worker = worker
    session.step(7)  # some steps taken here first: the worker must start from this state
    run_flat_out(session)
    assert session.sim.step_count == loaded.scenario.scenario.steps
    reference = build(loaded)
    reference.step(loaded.scenario.scenario.steps)
    same_state(session.sim, reference)


def test_history_compaction_crosses_over_intact(worker):
    loaded = load_scenario(DATA / "three_runs.toml")
    session = Session(loaded)
    session.worker = worker
    session.stop_at = 9000  # past 4,096 records: the history halves itself (twice) in the worker
    run_flat_out(session)
    reference = build(loaded)
    reference.step(9000)
    assert reference.history.stride == 4
    same_state(session.sim, reference)


def test_pause_step_and_change_mid_run_stay_exact(worker):
    """Pausing drops a reply on its way; stepping or changing here reloads the worker."""
    loaded = load_scenario(DATA / "three_runs.toml")
    session = Session(loaded)
    session.worker = worker
    session.stop_at = 10**6
    session.speed_index = SPEEDS.index(0)
    session.toggle()
    deadline = time.monotonic() + 30
    while session.sim.step_count < 500:
        session.advance(0.05, 0.01)
        time.sleep(0.002)
        assert time.monotonic() < deadline
    session.toggle()  # pause with requests in flight
    paused_at = session.sim.step_count
    time.sleep(0.2)
    session.advance(0.05, 0.01)  # not running: nothing more arrives
    assert session.sim.step_count == paused_at
    session.step(3)
    session.stop_at = paused_at + 3 + 400
    session.toggle()
    while session.sim.step_count < paused_at + 100:
        session.advance(0.05, 0.01)
        time.sleep(0.002)
    session.change_speed(-1)  # 10,000/s: stepped here, with worker replies still on their way
    for _ in range(3):
        session.advance(0.01, 0.01)
    session.change_speed(1)  # flat out again: back to the worker, from this process's state
    while session.running:
        session.advance(0.05, 0.01)
        time.sleep(0.002)
        assert time.monotonic() < deadline
    reference = build(loaded)
    reference.step(paused_at + 3 + 400)
    same_state(session.sim, reference)


def test_a_dead_worker_leaves_the_session_stepping_by_itself():
    worker = EngineWorker()
    loaded = load_scenario(DATA / "three_runs.toml")
    session = Session(loaded)
    session.worker = worker
    worker._process.kill()
    worker._process.wait()
    run_flat_out(session)
    assert session.sim.step_count == loaded.scenario.scenario.steps
    worker.close()


def test_the_worker_exits_when_the_app_goes(worker):
    spare = EngineWorker()
    process = spare._process
    spare._conn.close()  # as when the app dies without a word: the socket closes
    process.wait(timeout=10)
    assert process.returncode == 0
