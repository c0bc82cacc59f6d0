"""RunState: one run's state in words (gdsim.engine.states decides it), and an ensemble's tally.

`words` is the few words of a table cell, `sentence(label)` the notice; both say the one reason
that applied (`why`), never a list of what might have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

SEVERITY = {
    "diverged": "error", "growing": "error", "stopped": "info", "global min": "info",
    "local min": "warning", "saddle": "warning", "stalled": "warning", "oscillating": "info",
    "slow": "", "converged": "info", "moving": "", "ok": "",
}
KINDS = tuple(SEVERITY)
PLACE = {"global min": "at the global minimum", "local min": "at a local minimum", "saddle": "at a saddle point"}

WINDOW_STEPS = 200  # stationarity, growth and oscillation are judged over the last this many steps
# why a run is in its state, where more than one reason could apply (RunState.why)
STALLED_WHY = {
    "start": "near where it started",
    "chance": "at the loss of guessing the class frequencies",
    "above chance": "above the loss of guessing the class frequencies",
    "known": "above a known lower minimum",
    "better": "above where another seed of the same settings got",
}


@dataclass(frozen=True)
class RunState:
    """Where one run stands: `kind` (one of KINDS) and what the words need.

    `why` is the one reason that applied, where several could: stalled "start" / "chance" /
    "known" / "better" / "lr 0"; converged "chance" (a classifier no better than guessing) /
    "jitter" (flat loss, steps bouncing at the bottom); slow "barely" (barely moved towards the
    nearest known minimum). `ref` is the number that goes with it (the chance loss, the lower
    loss, the share of the way covered). At a known point, `since` is the first step from which
    the run stayed within reach of it (`rough`: the history is thinned, so to within its stride)
    and `value` the loss there."""

    kind: str
    step: int | None = None  # diverged / stopped early at this step
    best: int | None = None  # stopped early: the step whose validation loss was best
    point: tuple[float, ...] | None = None  # the known point it is at (min or saddle)
    loss: float | None = None  # the loss at the step judged
    why: str = ""
    ref: float | None = None
    since: int | None = None
    rough: bool = False
    value: float | None = None
    span: int | None = None  # stalled: the steps its window spans (fewer than WINDOW_STEPS early in a run)

    @property
    def words(self) -> str:
        """A few words for a table cell: 'local min at 40', 'diverged at 12', 'converged at chance',
        'stopped early at 120 (best 80)'."""
        if self.kind == "diverged":
            return f"diverged at {self.step}"
        if self.kind == "stopped":
            return f"stopped early at {self.step}" + ("" if self.best is None else f" (best {self.best})")
        if self.kind in PLACE and self.why == "around":
            return f"around {self.kind}"
        if self.kind in PLACE and self.since is not None:
            return f"{self.kind} at {'~' if self.rough else ''}{self.since}"
        if self.kind == "stalled" and self.why == "lr 0":
            return "not trained (lr 0)"
        if self.why == "chance":
            return f"{self.kind} at chance"
        if self.why == "above chance":
            return f"{self.kind} above chance"
        if self.kind == "converged" and self.why == "jitter":
            return "converged (jitter)"
        if self.kind == "slow" and self.why == "barely":
            return "barely moved"
        return self.kind

    @property
    def severity(self) -> str:
        if self.kind == "stalled" and self.why == "lr 0":
            return ""  # kept still on purpose: nothing to warn about
        if (self.kind == "converged" and self.why == "chance") or (self.kind == "slow" and self.why == "barely"):
            return "warning"
        return SEVERITY[self.kind]

    @property
    def at_point(self) -> str:
        """'(-1.03, 0)' for a state at a known point, else ''."""
        return "" if self.point is None else "(" + ", ".join(f"{v:.3g}" for v in self.point) + ")"

    def sentence(self, label: str) -> str:
        """One plain sentence about run `label` in this state (the one reason that applied)."""
        loss = "" if self.loss is None or not np.isfinite(self.loss) else f" (loss {self.loss:.4g})"
        ref = "" if self.ref is None or not np.isfinite(self.ref) else f"{self.ref:.4g}"
        since = "" if self.since is None else f" {'from about' if self.rough else 'from'} step {self.since} on"
        if self.kind in PLACE and self.value is not None and self.value != 0:
            loss = f" (loss {self.value:.4g}, the lowest this surface goes)" if self.kind == "global min" else loss
        if self.kind == "stalled":
            if self.why == "lr 0":
                return f"{label} is not trained{loss}: its learning rate is 0, so it keeps its starting parameters"
            why = STALLED_WHY.get(self.why, "at a high loss")
            steps = WINDOW_STEPS if self.span is None else min(WINDOW_STEPS, self.span)
            return (f"{label} stalled{loss}: the loss has stopped falling for the last {steps} steps, {why}"
                    + (f" ({ref})" if ref and self.why != "start" else ""))
        if self.kind == "converged" and self.why == "chance":
            return f"{label} converged at chance{loss}: no better than guessing the class frequencies (loss {ref})"
        if self.kind == "converged" and self.why == "jitter":
            return f"{label} converged{loss}: the loss is flat while its steps jitter back and forth at the bottom"
        if self.kind in PLACE and self.why == "around":
            away = f": the gradient noise keeps it about {ref} from it; it does not settle" if ref else ""
            return f"{label} bounces around {PLACE[self.kind][3:]} {self.at_point}{loss}{away}"
        if self.kind == "slow" and self.why == "barely":
            share = "" if self.ref is None else f": {self.ref:.0%} of the way from its start to the nearest minimum"
            return f"{label} barely moved{loss}{share}"
        text = {
            "diverged": f"{label} diverged at step {self.step}: the loss blew up; try a smaller learning rate (key L)",
            "stopped": f"{label} stopped early at step {self.step}: validation loss stopped improving"
                       + ("" if self.best is None else f" (best at step {self.best})"),
            "global min": f"{label} reached the global minimum {self.at_point}{loss}{since}",
            "local min": f"{label} is in a local minimum {self.at_point}{loss}{since}, not the global one",
            "saddle": f"{label} is at a saddle point {self.at_point}{loss}{since}: the gradient vanishes but it is "
                      "not a minimum",
            "growing": f"{label} is growing{loss}: the loss rises step after step; try a smaller learning rate (key L)",
            "oscillating": f"{label} is oscillating{loss}: it overshoots and swings back",
            "converged": f"{label} converged{loss}: loss and gradient have stopped changing",
            "slow": f"{label} is slow{loss}: a tiny gradient, but it is still moving",
            "moving": f"{label} is moving{loss}",
            "ok": f"{label}{loss}",
        }[self.kind]
        return text.replace("  ", " ")




# -- ensembles -------------------------------------------------------------------------------------
def _key(state: RunState) -> str:
    """What an ensemble's runs are counted by: the kind at a known point (not when each got there),
    diverged and stopped together, else the words ("converged at chance" apart from "converged")."""
    if state.kind in PLACE and state.why == "around":
        return state.words  # bouncing around a minimum is not being at it
    return state.kind if state.kind in (*PLACE, "diverged", "stopped") else state.words


def tally(states: Sequence[RunState]) -> list[tuple[str, int]]:
    """(description, count) per distinct end, most common first: known points apart, with their
    coordinates ("at the global minimum (-1.03, 0)"); diverged and stopped runs counted together."""
    counts: dict[str, int] = {}
    for state in states:
        if state.kind in PLACE and state.why == "around":
            key = f"around {PLACE[state.kind][3:]} {state.at_point}"
        elif state.kind in PLACE:
            key = f"{PLACE[state.kind]} {state.at_point}"
        elif state.kind == "diverged":
            key = "diverged"
        elif state.kind == "stopped":
            key = "stopped early"
        else:
            key = _key(state)
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])


def _every_run(counted: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """The `limit` most common, and the rest as one "other" count, so that every run is accounted for
    (one more kind than the limit is named: "other" would be no shorter)."""
    if len(counted) <= limit + 1:
        return counted
    return counted[:limit] + [("other", sum(count for _, count in counted[limit:]))]


def tally_sentence(states: Sequence[RunState], limit: int = 3) -> str:
    """'46 of 100 at the global minimum (-1.03, 0); 54 of 100 at a local minimum (1.1, 0)'; every
    run counted (past `limit` kinds, the rest as "N of 100 other")."""
    n = len(states)
    parts = [f"{count} of {n} {what}" for what, count in _every_run(tally(states), limit)]
    return "; ".join(parts)


def tally_words(states: Sequence[RunState], limit: int = 2) -> str:
    """A table cell for an ensemble: '54 local min, 46 global min'; runs at one kind of point but
    at several points say how they split ('global min ×2: 11, 9'); runs at a minimum and around
    it together are 'near' it ('27 near global min, 3 moving'); every run counted ('4 slow,
    3 moving, 3 converged'; past limit + 1 kinds the rest are 'N other')."""
    counts: dict[str, int] = {}
    for state in states:
        key = _key(state)
        counts[key] = counts.get(key, 0) + 1
    for place in PLACE:
        # runs at a minimum and runs bouncing around it, side by side, are one count "near" it in a
        # cell ('25 around global min, 3 moving, 2 global min' pushed the table's lr and distance
        # columns off an 80x24 screen); the notices keep them apart
        if place in counts and f"around {place}" in counts:
            counts[f"near {place}"] = counts.pop(place) + counts.pop(f"around {place}")
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    if len(ordered) == 1:
        kind = ordered[0][0]
        split = [count for _, count in tally(states)]
        if kind in PLACE and len(split) > 1:
            return f"{kind} ×{len(split)}: " + ", ".join(str(c) for c in split[:4]) + (" ..." if len(split) > 4 else "")
        return kind if kind in ("ok", "moving") else f"all {kind}"
    return ", ".join(f"{count} {kind}" for kind, count in _every_run(ordered, limit))
