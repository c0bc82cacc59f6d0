"""What each way of starting gdsim imports: only what its first screen needs.

Startup time is measured in benchmarks/bench_app.py; these tests guard the structure it relies
on (lazy imports), by looking at sys.modules in a fresh interpreter, never at a clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gdsim.cli import COMMANDS, build_parser
from tests.imports import imported

THREE_RUNS = Path(__file__).parent / "app" / "data" / "three_runs.toml"

MARKDOWN = ("textual.widgets._markdown", "markdown_it")
ENGINE = ("numpy", "gdsim.engine", "gdsim.build", "gdsim.app.runtime.session", "gdsim.app.screens.scenario")
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


# Opening a scenario as `gdsim SCENARIO` does, up to its first frame (headless, 120x40).
OPEN_SCENARIO = f"""
import asyncio
from gdsim.app.app import GdsimApp
from gdsim.app.runtime.session import Session
from gdsim.scenario.load import load_scenario

async def first_frame():
    app = GdsimApp(Session(load_scenario({str(THREE_RUNS)!r}, trial_build=False)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.screen.redraws >= 1

asyncio.run(first_frame())
"""
# What the first frame of a surface scenario with a plain-Markdown lesson does not need: the
# Markdown widget (and markdown-it, pygments), the expression parser, the engine worker, the
# other screens, the palette's provider, the servers.
NOT_ON_THE_FIRST_FRAME = (
    *MARKDOWN, "pygments", "gdsim.engine.expression", "gdsim.engine.expression_ad", "gdsim.app.runtime.engine_worker",
    "gdsim.app.screens.picker", "gdsim.app.screens.help", "gdsim.app.commands", *SERVE,
)


def test_opening_a_scenario_imports_only_what_its_first_frame_needs():
    loaded = imported(OPEN_SCENARIO, NOT_ON_THE_FIRST_FRAME)
    assert loaded == [], f"opening {THREE_RUNS.name} imports {loaded}"


@pytest.mark.parametrize("case", list(CASES))
def test_startup_imports_only_what_the_first_screen_needs(case):
    statement, forbidden = CASES[case]
    loaded = imported(statement, forbidden)
    assert loaded == [], f"{case}: {statement!r} imports {loaded}"


def test_the_check_itself_sees_imports():
    """The same check, on a statement that does import NumPy, reports it (so the test can fail)."""
    assert "numpy" in imported("import gdsim.build", ("numpy",))


def test_gdsim_scenario_builds_no_sub_command_parser():
    """`gdsim SCENARIO` goes straight to the app: the sub-commands' modules are not imported."""
    statement = (
        "import gdsim.cli, gdsim.commands.app_cmd as app_cmd\n"
        "app_cmd.run_app = lambda argv: 0\n"
        f"assert gdsim.cli.main([{str(THREE_RUNS)!r}]) == 0"
    )
    commands = [module for module in COMMANDS.values()]
    assert imported(statement, commands) == []
    assert imported("import gdsim.cli; gdsim.cli.build_parser()", commands) != []  # the check sees them


def test_the_cli_knows_every_sub_command_by_name():
    parser = build_parser()
    assert sorted(parser._subparsers._group_actions[0].choices) == sorted(COMMANDS)


def test_the_cli_keeps_blas_single_threaded_unless_the_user_says_otherwise():
    """OpenBLAS threads made network cohorts 3-10x slower on a busy machine (h3, issue 12):
    the CLI asks for one thread before NumPy is imported, and keeps a value the user set."""
    import os
    import subprocess
    import sys

    code = ("import os, gdsim.cli; gdsim.cli.main(['list']); "
            "import numpy; print('OUT', os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "OUT 1" in out
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "OUT 2" in out
