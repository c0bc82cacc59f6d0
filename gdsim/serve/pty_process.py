"""One participant's program on its own pseudo-terminal, in its own session and process group.

The server reads the pty's master side without blocking (loop.add_reader) and hands output to the
SSH channel; keystrokes go the other way. Ending a session kills the whole process group, so
nothing the program started outlives the participant's connection.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass

import gdsim

READ_CHUNK = 65536
# Keystrokes queued for a program that is not reading; beyond this the SSH channel is paused.
MAX_PENDING_INPUT = 256 * 1024
# Bounds on the terminal size a client may ask for (a huge one would make the app allocate a
# huge screen buffer).
MAX_COLS, MAX_ROWS = 1000, 500


@dataclass(frozen=True)
class ResourceLimits:
    """Per-session limits applied in the child by gdsim.serve.child (None: leave unlimited)."""

    memory_bytes: int | None = 1024**3  # address space; numpy + Textual start in well under this
    cpu_seconds: int | None = 3600
    file_size_bytes: int | None = 0  # served mode writes no files
    nice: int | None = 5  # scheduling priority below the server's

    def child_args(self) -> list[str]:
        args: list[str] = []
        for flag, value in (
            ("--memory", self.memory_bytes),
            ("--cpu", self.cpu_seconds),
            ("--file-size", self.file_size_bytes),
            ("--nice", self.nice),
        ):
            if value is not None:
                args += [flag, str(int(value))]
        return args


def wrap_command(command: list[str], limits: ResourceLimits, *, controlling_tty: bool) -> list[str]:
    """The argv that applies `limits` (and takes the pty as controlling terminal), then runs `command`."""
    ctty = ["--ctty"] if controlling_tty else []
    return [sys.executable, "-m", "gdsim.serve.child", *limits.child_args(), *ctty, "--", *command]


def source_root() -> str:
    """The directory holding the gdsim package, so `python -m gdsim` works in the child anywhere."""
    return os.path.dirname(os.path.dirname(os.path.abspath(gdsim.__file__)))


def served_child_environment() -> dict[str, str]:
    """What every served app process gets, over SSH or the web, beside TERM and the client's own.

    One BLAS thread per participant: 30 sessions on a few cores must not oversubscribe, and each
    BLAS thread reserves address space counted by the memory limit.
    """
    return {
        "GDSIM_SERVED": "1",
        "PYTHONPATH": source_root(),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",  # fewer 64 MiB malloc arenas reserved per thread
    }


def precompile(root: str | None = None) -> bool:
    """Compile gdsim's sources to bytecode once, in the server, before anyone connects.

    Served apps never write files (PYTHONDONTWRITEBYTECODE, and a zero file-size limit), so in a
    source checkout without __pycache__ every participant's app would compile all of gdsim again
    at start: ~0.1 s of CPU each, 30 times over when a room connects at once. A pip-installed
    gdsim is compiled already and this finds nothing to do. Returns False when the sources could
    not all be compiled (e.g. a read-only install); the apps then compile in memory as before."""
    import compileall

    package = os.path.join(root or source_root(), "gdsim")
    if not os.path.isdir(package):
        return False
    try:
        return bool(compileall.compile_dir(package, quiet=2, workers=1))
    except OSError:
        return False


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """Keep a client's terminal size within sane bounds (0 means 'not sent': use 80x24)."""
    cols = cols if cols > 0 else 80
    rows = rows if rows > 0 else 24
    return min(cols, MAX_COLS), min(rows, MAX_ROWS)


