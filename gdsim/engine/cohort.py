"""One cohort: runs that share a problem, optimizer and schedule, stepped as one (R, P) matrix.

A run that diverges (non-finite loss or parameters, or parameters beyond `bound`) is frozen at
its last finite state and labelled with the step; a run stopped early (validation loss not
improving for `patience` evaluations) is frozen too. Neither raises; the other runs go on. With
`restore_best`, a run stopped early goes back to the parameters of its best validation loss
(Goodfellow et al., Deep Learning, 2016, §7.8, algorithm 7.1), with the loss and gradient it had
there, and its evaluation at the stopping step is that of the restored parameters.

Besides the parameters and the optimizer's state a cohort keeps what is per run and changes as
it steps: the plateau schedule's state (its lr per run, fed the watched loss), the problem's
state (batch norm's running statistics) and, for a line search, the current batch.
gdsim.engine.simulation steps the cohorts of a scenario together and records their history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdsim.engine.changes import Phase

LOSS_BOUND = 1e30
# The divergence check's fast path compares sums of squares with these, a hair below bound²: a
# rounded square may tie with bound² for a value just beyond the bound, and the margin (far above
# any rounding of a sum of squares) makes the fast path decide exactly as the per-value check.
SAFE_SQ = 1.0 - 1e-12
LOSS_BOUND_SQ = LOSS_BOUND**2 * SAFE_SQ
LR_CHUNK = 4096  # learning rates are computed this many steps at a time (one vector call)


class Cohort:
    """Runs sharing one problem, optimizer and schedule."""

    # Set (on the instance) by a recording Simulation of networks: step() then keeps the parameters
    # one step back as params_before, for the step length the history records. Surfaces read it
    # from their recorded parameters instead, and the float path (scalar_step) never needs it.
    keep_before = False

    def __init__(
        self,
        problem: Any,
        optimizer: Any,
        schedule: Any,
        params0: np.ndarray,
        seeds: np.ndarray,
        rows: np.ndarray,
        *,
        clip_norm: float | None = None,
        eval_every: int | None = None,
        patience: int | None = None,
        restore_best: bool = False,
        bound: float = 1e6,
        changes: tuple = (),
    ):
        # The settings of step 0 and of each change at a later step (gdsim.engine.changes.Phase).
        self.phases = (Phase(0, problem, optimizer, schedule, clip_norm), *changes)
        self.phase = 0  # which of them applies now
        self.problem = problem
        self.optimizer = optimizer
        self.schedule = schedule
        self.rows = np.asarray(rows, dtype=np.int64)
        contiguous = len(self.rows) and np.array_equal(self.rows, np.arange(self.rows[0], self.rows[0] + len(self.rows)))
        # Where this cohort's runs sit in the scenario's order: a slice when contiguous (cheaper to write).
        self.where = slice(int(self.rows[0]), int(self.rows[-1]) + 1) if contiguous else self.rows
        self.seeds = np.asarray(seeds, dtype=np.int64)
        self.clip_norm = clip_norm
        self.bound = float(bound)
        self._bound_sq = self.bound**2 * SAFE_SQ
        self.can_evaluate = hasattr(problem, "evaluate")
        self.eval_every = eval_every if self.can_evaluate else None
        self.patience = patience if self.can_evaluate else None
        self.restore_best = bool(restore_best) and self.patience is not None
        n = len(self.rows)
        self.params = np.array(params0, dtype=np.float64, copy=True).reshape(n, problem.n_params)
        self.state = optimizer.init(self.params)
        self.sampler = problem.sampler(self.seeds)
        self.diverged_at = np.full(n, -1, dtype=np.int64)
        self.stopped_at = np.full(n, -1, dtype=np.int64)
        self.frozen = np.zeros(n, dtype=bool)
        self.best_val = np.full(n, np.inf)
        self.best_at = np.full(n, -1, dtype=np.int64)  # step of the best validation loss (early stopping)
        self.evals_since_best = np.zeros(n, dtype=np.int64)
        # With restore_best: per run the parameters, loss and gradient at its best validation loss.
        self.best: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.best_problem_state = None  # the problem state (batch norm statistics) at the best
        self.evaluation: dict[str, np.ndarray] = {}
        self._lr_from = 0
        self._lr_table: list[float] = []
        self.any_frozen = False
        # The batch the current loss and gradient were computed on, kept only for a line search
        # (cg's armijo tries steps on that same batch).
        self.batch = None
        self._keeps_batch = any(getattr(p.optimizer, "needs_loss", False) or getattr(p.optimizer, "needs_fisher", False)
                                for p in self.phases)
        self.refresh_needs()
        # Per-run problem state beside the parameters (batch norm's running statistics), or None.
        self.problem_state = problem.init_state(n) if getattr(problem, "has_state", False) else None
        with np.errstate(all="ignore"):
            batch = self.sampler.next()
            self.loss, self.grad = self._train(self.params, batch)
            if self._keeps_batch:
                self.batch = batch
            self._check(0, self.params, None)
        self.lr = self.lr_at(0)
        if self.eval_every:
            self._evaluate(0)
        # The plateau schedule's per-run state (None for closed-form schedules), fed by _watch.
        self.schedule_state = None
        if getattr(schedule, "adaptive", None) is not None:
            self.schedule_state = schedule.adaptive.init(self.lr, n)
            self._watch(0)

    def refresh_needs(self) -> None:
        """Whether updates take more than the gradient (a Hessian, losses for a line search)."""
        optimizer = self.optimizer
        self._needs_inputs = optimizer.needs_hessian or getattr(optimizer, "needs_loss", False) or getattr(
            optimizer, "needs_fisher", False)

    @property
    def n_params(self) -> int:
        return self.params.shape[1]

    def velocity(self) -> np.ndarray | None:
        return self.optimizer.velocity(self.state)

    def lr_at(self, k: int) -> float | np.ndarray:
        """The schedule's learning rate for update k, from a table computed a chunk at a time;
        with one base lr per run (a sweep's schedule), an (R,) array."""
        i = k - self._lr_from
        if not 0 <= i < len(self._lr_table):
            self._lr_from = k
            if getattr(self.schedule, "per_run", False):
                # (steps, R) rows; a chunk of at most ~1M values (a broadcast view when constant)
                chunk = max(16, min(LR_CHUNK, (1 << 20) // len(self.rows)))
                self._lr_table = self.schedule.lr_at(np.arange(k, k + chunk))
            else:
                table = np.asarray(self.schedule.lr_at(np.arange(k, k + LR_CHUNK)), dtype=np.float64)
                self._lr_table = table.tolist()  # Python floats: cheaper to index every step
            i = 0
        return self._lr_table[i]

    def step(self, k: int, switch=None) -> None:
        """Update from step k to step k+1 (callers hold np.errstate(all="ignore")); `switch`, if
        given, is called before the batch of step k+1 is drawn (a change of problem at k+1)."""
        lr = self.lr
        grad = self.grad
        if self.clip_norm is not None:
            # a multiply, then a sum per row: for two parameters exactly the float path's
            # gx*gx + gy*gy (einsum's C loop may fuse a multiply-add where the CPU has FMA)
            norms = np.sqrt((grad * grad).sum(axis=1))
            scale = np.minimum(1.0, self.clip_norm / (norms + 1e-6))  # torch's clip_grad_norm_
            grad = grad * scale[:, None]
        inputs = self.update_inputs() if self._needs_inputs else {}
        params, state = self.optimizer.update(grad, self.state, self.params, lr, **inputs)
        if switch is not None:
            switch(self)
        batch = self.sampler.next()
        previous_problem_state = self.problem_state
        loss, new_grad = self._train(params, batch)
        if self._keeps_batch:
            self.batch = batch
        previous = (self.params, self.state, self.loss, self.grad, previous_problem_state)
        if self.keep_before:  # a reference, not a copy: updates make new arrays (the history's step length)
            self.params_before = self.params
        self.params, self.state, self.loss, self.grad = params, state, loss, new_grad
        if self.schedule_state is None:
            self.lr = self.lr_at(k + 1)
        if self.any_frozen:
            self._hold(self.frozen, previous)
        # held rows are back at their finite state, so the fast path of the check still applies
        self._check(k + 1, self.params, previous)
        if self.eval_every and (k + 1) % self.eval_every == 0:
            self._evaluate(k + 1)
        elif self.evaluation:
            self.evaluation = {}
        if self.schedule_state is not None:
            self._watch(k + 1)

    def _train(self, params: np.ndarray, batch: Any) -> tuple[np.ndarray, np.ndarray]:
        """Loss and gradient of a training step; a problem with state also moves its state on."""
        if self.problem_state is None:
            return self.problem.loss_and_grad(params, batch)
        loss, grad, self.problem_state = self.problem.train_step(params, batch, self.problem_state)
        return loss, grad

    def evaluate_split(self, split: str, rows: Any = None) -> dict[str, np.ndarray]:
        """problem.evaluate for this cohort's runs (or some `rows`), with their problem state."""
        params = self.params if rows is None else self.params[rows]
        if self.problem_state is None:
            return self.problem.evaluate(params, split)
        state = self.problem_state if rows is None else state_rows_of(self.problem_state, rows)
        return self.problem.evaluate(params, split, state)

    def decision_grid(self, rows: Any, n: int):
        """problem.decision_grid for some runs, with their problem state (batch norm's eval mode)."""
        if self.problem_state is None:
            return self.problem.decision_grid(self.params[rows], n)
        return self.problem.decision_grid(self.params[rows], n, state_rows_of(self.problem_state, rows))

    def update_inputs(self, rows: Any = None) -> dict[str, Any]:
        """What the optimizer's update takes besides gradients, state, parameters and lr, for all
        runs or some `rows`: Newton's and cg's exact line search the Hessian; cg's armijo line
        search the current losses and the loss at trial parameters on the current batch; the
        natural gradient the Fisher matrix at the parameters on the current batch."""
        inputs: dict[str, Any] = {}
        params = self.params if rows is None else self.params[rows]
        if self.optimizer.needs_hessian:
            inputs["hessian"] = self.problem.hessian(params)
        if getattr(self.optimizer, "needs_loss", False):
            batch = self.batch if rows is None else batch_rows(self.batch, rows)
            problem = self.problem
            inputs["loss"] = self.loss if rows is None else self.loss[rows]
            inputs["loss_at"] = lambda trial: problem.loss_and_grad(trial, batch)[0]
        if getattr(self.optimizer, "needs_fisher", False):
            batch = self.batch if rows is None else batch_rows(self.batch, rows)
            inputs["fisher"] = self.problem.fisher(params, batch)
        return inputs

    def plateau_watches(self) -> str:
        """What the plateau schedule watches: the validation loss at each evaluation when the
        problem has a validation split, else the whole training set's loss at each evaluation; on
        a problem that is not evaluated (a surface), the loss at every step."""
        if not self.eval_every:
            return "loss"
        return "val_loss" if getattr(self.problem, "n_val", 0) > 0 else "train_loss"

    def plateau_metric(self) -> tuple[str, np.ndarray] | None:
        """(name, (R,) values) the plateau schedule looks at this step, or None where it waits."""
        name = self.plateau_watches()
        if name == "loss":
            return name, self.loss
        if not self.evaluation:
            return None
        return name, self.evaluation[name]

    def _watch(self, k: int) -> None:
        """Step the plateau schedule with this step's metric: its lr is that of update k -> k+1
        (torch's order: scheduler.step(metric) after measuring, then optimizer.step())."""
        watched = self.plateau_metric()
        # the state this step's metric is judged from: an lr set at this step is set before that
        # judgement in torch (gdsim.engine.changes.enter judges again from it)
        self.schedule_before = self.schedule_state
        if watched is not None:
            active = ~self.frozen if self.any_frozen else None
            self.schedule_state = self.schedule.adaptive.step(self.schedule_state, watched[1], active)
        self.lr = self.schedule_state.lr

    def _check(self, k: int, params: np.ndarray, previous) -> None:
        # Fast path, two dot products: if the sum of squares of all parameters is within bound²
        # then every parameter is within bound; likewise for the losses. NaN and inf (and
        # overflow to inf) fail the comparison and take the exact path below.
        flat = params.reshape(-1)
        if np.dot(flat, flat) <= self._bound_sq and np.dot(self.loss, self.loss) <= LOSS_BOUND_SQ:
            return
        ok = (np.abs(params).max(axis=1) <= self.bound) & (np.abs(self.loss) <= LOSS_BOUND)
        bad = ~ok & ~self.frozen
        if bad.any():
            self.diverged_at[bad] = k
            self._freeze(bad)
            if previous is not None:
                self._hold(bad, previous)

    def _freeze(self, rows: np.ndarray) -> None:
        self.frozen |= rows
        self.any_frozen = bool(self.frozen.any())

    def _hold(self, rows: np.ndarray, previous) -> None:
        """Put `rows` back to their previous state: frozen runs stop moving."""
        old_params, old_state, old_loss, old_grad, old_problem_state = previous
        if old_problem_state is not None:
            self.problem_state = type(old_problem_state)(
                *(np.where(rows[:, None], old, new) for old, new in zip(old_problem_state, self.problem_state))
            )
        keep = rows[:, None]
        self.params = np.where(keep, old_params, self.params)
        self.loss = np.where(rows, old_loss, self.loss)
        self.grad = np.where(keep, old_grad, self.grad)
        self.state = type(self.state)(
            *(
                np.where(rows.reshape((-1,) + (1,) * (new.ndim - 1)), old, new)
                if isinstance(new, np.ndarray) and new.ndim >= 1 and new.shape[0] == len(rows)
                else new
                for old, new in zip(old_state, self.state)
            )
        )

    def _evaluate(self, k: int) -> None:
        evaluation = {}
        for split in ("train", "val"):
            for name, values in self.evaluate_split(split).items():
                evaluation[f"{split}_{name}"] = values
        self.evaluation = evaluation
        if self.patience is not None:
            val = evaluation.get("val_loss")
            if val is None:
                return
            improved = val < self.best_val
            self.best_val = np.where(improved, val, self.best_val)
            self.best_at = np.where(improved, k, self.best_at)
            self.evals_since_best = np.where(improved, 0, self.evals_since_best + 1)
            if self.restore_best:
                self._remember_best(improved & ~self.frozen)
            stop = (self.evals_since_best >= self.patience) & ~self.frozen
            if stop.any():
                self.stopped_at[stop] = k
                self._freeze(stop)
                if self.restore_best:
                    self._restore_best(stop)

    def _remember_best(self, rows: np.ndarray) -> None:
        if self.best is None:
            self.best = (self.params.copy(), np.array(self.loss, dtype=np.float64), self.grad.copy())
            if self.problem_state is not None:  # batch norm's running statistics go with them
                self.best_problem_state = type(self.problem_state)(*(a.copy() for a in self.problem_state))
        elif rows.any():
            params, loss, grad = self.best
            params[rows], loss[rows], grad[rows] = self.params[rows], self.loss[rows], self.grad[rows]
            if self.problem_state is not None:
                for kept, now in zip(self.best_problem_state, self.problem_state):
                    kept[rows] = now[rows]

    def _restore_best(self, rows: np.ndarray) -> None:
        """Put the stopped `rows` back at their best parameters and re-evaluate them there."""
        params, loss, grad = self.best
        keep = rows[:, None]
        self.params = np.where(keep, params, self.params)
        self.loss = np.where(rows, loss, self.loss)
        self.grad = np.where(keep, grad, self.grad)
        if self.problem_state is not None:
            self.problem_state = type(self.problem_state)(
                *(np.where(rows[:, None], kept, now) for kept, now in zip(self.best_problem_state, self.problem_state))
            )
        index = np.flatnonzero(rows)
        evaluation = {name: np.array(values, dtype=np.float64) for name, values in self.evaluation.items()}
        for split in ("train", "val"):
            for name, values in self.evaluate_split(split, index).items():
                if f"{split}_{name}" in evaluation:
                    evaluation[f"{split}_{name}"][index] = values
        self.evaluation = evaluation


def state_rows_of(state: Any, rows: Any) -> Any:
    """Some runs' part of a NamedTuple of (R, ...) arrays (a problem's per-run state)."""
    return type(state)(*(part[rows] for part in state))


def batch_rows(batch: Any, rows: Any) -> Any:
    """Some runs' part of a sampler's batch (None, an (R, ...) array, or tuples of them)."""
    if batch is None:
        return None
    if isinstance(batch, np.ndarray):
        return batch[rows]
    if isinstance(batch, tuple):
        parts = (batch_rows(part, rows) for part in batch)
        return type(batch)(*parts) if hasattr(batch, "_fields") else tuple(parts)
    raise TypeError(f"cannot take rows of a batch of type {type(batch).__name__}")
