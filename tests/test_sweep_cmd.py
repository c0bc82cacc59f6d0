"""`gdsim sweep`: outputs, agreement with `gdsim run`, theory lines, safe files, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gdsim.cli import main

DATA = Path(__file__).resolve().parent / "data"
MIXED = str(DATA / "mixed.toml")


def cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_jsonl_points_equal_gdsim_run_with_that_setting(capsys):
    status, out, _ = cli(["sweep", "learning-rate", "--run", "just right", "--vary", "lr=1e-3:1:log:7",
                          "--steps", "60", "--format", "jsonl", "--metric", "final_loss", "--metric", "diverged",
                          "--metric", "steps_to:loss<1e-3"], capsys)
    assert status == 0
    points = [json.loads(line) for line in out.splitlines()]
    assert len(points) == 7
    assert list(points[0]) == ["lr", "final_loss", "diverged", "diverged_at", "steps_to:loss<1e-3"]
    assert points[0]["lr"] == 1e-3 and points[-1]["lr"] == 1.0
    for point in (points[0], points[4], points[-1]):
        _, run_out, _ = cli(["run", "learning-rate", "--steps", "60", "--format", "jsonl",
                             "--set", f"runs.1.optimizer.lr={point['lr']!r}"], capsys)
        last = [json.loads(line) for line in run_out.splitlines() if '"just right"' in line][-1]
        assert last["diverged"] is point["diverged"]
        if not point["diverged"]:
            assert point["final_loss"] == last["loss"]  # the same bits, printed the same way
        else:
            assert point["final_loss"] is None and point["diverged_at"] > 0
    assert points[-1]["diverged"] and not points[0]["diverged"]
    assert points[0]["steps_to:loss<1e-3"] is None and isinstance(points[4]["steps_to:loss<1e-3"], int)


def test_table_marks_the_best_point_and_puts_theory_beside_the_measured_edge(capsys):
    status, out, _ = cli(["sweep", "learning-rate", "--vary", "lr=1e-3:1:60", "--steps", "300"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("learning-rate, run 'too small' (sgd), 300 steps, 60 points as one cohort")
    assert lines[1].split() == ["lr", "final_loss", "best_loss", "diverged", "diverged_at"]
    assert sum("<- best" in line for line in lines) == 1
    assert "theory: 2/λmax = 0.2 on this quadratic (curvatures 1 to 10); inside the measured cell" in out
    assert "measured edge (the first lr whose run diverged or ended no lower than it started): between 0.1" in out


def test_csv_and_a_grid_with_goh_optimum(capsys):
    status, out, _ = cli(["sweep", "learning-rate", "--set", "problem.condition=100", "--vary", "lr=1e-3:0.1:20",
                          "--vary", "momentum=0:0.99:20", "--steps", "200", "--format", "csv"], capsys)
    assert status == 0
    rows = out.splitlines()
    assert rows[0] == "lr,momentum,final_loss,best_loss,diverged,diverged_at"
    assert len(rows) == 1 + 400
    status, out, _ = cli(["sweep", "learning-rate", "--set", "problem.condition=100", "--vary", "lr=1e-3:0.1:20",
                          "--vary", "momentum=0:0.99:20", "--steps", "200"], capsys)
    assert "lies in the measured grid cell for 20 of 20 momentum values" in out
    assert "Goh's optimum (Distill 2017): lr α* = 0.03306, momentum β* = 0.6694" in out


def test_plots_one_and_two_keys(capsys):
    status, out, _ = cli(["sweep", "learning-rate", "--vary", "lr=1e-3:1:50", "--steps", "200",
                          "--format", "plot"], capsys)
    assert status == 0 and "final_loss (log scale)" in out and "X diverged" in out and "| theory's edge" in out
    status, out, _ = cli(["sweep", "learning-rate", "--set", "problem.condition=100", "--vary", "lr=1e-3:0.1:30",
                          "--vary", "momentum=0:0.99:24", "--steps", "200", "--format", "plot"], capsys)
    assert status == 0
    grid = [line for line in out.splitlines() if line[:10].strip() == "" or line[:10].strip()[0].isdigit()]
    cells = "".join(line[11:41] for line in grid[:24])
    # B (the best cell) is drawn over T (Goh's optimum) when they are the same cell, as here
    assert cells.count("B") == 1 and cells.count("T") <= 1 and "|" in cells and "X" in cells
    assert "B best, T Goh's optimum" in out


def test_output_file_is_written_once_and_not_overwritten(tmp_path, capsys):
    target = tmp_path / "sweep.jsonl"
    args = ["sweep", "learning-rate", "--vary", "lr=0.01:0.1:5", "--steps", "10", "--format", "jsonl", "-o", str(target)]
    status, out, _ = cli(args, capsys)
    assert status == 0 and out == "" and len(target.read_text().splitlines()) == 5
    status, _, err = cli(args, capsys)
    assert status == 2 and "already exists" in err and "--force" in err
    assert cli([*args, "--force"], capsys)[0] == 0


@pytest.mark.parametrize("args, expected", [
    (["--vary", "foo=1:2"], "--vary foo=1:2: foo: not a hyperparameter of sgd that a sweep can vary; it can vary: lr, "),
    (["--vary", "beta1=0.1:0.9"], "--vary beta1=0.1:0.9: beta1: not a hyperparameter of sgd"),
    (["--vary", "lr=1:0.1"], "--vary lr=1:0.1: lr: the range goes from low to high"),
    (["--vary", "lr=0:1:log"], "--vary lr=0:1:log: lr: a log scale needs low > 0"),
    (["--vary", "lr=0.1"], "--vary lr=0.1: expected KEY=LOW:HIGH[:log|lin][:N]"),
    (["--vary", "lr=a:1"], "--vary lr=a:1: LOW and HIGH must be numbers"),
    (["--vary", "lr=0.1:1:cubic"], "'cubic' is neither log, lin nor a number"),
    (["--vary", "lr=0.1:1:0"], "the number of values must be from 1"),
    (["--vary", "lr=0.1:1:1000", "--vary", "momentum=0:0.9:1000"], "points; at most 100000"),
    (["--vary", "weight_decay=-1:1:lin:3"], "--vary weight_decay=-1:1:lin:3: Invalid weight_decay value: -1"),
    (["--vary", "lr=0.1:1", "--run", "nobody"], "--run nobody: the scenario has no run labelled 'nobody'"),
    (["--vary", "lr=0.1:1", "--metric", "speed"], "--metric speed: unknown metric 'speed'"),
    (["--vary", "lr=0.1:1", "--metric", "steps_to:loss"], "--metric steps_to:loss: 'loss': expected METRIC<NUMBER"),
    (["--vary", "lr=0.1:1", "--steps", "-3"], "--steps -3: expected a number of updates"),
    ([], "needs at least one --vary"),
])
def test_bad_input_names_the_flag_and_exits_2(args, expected, capsys):
    status, out, err = cli(["sweep", "learning-rate", "--steps", "5", *args], capsys)
    assert status == 2, err
    assert expected in err and "Traceback" not in err
    assert err.count("\n") == 1  # one paragraph


def test_adam_keys_and_a_mixed_scenario_run(capsys):
    status, out, _ = cli(["sweep", MIXED, "--run", "adam", "--vary", "beta1=0:0.99:4", "--vary", "beta2=0.9:0.999:3",
                          "--steps", "20", "--format", "jsonl"], capsys)
    assert status == 0
    points = [json.loads(line) for line in out.splitlines()]
    assert len(points) == 12 and [p["beta1"] for p in points[:4]] == [0.0, 0.0, 0.0, 0.33]
    assert [p["beta2"] for p in points[:3]] == [0.9, 0.9495, 0.999]


def test_a_sweep_too_big_for_memory_is_refused_before_any_work(capsys):
    status, _, err = cli(["sweep", "digits", "--vary", "lr=1e-4:1:2000", "--steps", "1"], capsys)
    assert status == 2 and "Traceback" not in err
    assert "--vary lr=1e-4:1:2000: 2000 = 2,000 points of 17,226 parameters each is too much memory" in err
    assert "(here at most 1,161 points)" in err


def test_an_adam_beta_out_of_range_names_its_flag(capsys):
    status, _, err = cli(["sweep", MIXED, "--run", "adam", "--vary", "beta1=0.5:1:lin:3", "--steps", "5"], capsys)
    assert status == 2
    assert err.startswith("gdsim: --vary beta1=0.5:1:lin:3: Invalid beta parameter at index 0: 1")


def test_a_run_with_changes_is_swept_from_step_0_and_says_so(tmp_path, capsys):
    path = tmp_path / "changes.toml"
    path.write_text((DATA / "mixed.toml").read_text())
    text = path.read_text().replace('label = "left"\nstart = [-1.0, 0.0]',
                                    'label = "left"\nstart = [-1.0, 0.0]\n[[runs.changes]]\nat = 10\noptimizer.lr = 0.5')
    path.write_text(text)
    status, out, err = cli(["sweep", str(path), "--run", "left", "--vary", "lr=0.001:0.01:3", "--steps", "30"], capsys)
    assert status == 0, err
    assert "the run's changes (at step 10) are not part of the sweep" in out
    status, out, err = cli(["sweep", str(path), "--run", "left", "--vary", "lr=0.001:0.01:3", "--steps", "30",
                            "--format", "jsonl"], capsys)
    assert status == 0 and "has changes at step 10; the sweep leaves them out" in err
    # the points are the run without its change: the same loss as a run of the file minus the change
    plain = [json.loads(line) for line in out.splitlines()]
    status, out, _ = cli(["sweep", MIXED, "--run", "left", "--vary", "lr=0.001:0.01:3", "--steps", "30",
                          "--format", "jsonl"], capsys)
    assert plain == [json.loads(line) for line in out.splitlines()]
