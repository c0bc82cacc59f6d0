"""Bounded history: evenly spaced records in fixed memory, however long the run."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gdsim.engine.history import History


def fill(history: History, steps: int) -> None:
    for k in range(steps + 1):
        if history.wants(k):
            values = {"loss": np.full(history.n_runs, float(k)), "params": np.full((history.n_runs, 2), k)}
            history.append(k, {name: values[name] for name in history.fields})


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(0, 3000), capacity=st.sampled_from([64, 128, 256]))
def test_records_stay_evenly_spaced_and_bounded(steps, capacity):
    history = History(3, {"loss": (), "params": (2,)}, capacity=capacity)
    fill(history, steps)
    recorded, values = history.series("loss")
    assert len(recorded) <= history.capacity
    assert recorded[0] == 0
    assert np.all(np.diff(recorded) == history.stride)
    assert steps - recorded[-1] < history.stride
    assert np.array_equal(values[:, 0], recorded.astype(float))
    if steps + 1 > capacity:
        assert len(recorded) >= capacity // 2


def test_million_steps_stay_under_budget():
    history = History(3, {"loss": (), "grad_norm": (), "velocity_norm": (), "lr": (), "params": (2,), "velocity": (2,)})
    values = {name: np.zeros((3, *shape)) for name, shape in
              [("loss", ()), ("grad_norm", ()), ("velocity_norm", ()), ("lr", ()), ("params", (2,)), ("velocity", (2,))]}
    for k in range(0, 1_000_001):
        if history.wants(k):
            history.append(k, values)
    assert history.nbytes < 5_000_000
    steps, _ = history.series("loss")
    assert steps[0] == 0 and steps[-1] > 990_000


def test_large_ensemble_capacity_shrinks():
    history = History(1000, {"loss": (), "params": (2,)})
    assert history.nbytes <= 70 * 1024 * 1024


def test_at_returns_record_at_or_before():
    history = History(2, {"loss": ()}, capacity=64)
    fill(history, 10)
    step, values = history.at(7)
    assert step == 7 and values["loss"][1] == 7.0
    assert history.at(10_000)[0] == 10


def test_step_lengths_are_computed_when_read_from_consecutive_records():
    history = History(2, {"params": (2,)}, capacity=64, steps={"step_norm": "params"})
    assert "step_norm" in history.fields
    for k in range(200):  # run 0 moves 3-4-5 each step; run 1 stands still
        if history.wants(k):
            history.append(k, {"params": np.array([[3.0 * k, 4.0 * k], [1.0, 1.0]])})
    steps, lengths = history.series("step_norm")
    assert history.stride > 1  # compacted: records `stride` apart, the mean length per step
    assert np.isnan(lengths[0]).all()
    assert np.allclose(lengths[1:, 0], 5.0) and np.allclose(lengths[1:, 1], 0.0)
    recent = history.recent(("step_norm",), history.count - 3, history.count)
    assert np.allclose(recent["step_norm"][:, 0], 5.0)
    _, values = history.at(int(steps[5]))
    assert values["step_norm"][0] == 5.0
    _, values = history.at(0)
    assert np.isnan(values["step_norm"]).all()


def test_a_growing_history_keeps_the_same_records_as_a_preallocated_one():
    """Simulation.paths grows its arrays as records come: the records and their steps are those
    of the same capacity allocated at once, and memory follows the records made."""
    fields = {"params": (3,)}
    fixed, growing = History(2, fields, 64, minimum=32), History(2, fields, 64, minimum=32, grow=True)
    assert len(growing.steps) == 16 and growing.nbytes < fixed.nbytes / 3
    for step in range(500):
        value = np.full((2, 3), float(step))
        for h in (fixed, growing):
            row = h.start(step)
            if row is not None:
                h.put(row, "params", slice(None), value)
    assert growing.stride == fixed.stride == 8 and growing.count == fixed.count
    assert np.array_equal(fixed.series("params")[0], growing.series("params")[0])
    assert np.array_equal(fixed.series("params")[1], growing.series("params")[1])
    assert growing.nbytes == fixed.nbytes
    small = History(2, fields, 40, minimum=32)
    assert small.capacity == 40 and History(2, fields, 40).capacity == 64  # the minimum is honoured