def set_window_size(fd: int, cols: int, rows: int) -> None:
    """Set the pty size; the kernel then sends SIGWINCH to the pty's foreground process group."""
    cols, rows = clamp_size(cols, rows)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyProcess:
    """A child process on a fresh pty; output is handed to `on_output` as it arrives."""

    def __init__(self, on_output: Callable[[bytes], None]) -> None:
        self._on_output = on_output
        self._master: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reading = False
        self._paused = False
        self._pending = bytearray()
        self._eof = asyncio.Event()
        self.on_input_backlog: Callable[[bool], None] = lambda backlogged: None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    async def start(self, argv: list[str], env: dict[str, str], cols: int, rows: int,
                    pass_fds: tuple[int, ...] = ()) -> None:
        """Spawn `argv` as the leader of a new session whose stdin/stdout/stderr are the pty
        (and which also gets `pass_fds`)."""

        async def spawn(slave: int):
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                cwd="/",
                start_new_session=True,  # own session and process group: pgid == pid
                close_fds=True,
                pass_fds=pass_fds,
            )

        await self._start_on_pty(spawn, cols, rows)

    async def start_app(self, command: list[str], limits: ResourceLimits, env: dict[str, str],
                        cols: int, rows: int, zygote=None, error_fd: int | None = None) -> bool:
        """Start a session's app: forked by `zygote` (gdsim.serve.zygote_client.Zygote) when it
        can, else spawned under gdsim.serve.child. Returns True when the zygote forked it.
        `error_fd`: the write end of the session's error pipe (gdsim.serve.app_errors), handed to
        the app at the same number (env has it in GDSIM_ERROR_FD) when spawned; the zygote
        passes it on and tells the app its number there."""
        passed = (error_fd,) if error_fd is not None else ()
        if zygote is not None:
            from gdsim.serve.zygote_client import ZygoteUnavailable, forkable

            if forkable(command):
                try:
                    await self._start_on_pty(
                        lambda slave: zygote.fork(command, env, limits, slave, extra_fds=passed), cols, rows)
                    return True
                except ZygoteUnavailable:
                    pass
        await self.start(wrap_command(command, limits, controlling_tty=True), env, cols, rows, pass_fds=passed)
        return False

    async def _start_on_pty(self, launch, cols: int, rows: int) -> None:
        master, slave = os.openpty()
        try:
            set_window_size(master, cols, rows)
            os.set_blocking(master, False)
            self._proc = await launch(slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # only the child holds the slave now, so its exit gives us EIO/EOF
        self._master = master
        self.resume_reading()

    # -- output -------------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            data = os.read(self._master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO: every process holding the slave side has gone
            data = b""
        if not data:
            self._stop_reading()
            self._eof.set()
            return
        self._on_output(data)

    def pause_reading(self) -> None:
        """Stop reading output (the SSH channel is full); the program then blocks on its writes."""
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        self._paused = False
        if self._master is not None and not self._reading and not self._eof.is_set():
            asyncio.get_running_loop().add_reader(self._master, self._read)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading and self._master is not None:
            asyncio.get_running_loop().remove_reader(self._master)
            self._reading = False

    # -- input --------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue keystrokes for the program; tells on_input_backlog when the queue is too long."""
        if self._master is None or self._eof.is_set():
            return
        if self._pending:
            self._pending += data
        else:
            self._pending = bytearray(data)
            self._flush()
        if self._pending:
            asyncio.get_running_loop().add_writer(self._master, self._flush)
            if len(self._pending) > MAX_PENDING_INPUT:
                self.on_input_backlog(True)

    def _flush(self) -> None:
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            return
        except OSError:  # the program has gone; drop what it will never read
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending:
            asyncio.get_running_loop().remove_writer(self._master)
            self.on_input_backlog(False)

    def resize(self, cols: int, rows: int) -> None:
        if self._master is not None and not self._eof.is_set():
            try:
                set_window_size(self._master, cols, rows)
            except OSError:
                pass  # the pty is being torn down

    # -- ending -------------------------------------------------------------------------------
    async def wait(self) -> int:
        """Wait for the program to exit; returns its exit status (negative: killed by that signal)."""
        assert self._proc is not None
        return await self._proc.wait()

    def kill_group(self, sig: int) -> None:
        """Signal every process in the session's group (the program and anything it started)."""
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def terminate(self, grace: float = 1.0) -> int:
        """End the program and its process group, drain its last output, and release the pty.

        SIGHUP first (what a terminal hang-up sends), SIGKILL after `grace` seconds. Safe to
        call more than once and after the program has exited by itself.
        """
        assert self._proc is not None
        if self._proc.returncode is None:
            self.kill_group(signal.SIGHUP)
            self.kill_group(signal.SIGCONT)  # a stopped program must wake to die
            try:
                await asyncio.wait_for(asyncio.shield(self._proc.wait()), grace)
            except asyncio.TimeoutError:
                pass
        # Always SIGKILL the group: the leader may be gone while something it started lives on.
        self.kill_group(signal.SIGKILL)
        status = await self._proc.wait()
        if not self._paused:
            try:  # the last screenful is still in the pty buffer
                await asyncio.wait_for(self._eof.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        self.close()
        return status

    def close(self) -> None:
        if self._master is None:
            return
        loop = asyncio.get_running_loop()
        self._stop_reading()
        if self._pending:
            loop.remove_writer(self._master)
            self._pending.clear()
        os.close(self._master)
        self._master = None
        self._eof.set()
