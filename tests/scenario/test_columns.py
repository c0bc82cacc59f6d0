"""Key-metric columns of the run table (gdsim.scenario.columns): which, how they are validated,
and that their values are the expects' own measurements."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.build import build
from gdsim.scenario.columns import Column, cell, key_columns, measure, measure_at
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import ScenarioError, load_scenario, validate_raw
from gdsim.scenario.verify import verify

BUILTIN = {e.id: e.path for e in list_entries() if e.builtin}


def builtin(name: str):
    return load_scenario(BUILTIN[name])


def metrics(loaded) -> list[str]:
    return [c.metric for c in key_columns(loaded.scenario)]


def derived(name: str):
    """A built-in without its own [view]: the columns derived from its expects."""
    loaded = builtin(name)
    plain = {k: v for k, v in loaded.raw.items() if k != "view"}
    return validate_raw(plain, path=loaded.path, id=name, trial_build=False)


def test_derived_from_what_the_question_is_shown_by():
    # the metric a [predict] shown_by check reads at the end comes first; never the loss itself
    assert metrics(derived("overfitting"))[0] == "val_loss"
    assert metrics(derived("class-imbalance"))[0] == "val_recall"
    assert metrics(derived("epochs-vs-steps"))[0] == "epochs"
    assert metrics(derived("softmax-spirals"))[0] == "val_accuracy"
    mae = key_columns(derived("mae-vs-mse").scenario)[0]
    assert (mae.metric, mae.than_run) == ("params", "MSE, clean data")
    # built-ins may name their own: class-imbalance shows accuracy beside recall (accuracy lies)
    assert metrics(builtin("class-imbalance")) == ["val_accuracy", "val_recall"]
    for name in BUILTIN:
        assert not {"loss", "grad_norm", "lr"} & set(metrics(builtin(name)))


def raw(**view) -> dict:
    return {"scenario": {"title": "t", "claim": "c", "steps": 5},
            "problem": {"dataset": "moons", "samples": 40, "model": "logistic"},
            "runs": [{"label": "a"}, {"label": "b"}],
            "expect": [{"because": "x", "metric": "val_loss", "below": 9}],
            **({"view": view} if view else {})}


def test_an_explicit_list_wins_and_an_empty_one_means_none():
    assert metrics(validate_raw(raw(), path=None, id="t")) == ["val_loss"]
    loaded = validate_raw(raw(columns=["test_loss", {"metric": "params", "than_run": "b", "title": "to b"}]),
                          path=None, id="t")
    assert [c.header for c in key_columns(loaded.scenario)] == ["test loss", "to b"]
    assert key_columns(validate_raw(raw(columns=[]), path=None, id="t").scenario) == ()


@pytest.mark.parametrize("columns, message", [
    (["val_lss"], "view.columns.0.metric"),
    ([{"metric": "params"}], "needs than_run"),
    ([{"metric": "x", "than_run": "a"}], "only for metric \"params\""),
    ([{"metric": "params", "than_run": "zz"}], "view.columns.0.than_run: no run is labelled 'zz'"),
    (["x"], "view.columns.0: metric 'x' is about a 2-D surface"),  # checked against the problem built
    (["val_mae"], "view.columns.0: metric 'val_mae' is for regression"),
    (["val_loss", "test_loss", "epochs", "x"], "view.columns"),  # at most three
])
def test_bad_columns_are_named_in_one_message(columns, message):
    with pytest.raises(ScenarioError) as info:
        validate_raw(raw(columns=columns), path=None, id="t")
    assert message in str(info.value)
    assert "\n" not in str(info.value).split("(every key")[0].strip()


@pytest.mark.parametrize("name, id, column", [
    ("class-imbalance", "trained-recall", Column(metric="val_recall")),
    ("mae-vs-mse", "mae-close", Column(metric="params", than_run="MSE, clean data")),
])
def test_the_value_at_the_last_step_is_what_verify_measured(name, id, column):
    loaded = builtin(name)
    outcome = verify(loaded).by_id()[id]
    run = outcome.expectation.run
    sim = build(loaded)  # as the app builds it: with a history
    sim.step(loaded.scenario.scenario.steps)
    row = [r.label for r in sim.runs].index(run)
    assert measure(sim, (column,))[0][row] == outcome.value


def test_a_rewound_step_reads_the_history():
    loaded = builtin("learning-rate")
    sim = build(loaded)
    sim.step(50)
    live = measure(sim, (Column(metric="distance_to_global"), Column(metric="x")))
    sim.step(50)
    back = measure_at(sim, (Column(metric="distance_to_global"), Column(metric="x")), 50)
    np.testing.assert_allclose(back[0], live[0], rtol=0, atol=0)
    np.testing.assert_allclose(back[1], live[1], rtol=0, atol=0)
    loaded = builtin("mae-vs-mse")  # a distance to another run's parameters, rewound
    sim = build(loaded)
    column = (Column(metric="params", than_run="MSE, clean data"),)
    sim.step(40)
    live = measure(sim, column)
    sim.step(40)
    np.testing.assert_allclose(measure_at(sim, column, 40)[0], live[0], rtol=0, atol=0)
    assert live[0][2] == 0 and live[0][0] > 0


def test_cells():
    assert cell(Column(metric="val_accuracy"), 0.973) == "97%"
    assert cell(Column(metric="epochs"), 50.0) == "50" and cell(Column(metric="epochs"), 1000.0) == "1,000"
    assert cell(Column(metric="val_loss"), float("nan")) == "-"
    assert cell(Column(metric="val_loss"), 1.5923) == "1.592"
