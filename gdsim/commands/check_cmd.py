"""`gdsim check FILE...`: validate scenario files (and, with --verify, run their expectations)."""

from __future__ import annotations

import sys

from gdsim.errors import UserError
from gdsim.scenario.library import list_entries, resolve


def register(sub) -> None:
    parser = sub.add_parser("check", help="validate scenario files; exit 0 if all are valid, 2 if not")
    parser.add_argument("files", nargs="*", metavar="FILE", help="scenario files or built-in ids (default: all built-ins)")
    parser.add_argument("--verify", action="store_true", help="also run each scenario and check its [[expect]] entries")
    parser.set_defaults(func=run)


def run(args) -> int:
    from gdsim.scenario.load import load_scenario  # pydantic and the engine: only when checking

    targets = args.files or [entry.id for entry in list_entries()]
    failed = 0
    see = None  # where to read about what was wrong, said once after the list
    loaded_all = []
    for name in targets:
        try:
            path = resolve(name)
            loaded = load_scenario(path, id=path.stem)
        except UserError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            failed += 1
            see = see or exc.see
            continue
        loaded_all.append(loaded)
        print(f"ok: {loaded.where}")
    if see:
        print(f"({see})", file=sys.stderr)
    if args.verify and loaded_all:
        from gdsim.scenario.verify import verify_report

        failed += verify_report(loaded_all)
    return 2 if failed else 0
