"""Where a served app's traceback goes: a pipe the SSH server reads, never the participant's screen.

Each session's app gets the write end of its own pipe (its number in GDSIM_ERROR_FD; spawned apps
inherit it, forked ones receive it from the zygote with the pty). An app that hits an error it did
not expect writes the traceback there (gdsim.errors.report_internal_error) and exits with
INTERNAL_EXIT; the server puts the traceback in its log, under the session's address and login,
and tells the participant in one line. A pipe, not a file: served apps run with a file-size limit
of zero, and a pipe needs no clean-up.
"""

from __future__ import annotations

import asyncio
import os

from gdsim.errors import ERROR_FD_ENV, MAX_REPORT


class ErrorPipe:
    """One session's error pipe: `child_fd` goes to the app; `report()` is what it wrote."""

    def __init__(self) -> None:
        self._read_fd, self.child_fd = os.pipe()  # both close-on-exec; the start passes child_fd on
        os.set_blocking(self._read_fd, False)
        self._data = bytearray()
        self._reading = False

    def child_env(self, env: dict[str, str]) -> dict[str, str]:
        """`env` plus the variable that tells the app where to write."""
        return {**env, ERROR_FD_ENV: str(self.child_fd)}

    def started(self) -> None:
        """The app holds its end now: drop ours (so the pipe ends with the app) and read."""
        self._close_child_end()
        asyncio.get_running_loop().add_reader(self._read_fd, self._drain)
        self._reading = True

    def _drain(self) -> None:
        while self._read_fd >= 0:
            try:
                data = os.read(self._read_fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._stop_reading()
                return
            self._data += data[: max(0, MAX_REPORT - len(self._data))]

    def report(self) -> str:
        """Everything the app wrote (read to the end of what is in the pipe)."""
        if self._read_fd >= 0:
            self._drain()
        return self._data.decode("utf-8", "replace").rstrip()

    def _stop_reading(self) -> None:
        if self._reading:
            asyncio.get_running_loop().remove_reader(self._read_fd)
            self._reading = False

    def _close_child_end(self) -> None:
        if self.child_fd >= 0:
            os.close(self.child_fd)
            self.child_fd = -1

    def close(self) -> None:
        self._close_child_end()
        self._stop_reading()
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1
