"""Changes at step k agree with torch.optim, where the same change is made by editing param_groups
(or making a new optimizer, or a new scheduler continuing at the step count) at the same step.

tests/data/golden/changes-*.toml and tests/golden/change_golden.json were made together by
tests/golden/make_change_golden.py with torch 2.13.0; this test needs no torch. The same changes
given on the command line (`--at STEP:KEY=VALUE --run LABEL`) must give byte-identical output.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from gdsim.cli import main

HERE = Path(__file__).resolve().parent
GOLDEN = json.loads((HERE / "golden" / "change_golden.json").read_text())
CASES = sorted(GOLDEN["cases"])


def run_text(args: list[str], capsys) -> str:
    assert main(["run", *args, "--format", "jsonl"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("case", CASES)
def test_changes_match_torch(case, capsys):
    records = [json.loads(line) for line in run_text([str(HERE / "data" / "golden" / f"{case}.toml")], capsys).splitlines()]
    expected = GOLDEN["cases"][case]
    assert {r["run"] for r in records} == set(expected)
    for label, reference in expected.items():
        mine = [r for r in records if r["run"] == label]
        assert [r["step"] for r in mine] == list(range(len(reference["params"])))
        assert not any(r["diverged"] for r in mine)
        np.testing.assert_allclose([r["lr"] for r in mine], reference["lr"], rtol=1e-12, err_msg=f"{case}/{label} lr")
        np.testing.assert_allclose([r["params"] for r in mine], reference["params"], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case}/{label} params")
        np.testing.assert_allclose([r["loss"] for r in mine], reference["loss"], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case}/{label} loss")


def _flat(prefix: str, table: dict) -> list[tuple[str, object]]:
    out = []
    for key, value in table.items():
        if isinstance(value, dict):
            out += _flat(f"{prefix}{key}.", value)
        else:
            out.append((f"{prefix}{key}", value))
    return out


@pytest.mark.parametrize("case", CASES)
def test_at_options_give_the_file_form(case, capsys, tmp_path):
    """The file's [[runs.changes]] stripped and given back as --at options: the same bytes."""
    path = HERE / "data" / "golden" / f"{case}.toml"
    raw = tomllib.loads(path.read_text())
    text = path.read_text()
    head = text[: text.index("[[runs]]")]
    options, body = [], []
    for run in raw["runs"]:
        for change in run.pop("changes", []):
            at = change.pop("at")
            for key, value in _flat("", change):
                shown = json.dumps(list(value)) if isinstance(value, list) else json.dumps(value)
                options += ["--at", f"{at}:runs.{run['label']}.{key}={shown}"]
        body.append("[[runs]]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in run.items()))
    bare = tmp_path / "bare.toml"
    bare.write_text(head + "\n\n".join(body) + "\n")
    assert len(options) >= 6
    assert run_text([str(bare), *options], capsys) == run_text([str(path)], capsys)


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if not isinstance(value, float) else repr(value)
