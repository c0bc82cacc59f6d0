"""`gdsim schema` (JSON Schema from the models) and `gdsim new` (a starter scenario that verifies)."""

from __future__ import annotations

import json
import tomllib

import pytest

from gdsim.cli import main
from gdsim.commands.schema_cmd import scenario_schema
from gdsim.scenario.expect import Expectation
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario
from gdsim.scenario.model import Scenario
from gdsim.scenario.predict import Predict
from gdsim.scenario.verify import verify


def _resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["$defs"][ref.split("/")[-1]] if ref else node


def _check_keys(schema: dict, node: dict, data, where: str) -> None:
    """Every key a scenario file uses must be declared in the schema (or allowed as extra)."""
    node = _resolve(schema, node)
    if isinstance(data, dict):
        properties = node.get("properties", {})
        for key, value in data.items():
            if key in properties:
                _check_keys(schema, properties[key], value, f"{where}.{key}")
            else:
                assert node.get("additionalProperties", True) is not False, f"{where}.{key} not in the schema"
    elif isinstance(data, list):
        items = node.get("items") or (node.get("prefixItems") or [{}])[0]
        for index, value in enumerate(data):
            _check_keys(schema, items, value, f"{where}.{index}")


def test_schema_describes_every_table_and_forbids_unknown_keys():
    schema = scenario_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) == set(Scenario.model_fields)
    expectation = schema["$defs"]["Expectation"]
    assert set(expectation["properties"]) == set(Expectation.model_fields)
    assert expectation["additionalProperties"] is False
    assert expectation["required"] == ["because"]
    predict = schema["$defs"]["Predict"]
    assert set(predict["properties"]) == set(Predict.model_fields)
    assert predict["additionalProperties"] is False
    assert set(predict["required"]) == {"question", "choices", "answer", "shown_by"}
    assert "val_loss" in expectation["properties"]["metric"]["enum"]
    assert schema["$defs"]["OptimizerSpec"]["additionalProperties"] is False
    # TOML has no null: optional keys are left out, never typed as null.
    assert '"null"' not in json.dumps(schema)


@pytest.mark.parametrize("entry", [e for e in list_entries() if e.builtin], ids=lambda e: e.id)
def test_builtin_scenarios_use_only_keys_the_schema_knows(entry):
    schema = scenario_schema()
    with open(entry.path, "rb") as handle:
        _check_keys(schema, schema, tomllib.load(handle), entry.id)


def test_schema_prints_json_and_writes_a_file_atomically(tmp_path, capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == scenario_schema()
    target = tmp_path / "scenario.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text()) == printed
    target.write_text("keep me")
    assert main(["schema", "--output", str(target)]) == 2
    assert target.read_text() == "keep me"
    assert "already exists" in capsys.readouterr().err
    assert main(["schema", "--output", str(target), "--force"]) == 0
    assert json.loads(target.read_text()) == printed
    assert [p.name for p in tmp_path.iterdir()] == ["scenario.schema.json"]  # no temp files left


def test_new_writes_a_starter_that_loads_and_verifies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "my-first_lesson"]) == 0
    path = tmp_path / "my-first_lesson.toml"
    loaded = load_scenario(path)
    assert loaded.scenario.scenario.title == "My first lesson"
    assert "#" in path.read_text(), "the starter explains its keys in comments"
    result = verify(loaded)
    assert result.outcomes and result.failures == 0


def test_new_never_overwrites_without_force(tmp_path, capsys):
    path = tmp_path / "lesson.toml"
    path.write_text("mine")
    assert main(["new", str(path)]) == 2
    assert path.read_text() == "mine"
    assert "--force" in capsys.readouterr().err
    assert main(["new", str(tmp_path / "lesson"), "--force"]) == 0
    assert load_scenario(path).scenario.expect


def test_new_reports_a_missing_folder(tmp_path, capsys):
    assert main(["new", str(tmp_path / "nowhere" / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_docs_cover_every_key_and_metric_and_their_complete_example_verifies(tmp_path):
    import re
    from pathlib import Path

    from gdsim.scenario import model
    from gdsim.scenario.expect import METRICS

    docs = (Path(__file__).resolve().parent.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")
    from gdsim.scenario.columns import Column

    tables = (model.ScenarioInfo, model.ProblemSpec, model.OptimizerSpec, model.ScheduleSpec, model.RunSpec, Expectation,
              Predict, model.ViewSpec, Column)
    missing = [f"{cls.__name__}.{key}" for cls in tables for key in cls.model_fields if f"`{key}`" not in docs]
    missing += [f"metric {name}" for name in METRICS if f"`{name}`" not in docs]
    assert not missing, f"undocumented: {missing}"
    example = re.findall(r"```toml\n(.*?)```", docs, re.S)[-1]
    path = tmp_path / "example.toml"
    path.write_text(example)
    result = verify(load_scenario(path))
    assert result.outcomes and result.failures == 0
    assert result.predict is not None and result.predict.confirmed
