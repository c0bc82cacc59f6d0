"""`gdsim list`: the built-in scenarios with their titles and the claims they take apart."""

from __future__ import annotations

import json
import sys

from gdsim.scenario.library import list_entries


def register(sub) -> None:
    parser = sub.add_parser("list", help="list the built-in scenarios")
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    parser.set_defaults(func=run)


def catalogue() -> list[tuple[str, str, str, int]]:
    """(id, title, claim, order) of every listed scenario that loads; broken ones are reported."""
    from gdsim.scenario.load import ScenarioError, load_scenario  # pydantic: only when listing

    rows = []
    for entry in list_entries():
        try:
            info = load_scenario(entry.path, id=entry.id, trial_build=False).scenario.scenario
        except ScenarioError as exc:
            print(f"gdsim: skipping {exc}", file=sys.stderr)
            continue
        rows.append((entry.id, info.title, info.claim, info.order))
    rows.sort(key=lambda row: (row[3], row[0]))
    return rows


def run(args) -> int:
    rows = catalogue()
    if args.format == "jsonl":
        for id_, title, claim, _ in rows:
            print(json.dumps({"id": id_, "title": title, "claim": claim}))
        return 0
    if not rows:
        print("no scenarios found")
        return 0
    width = max(len(r[0]) for r in rows)
    for id_, title, claim, _ in rows:
        print(f"{id_:<{width}}  {title}")
        print(f"{'':<{width}}  claim: {claim}")
    return 0
