"""Terminal plots: `gdsim run ... --plot` and `gdsim plot FILE`, as a user reads them at 80 columns."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from gdsim.cli import main
from gdsim.commands.terminal_plots import Trace, use_colour, write_plots

ESC = "\x1b["


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)


def run_cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def panel_lines(out: str, title: str) -> list[str]:
    """The rows inside the frame of the panel titled `title` (between its top and bottom edge)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    end = next(i for i in range(start + 2, len(lines)) if "└" in lines[i])
    return lines[start + 2:end]


def test_run_plot_draws_four_labelled_panels_and_marks_the_diverged_run(capsys):
    status, out, err = run_cli(["run", "learning-rate", "--plot"], capsys)
    assert status == 0, err
    assert ESC not in out  # captured stdout is not a terminal: no colour codes
    assert max(map(len, out.splitlines())) <= 80
    assert out.startswith("learning-rate, 200 steps: 4 runs\n")
    assert "Lines: * too small   + just right   o too large" in out
    assert "# far too large, diverged at step 141" in out
    assert "X where a run diverged" in out
    # loss and |grad| span many decades (the good run reaches ~1e-27): log scale
    for title in ("loss (log scale)", "|grad| (log scale)"):
        rows = panel_lines(out, title)
        assert any("X" in row for row in rows), title  # the mark where 'far too large' diverged
        assert any("1e-" in row.split("┤")[0] for row in rows if "┤" in row)  # decades on the y axis
    assert out.count("\n" + " " * 40 + "step") >= 3  # the x axis of every drawn panel is labelled
    assert "|velocity|: not drawn (no run has a momentum buffer or first moment)" in out
    assert "learning rate" in out
    assert out.rstrip().endswith("1 of 4 runs diverged (marked X): far too large at step 141")


def test_a_run_without_divergence_has_no_mark_and_momentum_draws_velocity(capsys):
    status, out, _ = run_cli(["run", "momentum-overshoot", "--plot", "--steps", "60"], capsys)
    assert status == 0
    assert "where a run diverged" not in out and "diverged (marked" not in out
    rows = panel_lines(out, next(t for t in ("|velocity| (log scale)", "|velocity|") if "\n" + t in out
                                 or any(line.strip() == t for line in out.splitlines())))
    assert rows and not any("X" in row for row in rows)


def test_an_ensemble_is_drawn_as_medians_per_group(capsys):
    status, out, _ = run_cli(["run", "global-minimum", "--plot", "--steps", "50"], capsys)
    assert status == 0
    assert "102 runs" in out and "Each group is drawn as its median" in out
    assert "random starts (median of 100)" in out
    assert max(map(len, out.splitlines())) <= 80


def test_plot_reads_what_run_writes_as_jsonl_and_csv(tmp_path, capsys):
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"runs.{fmt}"
        assert run_cli(["run", "learning-rate", "--format", fmt, "-o", str(path)], capsys)[0] == 0
        status, out, err = run_cli(["plot", str(path)], capsys)
        assert status == 0, err
        assert out.startswith(f"runs.{fmt}: 4 runs\n")
        assert "loss (log scale)" in out and "far too large, diverged at step 141" in out
        assert ESC not in out and max(map(len, out.splitlines())) <= 80


def test_plot_in_a_pipe_and_with_no_color_has_no_escapes(tmp_path):
    path = tmp_path / "runs.jsonl"
    assert main(["run", "learning-rate", "--steps", "30", "--format", "jsonl", "-o", str(path)]) == 0
    for env in ({}, {"NO_COLOR": "1"}):
        result = subprocess.run([sys.executable, "-m", "gdsim", "plot", str(path)], capture_output=True,
                                text=True, env={**_env(), **env})
        assert result.returncode == 0, result.stderr
        assert "loss" in result.stdout and ESC not in result.stdout


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "NO_COLOR"}


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    assert not use_colour(io.StringIO())
    assert use_colour(FakeTerminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(FakeTerminal())
    monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
    assert use_colour(FakeTerminal())
    steps = np.arange(50)
    trace = Trace("a", "a", steps, {"loss": np.exp(-steps / 5.0), "lr": np.full(50, 0.1)})
    coloured, plain = FakeTerminal(), io.StringIO()
    write_plots([trace], coloured, source="t", width=80)
    write_plots([trace], plain, source="t", width=80)
    assert ESC in coloured.getvalue() and ESC not in plain.getvalue()
    assert "loss (log scale)" in plain.getvalue() and "|grad|: not drawn (no finite values)" in plain.getvalue()


@pytest.mark.parametrize("name,content,expected", [
    ("empty.jsonl", "", "the file is empty"),
    ("bad.jsonl", '{"run": "a", "step": 0, "loss": 1}\n{oops\n', "bad.jsonl line 2: not a JSON record"),
    ("list.jsonl", "[1, 2]\n", "line 1: a JSON list, not an object"),
    ("nostep.jsonl", '{"run": "a", "loss": 1}\n', "line 1: 'step' is None, not a whole number >= 0"),
    ("word.jsonl", '{"run": "a", "step": 0, "loss": "low"}\n', "line 1: 'loss' is 'low', not a number or null"),
    ("nometric.jsonl", '{"run": "a", "step": 0}\n', "no record has any of loss, grad_norm"),
    ("cols.csv", "x,y\n1,2\n", "cols.csv line 1: the CSV header has no 'run' and 'step' columns (it has x, y)"),
    ("short.csv", "run,step,loss\na,0\n", "short.csv line 2: 2 cells where the header has 3"),
    ("nan.csv", "run,step,loss\na,0,lots\n", "nan.csv line 2: 'loss' is 'lots', not a number"),
])
def test_a_bad_file_gets_one_message_and_exit_2(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    status, out, err = run_cli(["plot", str(path)], capsys)
    assert status == 2 and out == ""
    assert err.startswith(f"gdsim: {path}") and expected in err
    assert "expected the records `gdsim run --format jsonl|csv -o FILE` writes" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_a_missing_file_a_folder_and_binary_data(tmp_path, capsys):
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    for path, expected in ((tmp_path / "nope.csv", "no such file"), (tmp_path, "cannot be read"),
                           (tmp_path / "bin.jsonl", "not UTF-8 text")):
        status, _, err = run_cli(["plot", str(path)], capsys)
        assert status == 2 and expected in err and "Traceback" not in err


def test_plot_with_records_on_stdout_is_refused(capsys):
    status, out, err = run_cli(["run", "learning-rate", "--plot", "--format", "jsonl"], capsys)
    assert status == 2 and out == ""
    assert "--plot with --format jsonl needs --output FILE" in err
