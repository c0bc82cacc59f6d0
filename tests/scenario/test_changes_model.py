"""[[runs.changes]] and --at: what is accepted, and one clear message (file, key, line) for the rest."""

from __future__ import annotations

import pytest

from gdsim.cli import main
from gdsim.scenario.load import ScenarioError, load_scenario

HEAD = """[scenario]
title = "t"
claim = "c"

[problem]
surface = "rosenbrock"

[[runs]]
label = "A"
"""


def write(tmp_path, body: str):
    path = tmp_path / "s.toml"
    path.write_text(HEAD + body)
    return path


def message(tmp_path, body: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, body))
    return str(caught.value)


def test_bare_and_quoted_dotted_keys_mean_the_same(tmp_path):
    bare = load_scenario(write(tmp_path, "[[runs.changes]]\nat = 5\noptimizer.lr = 0.5\nschedule.name = \"cosine\"\n"
                                         "schedule.t_max = 9\n"))
    quoted = load_scenario(write(tmp_path, '[[runs.changes]]\nat = 5\n"optimizer.lr" = 0.5\n'
                                           'schedule = { name = "cosine", t_max = 9 }\n'))
    assert bare.scenario == quoted.scenario
    assert bare.scenario.runs[0].changes[0].keys() == {"optimizer.lr": 0.5, "schedule.name": "cosine",
                                                       "schedule.t_max": 9}


@pytest.mark.parametrize("body, words", [
    ("[[runs.changes]]\nat = 5\nseed = 3\n", ["runs.0.changes.0 (line 10)", "seed cannot change mid-run", "restarts"]),
    ("[[runs.changes]]\nat = 5\nproblem.surface = \"beale\"\n", ["problem.surface cannot change mid-run"]),
    ("[[runs.changes]]\nat = 0\noptimizer.lr = 1\n", ["runs.0.changes.0.at (line 11)", "greater than or equal to 1"]),
    ("[[runs.changes]]\nat = 5\n", ["changes nothing"]),
    ("[[runs.changes]]\nat = 9\noptimizer.lr = 1\n\n[[runs.changes]]\nat = 5\noptimizer.lr = 2\n",
     ["runs.0.changes.1.at", "increasing steps"]),
    ("[[runs.changes]]\nat = 5\noptimizer.lr = -1\n", ["runs.0.changes.0.optimizer.lr (line 12)"]),
    ("[[runs.changes]]\nat = 5\noptimizer.name = \"newton\"\noptimizer.momentum = 0.5\n",
     ["runs.0.changes.0.optimizer.momentum", "does not apply to newton"]),
])
def test_a_bad_change_gets_one_message_naming_the_key_and_line(tmp_path, body, words):
    text = message(tmp_path, body)
    for word in words:
        assert word in text, (word, text)
    assert "too short" not in text and "at least 1 item" not in text  # a one-run file used to add this noise


def test_the_noise_of_a_data_set_cannot_change(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\n[problem]\ndataset = "moons"\nsamples = 40\n'
                    '[[runs]]\n[[runs.changes]]\nat = 3\nproblem.noise = 0.5\n')
    with pytest.raises(ScenarioError, match="runs.0.changes.0.problem.noise: the noise of a data set"):
        load_scenario(path)


@pytest.mark.parametrize("args, words", [
    (["--at", "x:optimizer.lr=1"], "STEP a whole number"),
    (["--at", "5:seed=1"], "seed cannot change mid-run"),
    (["--at", "5:optimizer.lr=1", "--run", "nobody"], "no [[runs]] entry 'nobody'"),
    (["--run", "A"], "give --at"),
    (["--at", "5:runs.A.optimizer.lr=-1"], "runs.0.changes.0.optimizer.lr"),
])
def test_at_errors_exit_2_with_a_message(tmp_path, capsys, args, words):
    path = write(tmp_path, "")
    assert main(["run", str(path), "--steps", "3", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
