"""The engine and the headless CLI stay free of the UI: importing them never loads textual/rich/plotext."""

from __future__ import annotations

import subprocess
import sys

import pytest

UI = ("textual", "rich", "plotext", "textual_plotext")


@pytest.mark.parametrize(
    "module",
    [
        "gdsim.engine.simulation",
        "gdsim.engine.problem",
        "gdsim.engine.optimizers",
        "gdsim.engine.schedules",
        "gdsim.engine.surfaces",
        "gdsim.engine.expression",
        "gdsim.engine.learning",
        "gdsim.build",
        "gdsim.cli",
    ],
)
def test_module_does_not_import_ui(module):
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {UI!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
