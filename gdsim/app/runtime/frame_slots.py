"""Frame slots: at most a few served apps draw a background frame at the same moment, machine-wide.

A served participant's app does two kinds of work: what its learner's keys ask for (a key's
frame), and background work nobody is waiting for at that instant: the ticks of a running scenario
and the frames a room's presenter causes (a follower drawing the presenter's new step). Thirty
followers do their background work in bursts (the presenter's step or run reaches all of them at
once), and the kernel shares the CPUs among everything runnable: measured in session 5 with 30
followers of a running presenter on 2 cores, a follower's key needed ~20 ms of CPU but waited
~400 ms for it, behind 30-35 runnable threads, although the apps used only about one core in all.

So the server (gdsim/serve/cpu_share.py) makes SLOTS small lock files, USABLE x cores of them
(one on two cores), and a participant's app takes one (an exclusive flock) for each background
tick or frame and gives it back once Textual has written the frame. Background frames then take
turns, and a key, which never waits for a slot, competes with a slot's holder or two, not with
every app of the room. A lock dies with its process; a holder that does not give its slot back
within HOLD_MAX seconds (a client that stopped reading) loses it.

Free of Textual. The app side: gdsim/app/screens/scenario.py (ticks) and room_client.py (a
follower's frames). Without GDSIM_FRAME_SLOTS (a learner's own machine, a presenter) there are none.
"""

from __future__ import annotations

import fcntl
import os
import queue
import random
import threading
from pathlib import Path
from typing import Callable

SLOTS_ENV = "GDSIM_FRAME_SLOTS"  # a directory of slot files, set by the server for participants' apps
HOLD_MAX = 0.3  # seconds a slot is held at most (a frame takes ~20-50 ms of CPU at 120x40)


def make_slots(directory: Path, count: int) -> Path:
    """Create `count` slot files in `directory` (the server's private run directory)."""
    directory.mkdir(mode=0o700, exist_ok=True)
    for index in range(max(1, count)):
        path = directory / str(index)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    return directory


class FrameSlots:
    """This app's access to the machine-wide slots. `acquire(granted)` never blocks: `granted` is
    called once a slot is this app's (from the slots' own thread: hand it to the event loop with
    loop.call_soon_threadsafe); `release()` gives it back. One request at a time."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._fds: list[int] = []
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._released = threading.Event()
        self._thread: threading.Thread | None = None
        self.pending = False  # a request not granted yet
        self.held = False  # a slot is this app's
        self.granted_count = 0  # slots taken so far (tests and benchmarks read it)

    @classmethod
    def from_environment(cls, environ=os.environ) -> FrameSlots | None:
        directory = environ.get(SLOTS_ENV)
        if not directory:
            return None
        try:
            paths = sorted(Path(directory).iterdir(), key=lambda p: p.name)
        except OSError:
            return None
        return cls(paths) if paths else None

    def acquire(self, granted: Callable[[], None]) -> bool:
        """Ask for a slot; False if one is already held or asked for (nothing is queued then)."""
        if self.pending or self.held:
            return False
        if self._thread is None:  # started in the app, never in the zygote before it forks
            try:
                self._fds = [os.open(path, os.O_RDONLY | os.O_CLOEXEC) for path in self.paths]
            except OSError:
                self._fds = []
            self._thread = threading.Thread(target=self._run, name="gdsim-frame-slots", daemon=True)
            self._thread.start()
        self.pending = True
        self._requests.put(granted)
        return True

    def release(self, grant: int | None = None) -> None:
        """Give the slot back (`grant`: only if it is still that grant's, see granted_count)."""
        if self.held and (grant is None or grant == self.granted_count):
            self.held = False
            self._released.set()

    def _take(self) -> int | None:
        """Block until one of the slots is ours; its index (None: no slot can be opened)."""
        if not self._fds:
            return None
        order = random.sample(range(len(self._fds)), len(self._fds))
        for index in order:
            try:
                fcntl.flock(self._fds[index], fcntl.LOCK_EX | fcntl.LOCK_NB)
                return index
            except BlockingIOError:
                continue
            except OSError:
                return None
        try:
            fcntl.flock(self._fds[order[0]], fcntl.LOCK_EX)  # all taken: wait for one (the kernel queues us)
            return order[0]
        except OSError:
            return None

    def _run(self) -> None:
        while True:
            granted = self._requests.get()
            index = self._take()
            self._released.clear()
            self.pending, self.held = False, True
            self.granted_count += 1
            try:
                granted()
            except Exception:  # noqa: BLE001 - the loop is gone (the app is ending): give the slot back
                self.held = False
            self._released.wait(HOLD_MAX)
            self.held = False
            if index is not None:
                try:
                    fcntl.flock(self._fds[index], fcntl.LOCK_UN)
                except OSError:
                    pass


_shared: dict[str, FrameSlots | None] = {}


def shared_slots(environ=os.environ) -> FrameSlots | None:
    """This process's slots (None when the server gave none), made on first use: in the app,
    after the zygote forked it and set its environment."""
    directory = environ.get(SLOTS_ENV, "")
    if directory not in _shared:
        _shared[directory] = FrameSlots.from_environment(environ) if directory else None
    return _shared[directory]
