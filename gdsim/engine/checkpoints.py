"""Checkpoints: the full state of every cohort at some steps, so a run can be taken up again there.

A cohort's state is everything in it that stepping changes (Cohort's attributes but the problem,
optimizer, schedule and phases, which are built from the scenario): parameters, gradient and loss,
the optimizer's buffers, the plateau schedule's state, the samplers with their random generators
and pre-drawn data order and dropout masks, batch norm's running statistics, early stopping's
counters and best parameters, frozen runs, the phase of its changes. A checkpoint is a deep copy of
it, and restoring one into a cohort built from the same scenario (or, for some of its runs, into a
cohort with those runs' settings up to there: a branch) continues exactly as the uninterrupted run
does, bit for bit (tests/engine/test_checkpoints.py, for every optimizer, schedule, batching,
dropout, batch norm and early stopping).

The Simulation saves one every `every` steps within a byte budget; when the budget or the count
is exceeded, every other checkpoint is dropped and `every` doubles (as the history thins), so a
rewound step is at most `every` steps after a checkpoint whatever the run's length. Branches and
batch-size changes (gdsim.app.runtime.replay) and the app's Data tab at a rewound step step from
the checkpoint before, not from step 0.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from gdsim.engine import changes

# Built from the scenario, never changed by stepping (or a cache rebuilt on demand): not state.
FIXED = frozenset({"problem", "optimizer", "schedule", "_lr_table", "_lr_from", "phases", "params_before"})
# A cohort's identity in its simulation: kept when another cohort's runs are taken over.
IDENTITY = frozenset({"rows", "where", "seeds", "phase", "_keeps_batch"})

BUDGET = 8 * 1024 * 1024  # bytes of checkpoints per simulation
FIRST_EVERY = 32  # steps between checkpoints until the budget or LIMIT forces wider spacing
LIMIT = 64  # checkpoints at most
MIN_KEPT = 4  # if fewer than this many fit in the budget, none are kept


def capture(cohort: Any) -> dict[str, Any]:
    """A deep copy of the cohort's state (see the module's docstring)."""
    return copy.deepcopy({k: v for k, v in vars(cohort).items() if k not in FIXED})


def restore_into(cohort: Any, state: dict[str, Any]) -> None:
    """Put a captured state (of this cohort, or of one built from the same scenario) into `cohort`;
    the checkpoint itself stays untouched."""
    phase = cohort.phase
    vars(cohort).update(copy.deepcopy(state))
    vars(cohort).pop("params_before", None)  # not the step before: no step length at the next record
    if cohort.phase != phase:
        changes.use_phase(cohort)


def take_rows(state: dict[str, Any], index: np.ndarray, n: int) -> dict[str, Any]:
    """Some runs' part of a captured state of n runs: every per-run array, list of generators,
    tuple and sampler is cut to the runs at `index` (positions in the cohort); the rest is kept.
    The cohort's identity (rows, seeds, phase) is left out: the receiving cohort keeps its own."""
    index = np.asarray(index, dtype=np.int64)
    return {k: _rows(v, index, n) for k, v in state.items() if k not in IDENTITY}


def _rows(value: Any, index: np.ndarray, n: int) -> Any:
    if isinstance(value, np.ndarray):
        return value[index].copy() if value.ndim >= 1 and value.shape[0] == n else value.copy()
    if isinstance(value, list) and len(value) == n and value and isinstance(value[0], np.random.Generator):
        return [copy.deepcopy(value[i]) for i in index.tolist()]
    if isinstance(value, tuple):
        parts = [_rows(v, index, n) for v in value]
        return type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    if isinstance(value, dict):
        return {k: _rows(v, index, n) for k, v in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        out = copy.copy(value)
        vars(out).update({k: _rows(v, index, n) for k, v in vars(value).items()})
        if "_rows" in vars(out):  # a BatchSampler's count of runs
            out._rows = len(index)
        return out
    return copy.deepcopy(value)


def nbytes(value: Any) -> int:
    """The bytes of the arrays in a captured state (generators and scalars are small)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return nbytes(vars(value))
    return 0


class Checkpoints:
    """A simulation's checkpoints: (step, one captured state per cohort, or None), oldest first."""

    def __init__(self, budget: int = BUDGET, every: int = FIRST_EVERY, limit: int = LIMIT):
        self.budget, self.every, self.limit = budget, every, limit
        self.steps: list[int] = []
        self.states: list[list[dict | None]] = []
        self.sizes: list[int] = []
        self.off = False  # a single checkpoint is too big for the budget

    def due(self, step: int) -> bool:
        return not self.off and (not self.steps or step >= self.steps[-1] + self.every)

    def next_due(self) -> int | None:
        if self.off:
            return None
        return self.steps[-1] + self.every if self.steps else 0

    def save(self, step: int, cohorts: list) -> None:
        if self.off or (self.steps and step <= self.steps[-1]):
            return
        states = [capture(c) for c in cohorts]
        self.add(step, states)

    def add(self, step: int, states: list[dict | None]) -> None:
        size = nbytes(states)
        if size * MIN_KEPT > self.budget:
            self.off, self.steps, self.states, self.sizes = True, [], [], []
            return
        self.steps.append(step)
        self.states.append(states)
        self.sizes.append(size)
        while len(self.steps) > self.limit or sum(self.sizes) > self.budget:
            self._thin()

    def _thin(self) -> None:
        """Drop every other checkpoint (the first is kept) and double the spacing."""
        self.steps, self.states, self.sizes = self.steps[::2], self.states[::2], self.sizes[::2]
        self.every *= 2

    def before(self, step: int, cohort: int) -> tuple[int, dict] | None:
        """The latest checkpoint at or before `step` that holds cohort number `cohort`."""
        for at, states in zip(reversed(self.steps), reversed(self.states)):
            if at <= step and states[cohort] is not None:
                return at, states[cohort]
        return None

    @property
    def nbytes(self) -> int:
        return sum(self.sizes)
