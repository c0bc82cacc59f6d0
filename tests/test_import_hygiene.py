"""The engine and the headless CLI stay free of the UI: importing them never loads textual/rich/plotext."""

from __future__ import annotations

import pytest

from tests.imports import imported

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
        "gdsim.app.runtime.room_link",  # the app's end of the classroom: no Textual (ROOM.md)
        "gdsim.serve.room",
    ],
)
def test_module_does_not_import_ui(module):
    loaded = imported(f"import {module}", UI)
    assert loaded == [], f"{module} imports {loaded}"
