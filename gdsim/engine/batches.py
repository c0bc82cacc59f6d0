"""A run's mini-batches and dropout masks: which training samples each step sees, from the run's seed.

Each run has its own mini-batch order (reshuffled each epoch from run_rng(seed, STREAM_BATCH)) and
its own inverted-dropout masks (run_rng(seed, STREAM_DROPOUT)). gdsim.engine.learning's
DatasetProblem hands a BatchSampler to each cohort; the cohort draws one Batch per step.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gdsim.engine.problem import STREAM_BATCH, STREAM_DROPOUT, run_rng

# Bound the memory of pre-drawn shuffles and dropout masks (float64 / int64 entries) for many runs.
CHUNK_ENTRIES = 4_000_000


class Batch(NamedTuple):
    """One step's draw: per-run sample indices (R, B) (None = the whole training set, shared by all
    runs) and per-run inverted-dropout masks, one (R, B, units) array per hidden layer (or None)."""

    indices: np.ndarray | None
    masks: tuple[np.ndarray, ...] | None


class BatchSampler:
    """Mini-batch indices and dropout masks for R runs, each run's stream from its own seed.

    Shuffles are drawn several epochs at a time and masks several steps at a time, so a step
    costs a slice rather than R generator calls. An epoch's last batch may be smaller.
    """

    def __init__(self, seeds, n_train: int, batch_size: int, hidden_units: tuple[int, ...], dropout: float):
        seeds = np.asarray(seeds).ravel()
        self._rows = len(seeds)
        self._n = n_train
        self._batch = batch_size
        self._full = batch_size >= n_train
        self._steps_per_epoch = math.ceil(n_train / batch_size)
        self._shuffle_rngs = [run_rng(s, STREAM_BATCH) for s in seeds]
        per_epoch = self._rows * n_train
        self._epochs_per_chunk = max(1, min(math.ceil(64 / self._steps_per_epoch), CHUNK_ENTRIES // per_epoch))
        self._orders = np.empty((self._rows, 0, n_train), dtype=np.int64)
        self._step = 0
        self._dropout = dropout
        self._units = hidden_units
        if dropout > 0:
            self._mask_rngs = [run_rng(s, STREAM_DROPOUT) for s in seeds]
            self._mask_width = min(batch_size, n_train)
            per_step = self._rows * self._mask_width * sum(hidden_units)
            self._steps_per_mask_chunk = max(1, min(64, CHUNK_ENTRIES // per_step))
            self._masks = np.empty((self._rows, 0, self._mask_width, sum(hidden_units)))
            self._mask_pos = 0

    def next(self) -> Batch:
        indices = None if self._full else self._next_indices()
        width = self._n if indices is None else indices.shape[1]
        masks = self._next_masks(width) if self._dropout > 0 else None
        self._step += 1
        return Batch(indices, masks)

    def _next_indices(self) -> np.ndarray:
        epoch, within = divmod(self._step, self._steps_per_epoch)
        slot = epoch % self._epochs_per_chunk
        if within == 0 and slot == 0:
            base = np.tile(np.arange(self._n), (self._epochs_per_chunk, 1))
            self._orders = np.stack([rng.permuted(base, axis=1) for rng in self._shuffle_rngs])
        start = within * self._batch
        return self._orders[:, slot, start : start + self._batch]

    def _next_masks(self, width: int) -> tuple[np.ndarray, ...]:
        if self._mask_pos >= self._masks.shape[1]:
            shape = (self._steps_per_mask_chunk, self._mask_width, sum(self._units))
            keep = 1.0 - self._dropout
            # Inverted dropout: kept units are scaled by 1/keep so evaluation needs no rescaling.
            self._masks = np.stack([(rng.random(shape) < keep) / keep for rng in self._mask_rngs])
            self._mask_pos = 0
        step = self._masks[:, self._mask_pos, :width]
        self._mask_pos += 1
        bounds = np.cumsum((0,) + self._units)
        return tuple(step[:, :, a:b] for a, b in zip(bounds[:-1], bounds[1:]))
