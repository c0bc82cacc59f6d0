"""The server's side of the app zygote (gdsim/serve/zygote.py): start it, ask it for apps, restart it.

Zygote.fork() hands the zygote a session's command, environment, limits and pty, and returns a
ForkedApp, which PtyProcess uses as it uses a spawned asyncio Process (pid, returncode, wait()).
Sessions that arrive while the server's first zygote imports wait for it. Whenever the zygote
cannot serve (dead, being restarted, an error), fork() raises ZygoteUnavailable and the caller
spawns the app as before; a zygote that dies is restarted in the background at once (after one
that failed to start, not within RESTART_EVERY seconds).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

from gdsim.serve.child import runs_here
from gdsim.serve.pty_process import ResourceLimits
from gdsim.serve.zygote import HEADER

log = logging.getLogger("gdsim.serve")

START_TIMEOUT = 60.0  # seconds for the zygote's imports on a loaded machine
RESTART_EVERY = 5.0


class ZygoteUnavailable(Exception):
    """The zygote cannot start this session now; spawn the app instead."""


def forkable(command: list[str]) -> bool:
    """Whether the zygote can run `command`: this python with `-m MODULE` or a script."""
    return runs_here(command)


class ForkedApp:
    """A session's app forked by the zygote: what PtyProcess needs of a process."""

    def __init__(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._writer = writer
        self._done = asyncio.ensure_future(self._exit_status(reader))

    async def _exit_status(self, reader: asyncio.StreamReader) -> int:
        try:
            line = await reader.readline()
            status = int(json.loads(line)["exit"]) if line else None
        except (OSError, ValueError, KeyError, TypeError):
            status = None
        finally:
            self._writer.close()
        if status is None:  # the zygote died first: the app is no longer anyone's child to report on
            while _exists(self.pid):
                await asyncio.sleep(0.2)
            status = 0
        self.returncode = status
        return status

    async def wait(self) -> int:
        return await asyncio.shield(self._done)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie waiting for init to reap it has ended
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Zygote:
    """One zygote process for a server; `start()` once, `fork()` per session, `close()` at the end."""

    def __init__(self, socket_path: Path, env: dict[str, str], preload: list[str] | None = None) -> None:
        self.socket_path = Path(socket_path)
        self.env = dict(env)
        self.preload = list(preload or [])
        self.process: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Future | None = None
        self._failed_at = float("-inf")  # when a zygote last failed to start
        self._watch: asyncio.Task | None = None
        self._closing = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def wait_ready(self) -> bool:
        """Wait for the current start to finish; True when the zygote serves."""
        if self._ready is None:
            return False
        try:
            return bool(await asyncio.shield(self._ready)) and self.alive()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - e.g. the interpreter could not be started
            return False

    def start(self) -> asyncio.Future:
        """Start the zygote (in the background); the result is done when it is ready."""
        self._ready = asyncio.ensure_future(self._start())
        return self._ready

    async def _start(self) -> bool:
        try:
            self.socket_path.unlink()
        except FileNotFoundError:
            pass
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gdsim.serve.zygote", str(self.socket_path), *self.preload,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
            env=self.env, cwd="/", start_new_session=True,  # Ctrl+C in the presenter's terminal is the server's
        )
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT)
        except asyncio.TimeoutError:
            line = b""
        if line.strip() != b"READY":
            log.warning("the app zygote did not start; apps are started afresh")
            self._failed_at = time.monotonic()
            self._kill()
            return False
        log.info("app zygote ready, pid %d", self.process.pid)
        self._watch = asyncio.ensure_future(self._watch_for_death(self.process))
        return True

    async def _watch_for_death(self, process: asyncio.subprocess.Process) -> None:
        while process.returncode is None:
            await asyncio.sleep(0.5)
        if not self._closing and process is self.process:
            self._restart_later()

    async def fork(self, command: list[str], env: dict[str, str], limits: ResourceLimits, pty_slave: int,
                   wait: float = START_TIMEOUT, extra_fds: tuple[int, ...] = ()) -> ForkedApp:
        """Have the zygote start `command` on the pty; raises ZygoteUnavailable if it cannot.
        `extra_fds`: at most one, the session's error pipe (the app is told its number there)."""
        if self._ready is None or (self._ready.done() and not self.alive()):
            self._restart_later()
            raise ZygoteUnavailable("not running")
        if self.restarts and not self._ready.done():
            raise ZygoteUnavailable("restarting")  # spawning is as quick as waiting for its imports
        try:
            if not await asyncio.wait_for(asyncio.shield(self._ready), wait):
                raise ZygoteUnavailable("did not start")
        except asyncio.TimeoutError:
            raise ZygoteUnavailable("still starting") from None
        request = json.dumps({
            "argv": command, "env": env,
            "limits": {"memory": limits.memory_bytes, "cpu": limits.cpu_seconds,
                       "file_size": limits.file_size_bytes, "nice": limits.nice},
        }).encode()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, str(self.socket_path))
            socket.send_fds(sock, [HEADER.pack(len(request)) + request], [pty_slave, *extra_fds[:1]])
            reader, writer = await asyncio.open_unix_connection(sock=sock)
        except OSError as exc:
            sock.close()
            self._restart_later()
            raise ZygoteUnavailable(str(exc)) from None
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            pid = int(json.loads(line)["pid"])
        except (asyncio.TimeoutError, OSError, ValueError, KeyError, TypeError):
            writer.close()
            self._restart_later()
            raise ZygoteUnavailable("no answer") from None
        return ForkedApp(pid, reader, writer)

    def _restart_later(self) -> None:
        """Start a new zygote if this one has died (after one that failed to start, not within
        RESTART_EVERY seconds)."""
        starting = self._ready is not None and not self._ready.done()
        if self._closing or self.alive() or starting or time.monotonic() - self._failed_at < RESTART_EVERY:
            return
        log.warning("the app zygote has gone; starting a new one")
        self.restarts += 1
        self.start()

    def _kill(self) -> None:
        if self.alive():
            try:
                self.process.kill()
            except ProcessLookupError:
                pass

    async def close(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        if self.process is not None:
            if self.process.stdin is not None:
                self.process.stdin.close()  # the zygote exits at end of file
            try:
                await asyncio.wait_for(self.process.wait(), 2)
            except asyncio.TimeoutError:
                self._kill()
                await self.process.wait()
