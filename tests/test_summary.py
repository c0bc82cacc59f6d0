"""`gdsim run --format summary`: an ensemble summarized (where runs ended, final-loss percentiles,
divergence), per-run lines only with --per-run, and figures that cannot be given say why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gdsim.cli import main

DATA = Path(__file__).resolve().parent / "data"

HIMMELBLAU_40 = """
[scenario]
title = "t"
claim = "c"
steps = 100
seed = 1

[problem]
surface = "himmelblau"

[optimizer]
name = "sgd"
lr = 0.03

[[runs]]
label = "ens"
seeds = 40
"""


def run_cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def final_records(args, capsys) -> dict[str, dict]:
    out = run_cli(["run", *args, "--format", "jsonl"], capsys)
    last = {}
    for line in out.splitlines():
        rec = json.loads(line)
        last[rec["run"]] = rec
    return last


def test_an_ensemble_says_how_many_ended_at_each_minimum(capsys):
    out = run_cli(["run", "global-minimum", "--format", "summary"], capsys)
    assert out.startswith("102 runs after 300 steps\n")
    assert max(map(len, out.splitlines())) <= 80
    assert "random starts: 100 runs (seeds 1 to 100)" in out
    ended = re.search(r"ended: (\d+) of 100 at (a local|the global) minimum \(([-\d.]+), 0\);\n\s+(\d+) at "
                      r"(a local|the global) minimum \(([-\d.]+), 0\)", out)
    assert ended, out
    counts = {ended.group(2): int(ended.group(1)), ended.group(5): int(ended.group(4))}
    # the oracle: the double well's global minimum is the left one (x < 0), read from the jsonl records
    last = final_records(["global-minimum"], capsys)
    xs = np.array([rec["params"][0] for label, rec in last.items() if label.startswith("random starts")])
    assert len(xs) == 100
    assert counts == {"the global": int((xs < 0).sum()), "a local": int((xs > 0).sum())}
    assert 10 < counts["a local"] < 90  # both wells are really reached
    assert "diverged: none of 100" in out
    assert "random starts (seed" not in out  # no per-run lines without --per-run
    assert "(a line for each of the 100 runs of the ensembles: --per-run)" in out
    assert "from the left (seed 0): global min (-1.04, 0)" in out
    assert "from the right (seed 0): local min (0.96, 0)" in out


def test_percentiles_and_divergence_of_an_ensemble(tmp_path, capsys):
    path = tmp_path / "ens.toml"
    path.write_text(HIMMELBLAU_40)
    out = run_cli(["run", str(path), "--format", "summary"], capsys)
    last = final_records([str(path)], capsys)
    diverged = [rec for rec in last.values() if rec["diverged"]]
    kept = np.array([rec["loss"] for rec in last.values() if not rec["diverged"]])
    assert 0 < len(diverged) < 40  # the case has both
    steps = [int(m) for m in re.findall(r"diverged: \d+ of 40, between steps (\d+) and (\d+)", out)[0]]
    first_diverged = {}
    for line in run_cli(["run", str(path), "--format", "jsonl"], capsys).splitlines():
        rec = json.loads(line)
        if rec["diverged"]:
            first_diverged.setdefault(rec["run"], rec["step"])
    assert steps == [min(first_diverged.values()), max(first_diverged.values())]
    assert f"diverged: {len(diverged)} of 40" in out
    text = " ".join(out.split())  # the line may be wrapped
    expected = np.percentile(kept, [0, 10, 50, 90, 100])
    found = re.search(rf"final loss of the {len(kept)} not diverged: min (\S+), 10% (\S+), median (\S+), "
                      r"90% (\S+), max (\S+)", text)
    assert found, text
    np.testing.assert_allclose([float(v) for v in found.groups()], expected, rtol=1e-4)
    counted = re.search(r"ended: (.*?) final loss", text).group(1)
    numbers = [int(n) for n in re.findall(r"(?:^|; )(\d+)", counted)]
    assert sum(numbers) == 40 and f"{len(diverged)} diverged" in counted


def test_per_run_lines_only_when_asked(tmp_path, capsys):
    path = tmp_path / "ens.toml"
    path.write_text(HIMMELBLAU_40)
    plain = run_cli(["run", str(path), "--format", "summary"], capsys)
    each = run_cli(["run", str(path), "--format", "summary", "--per-run"], capsys)
    assert "ens (seed 7):" not in plain
    assert all(f"  ens (seed {s}): " in each for s in range(1, 41))
    assert "--per-run)" not in each
    assert re.search(r"ens \(seed \d+\): diverged at step \d+\n\s+last finite state \(step \d+\): loss", each)


DATASET = """
[scenario]
title = "t"
claim = "c"
steps = 30

[problem]
dataset = "moons"
samples = 100
model = "logistic"
split = {split}

[optimizer]
name = "sgd"
lr = 0.5

[[runs]]
label = "one"

[[runs]]
label = "many"
seeds = 5
"""


def test_absent_test_figures_say_why(tmp_path, capsys):
    path = tmp_path / "nosplit.toml"
    path.write_text(DATASET.replace("{split}", "[0.8, 0.2, 0.0]"))
    out = run_cli(["run", str(path), "--format", "summary"], capsys)
    assert out.count("test: no test split (the test share of [problem] split is 0)") == 2
    assert re.search(r"validation: loss [\d.]+, accuracy [\d.]+", out)
    assert re.search(r"validation: loss median [\d.]+, accuracy median [\d.]+", out)
    assert " - " not in out and not re.search(r"\s-\s*$", out, re.M)
    path.write_text(DATASET.replace("{split}", "[0.6, 0.2, 0.2]"))
    out = run_cli(["run", str(path), "--format", "summary"], capsys)
    assert re.search(r"test: loss [\d.]+, accuracy [\d.]+, precision [\d.]+, recall [\d.]+", out)
    assert "no test split" not in out


@pytest.mark.parametrize("steps,expected", [("1", "1 run after 1 step\n"), ("2", "1 run after 2 steps\n")])
def test_counts_have_the_right_plural(tmp_path, capsys, steps, expected):
    path = tmp_path / "one.toml"
    path.write_text(HIMMELBLAU_40.replace("seeds = 40", "seeds = 1"))
    assert run_cli(["run", str(path), "--format", "summary", "--steps", steps], capsys).startswith(expected)
