"""Fair CPU shares for served sessions: the server publishes each app's share of a core.

Thirty participants on a two-core machine, each running a scenario flat out, would ask for far
more CPU than there is, and every key press would then wait behind everyone else's frames. The
server therefore tells its app processes how much of a core each may use: USABLE of the machine's
cores divided by the sessions now live. It is written to a small file (atomically, in a private
directory the server owns and removes: rundir.py) that every app re-reads about once a second
(gdsim/app/runtime/pacing.py), so the share grows when people leave and shrinks as the room fills.
"""

from __future__ import annotations

import os
from pathlib import Path

from gdsim.app.runtime.pacing import usable_cores

USABLE = 0.5  # of all cores, for running scenarios; key presses (not metered), the server and the kernel
# need the rest: measured with benchmarks/bench_serve.py, 30 sessions on 2 cores
def share_for(sessions: int, cores: int) -> float:
    """A session's fraction of one core when `sessions` share `cores` (never more than a core)."""
    return min(1.0, USABLE * cores / max(1, sessions))


class CpuShares:
    """The published share, a file in the server's run directory; `publish(n)` after every
    session start and end."""

    def __init__(self, directory: Path, cores: int | None = None) -> None:
        self.cores = cores or usable_cores()
        self.path = Path(directory) / "cpu-share"
        self.share = share_for(0, self.cores)
        self.publish(0)

    def publish(self, sessions: int) -> None:
        self.share = share_for(sessions, self.cores)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(f"{self.share:.4f}\n", encoding="ascii")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)  # readers see the old or the new value, never half of one
        except OSError:
            pass  # the apps keep the last share they read; serving must not stop over this
