"""Measuring a scenario's expects for the verdict line and the reveal, without slowing the app.

`gdsim.scenario.verify` runs the whole scenario headless: a few milliseconds for a 2-D lesson, but
40 s for an ensemble of networks. Run in a thread of the app it would hold Python's lock against
the redraws for all that time, so where the app may use a second core (the engine worker's rule:
not served, at least two cores, GDSIM_ENGINE_WORKER not 0) it runs in a child process at a lower
priority (`python -m gdsim.app.runtime.verify_job`, the scenario in and the Verification out as
pickles), killed when its answer is no longer wanted. Elsewhere (served: each session has its CPU
share and limit; the tests) it runs in the calling thread, and only when a short trial run
projects it to take at most IN_PROCESS_BUDGET seconds; beyond that the verdict line says so.

Results are kept per scenario text (TOO_COSTLY included), so opening a scenario again, or a reset,
costs nothing.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from typing import Any

IN_PROCESS_BUDGET = 3.0  # seconds a verification may take in the app's own process
TRIAL_SECONDS = 0.05  # the trial run that projects its cost steps for about this long
NICE = 10  # the child's priority: it only takes CPU time the app leaves
TOO_COSTLY = "too costly to measure here"

_cache: dict[str, Any] = {}


def _key(loaded: Any) -> str:
    return json.dumps(loaded.raw, sort_keys=True, default=str)


def cached(loaded: Any) -> Any:
    return _cache.get(_key(loaded))


def projected_seconds(loaded: Any) -> float:
    """How long verifying `loaded` would take, from a short trial run of the same scenario: the
    build once, plus the steps at the trial's pace (at least a few steps, however slow the build)."""
    from gdsim.build import build

    steps = loaded.scenario.scenario.steps
    started = time.perf_counter()
    sim = build(loaded, record=False)
    built = time.perf_counter()
    done = 0
    while done < steps and (done < 8 or time.perf_counter() - built < TRIAL_SECONDS):
        chunk = max(1, min(steps - done, 1 + done))  # 1, 2, 4, ... steps
        sim.step(chunk)
        done += chunk
    per_step = (time.perf_counter() - built) / max(done, 1)
    return (built - started) + per_step * steps


class VerifyJob:
    """One verification: `run()` (call it from a worker thread) returns the Verification, or
    TOO_COSTLY, or None if it was cancelled."""

    def __init__(self, loaded: Any, child: bool):
        self.loaded = loaded
        self.child = child
        self._process: subprocess.Popen | None = None
        self.cancelled = False

    def run(self) -> Any:
        key = _key(self.loaded)
        if key in _cache:
            return _cache[key]
        if self.child:
            result = self._in_child()
        elif projected_seconds(self.loaded) > IN_PROCESS_BUDGET:
            result = TOO_COSTLY
        else:
            from gdsim.scenario.verify import verify

            result = verify(self.loaded)
        if result is not None and not self.cancelled:
            _cache[key] = result
        return None if self.cancelled else result

    def _in_child(self) -> Any:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "gdsim.app.runtime.verify_job"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)  # never a byte onto the screen
        except OSError:  # no processes left: measure here if it is cheap
            self.child = False
            return self.run()
        if self.cancelled:
            self.cancel()
        out, _ = self._process.communicate(pickle.dumps(self.loaded))
        if self._process.returncode != 0 or self.cancelled:
            return None
        return pickle.loads(out)

    def cancel(self) -> None:
        """Its answer is not wanted any more (the settings changed, the screen closed)."""
        self.cancelled = True
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()


def _main() -> int:
    try:
        os.nice(NICE)
    except OSError:
        pass
    from gdsim.scenario.verify import verify

    loaded = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(verify(loaded)))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
