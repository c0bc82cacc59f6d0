"""How much engine work each tick of the scenario screen may do, and whether a tick may run at all.

Free of Textual, and driven by clocks handed in, so it is tested without timing anything.

- On a learner's own machine the engine gets whatever a frame leaves over: the pacer learns the
  CPU cost of drawing a frame (the redraw plus Textual's compositor, measured between ticks) and
  gives the engine the rest of a frame period (with headroom), for 20 redraws a second. A key press
  waits at most one engine budget, so the budget is also capped for latency.
- In served mode (`gdsim serve`) thirty participants may share two cores. Each session then has a
  CPU share (GDSIM_CPU_SHARE, a fraction of one core, set by the server from its core count and
  session cap) kept by a token bucket: a running scenario skips ticks while it is over its share,
  so the machine never has more work than cores and every session's key presses are answered
  quickly. The bucket is charged with ALL the CPU the process used since the last tick, not only
  the ticks' own work: Textual's compositor and layout, the room's messages and panel, keys
  pressed while it runs. (Charging only the ticks let followers of a presenter use 1.7 times
  their share, measured in session 4.) Key presses themselves are never held back: their work
  is charged after the fact, the debt is capped at DEBT (a key delays the run's next frame by at
  most DEBT / share), and what is done while the run is paused (rest) is not charged at all.
"""

from __future__ import annotations

import os
import random

FRAME_PERIOD = 1 / 20  # seconds between the scenario screen's ticks: 20 redraws/s when a tick fits
# The share of a period a tick's own work (engine + frame) may fill. The rest is for Textual's own
# work between ticks and the timer's jitter: a tick that outlasts the period makes the timer skip the
# next one, which halves the frame rate (measured: 8.6 redraws/s with no headroom).
HEADROOM = 0.8
MIN_BUDGET = 0.004  # the engine always gets this much per tick, however slow drawing is
MAX_BUDGET = 0.030  # ... and never more: a key press waits for at most one budget
SERVED_MAX_BUDGET = 0.010
CATCH_UP_FRAME = 0.5  # seconds between the frames of a follower catching up with a presenter (Session.catching_up)
MAX_SPREAD = 1.0  # seconds: the most a follower's frame for a presenter's new step is put off (Pacer.spread)
BURST = 0.05  # seconds of CPU a running served session may bank: about one frame
DEBT = 0.05  # ... and the most it may owe: what a key's frame or a burst of room messages cost beyond it is forgiven


SHARE_ENV = "GDSIM_CPU_SHARE"  # a fixed share, fraction of one core
SHARE_FILE_ENV = "GDSIM_CPU_SHARE_FILE"  # a file the server rewrites (gdsim/serve/cpu_share.py)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_share(raw: str) -> float | None:
    """A CPU share (fraction of one core) from text; None for anything that is not a positive number."""
    try:
        share = float(raw.strip())
    except ValueError:
        return None
    if not share > 0:  # also rejects nan
        return None
    return min(1.0, max(0.01, share))


class ShareSource:
    """Where a served session's CPU share comes from: GDSIM_CPU_SHARE (fixed), or the file named by
    GDSIM_CPU_SHARE_FILE, which the server rewrites as sessions come and go (re-read every second)."""

    REREAD = 1.0  # seconds

    def __init__(self, environ=os.environ):
        self.fixed = parse_share(environ.get(SHARE_ENV, ""))
        self.path = environ.get(SHARE_FILE_ENV) or None
        self._value: float | None = self.fixed
        self._read_at = float("-inf")

    @property
    def limited(self) -> bool:
        return self.fixed is not None or self.path is not None

    def get(self, wall: float) -> float | None:
        if self.fixed is not None or self.path is None:
            return self.fixed
        if wall - self._read_at >= self.REREAD:
            self._read_at = wall
            try:
                with open(self.path, encoding="ascii") as handle:
                    value = parse_share(handle.read(32))
            except (OSError, UnicodeDecodeError):
                value = None
            if value is not None:  # a missing or garbled file keeps the last good share
                self._value = value
            elif self._value is None:
                self._value = 0.05  # served, but no share known yet: be modest
        return self._value


