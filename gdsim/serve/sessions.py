"""One SSH session = one participant: a pty, their own gdsim process, an idle timer, a seat in the room.

Only an interactive shell on a pty is served. Exec requests and subsystems (sftp, scp) are
refused; a shell without a pty, or one over the session cap, gets a one-line explanation
and is closed before any process is started.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncssh

from gdsim.app.runtime.frame_slots import SLOTS_ENV
from gdsim.app.runtime.pacing import SHARE_FILE_ENV
from gdsim.app.runtime.room_link import ROOM_ENV, TOKEN_ENV
from gdsim.errors import INTERNAL_EXIT, MEMORY_EXIT, internal_message
from gdsim.serve.app_errors import ErrorPipe
from gdsim.serve.cpu_share import SLOTS_DIR, CpuShares, presenter_path
from gdsim.serve.pty_process import (
    PtyProcess,
    ResourceLimits,
    clamp_size,
    served_child_environment,
)

log = logging.getLogger("gdsim.serve")

SAFE_TERM = re.compile(r"[A-Za-z0-9._+-]{1,64}")
SAFE_VALUE = re.compile(r"[\x20-\x7e]{0,64}")
PRESENTER_NICE = 3  # a presenter's app: this much less nice than participants' (GdsimSession.limits)
# Client variables passed on to the app; everything else the client sends is ignored.
CLIENT_ENV = ("NO_COLOR", "COLORTERM")
# Undo what a full-screen app that was killed could not: alternate screen, mouse and keyboard
# modes, hidden cursor. Sent only when a session ends abnormally.
TERMINAL_RESET = (
    b"\x1b[<u\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l"
    b"\x1b[?2004l\x1b[0m\x1b[?25h\x1b[?1049l\r\n"
)


@dataclass
class SessionSettings:
    """What every session of one server shares (built from SSHServerConfig)."""

    command: list[str]
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    idle_timeout: float | None = 900.0
    scenario_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    cpu_share_file: Path | None = None  # where the server publishes each app's CPU share
    zygote: object | None = None  # a gdsim.serve.zygote_client.Zygote: apps forked, not spawned
    room: object | None = None  # a gdsim.serve.room.Room: the classroom (None without presenters)


class SessionRegistry:
    """The live sessions of a server and the caps on how many may run at once: in all, per SSH
    connection, and per client (the key that logged in, else the source address)."""

    def __init__(self, max_sessions: int, shares: CpuShares | None = None, *,
                 per_connection: int | None = None, per_client: int | None = None) -> None:
        self.max_sessions = max_sessions
        self.per_connection = per_connection
        self.per_client = per_client
        self.live: set[GdsimSession] = set()
        self.shares = shares

    def try_add(self, session: GdsimSession) -> str | None:
        """Give `session` a seat; or say, in a line for the participant, why not. A presenter is never
        turned away by a full room (only by the per-connection and per-client caps)."""
        participants = sum(s.role != "presenter" for s in self.live)
        if session.role != "presenter" and participants >= self.max_sessions:
            return (f"Sorry, the workshop is full ({self.max_sessions} participants are connected). "
                    "Please try again in a little while.")
        if self.per_connection and session.connection is not None and sum(
                s.connection is session.connection for s in self.live) >= self.per_connection:
            return (f"One SSH connection may hold {self.per_connection} gdsim session(s) here; this one "
                    "already does. Start another `ssh` (without connection sharing: -S none) for another.")
        if self.per_client and sum(s.client == session.client for s in self.live) >= self.per_client:
            if session.client.startswith("key "):
                who = "Your key already holds"
            else:  # a password login is counted by its address, which a room behind a NAT shares
                who = f"Your address ({session.client}) already holds"
            return (f"{who} {self.per_client} gdsim session(s), the most one "
                    "participant may have here. Close one to open another.")
        self.live.add(session)
        self._publish()
        return None

    def remove(self, session: GdsimSession) -> None:
        if session in self.live:
            self.live.discard(session)
            self._publish()

    def _publish(self) -> None:
        if self.shares is not None:
            presenters = sum(s.role == "presenter" for s in self.live)
            self.shares.publish(len(self.live) - presenters, presenters)

    async def close_all(self) -> None:
        """End every session (server shutdown): processes killed, participants told why."""
        await asyncio.gather(*(s.end("the workshop server is stopping") for s in list(self.live)))


def child_environment(settings: SessionSettings, term: str, client_env: dict[str, str],
                      role: str = "participant") -> dict[str, str]:
    """A small, explicit environment: nothing of the presenter's own environment leaks through.
    A presenter's app reads the presenters' CPU share (gdsim/serve/cpu_share.py).

    COLUMNS and LINES are deliberately NOT set: shutil.get_terminal_size(), which Textual's Linux
    driver calls on every SIGWINCH, prefers them to the pty's real size, so they would pin the
    app to its first size and every resize would be lost. The size lives on the pty instead.
    """
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/"),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        **served_child_environment(),
        "TERM": term if SAFE_TERM.fullmatch(term or "") else "xterm-256color",
    }
    if settings.scenario_dir is not None:
        env["GDSIM_SCENARIO_DIR"] = str(settings.scenario_dir)
    if settings.cpu_share_file is not None:
        share_file = presenter_path(settings.cpu_share_file) if role == "presenter" else settings.cpu_share_file
        env[SHARE_FILE_ENV] = str(share_file)
        slots = Path(settings.cpu_share_file).with_name(SLOTS_DIR)
        if role != "presenter" and slots.is_dir():  # the room watches a presenter: never held back
            env[SLOTS_ENV] = str(slots)
    for name in CLIENT_ENV:
        value = client_env.get(name)
        if value is not None and SAFE_VALUE.fullmatch(value):
            env[name] = value
    env.update(settings.extra_env)
    return env


class GdsimSession(asyncssh.SSHServerSession):
    """Serves one participant; asyncssh calls these methods as the client's requests arrive."""

    def __init__(self, settings: SessionSettings, registry: SessionRegistry, *,
                 connection: object | None = None, client: str = "?", role: str = "participant",
                 name: str = "") -> None:
        self._settings = settings
        self._registry = registry
        self.connection = connection  # the SSH connection it came on (for the per-connection cap)
        self.client = client  # the key that logged in, else the source address
        self.role = role  # in the room: "presenter" or "participant" (from the login, never the app)
        self.name = name  # the SSH user name; the room cleans it and makes it unique
        self._room_token: str | None = None
        self._chan: asyncssh.SSHServerChannel | None = None
        self._pty: PtyProcess | None = None
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._reason: str | None = None
        self._last_input = time.monotonic()
        self._idle_handle: asyncio.TimerHandle | None = None
        self.peer = "?"
        self.forked = False  # started by the app zygote (else spawned afresh)
        self._errors: ErrorPipe | None = None

    @property
    def pid(self) -> int | None:
        """The pid of this participant's program (None before it starts)."""
        return self._pty.pid if self._pty is not None else None

    # -- requests -----------------------------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan
        peer = chan.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: dict) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        log.info("%s: refused an exec request", self.peer)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.info("%s: refused subsystem %r", self.peer, subsystem[:40])
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        pass  # participants do not get to signal processes on the server

    def session_started(self) -> None:
        chan = self._chan
        assert chan is not None
        if chan.get_terminal_type() is None:
            self._refuse(b"gdsim is an interactive terminal app: connect with plain `ssh` (or `ssh -t`).\r\n")
            return
        refusal = self._registry.try_add(self)
        if refusal is not None:
            log.info("%s: refused a session: %s", self.peer, refusal)
            self._refuse(f"{refusal}\r\n".encode())
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    def limits(self) -> ResourceLimits:
        """The app's limits; a presenter's app runs PRESENTER_NICE above participants' (never above
        the server's), so what the room watches is never slowed by its followers (the kernel
        prefers it 2 to 1 when the CPUs are busy)."""
        limits = self._settings.limits
        if self.role != "presenter" or not limits.nice:
            return limits
        return replace(limits, nice=max(0, limits.nice - PRESENTER_NICE))

    def _refuse(self, message: bytes) -> None:
        assert self._chan is not None
        self._chan.write_stderr(message)
        self._chan.exit(1)

    # -- the running session ------------------------------------------------------------------
    async def _run(self) -> None:
        chan = self._chan
        assert chan is not None
        try:
            cols, rows = clamp_size(*chan.get_terminal_size()[:2])
            env = child_environment(self._settings, chan.get_terminal_type() or "", dict(chan.get_environment()),
                                    self.role)
            self._pty = PtyProcess(on_output=self._output)
            self._pty.on_input_backlog = self._input_backlog
            settings = self._settings
            room = settings.room
            if room is not None:  # a member before its app starts: the token is the app's only way in
                self._room_token = room.add_member(self.name, self.role, session=self)
                env[ROOM_ENV], env[TOKEN_ENV] = str(room.socket_path), self._room_token
            errors = self._errors = ErrorPipe()
            try:
                forked = await self._pty.start_app(settings.command, self.limits(), errors.child_env(env),
                                                   cols, rows, zygote=settings.zygote, error_fd=errors.child_fd)
            except OSError as exc:
                log.error("%s: cannot start the app: %s", self.peer, exc)
                self._reason = "the server could not start gdsim"
                self._close_channel(1)
                return
            errors.started()
            self.forked = forked
            who = "" if room is None else f", in the room as {self.role} {self.name or 'guest'}"
            log.info("%s: session started, pid %d%s%s (%d live)", self.peer, self._pty.pid,
                     " (forked)" if forked else "", who, len(self._registry.live))
            self._arm_idle_timer()
            exited = asyncio.ensure_future(self._pty.wait())
            stopped = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            status = await self._pty.terminate()
            self._log_app_error(status)
            self._close_channel(status)
            log.info("%s: session ended (%s)", self.peer, self._reason or f"exit status {status}")
        except Exception:  # a bug here must not leave a participant staring at a frozen session
            log.exception("%s: session failed", self.peer)
            self._reason = self._reason or "an internal error in the workshop server"
            self._close_channel(1)
        finally:
            if self._errors is not None:
                self._errors.close()
            if self._room_token is not None:
                self._settings.room.remove_member(self._room_token)
                self._room_token = None
            if self._idle_handle is not None:
                self._idle_handle.cancel()
            if self._pty is not None and self._pty.returncode is None:
                self._pty.kill_group(signal.SIGKILL)
            self._registry.remove(self)

    def _log_app_error(self, status: int) -> None:
        """Put what the app wrote to its error pipe (a traceback) in the server's log."""
        report = self._errors.report() if self._errors is not None else ""
        if report or status == INTERNAL_EXIT:
            log.error("%s (%s): gdsim hit an internal error (exit status %d); its traceback:\n%s",
                      self.peer, self.client, status, report or "(none was written)")

    def _close_channel(self, status: int) -> None:
        chan = self._chan
        if chan is None or chan.is_closing():
            return
        if self._reason is None:
            self._reason = _status_reason(status)
        if self._reason is not None or status != 0:
            chan.write(TERMINAL_RESET)
        if self._reason is not None:
            chan.write(f"gdsim session closed: {self._reason}.\r\n".encode())
        chan.exit(status if status >= 0 else 128 - status)

    def end(self, reason: str) -> asyncio.Future:
        """Stop the session (idle, server shutdown); returns something to await until it is over."""
        if self._reason is None:
            self._reason = reason
        self._stop.set()
        if self._task is None:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return asyncio.shield(self._task)

    def _output(self, data: bytes) -> None:
        if self._chan is not None and not self._chan.is_closing():
            self._chan.write(data)

    def _input_backlog(self, backlogged: bool) -> None:
        if self._chan is not None and not self._chan.is_closing():
            (self._chan.pause_reading if backlogged else self._chan.resume_reading)()

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self._last_input = time.monotonic()
        if self._pty is not None:
            self._pty.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._last_input = time.monotonic()
        if self._pty is not None:
            self._pty.resize(width, height)

    def eof_received(self) -> bool:
        return True  # keep the session; the idle timer ends it if nothing more comes

    def pause_writing(self) -> None:
        if self._pty is not None:
            self._pty.pause_reading()  # the app blocks on its writes until the client catches up

    def resume_writing(self) -> None:
        if self._pty is not None:
            self._pty.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        # The participant closed the window or the network dropped: the process group must go.
        self._chan = None
        if self._task is not None:
            self.end("the connection was lost")
        else:
            self._registry.remove(self)

    # -- idle timeout -------------------------------------------------------------------------
    def _arm_idle_timer(self) -> None:
        timeout = self._settings.idle_timeout
        if not timeout:
            return
        delay = self._last_input + timeout - time.monotonic()
        # Re-checking at the deadline (rather than re-arming on every key) keeps typing cheap.
        self._idle_handle = asyncio.get_running_loop().call_later(max(delay, 0.0), self._check_idle)

    def _check_idle(self) -> None:
        timeout = self._settings.idle_timeout or 0
        if time.monotonic() - self._last_input >= timeout:
            self.end(f"no key was pressed for {format_duration(timeout)}; reconnect any time")
        else:
            self._arm_idle_timer()


def _status_reason(status: int) -> str | None:
    """Why the app ended, in a line for the participant (None: it quit normally)."""
    if status < 0:
        return _signal_reason(-status)
    if status == MEMORY_EXIT:
        return "this session ran out of its memory limit"
    if status == INTERNAL_EXIT:
        return internal_message()
    return None


def _signal_reason(signum: int) -> str:
    if signum == signal.SIGXCPU:
        return "this session used up its CPU time limit"
    if signum == signal.SIGKILL:
        return "gdsim was stopped (memory or CPU limit)"
    return f"gdsim stopped by signal {signum}"


def format_duration(seconds: float) -> str:
    """15 min, 90 s, 2 h: how timeouts are shown to participants and the presenter."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"

