"""`gdsim serve ssh`: an asyncssh server giving every participant their own gdsim on their own pty.

Modelled on charmbracelet/wish: the SSH server is the only thing participants reach; each
authenticated interactive session starts `python -m gdsim` (configurable) in its own process
group under resource limits (see sessions.py and pty_process.py). Everything else SSH can do
(exec, sftp/scp, port forwarding, X11, agent forwarding) is refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import asyncssh

from gdsim.errors import UserError
from gdsim.serve import auth
from gdsim.serve.cpu_share import CpuShares
from gdsim.serve.pty_process import ResourceLimits, precompile
from gdsim.serve.sessions import GdsimSession, SessionRegistry, SessionSettings, format_duration
from gdsim.words import plural

log = logging.getLogger("gdsim.serve")

DEFAULT_COMMAND = [sys.executable, "-m", "gdsim"]
SCENARIO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass
class SSHServerConfig:
    """Everything `gdsim serve ssh` can be told; tests build one directly."""

    host: str = "127.0.0.1"
    port: int = 2222
    host_key: Path | None = None  # None: auth.default_host_key_path()
    authorized_keys: Path | None = None
    password_file: Path | None = None
    max_sessions: int = 40
    idle_timeout: float | None = 15 * 60.0  # seconds without input; None or 0: never
    login_timeout: float = 60.0
    scenario: str | None = None
    scenario_dir: Path | None = None
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    command: list[str] | None = None  # None: DEFAULT_COMMAND (the real app)
    extra_env: dict[str, str] = field(default_factory=dict)
    auth_failure_delay: float = 1.0  # slows password guessing without blocking anyone else
    max_auth_failures: int = 6  # per connection, then it is dropped
    keepalive_interval: float = 30.0  # finds clients whose network vanished without a goodbye

    def app_command(self) -> list[str]:
        command = list(self.command or DEFAULT_COMMAND)
        return command + [self.scenario] if self.scenario else command

    @property
    def auth_mode(self) -> str:
        if self.authorized_keys is not None:
            return "keys"
        return "password" if self.password_file is not None else "none"

    def validate(self) -> None:
        """Refuse settings that are wrong or unsafe, with a message naming the option."""
        if not 0 <= self.port <= 65535:
            raise UserError(f"--port must be between 1 and 65535, got {self.port}")
        if self.max_sessions < 1:
            raise UserError(f"--max-sessions must be at least 1, got {self.max_sessions}")
        if self.idle_timeout is not None and self.idle_timeout < 0:
            raise UserError("--idle-timeout must not be negative")
        if self.login_timeout <= 0:
            raise UserError("--login-timeout must be positive")
        if self.authorized_keys is not None and self.password_file is not None:
            raise UserError("give either --authorized-keys or --password-file, not both")
        if self.scenario_dir is not None and not Path(self.scenario_dir).is_dir():
            raise UserError(f"--scenario-dir {self.scenario_dir} is not a directory")
        check_scenario(self.scenario, self.scenario_dir)
        if self.auth_mode == "none" and not auth.is_loopback(self.host):
            raise UserError(
                f"refusing to serve on {self.host} without authentication: anyone who can reach "
                "this machine could connect. Give --password-file FILE (create it with "
                "`gdsim serve hash-password FILE`) or --authorized-keys FILE, or bind to 127.0.0.1."
            )


def check_scenario(scenario: str | None, scenario_dir: Path | None) -> None:
    """Refuse a --scenario that is not a built-in id (or one in --scenario-dir): else every
    participant's gdsim would fail to open it."""
    if scenario is None:
        return
    if not SCENARIO_ID.fullmatch(scenario):
        raise UserError(
            f"--scenario expects a scenario id such as 'momentum-overshoot' (letters, digits, "
            f"'-', '_', '.'), not a path: got {scenario!r}"
        )
    from gdsim.scenario.library import builtin_dir

    dirs = [builtin_dir()] + ([Path(scenario_dir)] if scenario_dir is not None else [])
    if not any((directory / f"{scenario}.toml").is_file() for directory in dirs):
        raise UserError(f"--scenario {scenario}: no such scenario; `gdsim list` shows the ids")


class _ServerState:
    """What all connections of one server share."""

    def __init__(self, config: SSHServerConfig) -> None:
        self.config = config
        self.password_hash = auth.load_password_file(config.password_file) if config.password_file else None
        self.authorized_keys = (
            auth.load_authorized_keys(config.authorized_keys) if config.authorized_keys else None
        )
        self.shares = CpuShares()  # created last: nothing above may fail and leave its directory behind
        self.settings = SessionSettings(
            command=config.app_command(),
            limits=config.limits,
            idle_timeout=config.idle_timeout or None,
            scenario_dir=Path(config.scenario_dir).resolve() if config.scenario_dir else None,
            extra_env=dict(config.extra_env),
            cpu_share_file=self.shares.path,
        )
        self.registry = SessionRegistry(config.max_sessions, self.shares)
        self.connections = 0
        # Connections still logging in also cost memory; beyond this many they are dropped at once.
        self.max_connections = 2 * config.max_sessions + 10


