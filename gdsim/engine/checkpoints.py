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
rewound step is at most `every` steps after a checkpoint whatever the run's length. A checkpoint
holds its larger arrays packed, exactly (Packed): a sampler's pre-drawn data order in the narrowest
integer type that holds it (int16 for a few thousand samples: a quarter of int64), its dropout masks
(0 or 1/keep) as bits (a 64th). Restoring gives the very arrays back, bit for bit; the budget counts
the packed bytes, so the same budget holds more checkpoints. A shared server's sessions keep a
smaller budget (SERVED: 30 participants on a network scenario kept 8 MiB each). Branches and
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
# A session of a shared server (gdsim serve): half the budget, and kept down to two checkpoints
# (a network whose one checkpoint takes 1.2 MiB, digits, still keeps some: a branch steps from the
# checkpoint before it, at worst about twice as far as with BUDGET, never from step 0).
SERVED = {"budget": 4 * 1024 * 1024, "min_kept": 2}
PACK_FROM = 4096  # bytes: smaller arrays are kept as they are


class Packed:
    """An array kept smaller in a checkpoint and given back exactly: integers in the narrowest type
    that holds them (`dropout` None), or a dropout mask of 0 and 1/(1 - dropout) as bits."""

    __slots__ = ("data", "dtype", "shape", "dropout")

    def __init__(self, data: np.ndarray, dtype: np.dtype, shape: tuple, dropout: float | None) -> None:
        self.data, self.dtype, self.shape, self.dropout = data, dtype, shape, dropout

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    def __eq__(self, other: object) -> bool:  # the same array packed the same way, bit for bit
        return (isinstance(other, Packed) and (self.dtype, self.shape, self.dropout) == (other.dtype, other.shape, other.dropout)
                and self.data.dtype == other.data.dtype and self.data.tobytes() == other.data.tobytes())

    __hash__ = None  # type: ignore[assignment]

    def unpack(self) -> np.ndarray:
        if self.dropout is None:
            return self.data.astype(self.dtype)
        size = int(np.prod(self.shape))
        bits = np.unpackbits(self.data, count=size).reshape(self.shape).astype(bool)
        keep = 1.0 - self.dropout
        return bits / keep  # as BatchSampler draws them: (uniform < keep) / keep


def pack(array: np.ndarray, dropout: float | None = None) -> np.ndarray | Packed:
    """`array` packed if that is smaller and exact (checked), else `array` itself. `dropout`: the
    rate of a sampler's mask."""
    if array.nbytes < PACK_FROM or array.size == 0:
        return array
    if dropout is not None and array.dtype == np.float64:
        packed = Packed(np.packbits(array != 0, axis=None), array.dtype, array.shape, dropout)
    elif array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
        narrow = next((t for t in (np.int8, np.int16, np.int32) if np.iinfo(t).min <= low and high <= np.iinfo(t).max),
                      None)
        if narrow is None or np.dtype(narrow).itemsize >= array.itemsize:
            return array
        packed = Packed(array.astype(narrow), array.dtype, array.shape, None)
    else:
        return array
    if not np.array_equal(packed.unpack(), array):  # never lossy: kept as it is then
        return array
    return packed


def _walk(value: Any, leaf, memo: dict) -> Any:
    """`value` with every array and Packed x replaced by leaf(x, dropout), in place in the lists,
    dicts and objects of `value` (a fresh copy: capture's, restore's); tuples are made anew.
    `dropout` is the owner's rate for a BatchSampler's `_masks`, else None."""
    key = id(value)
    if key in memo:
        return memo[key][1]
    if isinstance(value, (np.ndarray, Packed)):
        out = leaf(value, None)
    elif isinstance(value, dict):
        for k, v in value.items():
            value[k] = _walk(v, leaf, memo)
        out = value
    elif isinstance(value, list):
        value[:] = [_walk(v, leaf, memo) for v in value]
        out = value
    elif isinstance(value, tuple):
        parts = [_walk(v, leaf, memo) for v in value]
        out = type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        attributes = vars(value)
        for k, v in attributes.items():
            if k == "_masks" and isinstance(attributes.get("_dropout"), float) and isinstance(v, (np.ndarray, Packed)):
                attributes[k] = leaf(v, attributes["_dropout"])
            else:
                attributes[k] = _walk(v, leaf, memo)
        out = value
    else:
        out = value
    memo[key] = (value, out)  # the original kept alive: its id is not reused while walking
    return out


def _packed(value: Any, dropout: float | None) -> Any:
    return pack(value, dropout) if isinstance(value, np.ndarray) else value


def _plain(value: Any, _: float | None) -> Any:
    return value.unpack() if isinstance(value, Packed) else value


def unpacked(state: dict[str, Any]) -> dict[str, Any]:
    """A captured state (or take_rows' part of one) with its arrays unpacked, in place."""
    return _walk(state, _plain, {})


def capture(cohort: Any) -> dict[str, Any]:
    """A deep copy of the cohort's state (see the module's docstring), its larger arrays packed."""
    return _walk(copy.deepcopy({k: v for k, v in vars(cohort).items() if k not in FIXED}), _packed, {})


def restore_into(cohort: Any, state: dict[str, Any]) -> None:
    """Put a captured state (of this cohort, or of one built from the same scenario) into `cohort`;
    the checkpoint itself stays untouched."""
    phase = cohort.phase
    vars(cohort).update(unpacked(copy.deepcopy(state)))
    vars(cohort).pop("params_before", None)  # not the step before: no step length at the next record
    if cohort.phase != phase:
        changes.use_phase(cohort)


def take_rows(state: dict[str, Any], index: np.ndarray, n: int, packed: bool = False) -> dict[str, Any]:
    """Some runs' part of a captured state of n runs: every per-run array, list of generators,
    tuple and sampler is cut to the runs at `index` (positions in the cohort); the rest is kept.
    The cohort's identity (rows, seeds, phase) is left out: the receiving cohort keeps its own.
    Its arrays are plain, ready for a cohort; `packed`: packed as in a checkpoint, to keep as one."""
    index = np.asarray(index, dtype=np.int64)
    part = {k: _rows(v, index, n) for k, v in state.items() if k not in IDENTITY}
    return part if packed else unpacked(part)


def _rows(value: Any, index: np.ndarray, n: int) -> Any:
    if isinstance(value, Packed):
        cut = _rows(value.unpack(), index, n)
        return pack(cut, value.dropout)
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
    """The bytes of the arrays in a captured state, packed ones as packed (generators and scalars
    are small)."""
    if isinstance(value, (np.ndarray, Packed)):
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

    def __init__(self, budget: int = BUDGET, every: int = FIRST_EVERY, limit: int = LIMIT, min_kept: int = MIN_KEPT):
        self.budget, self.every, self.limit, self.min_kept = budget, every, limit, min_kept
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
        if size * self.min_kept > self.budget:
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
