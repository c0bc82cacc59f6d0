"""Whole scenarios through `gdsim run --format jsonl` agree with torch.optim (float64) to 1e-9.

The scenario files in tests/data/golden/ and tests/golden/run_golden.json were made together by
tests/golden/make_run_golden.py with torch 2.13.0; this test needs no torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gdsim.cli import main

HERE = Path(__file__).resolve().parent
GOLDEN = json.loads((HERE / "golden" / "run_golden.json").read_text())
CASES = sorted(GOLDEN["cases"])


def run_jsonl(path: Path, capsys) -> list[dict]:
    assert main(["run", str(path), "--format", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("case", CASES)
def test_scenario_matches_torch(case, capsys):
    records = run_jsonl(HERE / "data" / "golden" / f"{case}.toml", capsys)
    expected = GOLDEN["cases"][case]
    assert {r["run"] for r in records} == set(expected)
    for label, reference in expected.items():
        mine = [r for r in records if r["run"] == label]
        assert [r["step"] for r in mine] == list(range(len(reference["params"])))
        assert not any(r["diverged"] for r in mine)
        np.testing.assert_allclose([r["params"] for r in mine], reference["params"], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case}/{label} params")
        np.testing.assert_allclose([r["loss"] for r in mine], reference["loss"], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case}/{label} loss")
        np.testing.assert_allclose([r["lr"] for r in mine], reference["lr"], rtol=1e-12,
                                   err_msg=f"{case}/{label} lr")
