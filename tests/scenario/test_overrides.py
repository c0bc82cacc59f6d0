"""--set overrides make a new scenario and never touch the file."""

from __future__ import annotations

import pytest

from gdsim.scenario.load import ScenarioError, load_scenario
from gdsim.scenario.overrides import parse_assignment, set_key, with_overrides

from .test_load import GOOD, write


def test_parse_values_as_toml():
    assert parse_assignment("optimizer.lr=0.5") == (["optimizer", "lr"], 0.5)
    assert parse_assignment("optimizer.betas=[0.8, 0.9]") == (["optimizer", "betas"], [0.8, 0.9])
    assert parse_assignment("optimizer.nesterov=true") == (["optimizer", "nesterov"], True)
    assert parse_assignment('problem.surface="beale"') == (["problem", "surface"], "beale")
    assert parse_assignment("problem.surface=rosenbrock") == (["problem", "surface"], "rosenbrock")


@pytest.mark.parametrize("text", ["optimizer.lr", "=3", "a..b=1", "optimizer.lr=[1,"])
def test_bad_assignments(text):
    with pytest.raises(ScenarioError):
        parse_assignment(text)


def test_set_key_copies():
    raw = {"optimizer": {"lr": 0.1}, "runs": [{"label": "a"}]}
    new = set_key(raw, ["runs", "0", "seed"], 3)
    assert new["runs"][0] == {"label": "a", "seed": 3}
    assert raw["runs"][0] == {"label": "a"}
    added = set_key(raw, ["runs", "1", "seed"], 4)
    assert len(added["runs"]) == 2
    with pytest.raises(ScenarioError, match="runs"):
        set_key(raw, ["runs", "5", "seed"], 4)


def test_with_overrides_validates_and_keeps_file(tmp_path):
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    loaded = load_scenario(path, trial_build=False)
    new = with_overrides(loaded, ["optimizer.lr=0.5", "scenario.steps=7"])
    assert new.scenario.optimizer.lr == 0.5 and new.scenario.scenario.steps == 7
    assert loaded.scenario.optimizer.lr == 0.1
    assert path.read_bytes() == before
    with pytest.raises(ScenarioError, match=r"optimizer\.lr.*--set optimizer\.lr=-2"):
        with_overrides(loaded, ["optimizer.lr=-2"])
