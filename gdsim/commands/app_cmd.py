"""`gdsim [SCENARIO]`: open the app (or, until a terminal is available, explain how)."""

from __future__ import annotations

import argparse


def run_app(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gdsim", description="Open the gdsim app.")
    parser.add_argument("scenario", nargs="?", help="a built-in scenario id or a scenario file to open")
    args = parser.parse_args(argv)
    try:
        from gdsim.app.app import run as run_tui
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("gdsim.app"):
            raise
        from gdsim.commands.list_cmd import catalogue

        print("The gdsim app is not part of this build yet; built-in scenarios:")
        for id_, title, _, _ in catalogue():
            print(f"  {id_}: {title}")
        return 0
    return run_tui(args.scenario)
