"""The one interface every problem meets: loss and gradient on a flat (R, P) parameter matrix.

A simulation holds R runs at once. Each row of the (R, P) parameter matrix is one run's
parameters; every problem evaluates all rows in one array operation. Randomness (gradient
noise on a surface, mini-batch order and dropout on a data set) comes from a Sampler made
from the runs' seeds, so each run draws its own stream whatever other runs sit beside it.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np


class Minimum(NamedTuple):
    """A known minimum of a surface, so a run's end can be labelled "global" or "local"."""

    point: tuple[float, ...]
    value: float
    kind: str  # "global" or "local" (or "saddle" for a stationary point that is not a minimum)


class Sampler(Protocol):
    """Per-run random draws for one step: gradient noise, or mini-batch indices and dropout masks."""

    def next(self) -> Any:
        """The batch for the next step (None when the problem is deterministic)."""


class Problem(Protocol):
    """What the simulation needs from a problem (a 2-D surface, an expression, a model on data)."""

    n_params: int

    def init_params(self, seeds: np.ndarray) -> np.ndarray:
        """(R, P) random starting parameters, row r drawn only from seeds[r]."""

    def sampler(self, seeds: np.ndarray) -> Sampler:
        """A Sampler whose draws for run r depend only on seeds[r]."""

    def loss_and_grad(self, params: np.ndarray, batch: Any) -> tuple[np.ndarray, np.ndarray]:
        """(loss[R], grad[R, P]) at params for this step's batch (noisy where the problem is)."""

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """(R, P, P) Hessian at params; raises NotImplementedError where there is none."""


class ProblemError(ValueError):
    """A problem that cannot be built from the given settings (the message says which)."""


# Purposes for per-run random streams: a run's seed and a purpose make one independent stream,
# so that drawing more noise never shifts the start point or the mini-batch order.
STREAM_START = 0
STREAM_NOISE = 1
STREAM_BATCH = 2
STREAM_INIT = 3
STREAM_DROPOUT = 4
STREAM_DATA = 5


def run_rng(seed: int, purpose: int) -> np.random.Generator:
    """The generator for one run's stream of one purpose."""
    return np.random.default_rng([int(seed), int(purpose)])


class ChunkedNormal:
    """Per-run standard-normal draws of a fixed shape, generated a chunk of steps at a time.

    One generator per run keeps runs independent of each other; drawing `chunk` steps at once
    keeps the per-step cost one array slice instead of R generator calls.
    """

    def __init__(self, seeds: np.ndarray, shape: tuple[int, ...], purpose: int, chunk: int = 256):
        self._rngs = [run_rng(s, purpose) for s in np.asarray(seeds).ravel()]
        self._shape = shape
        self._chunk = chunk
        self._buffer = np.empty((len(self._rngs), 0, *shape))
        self._pos = 0

    def next(self) -> np.ndarray:
        if self._pos >= self._buffer.shape[1]:
            self._buffer = np.stack(
                [rng.standard_normal((self._chunk, *self._shape)) for rng in self._rngs]
            )
            self._pos = 0
        out = self._buffer[:, self._pos]
        self._pos += 1
        return out
