"""The headless CLI: formats, determinism, overrides, safe output files, and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gdsim.cli import main

DATA = Path(__file__).resolve().parent / "data"
MIXED = str(DATA / "mixed.toml")
NOISY = str(DATA / "noisy.toml")


def run_cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_jsonl_fields_and_steps(capsys):
    status, out, _ = run_cli(["run", MIXED, "--format", "jsonl", "--steps", "5"], capsys)
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 6 * 6  # 6 runs (3 + an ensemble of 3), steps 0..5
    first = records[0]
    assert list(first) == ["run", "seed", "step", "loss", "grad_norm", "velocity_norm", "lr", "params", "diverged"]
    assert first["step"] == 0 and first["params"] == [-1.0, 0.0]
    assert first["loss"] == 164.0  # Himmelblau at (-1, 0): (1 - 11)^2 + (-1 - 7)^2
    assert {r["run"] for r in records} >= {"left", "adam", "big", "ens (seed 1)", "ens (seed 3)"}
    adam = [r for r in records if r["run"] == "adam"]
    assert adam[0]["velocity_norm"] == 0.0 and adam[1]["velocity_norm"] > 0
    assert all(r["velocity_norm"] is None for r in records if r["run"] == "left")


def test_divergence_is_reported_not_raised(capsys):
    status, out, _ = run_cli(["run", MIXED, "--format", "jsonl", "--steps", "40"], capsys)
    assert status == 0
    big = [json.loads(line) for line in out.splitlines() if '"run": "big"' in line]
    assert big[0]["diverged"] is False and big[-1]["diverged"] is True
    assert all(r["loss"] is not None for r in big)
    _, summary, _ = run_cli(["run", MIXED, "--format", "summary", "--steps", "40"], capsys)
    assert "diverged at step" in summary


def test_same_seed_is_byte_identical_and_seeds_differ(capsys):
    _, a, _ = run_cli(["run", NOISY, "--format", "jsonl"], capsys)
    _, b, _ = run_cli(["run", NOISY, "--format", "jsonl"], capsys)
    _, c, _ = run_cli(["run", NOISY, "--format", "jsonl", "--set", "scenario.seed=8"], capsys)
    assert a == b
    assert a != c
    finals = [json.loads(line)["params"] for line in a.splitlines()[-3:]]
    assert finals[0] != finals[1] != finals[2]


def test_subprocess_output_identical_across_processes():
    cmd = [sys.executable, "-m", "gdsim", "run", NOISY, "--format", "csv"]
    one = subprocess.run(cmd, capture_output=True, check=True).stdout
    two = subprocess.run(cmd, capture_output=True, check=True).stdout
    assert one == two and one.count(b"\n") == 1 + 3 * 61


def test_set_overrides(capsys):
    status, out, _ = run_cli(["run", MIXED, "--format", "jsonl", "--steps", "0",
                              "--set", "runs.0.start=[1.0, 2.0]", "--set", "optimizer.lr=0.5"], capsys)
    assert status == 0
    first = json.loads(out.splitlines()[0])
    assert first["params"] == [1.0, 2.0] and first["lr"] == 0.5


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "no-such-scenario"], "no built-in scenario"),
        (["run", "missing.toml"], "no such file"),
        (["run", MIXED, "--set", "optimizer.lr=-1"], "optimizer.lr"),
        (["run", MIXED, "--set", "optimizer.betas=[0.9, 0.99]"], "betas"),
        (["run", MIXED, "--set", "problem.surface=nowhere"], "unknown surface"),
        (["run", MIXED, "--set", "problem.condition=3"], "condition"),
        (["run", MIXED, "--set", "runs.0.start=[1.0]"], "runs.0.start"),
        (["run", MIXED, "--set", "optimizer.name=newtonian"], "optimizer"),
        (["run", MIXED, "--steps", "-3"], "--steps"),
        (["check", MIXED, str(DATA / "nope.toml")], "no such file"),
    ],
)
def test_user_errors_exit_2_with_a_message(args, expected, capsys):
    status, _, err = run_cli(args, capsys)
    assert status == 2
    assert expected in err
    assert "Traceback" not in err


def test_bad_file_in_subprocess_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[scenario\x00]")
    result = subprocess.run([sys.executable, "-m", "gdsim", "check", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert str(bad) in result.stderr and "Traceback" not in result.stderr


def test_check_ok(capsys):
    status, out, _ = run_cli(["check", MIXED, NOISY], capsys)
    assert status == 0 and out.count("ok:") == 2


def test_output_is_atomic_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "out.jsonl"
    assert run_cli(["run", NOISY, "--format", "jsonl", "-o", str(target)], capsys)[0] == 0
    written = target.read_text()
    assert written.count("\n") == 3 * 61
    target.write_text("precious")
    status, _, err = run_cli(["run", NOISY, "--format", "jsonl", "-o", str(target)], capsys)
    assert status == 2 and "already exists" in err
    assert target.read_text() == "precious"
    assert run_cli(["run", NOISY, "--format", "jsonl", "-o", str(target), "--force"], capsys)[0] == 0
    assert target.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temp files left


def test_table_and_summary_are_readable(capsys):
    status, out, _ = run_cli(["run", MIXED, "--steps", "100"], capsys)
    assert status == 0
    assert "left (seed 1)" in out and "  global min (-2.81, 3.13)\n" in out
    assert "  diverged at step 4\n" in out  # 'big', in the states' words (engine/states.py)
    assert "(no |velocity|: sgd keeps no momentum buffer)" in out and "|velocity|" in out.split("adam")[1]
    status, out, _ = run_cli(["run", MIXED, "--format", "summary", "--steps", "100"], capsys)
    assert out.startswith("6 runs after 100 steps\n") and "ens: 3 runs (seeds 1 to 3)" in out
    assert max(map(len, out.splitlines())) <= 80


def test_python_dash_m_and_help():
    result = subprocess.run([sys.executable, "-m", "gdsim", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "run" in result.stdout and "check" in result.stdout


def test_generator_keys_refused_for_fixed_data_sets(tmp_path, capsys):
    scenario = tmp_path / "iris.toml"
    scenario.write_text('[scenario]\ntitle = "t"\nclaim = "c"\nsteps = 5\n\n'
                        '[problem]\ndataset = "iris"\nmodel = "softmax"\nsamples = 50\n')
    status, _, err = run_cli(["check", str(scenario)], capsys)
    assert status == 2 and "problem.samples" in err and "iris" in err
    scenario.write_text(scenario.read_text().replace("samples = 50\n", ""))
    status, out, _ = run_cli(["run", str(scenario), "--format", "summary"], capsys)
    assert status == 0 and "validation: loss" in out and "accuracy" in out


def test_out_of_memory_is_one_line_and_its_own_exit_status(monkeypatch, capsys):
    from gdsim import cli
    from gdsim.errors import MEMORY_EXIT

    def allocate():
        raise MemoryError()

    monkeypatch.delenv("GDSIM_SERVED", raising=False)
    assert cli._guard(allocate) == MEMORY_EXIT
    assert capsys.readouterr().err == "gdsim: gdsim ran out of memory\n"
    monkeypatch.setenv("GDSIM_SERVED", "1")  # served: the SSH server tells the participant, once
    assert cli._guard(allocate) == MEMORY_EXIT
    assert capsys.readouterr().err == ""


def test_out_of_memory_wrapped_in_another_error_is_still_one_line(monkeypatch, capsys):
    import pytest

    from gdsim import cli
    from gdsim.errors import MEMORY_EXIT

    def wrapped():
        try:
            raise MemoryError()
        except MemoryError as exc:
            raise ValueError("uncompilable regex") from exc  # what pygments raises

    monkeypatch.delenv("GDSIM_SERVED", raising=False)
    assert cli._guard(wrapped) == MEMORY_EXIT
    assert capsys.readouterr().err == "gdsim: gdsim ran out of memory\n"
    with pytest.raises(ValueError):  # any other error is not hidden
        cli._guard(lambda: int("x"))


def test_a_reader_that_goes_away_is_not_an_error():
    """`gdsim run ... | head -1`: the pipe closes under a long output; no traceback, exit 0."""
    cmd = [sys.executable, "-m", "gdsim", "run", "global-minimum", "--format", "jsonl"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err
