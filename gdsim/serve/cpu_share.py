"""Fair CPU shares for served sessions: the server publishes each app's share of a core.

Thirty participants on a two-core machine, each running a scenario flat out, would ask for far
more CPU than there is, and every key press would then wait behind everyone else's frames. The
server therefore tells its app processes how much of a core each may use: USABLE of the machine's
cores divided by the sessions now live, a presenter's app first served its PRESENTER_SHARE (a room
watches it). It is written to small files (atomically, in a private directory the server owns and
removes: rundir.py) that every app re-reads about once a second (gdsim/app/runtime/pacing.py), so
the share grows when people leave and shrinks as the room fills. Beside them, the frame slots
(gdsim/app/runtime/frame_slots.py): participants' apps draw their background frames in turns.
"""

from __future__ import annotations

import os
from pathlib import Path

from gdsim.app.runtime.frame_slots import make_slots
from gdsim.app.runtime.pacing import usable_cores

USABLE = 0.5  # of all cores, for running scenarios; keys' own frames (charged after the fact), the server
# and the kernel need the rest: measured with benchmarks/bench_serve.py, 30 sessions on 2 cores
# A presenter's app is what the room watches (and what followers follow): it gets this much of a core
# whatever the room's size (about 8 frames a second at 120x40), but presenters together never more
# than half of the usable cores. With 30 followers on 2 cores a presenter used to get 1/31 of a
# core, like everyone: its run drew about one frame a second (measured in session 4).
PRESENTER_SHARE = 0.25
PRESENTER_FILE = "cpu-share-presenter"  # beside the participants' file
SLOTS_DIR = "frame-slots"  # beside them: participants' apps draw background frames in turns (app/runtime/frame_slots.py)


def slot_count(cores: int) -> int:
    """How many participants' apps may draw a background frame at once: the cores the apps may use."""
    return max(1, round(USABLE * cores))


def shares_for(participants: int, presenters: int, cores: int) -> tuple[float, float]:
    """(each participant's share, each presenter's share), as fractions of one core (never more than one)."""
    budget = USABLE * cores
    if presenters <= 0:
        return min(1.0, budget / max(1, participants)), 0.0
    lead = min(1.0, max(budget / (participants + presenters), min(PRESENTER_SHARE, budget / 2 / presenters)))
    rest = budget - presenters * lead
    return (min(1.0, rest / participants) if participants else min(1.0, budget)), lead


def share_for(sessions: int, cores: int) -> float:
    """A session's fraction of one core when `sessions` share `cores` with no presenter."""
    return shares_for(sessions, 0, cores)[0]


def presenter_path(path: Path) -> Path:
    """The presenters' share file, beside the participants' `path`."""
    return Path(path).with_name(PRESENTER_FILE)


class CpuShares:
    """The published shares, two small files in the server's run directory (participants', and
    presenters'); `publish(participants, presenters)` after every session start and end."""

    def __init__(self, directory: Path, cores: int | None = None) -> None:
        self.cores = cores or usable_cores()
        self.path = Path(directory) / "cpu-share"
        self.presenter_path = presenter_path(self.path)
        self.share = self.presenter_share = 0.0
        self.slots: Path | None = None
        try:
            self.slots = make_slots(Path(directory) / SLOTS_DIR, slot_count(self.cores))
        except OSError:
            pass  # no slots: every app draws when its share allows, as before
        self.publish(0)

    def publish(self, participants: int, presenters: int = 0) -> None:
        self.share, lead = shares_for(participants, presenters, self.cores)
        self.presenter_share = lead or min(1.0, USABLE * self.cores)
        for path, value in ((self.path, self.share), (self.presenter_path, self.presenter_share)):
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_text(f"{value:.4f}\n", encoding="ascii")
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)  # readers see the old or the new value, never half of one
            except OSError:
                pass  # the apps keep the last share they read; serving must not stop over this
