"""A learning rate set mid-run under a running schedule, as torch does it (editing param_groups' lr).

In torch, `optimizer.param_groups[i]["lr"] = v` between two steps sets the lr of the next update
to v, and the scheduler goes on from there: its get_lr() computes each new lr from the group's
current one. So a change of `optimizer.lr` at step k (same optimizer, same schedule settings)
gives lr_k = v and then, for j > k (W = warmup, f = warmup_start_factor, b = the schedule's own
base lr, torch's base_lrs; i, m = j − W, k − W):

    constant     v                                               (no scheduler)
    step         v · γ^(⌊i/s⌋ − ⌊m/s⌋)                           StepLR multiplies at each multiple of s
    exponential  v · γ^(i − m)                                   ExponentialLR multiplies every step
    cosine       η_min + (v − η_min)·(1 + cos(πi/T))/(1 + cos(πm/T))
                 until the next minimum (i = T, 3T, ...): there torch's recursion adds
                 (b − η_min)(1 − cos(π/T))/2 to η_min, so the cosine climbs back towards the
                 ORIGINAL base lr b, not towards v: the change lasts until the next minimum.
    warm-up      during the warm-up (k < W) LinearLR scales the lr by (Wf + j(1−f))/(Wf + (j−1)(1−f))
                 each step: v·(Wf + j(1−f))/(Wf + k(1−f)). With a constant schedule (LinearLR
                 alone) the lr then stays there; with step/exponential/cosine, SequentialLR
                 restarts the main schedule at step W from its closed form at 0, i.e. from b:
                 a change made during the warm-up is forgotten at its end.

These are torch's recursions multiplied out (torch 2.13.0's StepLR, ExponentialLR, LinearLR,
CosineAnnealingLR, SequentialLR); tests/golden/make_change_golden.py checks them against torch
itself. A second change chains from its own step the same way (b stays the schedule's own base).
`plateau` keeps its own state (gdsim.engine.changes.enter); a change of the schedule's settings
or of the optimizer rebuilds the schedule instead (gdsim.engine.changes).
"""

from __future__ import annotations

import math

from gdsim.engine.schedules import Schedule, _lr_function, _power


def continue_from(schedule: Schedule, k: int, lr: float) -> Schedule:
    """The schedule after its lr is set to `lr` at step k (torch's param_groups edit), see above.

    Its lr_at(j) is `lr` at j = k and torch's recursion from there for j > k; before k it is the
    schedule as built (only plots ask for those steps)."""
    root = schedule.root or schedule
    if root.adaptive is not None or root.per_run:
        raise ValueError("continue_from is for one run's closed-form schedule (plateau keeps its own state)")
    p = root.params
    name, base, warmup, factor = root.name, p["lr"], p["warmup"], p["warmup_start_factor"]
    root_at = root.lr_at
    v = float(lr)
    k = int(k)

    def warming(j: int) -> float:  # LinearLR's factors from k to j, multiplied out
        return v * (warmup * factor + j * (1 - factor)) / (warmup * factor + k * (1 - factor))

    main = _main_after(name, p, base, k - warmup, v)

    def at(j: int) -> float:
        if j <= k:
            return v if j == k else float(root_at(j))
        if k < warmup:
            if name == "constant":
                return float(warming(min(j, warmup)))
            return float(warming(j)) if j < warmup else float(root_at(j))
        return float(main(j - warmup))

    params = {**p, "set_lr": (k, v)}
    return Schedule(name, params, _lr_function(at), None, False, root)


def _main_after(name: str, p: dict, base: float, m: int, v: float):
    """The main schedule's lr at local step i > m after its lr was set to v at local step m."""
    if name == "constant":
        return lambda i: v
    if name == "step":
        g, s = p["gamma"], p["step_size"]
        return lambda i: v * _power(g, i // s - m // s)
    if name == "exponential":
        g = p["gamma"]
        return lambda i: v * _power(g, i - m)
    period, low = p["t_max"], p["eta_min"]

    def c(i: int) -> float:  # torch's 1 + cos(π·last_epoch/T_max)
        return 1 + math.cos(math.pi * i / period)

    def segment(a: int, lr_a: float, i: int) -> float:  # torch's ratio recursion from (a, lr_a)
        return lr_a if i == a else c(i) / c(a) * (lr_a - low) + low

    def bump(previous: float) -> float:  # torch's step just past a minimum, towards base_lrs
        return previous + (base - low) * (1 - math.cos(math.pi / period)) / 2

    first = m + 1 + (period - m) % (2 * period)  # the first i > m with (i − 1 − T) % 2T == 0

    def cosine(i: int) -> float:
        if i < first:
            return segment(m, v, i)
        last = first + 2 * period * ((i - first) // (2 * period))
        if last == first:
            before = segment(m, v, last - 1)
        else:
            # at every minimum before, 1 + cos(π(2n+1)) is 0.0 exactly in binary64, so the lr there
            # was η_min and the step after it η_min + bump
            before = segment(last - 2 * period, bump(low), last - 1)
        return segment(last, bump(before), i)

    return cosine
