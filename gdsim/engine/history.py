"""Bounded per-run history: every step while it fits, then every 2nd, 4th, ... step.

Records live in preallocated arrays of `capacity` rows. When they fill up, every other record is
dropped and the recording stride doubles, so a run of any length keeps an evenly spaced record
(always including step 0) in fixed memory. With `grow`, the arrays start small and double as
records come, up to `capacity` (the same records are kept either way): memory follows the steps
actually run (the network's parameter path, Simulation.paths, of a scenario opened and not run).
"""

from __future__ import annotations

import numpy as np

# Beyond this many bytes across all fields, the capacity shrinks (an ensemble of 1,000 runs).
MEMORY_BUDGET = 64 * 1024 * 1024
GROW_FROM = 16  # records allocated at first by a growing history


class History:
    """Evenly spaced records of named per-run fields; `fields` maps a name to its per-run shape.

    `norms` names fields that are not stored but computed when read, as the Euclidean norm of a
    stored vector field ({"grad_norm": "grad"}): one write per step instead of three.
    `steps` likewise names fields computed when read as the length of the change of a stored
    vector field from one record to the next, per step ({"step_norm": "params"}: |θ_k − θ_j| /
    (k − j) for consecutive records j < k; exactly the step's length while every step is
    recorded, the mean displacement per step once the records are `stride` apart); NaN at the
    first record.
    """

    def __init__(self, n_runs: int, fields: dict[str, tuple[int, ...]], capacity: int = 4096,
                 norms: dict[str, str] | None = None, steps: dict[str, str] | None = None, *,
                 minimum: int = 64, grow: bool = False):
        per_record = 8 * n_runs * sum(int(np.prod(shape, dtype=int)) for shape in fields.values())
        fitting = MEMORY_BUDGET // max(per_record, 1)
        capacity = int(max(minimum, min(capacity, fitting)))
        capacity -= capacity % 2
        self.capacity = capacity
        self.n_runs = n_runs
        self.stride = 1
        self.count = 0
        allocated = min(capacity, GROW_FROM) if grow else capacity
        self.steps = np.zeros(allocated, dtype=np.int64)
        self._data = {name: np.full((allocated, n_runs, *shape), np.nan) for name, shape in fields.items()}
        self._norms = dict(norms or {})
        self._steps = dict(steps or {})

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self._data) + tuple(self._norms) + tuple(self._steps)

    def _step_lengths(self, name: str, begin: int, end: int) -> np.ndarray:
        """Field `name` of `_steps` for records begin:end (the record before `begin` is read too)."""
        source = self._data[self._steps[name]]
        first = max(begin - 1, 0)
        block, at = source[first:end], self.steps[first:end].astype(np.float64)
        out = np.full(block.shape[:2], np.nan)
        if len(block) > 1:
            change = block[1:] - block[:-1]
            gaps = np.maximum(at[1:] - at[:-1], 1.0)
            lengths = np.sqrt(np.einsum("...p,...p->...", change, change)) / gaps[:, None]
            out[1:] = lengths
        return out[begin - first:]

    def wants(self, step: int) -> bool:
        """Whether a record at `step` would be kept (callers skip gathering values otherwise)."""
        return step % self.stride == 0

    def append(self, step: int, values: dict[str, np.ndarray]) -> None:
        row = self.start(step)
        if row is None:
            return
        for name, value in values.items():
            self._data[name][row] = value

    def start(self, step: int) -> int | None:
        """Open the record for `step` and return its row (None if this step is not kept);
        fill it with put(). Fields left unfilled stay NaN."""
        if step % self.stride:
            return None
        if self.count == len(self.steps) < self.capacity:
            self._grow(self.count + 1)
        if self.count == self.capacity:
            self._compact()
            if step % self.stride:
                return None
        row = self.count
        self.steps[row] = step
        self.count += 1
        return row

    def put(self, row: int, name: str, runs: slice | np.ndarray, value) -> None:
        """Write one field of some runs (a slice or index array) into an opened record."""
        self._data[name][row, runs] = value

    def put_part(self, row: int, name: str, runs: np.ndarray, value: np.ndarray) -> None:
        """put() of a vector field narrower than the record (the rest stays NaN): the first
        value.shape[-1] entries of each run's vector."""
        self._data[name][row, runs, : value.shape[-1]] = value

    def _grow(self, needed: int) -> None:
        """Allocate room for at least `needed` records (doubling, at most `capacity`); new rows are NaN."""
        size = len(self.steps)
        if needed <= size:
            return
        new = min(self.capacity, max(needed, 2 * size))
        self.steps = np.concatenate([self.steps, np.zeros(new - size, dtype=np.int64)])
        for name, array in self._data.items():
            self._data[name] = np.concatenate([array, np.full((new - size, *array.shape[1:]), np.nan)])

    def _compact(self) -> None:
        keep = self.count // 2 + self.count % 2
        self.steps[:keep] = self.steps[: self.count : 2]
        for array in self._data.values():
            array[:keep] = array[: self.count : 2]
            array[keep:] = np.nan
        self.count = keep
        self.stride *= 2

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps (n,), values (n, R, ...)) as read-only views of what is recorded so far."""
        steps = self.steps[: self.count]
        steps.flags.writeable = False
        if name in self._steps:
            return steps, self._step_lengths(name, 0, self.count)
        if name in self._norms:
            source = self._data[self._norms[name]][: self.count]
            return steps, np.sqrt(np.einsum("...p,...p->...", source, source))
        values = self._data[name][: self.count].view()
        values.flags.writeable = False
        return steps, values

    def recent(self, names: tuple[str, ...], begin: int, end: int) -> dict[str, np.ndarray]:
        """Records begin:end of some fields (copies, norms computed for those rows only), with
        "steps": what a state needs from the last few records, without touching the rest."""
        end = min(end, self.count)
        out = {"steps": self.steps[begin:end].copy()}
        for name in names:
            if name in self._steps:
                out[name] = self._step_lengths(name, begin, end)
            elif name in self._norms:
                source = self._data[self._norms[name]][begin:end]
                out[name] = np.sqrt(np.einsum("...p,...p->...", source, source))
            else:
                out[name] = self._data[name][begin:end].copy()
        return out

    def index_at(self, step: int) -> int:
        """The record at or just before `step` (0 if none)."""
        if self.count == 0:
            return 0
        return max(0, int(np.searchsorted(self.steps[: self.count], step, side="right")) - 1)

    def at(self, step: int) -> tuple[int, dict[str, np.ndarray]]:
        """(recorded step, {field: per-run values}) at or just before `step`, for rewinding."""
        index = self.index_at(step)
        values = {name: data[index].copy() for name, data in self._data.items()}
        for name, source in self._norms.items():
            values[name] = np.sqrt(np.einsum("...p,...p->...", values[source], values[source]))
        for name in self._steps:
            values[name] = self._step_lengths(name, index, index + 1)[0]
        return int(self.steps[index]), values

    # -- copying to another process (the app's engine worker) ------------------------------------
    def mark(self) -> tuple[int, int]:
        """Where this history stands: delta(mark) later holds only what was recorded since."""
        return self.stride, self.count

    def delta(self, since: tuple[int, int] | None) -> tuple:
        """What a copy that stood at `since` lacks: the new records, or everything after a compaction."""
        if since is None or since[0] != self.stride or since[1] > self.count:
            return ("all", self.stride, self.count, self.steps[: self.count].copy(),
                    {name: data[: self.count].copy() for name, data in self._data.items()})
        start = since[1]  # a record is complete once written: _record fills every cohort at once
        return ("rows", self.stride, start, self.steps[start : self.count].copy(),
                {name: data[start : self.count].copy() for name, data in self._data.items()})

    def apply(self, delta: tuple) -> None:
        """Bring this copy up to date with delta() of the original (same runs and fields)."""
        kind, stride, start, steps, data = delta
        if kind == "all":
            start, self.count = 0, 0
            for array in self._data.values():
                array[:] = np.nan
        end = start + len(steps)
        self._grow(end)
        self.steps[start:end] = steps
        for name, values in data.items():
            self._data[name][start:end] = values
        self.stride = stride
        self.count = end

    @property
    def nbytes(self) -> int:
        return self.steps.nbytes + sum(a.nbytes for a in self._data.values())
