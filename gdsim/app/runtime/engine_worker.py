"""The engine in a process of its own, so a running scenario has a whole core and the UI another.

Python runs one thread at a time, and NumPy holds the lock for the small arrays of a 2-D run, so
in one process every millisecond of stepping is a millisecond the plots are not drawn. While a
scenario runs, the Session hands its simulation's state to this worker; the worker rebuilds the
same simulation from the same scenario, steps it for a slice of time, and sends back the new
state (cohort arrays and only the history records added since the last reply), which the Session
copies into its own simulation. Both sides run the same code on the same state, so the result is
bit for bit what stepping in the UI process gives (tests/app/test_engine_worker.py).

Requests carry a token; a reply to an old token (the user paused, stepped or changed a setting
meanwhile) is dropped. The worker is a fresh interpreter (`python -m gdsim.app.runtime.engine_worker FD`,
never a fork of the UI's threads) talking over a socket pair; it exits when the socket closes,
so it cannot outlive the app, and it is killed if it does not stop when asked.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

SLICE = 0.025  # seconds of stepping per request (bench_app: 25 ms beat 15 and 40 ms on steps, redraws and latency)


def _serve(conn: Connection) -> None:
    """The worker's loop: ("load", loaded, snapshot), then ("step", token, until) requests."""
    from gdsim.build import build

    try:
        conn.send(("ready",))  # imports done: until this arrives the app keeps stepping by itself
    except (BrokenPipeError, OSError):
        return  # the app is already gone
    sim = None
    sent = None  # the history mark the UI holds once it has applied every reply sent so far
    step_cost = 2e-4  # seconds a step, learnt as it goes
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "load":
            _, loaded, snapshot = message
            sim = build(loaded)
            sim.restore(snapshot)
            sent = snapshot["mark"]
            continue
        _, token, until = message
        done = 0
        if sim is not None:
            done, step_cost = sim.step_for(SLICE, until - sim.step_count, step_cost)
        snapshot = None if sim is None else sim.snapshot(sent)
        if snapshot is not None:
            sent = snapshot["mark"]
        try:
            conn.send((token, done, snapshot))
        except (BrokenPipeError, OSError):
            return


class EngineWorker:
    """A worker process and the one request it may have in flight."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "gdsim.app.runtime.engine_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env,  # never a byte onto the app's screen
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._ready = False
        self.token = 0
        self._outstanding = 0  # requests sent and not yet answered

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def ready(self) -> bool:
        """Whether the worker has started up (its first message); never blocks."""
        if not self._ready:
            try:
                if self._conn.poll():
                    self._ready = self._conn.recv() == ("ready",)
            except (EOFError, OSError):
                self._process.kill()
        return self._ready

    @property
    def outstanding(self) -> int:
        return self._outstanding

    def load(self, loaded, snapshot: dict) -> int:
        """Start from this state (after any change in the UI); earlier replies become stale."""
        self.token += 1
        self._send(("load", loaded, snapshot))
        return self.token

    def request(self, until: int) -> None:
        """Ask for a slice of steps towards step `until`. Keep more than one in flight, so the worker never
        waits for the UI: replies are applied in order, each holding what the one before lacks."""
        if self._send(("step", self.token, int(until))):
            self._outstanding += 1

    def _send(self, message) -> bool:
        try:
            self._conn.send(message)
            return True
        except (BrokenPipeError, OSError):  # the worker died: `alive` is now False
            self._process.kill()
            return False

    def invalidate(self) -> None:
        """Whatever is in flight is no longer wanted (the user paused, stepped or changed a run)."""
        self.token += 1

    def replies(self) -> list[tuple[int, dict]]:
        """(steps done, snapshot) of every current reply that has come back, oldest first; replies
        to an older token are dropped. Apply them all, in order."""
        out = []
        while self._outstanding and self._conn.poll():
            try:
                token, done, snapshot = self._conn.recv()
            except (EOFError, OSError):  # the worker died: the session steps by itself from now on
                self._outstanding = 0
                self._process.kill()
                break
            self._outstanding -= 1
            if token == self.token and snapshot is not None:
                out.append((done, snapshot))
        return out

    def close(self) -> None:
        try:
            self._conn.send(("stop",))
        except (BrokenPipeError, OSError):
            pass
        self._conn.close()
        try:
            self._process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def worker_wanted() -> bool:
    """Whether the app steps in a worker: not when served (there, CPU shares decide), not on a
    one-core machine, and not when GDSIM_ENGINE_WORKER=0 (the tests' default)."""
    if os.environ.get("GDSIM_SERVED") == "1" or os.environ.get("GDSIM_ENGINE_WORKER", "1") == "0":
        return False
    from gdsim.app.runtime.pacing import usable_cores

    return usable_cores() >= 2


_shared: EngineWorker | None = None


def shared_worker() -> EngineWorker | None:
    """The app's one worker (started on first use), or None where the app steps by itself."""
    global _shared
    if not worker_wanted():
        return None
    if _shared is None or not _shared.alive:
        try:
            _shared = EngineWorker()
        except OSError:  # no processes left (ulimit), or no /dev/shm: step in the UI process
            return None
        atexit.register(_shared.close)
    return _shared


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
