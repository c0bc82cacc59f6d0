"""Per-step records of a simulation as plain dicts, and their text forms (JSON lines, CSV, table)."""

from __future__ import annotations

import json
import math
from typing import Any, Iterator

import numpy as np

from gdsim.engine.simulation import Simulation
from gdsim.words import plural

# What an evaluation step adds to a record, by task (the metrics come from gdsim/engine/metrics.py).
CLASSIFICATION_KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_precision",
                       "val_precision", "train_recall", "val_recall")
REGRESSION_KEYS = ("train_loss", "val_loss", "train_mae", "val_mae", "train_mse", "val_mse")
EVAL_KEYS = CLASSIFICATION_KEYS[:4]  # the keys every version of the records had


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def step_records(sim: Simulation, *, with_params: bool | None = None) -> Iterator[dict[str, Any]]:
    """One record per run for the simulation's current step, in the documented jsonl field order."""
    loss, grad_norm, velocity_norm, lr = sim.loss, sim.grad_norm, sim.velocity_norm, sim.lr
    diverged = sim.diverged_at >= 0
    params = sim.params if (with_params or sim.small) else None
    epoch = sim.epoch()
    evaluation = sim.evaluation() if epoch is not None else {}
    classification = _is_classification(sim)
    for r, run in enumerate(sim.runs):
        record: dict[str, Any] = {
            "run": run.label,
            "seed": run.seed,
            "step": sim.step_count,
            "loss": _num(loss[r]),
            "grad_norm": _num(grad_norm[r]),
            "velocity_norm": _num(velocity_norm[r]),
            "lr": _num(lr[r]),
        }
        if params is not None:
            record["params"] = [_num(p) for p in params[r]]
        record["diverged"] = bool(diverged[r])
        if epoch is not None:
            record["epoch"] = _num(epoch[r])
            for key in CLASSIFICATION_KEYS if classification else REGRESSION_KEYS:
                value = evaluation.get(key)
                record[key] = None if value is None else _num(value[r])
        yield record


def _is_classification(sim: Simulation) -> bool:
    return any(getattr(c.problem, "task", "regression") != "regression" for c in sim.cohorts)


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False, separators=(", ", ": "))


def csv_header(record: dict[str, Any]) -> list[str]:
    names = []
    for key, value in record.items():
        if key == "params":
            names.extend(f"param_{i}" for i in range(len(value)))
        else:
            names.append(key)
    return names


def csv_row(record: dict[str, Any]) -> list[str]:
    cells = []
    for key, value in record.items():
        values = value if key == "params" else [value]
        for v in values:
            if v is None:
                cells.append("")
            elif isinstance(v, bool):
                cells.append("true" if v else "false")
            elif isinstance(v, float):
                cells.append(repr(v))
            else:
                cells.append(str(v))
    return cells


def fmt(value: float | None, width: int = 11) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"{'-':>{width}}"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:>{width}.5g}"
    return f"{value:>{width}.3e}"


def final_status(sim: Simulation, r: int) -> str:
    """Plain words for how run r ended: diverged, stopped early, or where it is."""
    diverged = int(sim.diverged_at[r])
    if diverged >= 0:
        return f"diverged at step {diverged}"
    stopped = int(sim.stopped_at[r])
    if stopped >= 0:
        return f"stopped early at step {stopped}"
    cohort = next(c for c in sim.cohorts if r in c.rows)
    problem = cohort.problem
    if hasattr(problem, "nearest_minimum") and problem.minima:
        row = int(np.flatnonzero(cohort.rows == r)[0])
        index, distance = problem.nearest_minimum(cohort.params[row : row + 1])
        if int(index[0]) >= 0:
            minimum = problem.minima[int(index[0])]
            point = ", ".join(f"{p:.4g}" for p in minimum.point)
            what = "saddle point" if minimum.kind == "saddle" else f"{minimum.kind} minimum"
            return f"nearest {what} ({point}) at distance {float(distance[0]):.3g}"
    if hasattr(problem, "epoch_at"):
        return f"trained {plural(sim.step_count, 'step')} ({problem.epoch_at(sim.step_count):.1f} epochs)"
    return f"ran {plural(sim.step_count, 'step')}"


def run_title(label: str, seed: int) -> str:
    """'label (seed s)', without repeating the seed when an ensemble label already carries it."""
    return label if label.endswith(f"(seed {seed})") else f"{label} (seed {seed})"
