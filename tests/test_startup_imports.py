"""What each way of starting gdsim imports: only what its first screen needs.

Startup time is measured in benchmarks/bench_app.py; these tests guard the structure it relies
on (lazy imports), by looking at sys.modules in a fresh interpreter, never at a clock.
"""

from __future__ import annotations

import pytest

from tests.imports import imported

MARKDOWN = ("textual.widgets._markdown", "markdown_it")
ENGINE = ("numpy", "gdsim.engine", "gdsim.build", "gdsim.app.session", "gdsim.app.screens.scenario")
SERVE = ("asyncssh", "textual_serve", "gdsim.serve.ssh", "gdsim.serve.web")

CASES = {
    # `gdsim --help`, and every start of the app, builds the sub-command parser first.
    "cli parser": (
        "import gdsim.cli; gdsim.cli.build_parser()",
        ("numpy", "pydantic", "textual", "rich", "gdsim.engine", "gdsim.scenario.load", *SERVE),
    ),
    # The app module alone: screens and the palette provider come when first used.
    "app module": (
        "import gdsim.app.app",
        (*ENGINE, *MARKDOWN, *SERVE, "gdsim.app.screens.picker", "gdsim.app.screens.help",
         "gdsim.app.commands", "gdsim.app.export"),
    ),
    # `gdsim` alone: the list of scenarios needs pydantic, not NumPy or the engine.
    "picker": (
        "import gdsim.app.app, gdsim.app.screens.picker, gdsim.app.commands",
        (*ENGINE, *MARKDOWN, *SERVE),
    ),
    # `gdsim SCENARIO`: the lesson's Markdown is imported when its panel is first shown.
    "scenario screen": (
        "import gdsim.app.app, gdsim.app.screens.scenario",
        (*MARKDOWN, *SERVE, "gdsim.app.screens.picker", "gdsim.app.screens.help"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_startup_imports_only_what_the_first_screen_needs(case):
    statement, forbidden = CASES[case]
    loaded = imported(statement, forbidden)
    assert loaded == [], f"{case}: {statement!r} imports {loaded}"


def test_the_check_itself_sees_imports():
    """The same check, on a statement that does import NumPy, reports it (so the test can fail)."""
    assert "numpy" in imported("import gdsim.build", ("numpy",))
