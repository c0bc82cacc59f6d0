"""The run table's key-metric columns for an open scenario: which (gdsim.scenario.columns) and
their values at the shown step, measured at most every STATE_PERIOD seconds while running (a
validation pass per cohort is not free), at once after a key, a pause or a rewind.

Textual-free; the run table holds one and reads `values(session)`.
"""

from __future__ import annotations

import time

import numpy as np

from gdsim.app.runtime.session import STATE_PERIOD, Session
from gdsim.scenario.columns import Column, key_columns, measure, measure_at


class KeyColumns:
    """The key columns of the session's scenario and their latest values (one (R,) array each)."""

    def __init__(self) -> None:
        self._scenario = None
        self.columns: tuple[Column, ...] = ()
        self._cache: tuple | None = None  # (key, step, time, values)

    def of(self, session: Session) -> tuple[Column, ...]:
        scenario = session.loaded.scenario
        if scenario is not self._scenario:
            self._scenario = scenario
            self.columns = key_columns(scenario)
            self._cache = None
        return self.columns

    def values(self, session: Session) -> list[np.ndarray]:
        columns = self.of(session)
        if not columns:
            return []
        sim = session.sim
        key = (id(sim), session.cursor, columns)
        now = time.monotonic()
        cached = self._cache
        if cached is not None and cached[0] == key and (
                cached[1] == sim.step_count or (session.running and now - cached[2] < STATE_PERIOD)):
            return cached[3]
        values = measure(sim, columns) if session.cursor is None else measure_at(sim, columns, session.cursor)
        self._cache = (key, sim.step_count, now, values)
        return values
