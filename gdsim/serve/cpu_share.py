"""Fair CPU shares for served sessions: the server publishes each app's share of a core.

Thirty participants on a two-core machine, each running a scenario flat out, would ask for far
more CPU than there is, and every key press would then wait behind everyone else's frames. The
server therefore tells its app processes how much of a core each may use: USABLE of the machine's
cores divided by the sessions now live. It is written to a small file (atomically, in a private
directory the server owns and removes) that every app re-reads about once a second
(gdsim/app/runtime/pacing.py), so the share grows when people leave and shrinks as the room fills.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gdsim.app.runtime.pacing import usable_cores

USABLE = 0.5  # of all cores, for running scenarios; key presses (not metered), the server and the kernel
# need the rest: measured with benchmarks/bench_serve.py, 30 sessions on 2 cores
def share_for(sessions: int, cores: int) -> float:
    """A session's fraction of one core when `sessions` share `cores` (never more than a core)."""
    return min(1.0, USABLE * cores / max(1, sessions))


class CpuShares:
    """The published share; `publish(n)` after every session start and end, `close()` at shutdown."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or usable_cores()
        self._dir = Path(tempfile.mkdtemp(prefix="gdsim-serve-"))  # mode 0700
        self.path = self._dir / "cpu-share"
        self.share = share_for(0, self.cores)
        self.publish(0)

    def publish(self, sessions: int) -> None:
        self.share = share_for(sessions, self.cores)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(f"{self.share:.4f}\n", encoding="ascii")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)  # readers see the old or the new value, never half of one
            os.chmod(self._dir, 0o755)  # the apps may run as the same user only, but must read it
        except OSError:
            pass  # the apps keep the last share they read; serving must not stop over this

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
