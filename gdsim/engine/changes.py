"""A cohort's settings changing at a step, with torch's semantics for what carries over.

A cohort holds its phases: the settings of step 0 and those of each change (`at` = the step from
which they apply), each with its problem, optimizer, schedule and clip norm built beforehand
(gdsim.build), so a bad value is reported when the scenario is loaded, not at step k. Every run
of a cohort has the same changes (they are part of the cohort's key), so a change never splits a
cohort. The simulation calls `switch_problem` just before the batch of step `at` is drawn and
`enter` once the loss and gradient of step `at` are computed; the update from `at` on uses the
new optimizer, learning rate and clip norm.

What carries over (torch.optim's param_groups semantics):
- the same optimizer (sgd <-> momentum/nesterov are all torch's SGD): its state is kept, only the
  hyperparameters change: a changed lr or momentum uses the velocity built so far, Adam keeps its
  moments and step count. A buffer the old settings did not have starts as torch would: SGD
  momentum switched on takes v ← g at the next update (torch's first-step rule); RMSprop momentum
  or centering, and Adam's amsgrad maximum, start at zero (torch itself raises a KeyError there).
- another optimizer: its fresh state at the current parameters (a new torch optimizer object).
- the schedule: a new lr under the same optimizer and schedule settings is torch's param_groups
  edit under a running scheduler: the schedule goes on from the lr set (gdsim.build builds that
  phase's schedule with schedules_chained.continue_from). Other schedule settings or another
  optimizer: a closed form of the global step count, rebuilt with the new base lr, so it
  continues at the step reached (a cosine over 300 steps switched on at step 150 is at its middle).
  The plateau schedule keeps its state (best loss, bad epochs, cooldown); a changed lr sets
  its current lr, as editing param_groups' lr does under ReduceLROnPlateau, before the metric of
  step `at` is judged (a cut due at `at` cuts the new lr).
- batch size: the run's shuffling stream goes on (same generator), starting a new epoch at step
  `at`; l1, l2 and the surfaces' gradient noise apply to the gradient of step `at` on (noise
  switched on from zero starts the run's normal stream afresh).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Phase(NamedTuple):
    """A cohort's settings from step `at` on."""

    at: int
    problem: Any
    optimizer: Any
    schedule: Any
    clip_norm: float | None


def next_change(cohort) -> int | None:
    """The step of the cohort's next change, or None."""
    phases, i = cohort.phases, cohort.phase + 1
    return phases[i].at if i < len(phases) else None


def switch_problem(cohort) -> None:
    """Just before the batch of the change's step is drawn: the new problem and its sampler."""
    new = cohort.phases[cohort.phase + 1].problem
    old = cohort.problem
    if new is old:
        return
    cohort.sampler = carry_sampler(old, new, cohort.sampler, cohort.seeds)
    cohort.problem = new


def carry_sampler(old: Any, new: Any, sampler: Any, seeds: np.ndarray) -> Any:
    """The sampler after the problem changes from `old` to `new` (see the module's docstring)."""
    if getattr(old, "batch_size", None) != getattr(new, "batch_size", None):
        fresh = new.sampler(seeds)
        fresh._shuffle_rngs = sampler._shuffle_rngs  # the run's own stream goes on
        if getattr(sampler, "_mask_rngs", None) is not None and hasattr(fresh, "_mask_rngs"):
            fresh._mask_rngs = sampler._mask_rngs
        return fresh
    if (getattr(old, "noise", 0.0) == 0.0) != (getattr(new, "noise", 0.0) == 0.0):
        return new.sampler(seeds)
    return sampler


def carry_state(old: Any, new: Any, state: Any, params: np.ndarray) -> Any:
    """The optimizer state after changing optimizer `old` to `new` at `params`."""
    if old.name != new.name:
        return new.init(params)
    fresh = new.init(params)
    if type(fresh) is not type(state):
        return fresh
    if new.name == "sgd" and state.momentum_buffer is None and fresh.momentum_buffer is not None:
        return fresh  # step 0 again: the next update takes v ← g, exactly torch's missing-buffer rule
    return type(state)(state[0], *(o if o is not None else f for o, f in zip(state[1:], fresh[1:])))


def enter(cohort, k: int) -> None:
    """Apply the cohort's next change at step k (its loss and gradient at k are computed)."""
    cohort.phase += 1
    phase = cohort.phases[cohort.phase]
    old_optimizer, old_schedule = cohort.optimizer, cohort.schedule
    cohort.problem = phase.problem
    cohort.optimizer = phase.optimizer
    cohort.clip_norm = phase.clip_norm
    cohort.state = carry_state(old_optimizer, phase.optimizer, cohort.state, cohort.params)
    cohort.refresh_needs()
    cohort.schedule = phase.schedule
    cohort._lr_table, cohort._lr_from = [], 0
    base = float(phase.optimizer.hyper["lr"])
    n = len(cohort.rows)
    if phase.schedule.adaptive is None:
        cohort.schedule_state = None
        cohort.lr = cohort.lr_at(k)
    elif cohort.schedule_state is None or old_schedule.adaptive is None:
        cohort.schedule_state = phase.schedule.adaptive.init(base, n)
        cohort._watch(k)
    elif base != float(old_optimizer.hyper["lr"]):
        # torch sets the param group's lr before this step's metric reaches the scheduler: the
        # judgement of step k is made again from the state before it, with the new lr (a cut due at
        # k cuts the new lr, as ReduceLROnPlateau.step does after the edit)
        cohort.schedule_state = cohort.schedule_before._replace(lr=np.full(n, base))
        cohort._watch(k)
    else:
        cohort.lr = cohort.schedule_state.lr


def use_phase(cohort) -> None:
    """Set the fixed objects of the cohort's current phase (after its state was copied in)."""
    phase = cohort.phases[cohort.phase]
    cohort.problem, cohort.optimizer, cohort.schedule = phase.problem, phase.optimizer, phase.schedule
    cohort.refresh_needs()
    cohort._lr_table, cohort._lr_from = [], 0
