"""Counts in command-line output have the right plural: never '1 scenarios' or '1 steps'."""

from __future__ import annotations

import re

from gdsim.cli import main
from gdsim.words import plural


def test_plural():
    assert [plural(n, "run") for n in (0, 1, 2, 1000)] == ["0 runs", "1 run", "2 runs", "1,000 runs"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == "3 classes"


def test_one_scenario_one_expectation_one_step(tmp_path, capsys):
    path = tmp_path / "one.toml"
    path.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 1\n\n[problem]\nsurface = "bowl"\n\n'
                    '[[runs]]\nlabel = "a"\nstart = [1.0, 1.0]\n\n'
                    '[[expect]]\nbecause = "b"\nrun = "a"\nmetric = "loss"\nbelow = 100\n')
    assert main(["check", "--verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok (1 expectation," in out and "1 of 1 expectation holds in 1 scenario (" in out
    assert main(["run", str(path)]) == 0
    table = capsys.readouterr().out
    assert "ran 1 step" in table or "nearest" in table
    assert main(["run", str(path), "--format", "summary"]) == 0
    assert capsys.readouterr().out.startswith("1 run after 1 step\n")
    assert main(["run", str(path), "--set", "runs.5.seed=1"]) == 2
    assert "there is 1 run (0 to 0)" in capsys.readouterr().err
    for text in (out, table):
        assert not re.search(r"\b1 (runs|steps|scenarios|expectations)\b", text)
