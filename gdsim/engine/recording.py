"""What a simulation records as it steps: the history of every run, and a network's parameter path.

A mixin of Simulation (gdsim.engine.simulation), which provides cohorts, runs, small, n_params,
n_layers and eval_names. A surface (at most SMALL_P parameters) keeps its vectors at every record;
a network keeps norms, and the parameters themselves on a coarser path (for loss landscapes).
"""

from __future__ import annotations

import numpy as np

from gdsim.engine.cohort import Cohort
from gdsim.engine.history import History

SMALL_P = 8  # parameters and velocity are recorded per step when P is at most this (surfaces)
# Larger problems (networks) keep a coarser record of the parameters alone, for loss landscapes
# (gdsim.engine.landscape: the plane through a run's path): at most PATH_RECORDS records, every
# step while they fit, then every 2nd, 4th...; none when even PATH_MIN_RECORDS would not fit.
# 64 records give the PCA plane of 256 (overfitting's path: 96.67% of the variance vs 96.71%, the
# directions' cosines 1.0000 and 0.9998) at a quarter of the memory; an exact point at a rewound
# step comes from the checkpoints (landscape_runs.run_path). At most PATH_MAX_RUNS runs keep one
# (an ensemble of 600: the first of each [[runs]] entry first).
PATH_RECORDS = 64
PATH_MIN_RECORDS = 32
PATH_MAX_RUNS = 64
PATH_BUDGET = 16 * 1024 * 1024  # bytes


class Recording:
    """Mixed into Simulation: the history and parameter-path records."""

    def _start_history(self, capacity: int) -> None:
        """The history: per run the loss and lr at each record; a surface's vectors (parameters,
        gradient, velocity: their norms and step lengths are computed when read), a network's
        norms; the evaluated metrics and per-layer gradient norms. Step 0 is recorded."""
        fields: dict[str, tuple[int, ...]] = {"loss": (), "lr": ()}
        norms, lengths = {}, {}
        if self.small:
            fields.update(params=(self.n_params,), grad=(self.n_params,), velocity=(self.n_params,))
            norms = {"grad_norm": "grad", "velocity_norm": "velocity", "param_norm": "params"}
            lengths = {"step_norm": "params"}
        else:  # |w| and the step's length |θ_k+1 − θ_k| at recorded steps (Cohort.params_before)
            fields.update(grad_norm=(), velocity_norm=(), param_norm=(), step_norm=())
            for cohort in self.cohorts:
                cohort.keep_before = True
        for name in self.eval_names:
            fields[name] = ()
        if self.n_layers >= 2:  # per-layer gradient norms (a single layer's is |g| itself)
            fields["layer_grad_norm"] = (self.n_layers,)
        self.history = History(self.n_runs, fields, capacity, norms=norms, steps=lengths)
        row = self.history.start(0)
        for cohort in self.cohorts:
            self._record_cohort(row, cohort)

    def _start_paths(self) -> None:
        """Set up `paths` for as many runs as PATH_BUDGET allows at PATH_MIN_RECORDS records (and at
        most PATH_MAX_RUNS): every
        run, else the first run of each [[runs]] entry and then the next runs in order. Cohorts of
        different sizes (a network with and without batch norm) are padded to the largest."""
        width = max(c.n_params for c in self.cohorts)
        fields = {"params": (width,)}
        units = max((c.problem_state.mean.shape[1] for c in self.cohorts if c.problem_state is not None), default=0)
        if units:  # batch norm's running statistics at each record, for its eval-mode loss
            fields.update(norm_mean=(units,), norm_var=(units,))
        per_run = 8 * (width + 2 * units)
        fit = PATH_BUDGET // (PATH_MIN_RECORDS * per_run)
        if fit < 1:
            return
        firsts = sorted({run.group: row for row, run in reversed(list(enumerate(self.runs)))}.values())
        rest = [row for row in range(self.n_runs) if row not in set(firsts)]
        rows = np.array(sorted((firsts + rest)[:min(fit, PATH_MAX_RUNS)]), dtype=np.int64)
        self.path_rows = rows
        capacity = min(PATH_RECORDS, PATH_BUDGET // (len(rows) * per_run))
        # within the budget (at least PATH_MIN_RECORDS records), allocated as the records come
        self.paths = History(len(rows), fields, capacity, minimum=PATH_MIN_RECORDS, grow=True)
        # per cohort: where its kept runs go in `paths` and which of its rows they are
        self._path_slots = []
        for c in self.cohorts:
            mine = np.flatnonzero(np.isin(c.rows, rows))
            self._path_slots.append((np.searchsorted(rows, c.rows[mine]), mine))
        self._record_path(0)

    def _record_path(self, k: int) -> None:
        row = self.paths.start(k)
        if row is None:
            return
        for c, (slots, mine) in zip(self.cohorts, self._path_slots):
            if len(mine) == 0:
                continue
            self.paths.put_part(row, "params", slots, c.params[mine])
            if c.problem_state is not None and "norm_mean" in self.paths.fields:
                self.paths.put_part(row, "norm_mean", slots, c.problem_state.mean[mine])
                self.paths.put_part(row, "norm_var", slots, c.problem_state.var[mine])

    def _record_cohort(self, row: int, cohort: Cohort) -> None:
        put = self.history.put
        c = cohort
        where = c.where
        put(row, "loss", where, c.loss)
        put(row, "lr", where, c.lr)
        velocity = c.velocity()
        if self.small:
            put(row, "params", where, c.params)
            put(row, "grad", where, c.grad)
            if velocity is not None:
                put(row, "velocity", where, velocity)
        else:
            put(row, "grad_norm", where, np.sqrt(np.einsum("rp,rp->r", c.grad, c.grad)))
            if velocity is not None:
                put(row, "velocity_norm", where, np.sqrt(np.einsum("rp,rp->r", velocity, velocity)))
            put(row, "param_norm", where, np.sqrt(np.einsum("rp,rp->r", c.params, c.params)))
            before = getattr(c, "params_before", None)  # the parameters one step earlier
            if before is not None and before.shape == c.params.shape:
                change = c.params - before
                put(row, "step_norm", where, np.sqrt(np.einsum("rp,rp->r", change, change)))
        for name, values in c.evaluation.items():
            if name in self.eval_names:
                put(row, name, where, values)
        if self.n_layers >= 2 and hasattr(c.problem, "layer_grad_norms"):
            norms = c.problem.layer_grad_norms(c.grad)  # L einsums over the gradient: ~1 µs a layer
            if norms.shape[1] < self.n_layers:
                norms = np.pad(norms, ((0, 0), (0, self.n_layers - norms.shape[1])), constant_values=np.nan)
            put(row, "layer_grad_norm", where, norms)
