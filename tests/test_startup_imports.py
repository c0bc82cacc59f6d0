"""What each way of starting gdsim imports: only what its first screen needs.

Startup time is measured in benchmarks/bench_app.py; these tests guard the structure it relies
on (lazy imports), by looking at sys.modules in a fresh interpreter, never at a clock.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

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
    code = (
        f"import sys\n{statement}\n"
        f"hits = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {forbidden!r}))\n"
        "print(','.join(hits))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{case}: {statement!r} imports {result.stdout.strip()}"


def test_the_check_itself_sees_imports():
    """The same check, on a statement that does import NumPy, reports it (so the test can fail)."""
    code = "import sys, gdsim.build\nprint('numpy' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