class Pacer:
    """Decides each tick's engine budget; with a CPU share, also whether the tick runs."""

    def __init__(self, shares: ShareSource | None = None, period: float = FRAME_PERIOD):
        self.shares = shares if shares is not None and shares.limited else None
        self.share: float | None = None
        self.period = period
        self.frame_cost = 0.02  # CPU seconds to draw one frame, learnt as ticks come
        self.tokens = BURST
        self._wall: float | None = None
        self._cpu: float | None = None
        self._engine = 0.0  # CPU the engine used in the last tick (not part of drawing)
        self._drew = False  # whether the last tick drew a frame (only then is its cost a frame's)
        self._resting = False  # the ticks stopped after the last one (see rest)
        self._frame_at = float("-inf")  # the tick (wall time) of the last frame drawn
        self.skipped = 0
        self.charged = 0.0  # CPU seconds charged to the share so far (tests and benchmarks read it)
        self.random = random.Random()

    def tick(self, wall: float, cpu: float, catching_up: bool = False) -> float | None:
        """Called at the start of a tick: the engine budget in seconds, or None to skip the tick.
        `catching_up`: the session runs up to a presenter's step, drawing only when frame_due; the
        engine then also gets what a frame would have taken."""
        self.share = self.shares.get(wall) if self.shares is not None else None
        if self._wall is not None and self._cpu is not None:
            spent = max(0.0, cpu - self._cpu)
            if self._resting:  # the last tick's frame only, not the keys and messages answered since
                spent = min(spent, self.frame_cost if self._drew else 0.0)
            elif self._drew:
                drawing = max(0.0, spent - self._engine)
                self.frame_cost = 0.8 * self.frame_cost + 0.2 * min(drawing, 0.5)
            if self.share:
                # Everything the process did since the last tick is charged (see the module's doc),
                # against what the interval earned.
                earned = self.share * max(0.0, wall - self._wall)
                self.tokens = max(-DEBT, min(BURST, self.tokens + earned - spent))
                self.charged += spent
        self._wall, self._cpu, self._engine, self._drew, self._resting = wall, cpu, 0.0, False, False
        if self.share:
            if self.tokens < 0:
                self.skipped += 1
                return None
            return min(SERVED_MAX_BUDGET, max(0.002, self.frame_cost * (2 if catching_up else 1)))
        if catching_up:
            return MAX_BUDGET
        return min(MAX_BUDGET, max(MIN_BUDGET, HEADROOM * self.period - self.frame_cost))

    def wait(self) -> float:
        """After a skipped tick: seconds until the share has paid for the next one."""
        return max(self.period, -self.tokens / self.share + 0.001) if self.share else self.period

    def spread(self) -> float:
        """How long a served follower waits before drawing a presenter's new step: a random part of
        its own frame period under its share (frame cost / share, at most MAX_SPREAD). Thirty
        followers get the presenter's scene at the same instant; drawing it at once, they made a
        burst of thirty frames (1.3 CPU-s on two cores) that every key pressed meanwhile waited
        behind. Spread, their frames are a steady trickle within the same shares. 0 when unlimited.
        Served participants' apps with frame slots (runtime/frame_slots.py) take turns instead."""
        if not self.share:
            return 0.0
        return self.random.uniform(0.0, min(MAX_SPREAD, self.frame_cost / self.share))

    def frame_due(self) -> bool:
        """Whether a session catching up should draw in this tick: every CATCH_UP_FRAME seconds.
        It draws the steps it passes at a low frame rate and spends its time (and CPU share) on
        reaching the presenter's step, where it draws at once."""
        return self._wall is None or self._wall - self._frame_at >= CATCH_UP_FRAME

    def rest(self) -> None:
        """The ticks stop (the run paused). Until they start again the app answers keys and room
        messages, which are not charged to the share: only the frame the last tick drew is."""
        self._resting = True

    def frame_drawn(self) -> None:
        """The tick drew a frame: the CPU spent until the next tick is drawing cost."""
        self._drew = True
        self._frame_at = self._wall if self._wall is not None else float("-inf")

    def engine_used(self, seconds: float) -> None:
        """The engine's CPU time in this tick, so it is not mistaken for drawing cost."""
        self._engine += max(0.0, seconds)
