"""The wheel carries the built-in scenarios and data, so a plain `pip install .` finds them."""

from __future__ import annotations

import os
import sys
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
    assert "gdsim/engine/data/digits.csv.gz" in names and "gdsim/engine/data/README.md" in names
    assert "gdsim/app/gdsim.tcss" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_every_third_party_module_gdsim_imports_is_declared_and_nothing_unused():
    """What gdsim imports directly is in [project] dependencies (rich, imported by the canvas, was
    missing), and a declared dependency is imported somewhere (textual-plotext never was)."""
    import ast
    import importlib.metadata
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    imported = set()
    for path in (ROOT / "gdsim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    dists = importlib.metadata.packages_distributions()
    third_party = {m for m in imported - set(sys.stdlib_module_names) - {"gdsim"}}
    used = {d.lower() for m in third_party for d in dists.get(m, [m])}
    assert "rich" in used and "plotext" in used
    assert used <= declared, f"imported but not declared: {sorted(used - declared)}"
    assert declared <= used, f"declared but never imported: {sorted(declared - used)}"
