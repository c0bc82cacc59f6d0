"""A sweep in a child process, so the app's own interpreter stays free for the screen.

Stepped in a thread of the app, a sweep of networks shares Python's lock with the UI. Measured on
the 2-core machine at a load average of 10-13 (pilot, 120x40, the help screen opened 15 times):
while a 400-network sweep ran in a thread, a median 2.06 s (0.29-0.47 s without the sweep);
with the sweep in this child process, 0.30 s (0.36 s without). Where the app may use a second core (the engine worker's
rule, gdsim.app.runtime.engine_worker.worker_wanted: not served, at least two cores,
GDSIM_ENGINE_WORKER not 0) the sweep runs in `python -m gdsim.app.runtime.sweep_child` at a lower
priority: the scenario and plan go in as a pickle; out come lines `P done total eta`, then
`R <bytes>` and the pickled (SweepResult, seconds). Served sessions step in a thread instead,
resting to keep their CPU share (SweepJob.run's `share`).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import Any, Callable

NICE = 10  # the child only takes the CPU time the app leaves


class ChildSweep:
    """run(progress, cancelled) -> (result, seconds) or None (cancelled, or the child failed)."""

    def __init__(self, loaded: Any, plan: Any):
        self.loaded = loaded
        self.plan = plan
        self._process: subprocess.Popen | None = None
        self.cancelled = False

    def run(self, progress: Callable[[int, int, float], None] | None = None,
            cancelled: Callable[[], bool] = lambda: False) -> tuple[Any, float] | None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self._process = process = subprocess.Popen(
            [sys.executable, "-m", "gdsim.app.runtime.sweep_child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)  # never a byte onto the screen
        try:
            process.stdin.write(pickle.dumps((self.loaded, self.plan)))
            process.stdin.close()
            for line in process.stdout:
                if cancelled() or self.cancelled:
                    return None
                if line.startswith(b"P ") and progress is not None:
                    done, total, eta = line.split()[1:]
                    progress(int(done), int(total), float(eta))
                elif line.startswith(b"R "):
                    data = process.stdout.read(int(line.split()[1]))
                    return pickle.loads(data)
            return None  # the child ended without a result
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            return None
        finally:
            self.cancel(wait=True)

    def cancel(self, wait: bool = False) -> None:
        """Stop the child (its answer is no longer wanted, or it has given it)."""
        self.cancelled = self.cancelled or not wait
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            if wait:
                process.wait()


def _main() -> int:
    try:
        os.nice(NICE)
    except OSError:
        pass
    from gdsim.app.runtime.sweep_job import SweepJob

    loaded, plan = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer

    def progress(done: int, total: int, eta: float) -> None:
        out.write(f"P {done} {total} {eta:.3f}\n".encode())
        out.flush()

    job = SweepJob(loaded, plan)
    done = job.run(progress)
    data = pickle.dumps((done[0], job.seconds))
    out.write(f"R {len(data)}\n".encode())
    out.write(data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
