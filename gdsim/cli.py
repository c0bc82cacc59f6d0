"""The `gdsim` command: headless sub-commands (list, check, run, ...) and, alone, the app.

Each sub-command lives in its own module under gdsim/commands/ and registers itself through
`register(subparsers)`; the app and the servers are imported lazily so that headless use never
pays for Textual.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from gdsim.errors import UserError

# Sub-commands by name, and the module that registers each: register(subparsers) adds its parser
# with set_defaults(func=...) where func(args) -> int (the exit status). The names are known here so
# that `gdsim [SCENARIO]` opens the app without building every sub-command's parser (importing
# their modules and building ten argparse parsers took ~60 ms of the app's start).
COMMANDS = {
    "list": "gdsim.commands.list_cmd",
    "check": "gdsim.commands.check_cmd",
    "run": "gdsim.commands.run_cmd",
    "sweep": "gdsim.commands.sweep_cmd",
    "schema": "gdsim.commands.schema_cmd",
    "new": "gdsim.commands.new_cmd",
    "plot": "gdsim.commands.plot_cmd",
    "landscape": "gdsim.commands.landscape_cmd",
    "docs": "gdsim.commands.docs_cmd",
    "serve": "gdsim.serve.command",
}
COMMAND_MODULES = list(COMMANDS.values())


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="gdsim",
        description="A terminal teaching simulator for gradient descent. "
        "Run without a sub-command to open the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a feature not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # pydantic looks for plugins in every installed distribution's entry points at the first model
    # it builds (~10 ms of the app's start); gdsim uses none. A value set by the user is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # The engine's arrays are small: BLAS threads never pay off, and on a busy machine OpenBLAS's
    # threads made a 100-run network cohort 3-10x slower (a 12,900-element np.dot in the bound
    # check took ms, not µs). Must be set before NumPy is first imported; a user's value is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        # The app's start makes tens of thousands of objects that live as long as it does (~55,000
        # tracked ones after the imports alone: modules, classes, functions, then widgets); the
        # cyclic garbage collector would scan them again and again while they are made (~80 ms of
        # the first frame, measured in a terminal). What the imports made is then set aside
        # (gc.freeze, gdsim.app.app.run), and the first screen turns the collector back on once it
        # is up (gdsim.app.app.collect_garbage_again).
        gc.disable()
        from gdsim.commands.app_cmd import run_app

        return _guard(lambda: run_app(argv))
    args = build_parser().parse_args(argv)
    return _guard(lambda: args.func(args))


def _guard(call) -> int:
    """Turn every error a user can cause into a one-paragraph message and exit status 2."""
    try:
        return int(call() or 0)
    except UserError as exc:
        message = f"gdsim: {exc}"
        if exc.see and exc.see not in message:
            message += f" ({exc.see})"
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gdsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gdsim run ... | head`: the reader has gone; not an error
        # Python would also report the pipe at exit when it flushes stdout: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # out of memory, or any error in a served session: one line, no traceback
        from gdsim.errors import INTERNAL_EXIT, MEMORY_EXIT, memory_message, ran_out_of_memory, report_internal_error

        served = os.environ.get("GDSIM_SERVED") == "1"
        if ran_out_of_memory(exc):
            if not served:  # served: the server says it, once
                print(f"gdsim: {memory_message(False)}", file=sys.stderr)
            return MEMORY_EXIT
        if not served:
            raise
        # Served: the traceback goes to the presenter's server log; the server's closing line
        # for INTERNAL_EXIT tells the participant.
        report_internal_error(exc)
        return INTERNAL_EXIT

