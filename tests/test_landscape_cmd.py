"""`gdsim landscape`: every kind and format, the exactness a user can check from the shell, and
exit status 2 with a message naming the flag on bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gdsim.cli import main


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def run_cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_line_jsonl_marks_the_start_and_the_point_and_they_are_the_runs_losses(capsys):
    status, out, err = run_cli(["landscape", "overfitting", "--kind", "line", "--at", "40", "--format", "jsonl"],
                               capsys)
    assert status == 0, err
    header, *records = jsonl(out)
    assert header["kind"] == "line" and header["step"] == 40 and header["split"] == "train"
    grid = [r for r in records if "loss" in r]
    assert len(grid) == 41
    start = next(r for r in grid if r.get("point") == "start")
    end = next(r for r in grid if r.get("point") == "end")
    assert start["t"] == 0.0 and end["t"] == 1.0
    assert min(r["t"] for r in grid) < 0 and max(r["t"] for r in grid) > 1
    # the same losses `gdsim run` records for this full-batch run at steps 0 and 40
    status, run_out, _ = run_cli(["run", "overfitting", "--steps", "40", "--format", "jsonl"], capsys)
    runs = [r for r in jsonl(run_out) if r["run"] == header["run"]]
    assert start["loss"] == runs[0]["loss"] and end["loss"] == runs[-1]["loss"]
    path = [r for r in records if "path_step" in r]
    assert path[0]["path_step"] == 0 and path[-1]["path_step"] == 40 and path[-1]["t"] == pytest.approx(1.0)


def test_pca_table_names_the_projection_and_the_variance_share(capsys):
    status, out, err = run_cli(["landscape", "overfitting", "--kind", "pca", "--at", "100", "--grid", "21"], capsys)
    assert status == 0, err
    assert "a projection, not the real path" in out
    assert "the plane holds" in out and "% of the path's variance" in out
    assert "* marks the centre" in out and "lowest on the grid" in out
    assert max(map(len, out.splitlines())) <= 80


def test_random_csv_has_every_grid_point_and_seeds_reproduce(capsys):
    args = ["landscape", "overfitting", "--kind", "random", "--at", "30", "--grid", "11", "--format", "csv"]
    status, first, err = run_cli(args + ["--seed", "4"], capsys)
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 121 and set(rows[0]) == {"a", "b", "loss"}
    centre = next(r for r in rows if float(r["a"]) == 0.0 and float(r["b"]) == 0.0)
    _, again, _ = run_cli(args + ["--seed", "4"], capsys)
    _, other, _ = run_cli(args + ["--seed", "5"], capsys)
    assert again == first and other != first
    assert centre["loss"] == next(r for r in csv.DictReader(io.StringIO(other))
                                  if float(r["a"]) == 0.0 and float(r["b"]) == 0.0)["loss"]


def test_line_between_two_runs_and_plot_formats(capsys):
    status, out, err = run_cli(["landscape", "overfitting", "--kind", "line", "--run", "no cure",
                                "--run", "L2", "--at", "200", "--format", "plot"], capsys)
    assert status == 0, err
    assert 'line from run "no cure" (t = 0) to run "L2" (t = 1)' in out
    assert 'on run "no cure"\'s objective' in " ".join(out.split())
    assert "loss along the line" in out
    status, out, err = run_cli(["landscape", "batch-norm", "--kind", "pca", "--at", "60", "--grid", "15",
                                "--format", "plot"], capsys)
    assert status == 0, err
    assert "S its start" in out and "X" in out.split("shades:")[0]


def test_surfaces_and_the_validation_split(capsys):
    status, out, err = run_cli(["landscape", "global-minimum", "--kind", "line", "--at", "20"], capsys)
    assert status == 0, err
    assert "the surface's value" in out
    status, out, err = run_cli(["landscape", "overfitting", "--kind", "line", "--split", "val", "--at", "20"], capsys)
    assert status == 0, err
    assert "whole validation set" in out


def test_output_file_is_written_atomically_and_never_replaced_unasked(tmp_path, capsys):
    target = tmp_path / "line.csv"
    args = ["landscape", "overfitting", "--kind", "line", "--at", "5", "--format", "csv", "-o", str(target)]
    assert run_cli(args, capsys)[0] == 0
    assert target.read_text().startswith("t,loss\n")
    status, _, err = run_cli(args, capsys)
    assert status == 2 and "already exists" in err


@pytest.mark.parametrize("args, words", [
    (["--kind", "line", "--grid", "2"], "--grid 2: expected a whole number of grid points from 3"),
    (["--kind", "pca", "--grid", "500"], "--grid 500"),
    (["--kind", "random", "--span", "-1"], "--span -1.0: expected a number from 0 to 100"),
    (["--kind", "random", "--span", "nan"], "--span nan"),
    (["--kind", "line", "--at", "-3"], "--at -3: expected a step from 0"),
    (["--kind", "line", "--run", "nobody"], "--run 'nobody': no run has this label; the runs are 'no cure'"),
    (["--kind", "pca", "--run", "no cure", "--run", "early stopping"], "--run given 2 times"),
    (["--kind", "random", "--seed", "-1"], "--seed -1"),
    (["--kind", "line", "--set", "optimizer.lr=-1"], "optimizer.lr"),
])
def test_bad_input_is_one_message_and_exit_2(args, words, capsys):
    status, out, err = run_cli(["landscape", "overfitting", *args], capsys)
    assert status == 2
    assert words in err and "Traceback" not in err and out == ""


def test_argparse_errors_name_the_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["landscape", "overfitting", "--kind", "sideways"])
    assert exc.value.code == 2
    assert "--kind" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["landscape", "overfitting"])
    assert exc.value.code == 2 and "--kind" in capsys.readouterr().err


def test_a_path_that_has_not_moved_and_a_missing_validation_split(capsys):
    status, _, err = run_cli(["landscape", "overfitting", "--kind", "pca", "--at", "0"], capsys)
    assert status == 2 and "--kind pca" in err and "at least two recorded points" in err
    status, _, err = run_cli(["landscape", "global-minimum", "--kind", "line", "--split", "val"], capsys)
    assert status == 2 and "--split val" in err


def test_two_runs_at_the_same_point_are_a_message(capsys):
    # 'early stopping' is 'no cure' with patience: the same updates until it stops
    status, _, err = run_cli(["landscape", "overfitting", "--kind", "line", "--run", "no cure",
                              "--run", "early stopping", "--at", "50"], capsys)
    assert status == 2 and "the two runs are at the same point" in err
