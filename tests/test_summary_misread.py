"""`gdsim run --format summary` names a classifier's most frequent mix-ups on the test split."""

from __future__ import annotations

import re

from gdsim.cli import main

SPIRALS = """
[scenario]
title = "t"
claim = "c"
steps = 40

[problem]
dataset = "spirals"
classes = 3
samples = 300
model = "softmax"

[optimizer]
name = "sgd"
lr = 0.1

[[runs]]
label = "flat"
"""


def test_the_misread_line_counts_the_test_mistakes(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SPIRALS)
    assert main(["run", str(path), "--format", "summary"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"test, misread: (\d+) of (\d+): class (\d) as class (\d) \((\d+)\)", out)
    assert found, out
    wrong, total = int(found[1]), int(found[2])
    assert total == 45  # 15% of 300
    # the same count from the accuracy the run measures (an independent path: evaluate())
    from gdsim.build import build
    from gdsim.scenario.load import load_scenario

    sim = build(load_scenario(path))
    sim.step(40)
    accuracy = sim.cohorts[0].evaluate_split("test")["accuracy"][0]
    assert wrong == round((1 - accuracy) * total) and 0 < wrong < total
    assert int(found[3]) != int(found[4]) and int(found[5]) >= 1


def test_no_misread_line_for_regression(capsys):
    assert main(["run", "mae-vs-mse", "--format", "summary", "--steps", "5"]) == 0
    assert "misread" not in capsys.readouterr().out