class _Connection(asyncssh.SSHServer):
    """asyncssh creates one of these per TCP connection."""

    def __init__(self, state: _ServerState) -> None:
        self._state = state
        self._conn: asyncssh.SSHServerConnection | None = None
        self._failures = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._state.connections += 1
        if self._state.connections > self._state.max_connections:
            log.warning("too many connections (%d); dropping one", self._state.connections)
            conn.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._state.connections -= 1

    def begin_auth(self, username: str) -> bool:
        return self._state.config.auth_mode != "none"

    def password_auth_supported(self) -> bool:
        return self._state.password_hash is not None

    async def validate_password(self, username: str, password: str) -> bool:
        state = self._state
        assert state.password_hash is not None
        # scrypt takes tens of milliseconds: run it off the event loop so others keep typing.
        ok = await asyncio.get_running_loop().run_in_executor(
            None, auth.verify_password, password, state.password_hash
        )
        if not ok:
            self._failures += 1
            if self._failures >= state.config.max_auth_failures and self._conn is not None:
                self._conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many wrong passwords")
            await asyncio.sleep(state.config.auth_failure_delay)
        return ok

    def session_requested(self) -> GdsimSession:
        return GdsimSession(self._state.settings, self._state.registry)

    # Forwarding of every kind is refused (these are asyncssh's defaults; stated for the reader).
    def connection_requested(self, dest_host, dest_port, orig_host, orig_port) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        return False


class RunningSSHServer:
    """A started server: its port, host key fingerprint and live sessions; close() stops it."""

    def __init__(self, acceptor: asyncssh.SSHAcceptor, state: _ServerState, host_key_path: Path,
                 host_key: asyncssh.SSHKey, host_key_created: bool) -> None:
        self._acceptor = acceptor
        self._state = state
        self.host_key_path = host_key_path
        self.host_key_created = host_key_created
        self.fingerprint = auth.fingerprint(host_key)

    @property
    def port(self) -> int:
        return self._acceptor.get_port()

    @property
    def sessions(self) -> set[GdsimSession]:
        return self._state.registry.live

    async def close(self) -> None:
        """Stop accepting, end every session (no process left behind), then close."""
        self._acceptor.close()
        await self._state.registry.close_all()
        await self._acceptor.wait_closed()
        self._state.shares.close()


async def start_ssh_server(config: SSHServerConfig) -> RunningSSHServer:
    """Check `config`, load keys and password, and start listening (port 0 picks a free port)."""
    config.validate()
    key_path = Path(config.host_key) if config.host_key else auth.default_host_key_path()
    host_key, created = auth.load_or_create_host_key(key_path)
    state = _ServerState(config)
    try:
        acceptor = await asyncssh.create_server(
            lambda: _Connection(state),
            config.host,
            config.port,
            server_host_keys=[host_key],
            authorized_client_keys=state.authorized_keys,
            login_timeout=config.login_timeout,
            keepalive_interval=config.keepalive_interval,
            keepalive_count_max=3,
            encoding=None,  # raw bytes both ways: the pty speaks bytes
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            server_version="gdsim",
        )
    except OSError as exc:
        state.shares.close()
        raise UserError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    return RunningSSHServer(acceptor, state, key_path, host_key, created)


def describe(server: RunningSSHServer, config: SSHServerConfig) -> str:
    """The banner the presenter reads out: address, fingerprint, what to type, limits."""
    host = config.host
    shown = "<this machine's address>" if host in ("0.0.0.0", "::", "") else host
    port_flag = "" if server.port == 22 else f"-p {server.port} "
    if config.auth_mode == "keys":
        how = f"authorized keys from {config.authorized_keys}"
    elif config.auth_mode == "password":
        how = f"workshop password (hash in {config.password_file})"
    else:
        how = "NONE (allowed only because the server listens on loopback)"
    limits = config.limits
    mem = f"{limits.memory_bytes // 2**20} MiB memory" if limits.memory_bytes else "no memory limit"
    cpu = f"{limits.cpu_seconds} s CPU" if limits.cpu_seconds else "no CPU limit"
    idle = format_duration(config.idle_timeout) if config.idle_timeout else "never"
    key_state = "new, generated now" if server.host_key_created else "kept from earlier runs"
    return "\n".join([
        f"gdsim workshop server listening on {host}:{server.port}",
        f"  host key     {server.host_key_path} ({key_state})",
        f"  fingerprint  {server.fingerprint}",
        "               participants check that their ssh shows this fingerprint before typing 'yes'",
        f"  participants type:  ssh {port_flag}workshop@{shown}",
        f"  authentication: {how}",
        f"  limits: {plural(config.max_sessions, 'session')}, idle timeout {idle}, per session {mem} and {cpu}",
        "Press Ctrl+C to stop (every session is closed).",
    ])


def run_ssh_server(config: SSHServerConfig, out: TextIO = sys.stdout) -> int:
    """Serve until Ctrl+C or SIGTERM; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

    precompile()

    async def main() -> None:
        server = await start_ssh_server(config)
        print(describe(server, config), file=out, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print(f"stopping: closing {len(server.sessions)} session(s)", file=out, flush=True)
        await server.close()

    asyncio.run(main())
    return 0
