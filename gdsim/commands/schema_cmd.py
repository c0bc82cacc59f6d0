"""`gdsim schema`: the JSON Schema of scenario files, generated from the pydantic models.

Editors that understand JSON Schema (e.g. VS Code with the Even Better TOML extension, or
taplo) use it to complete and check keys while a scenario file is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gdsim.fileio import write_text_atomic

def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) for a scenario file."""
    from gdsim.scenario.model import Scenario  # pydantic: only when the schema is asked for

    schema = _drop_null(Scenario.model_json_schema(mode="validation"))
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gdsim scenario",
        "description": "A gdsim scenario file (TOML): one lesson about gradient descent. "
        "Every key with its default and range: `gdsim docs scenarios`.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }
    return schema


def _drop_null(node: Any) -> Any:
    """TOML has no null: an optional key is simply left out, so `anyOf [X, null]` becomes X."""
    if isinstance(node, list):
        return [_drop_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _drop_null(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        if node.get("default", 0) is None:
            del node["default"]
        if len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
    return node


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=False) + "\n"


def register(sub) -> None:
    parser = sub.add_parser("schema", help="print the JSON Schema of scenario files (for editors)")
    parser.add_argument("--output", "-o", type=Path, help="write the schema to this file (atomically)")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)


def run(args) -> int:
    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(args.output, text, overwrite=args.force)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
