"""The built-in library: every scenario is complete, and every one of its expectations holds."""

from __future__ import annotations

import io

import pytest

from gdsim.cli import main
from gdsim.scenario.library import list_entries
from gdsim.scenario.load import load_scenario
from gdsim.scenario.verify import verify, verify_report

ENTRIES = {entry.id: entry for entry in list_entries() if entry.builtin}
IDS = sorted(ENTRIES)

# The misconceptions and topics issue 5 asks for, each with the scenario that covers it.
REQUIRED = {
    "global-minimum": "always finds the global minimum",
    "deterministic": "is deterministic",
    "single-step": "converges in a single step",
    "right-optimizer": "always the right optimizer",
    "overfitting": "always converges to a good solution",
    "learning-rate": "the learning rate hardly matters",
    "saddle-point": "saddle points",
    "plateau": "plateaus",
    "momentum-overshoot": "momentum only ever helps",
    "batch-size": "batch size only changes speed",
    "vanishing-gradients": "vanishing gradients",
    "exploding-gradients": "exploding gradients",
    "zero-init": "initialization does not matter",
    "feature-scaling": "feature scaling does not matter",
    "lr-schedule": "a schedule is not needed",
    "local-minima-networks": "local minima ruin big networks",
    "adam-defaults": "well-tuned SGD beats Adam",
}


def test_every_required_lesson_is_in_the_library():
    missing = sorted(set(REQUIRED) - set(IDS))
    assert not missing, f"missing scenarios: {missing}"


@pytest.fixture(scope="module")
def loaded_all():
    return {id_: load_scenario(ENTRIES[id_].path, id=id_) for id_ in IDS}


@pytest.mark.parametrize("scenario_id", IDS)
def test_scenario_is_a_complete_lesson(scenario_id, loaded_all):
    info = loaded_all[scenario_id].scenario.scenario
    assert scenario_id == scenario_id.lower() and " " not in scenario_id and "_" not in scenario_id
    assert info.title and info.claim
    paragraphs = [p for p in info.lesson.strip().split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2, "the lesson should be a few short paragraphs"
    assert len(info.try_this) >= 3
    assert len(loaded_all[scenario_id].scenario.expect) >= 3, "expectations must prove the point"
    assert info.steps <= 3000, "defaults must show the point quickly in the app"


@pytest.mark.parametrize("scenario_id", IDS)
def test_scenario_verifies(scenario_id, loaded_all):
    result = verify(loaded_all[scenario_id])
    failed = [f"{o.expectation.because} -> {o.measured}" for o in result.outcomes if not o.passed]
    assert result.outcomes and not failed, "\n".join(failed)
    # issue 12: every built-in scenario asks a question first, and its run confirms the answer
    assert loaded_all[scenario_id].scenario.predict is not None, "no [predict] question"
    assert result.predict is not None and result.predict.confirmed


def test_the_five_misconceptions_come_first(loaded_all):
    orders = {id_: loaded.scenario.scenario.order for id_, loaded in loaded_all.items()}
    first = sorted(orders, key=lambda id_: (orders[id_], id_))[:5]
    assert first == ["global-minimum", "deterministic", "single-step", "right-optimizer", "overfitting"]
    assert len(set(orders.values())) == len(orders), "orders must be distinct so the list is stable"


def test_report_and_cli_verify(capsys):
    out = io.StringIO()
    loaded = load_scenario(ENTRIES["global-minimum"].path, id="global-minimum")
    assert verify_report([loaded], out) == 0
    assert "global-minimum: ok" in out.getvalue()
    assert main(["check", "--verify", "single-step", "learning-rate"]) == 0
    printed = capsys.readouterr().out
    assert "single-step: ok" in printed and "learning-rate: ok" in printed


def test_docs_list_every_builtin_scenario():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    library = docs.split("## The built-in library", 1)[1].split("\n## ", 1)[0]
    missing = [id_ for id_ in IDS if f"| `{id_}` |" not in library]
    assert not missing, f"add to the library table in docs/scenarios.md: {missing}"
