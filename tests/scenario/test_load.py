"""Loading scenario files: every broken or hostile file gets a message naming the file and key or line."""

from __future__ import annotations

import pytest

from gdsim.scenario.load import ScenarioError, load_scenario

GOOD = """
[scenario]
title = "A bowl"
claim = "Gradient descent converges in one step."
steps = 50

[problem]
surface = "quadratic"

[optimizer]
name = "sgd"
lr = 0.1
"""


def write(tmp_path, text: str | bytes, name: str = "s.toml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, trial_build=False)
    message = str(info.value)
    assert str(path) in message, message
    assert "Traceback" not in message
    return message


def test_good_file_loads(tmp_path):
    loaded = load_scenario(write(tmp_path, GOOD), trial_build=False)
    assert loaded.scenario.optimizer.lr == 0.1
    assert loaded.scenario.scenario.steps == 50
    assert loaded.id == "s"


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD.replace("lr = 0.1", "lr = -1"), "optimizer.lr"),
        (GOOD.replace("lr = 0.1", "lr = nan"), "optimizer.lr"),
        (GOOD.replace("lr = 0.1", "lr = inf"), "optimizer.lr"),
        (GOOD.replace("lr = 0.1", "lr = 1e400"), "optimizer.lr"),
        (GOOD.replace("lr = 0.1", "lr = \"fast\""), "optimizer.lr"),
        (GOOD.replace("lr = 0.1", "lrr = 0.1"), "did you mean 'lr'"),
        (GOOD.replace("steps = 50", "steps = 0"), "scenario.steps"),
        (GOOD.replace('title = "A bowl"\n', ""), "scenario.title"),
        (GOOD.replace('surface = "quadratic"', 'surface = "quadratic"\ndataset = "moons"'), "exactly one"),
        (GOOD + "\n[schedule]\nname = \"sometimes\"\n", "schedule.name"),
        (GOOD + "\n[[runs]]\nlabel = \"a\"\n[[runs]]\nlabel = \"a\"\n", "unique"),
        (GOOD + "\n[[runs]]\nseeds = 20000\n", "runs.0.seeds"),
        (GOOD + "\n[[runs]]\nstart = [1.0, 2.0, 3.0]\n", "runs.0.start"),
        (GOOD.replace('surface = "quadratic"', 'dataset = "line"\noutliers = 0.7'), "problem.outliers"),
        (GOOD.replace('surface = "quadratic"', 'dataset = "moons"\nimbalance = 1.5'), "problem.imbalance"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, expected):
    assert expected in error_of(write(tmp_path, text))


def test_key_error_gives_the_line(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace("lr = 0.1", "lr = -1")))
    assert "optimizer.lr (line 12)" in message


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    message = error_of(write(tmp_path, GOOD.replace("lr = 0.1", "lr = = 0.1")))
    assert "line 12" in message and "not valid TOML" in message


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b'[scenario]\ntitle = "caf\xe9"\n', "not valid UTF-8"),
        (b"\x00\x01\x02binary", "NUL"),
        (("x = " + "9" * 5000 + "\n").encode(), "cannot be read"),
        (("x = " + "[" * 1000 + "]" * 1000 + "\n").encode(), ""),
        (b"x = 1\n" * 200_000, "larger than"),
        (b"just some words", "not valid TOML"),
    ],
)
def test_hostile_files(tmp_path, content, expected):
    message = error_of(write(tmp_path, content))
    assert expected in message


def test_utf8_error_names_line(tmp_path):
    message = error_of(write(tmp_path, b'[scenario]\ntitle = "caf\xe9"\n'))
    assert "line 2" in message


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in error_of(tmp_path / "nope.toml")
    assert "directory" in error_of(tmp_path)


def test_scenario_is_immutable(tmp_path):
    loaded = load_scenario(write(tmp_path, GOOD), trial_build=False)
    with pytest.raises(Exception):
        loaded.scenario.optimizer.lr = 5  # type: ignore[misc]


def test_line_of_array_entries_and_inline_tables(tmp_path):
    text = GOOD + '\n[[runs]]\nlabel = "a"\n\n[[runs]]\nlabel = "b"\nseed = -4\n\n[[runs]]\nlabel = "c"\noptimizer = { lr = -1 }\n'
    message = error_of(write(tmp_path, text))
    assert "runs.1.seed (line 19)" in message
    assert "runs.2.optimizer.lr (line 23)" in message


def test_unknown_expect_key_gets_a_hint(tmp_path):
    text = GOOD + '\n[[expect]]\nbecause = "x"\nmetric = "loss"\nbelow = 1.0\nbelwo = 2.0\n'
    message = error_of(write(tmp_path, text))
    assert "expect.0.belwo" in message and "valid keys here" in message


@pytest.mark.parametrize("problem, expected", [
    ('dataset = "moons"\noutliers = 0.1', "problem.outliers: outliers applies to the regression data sets"),
    ('dataset = "line"\nimbalance = 0.1', "problem.imbalance: imbalance applies to generated two-class"),
    ('dataset = "blobs"\nimbalance = 0.1', "problem.imbalance: imbalance applies to two classes"),
])
def test_data_set_keys_that_do_not_fit_name_the_key(tmp_path, problem, expected):
    path = write(tmp_path, GOOD.replace('surface = "quadratic"', problem))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and expected in str(info.value), str(info.value)
