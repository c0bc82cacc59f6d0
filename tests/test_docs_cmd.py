"""`gdsim docs` prints the documentation an installed gdsim carries; `gdsim new` without a name."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gdsim.cli import main
from gdsim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def run_cli(args, capsys):
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("topic,name", [("scenarios", "scenarios.md"), ("presenters", "presenters-guide.md")])
def test_docs_prints_each_document(capsys, topic, name):
    status, out, err = run_cli(["docs", topic], capsys)
    assert status == 0 and err == ""
    assert out == (ROOT / "docs" / name).read_text(encoding="utf-8")


def test_docs_without_a_topic_lists_them_and_an_unknown_one_is_refused(capsys):
    status, out, _ = run_cli(["docs"], capsys)
    assert status == 0
    assert "gdsim docs scenarios" in out and "gdsim docs presenters" in out
    status, out, err = run_cli(["docs", "tutorial"], capsys)
    assert status == 2 and out == ""
    assert err == "gdsim: gdsim docs tutorial: no such topic; choose one of: scenarios, presenters\n"


def test_an_installed_wheel_carries_the_docs_and_prints_them(tmp_path):
    """Built as pip would, unpacked where nothing else is: `gdsim docs` reads the wheel's copies."""
    build = pytest.importorskip("hatchling.build", reason="hatchling is in the [test] extra")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        wheel = build.build_wheel(str(tmp_path))
    finally:
        os.chdir(cwd)
    site = tmp_path / "site"
    with zipfile.ZipFile(tmp_path / wheel) as archive:
        names = set(archive.namelist())
        assert {"gdsim/docs/scenarios.md", "gdsim/docs/presenters-guide.md"} <= names
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import gdsim, sys; from gdsim.commands.docs_cmd import docs_dir; "
            "print(gdsim.__file__); print(docs_dir()); sys.exit(__import__('gdsim.cli').cli.main(['docs', 'presenters']))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    first, second, text = result.stdout.split("\n", 2)
    assert first.startswith(str(site)) and second == str(site / "gdsim" / "docs")
    assert text == (ROOT / "docs" / "presenters-guide.md").read_text(encoding="utf-8")


def test_new_without_a_name_writes_the_next_free_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-scenario-2.toml").write_text("mine")
    for expected in ("my-scenario.toml", "my-scenario-3.toml"):
        status, _, err = run_cli(["new"], capsys)
        assert status == 0 and f"wrote {expected}" in err
        assert load_scenario(tmp_path / expected).scenario.expect
    assert (tmp_path / "my-scenario-2.toml").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-scenario-2.toml", "my-scenario-3.toml", "my-scenario.toml"]


def test_the_starter_and_scenario_errors_point_to_gdsim_docs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "lesson"]) == 0
    text = (tmp_path / "lesson.toml").read_text()
    assert "`gdsim docs scenarios`" in text and "docs/scenarios.md" not in text
    assert "gdsim docs scenarios" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text(text.replace('lr = 0.05', 'lr = "fast"'))
    for argv in (["run", "bad.toml"], ["check", "bad.toml"]):
        status, _, err = run_cli(argv, capsys)
        assert status == 2 and "optimizer.lr (line" in err
        assert "every key, its default and range: gdsim docs scenarios" in err
