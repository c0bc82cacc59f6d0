"""The wheel carries the built-in scenarios and data, so a plain `pip install .` finds them."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_scenarios_and_data(tmp_path):
    build = pytest.importorskip("hatchling.build", reason="hatchling is in the [test] extra")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        name = build.build_wheel(str(tmp_path))
    finally:
        os.chdir(cwd)
    names = set(zipfile.ZipFile(tmp_path / name).namelist())
    shipped = {n.split("/")[-1] for n in names if n.startswith("gdsim/scenarios/") and n.endswith(".toml")}
    on_disk = {p.name for p in (ROOT / "scenarios").glob("*.toml")}
    assert on_disk and shipped == on_disk
    assert "gdsim/engine/data/iris.csv" in names
    assert "gdsim/app/gdsim.tcss" in names
    assert any(n.endswith("entry_points.txt") for n in names)
