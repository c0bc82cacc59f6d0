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
from gdsim.serve import auth, rundir
from gdsim.serve.cpu_share import CpuShares
from gdsim.serve.door import Door, DoorLimits
from gdsim.serve.pty_process import ResourceLimits, precompile
from gdsim.serve.sessions import GdsimSession, SessionRegistry, SessionSettings, child_environment, format_duration
from gdsim.serve.zygote_client import Zygote
from gdsim.words import plural

log = logging.getLogger("gdsim.serve")

DEFAULT_COMMAND = [sys.executable, "-m", "gdsim"]
REFUSAL_DELAY = 0.5  # seconds between the version line and the disconnect message of a refusal
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
    # Per source address, across connections: free wrong passwords, then a doubling wait (door.py).
    free_failures: int = 3
    backoff_base: float = 1.0
    max_pending_per_address: int = 10  # connections still logging in from one address
    sessions_per_connection: int = 1  # a multiplexed OpenSSH master must not take every seat
    sessions_per_client: int | None = None  # per key (key login) or address (otherwise); None: no limit
    zygote: bool = True  # fork apps from a process that has imported gdsim already (zygote.py)
    keepalive_interval: float = 30.0  # finds clients whose network vanished without a goodbye

    def door_limits(self) -> DoorLimits:
        """The door's limits: connections still logging in may use all but a reserve of
        max_sessions of the connection limit, which only logged-in connections can use."""
        total = 2 * self.max_sessions + 10
        return DoorLimits(
            max_connections=total,
            max_pending=max(self.max_pending_per_address, total - self.max_sessions),
            max_pending_per_address=self.max_pending_per_address,
            free_failures=self.free_failures,
            backoff_base=self.backoff_base,
        )

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
        for option, value in (("--max-sessions", self.max_sessions),
                              ("--sessions-per-connection", self.sessions_per_connection),
                              ("--sessions-per-client", self.sessions_per_client or 1),
                              ("--max-pending-per-address", self.max_pending_per_address)):
            if value < 1:
                raise UserError(f"{option} must be at least 1, got {value}")
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
        # Created last: nothing above may fail and leave the directory behind.
        self.run_dir = rundir.create()
        self.shares = CpuShares(self.run_dir)
        self.settings = SessionSettings(
            command=config.app_command(),
            limits=config.limits,
            idle_timeout=config.idle_timeout or None,
            scenario_dir=Path(config.scenario_dir).resolve() if config.scenario_dir else None,
            extra_env=dict(config.extra_env),
            cpu_share_file=self.shares.path,
        )
        if config.zygote:
            env = child_environment(self.settings, "xterm-256color", {})
            env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as gdsim.cli sets it for the app
            self.settings.zygote = Zygote(self.run_dir / "zygote.sock", env)
        self.registry = SessionRegistry(
            config.max_sessions, self.shares,
            per_connection=config.sessions_per_connection, per_client=config.sessions_per_client,
        )
        self.door = Door(config.door_limits())


class _Connection(asyncssh.SSHServer):
    """asyncssh creates one of these per TCP connection."""

    def __init__(self, state: _ServerState) -> None:
        self._state = state
        self._conn: asyncssh.SSHServerConnection | None = None
        self._failures = 0
        self._address = "?"
        self._logged_in = False
        self._client = "?"  # who logged in: the key's fingerprint, else the source address
        self._refused = False  # over the door's limits: disconnected shortly, may not log in meanwhile

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self._address = self._client = str(peer[0]) if peer else "?"
        admitted, drop = self._state.door.arrive(conn, self._address)
        loop = asyncio.get_running_loop()
        for silent in drop:
            log.info("%s: dropped a connection that never spoke, to make room", self._address)
            loop.call_soon(silent.disconnect, asyncssh.DISC_TOO_MANY_CONNECTIONS,
                           "dropped: it sent nothing while others waited")
        if not admitted:
            log.warning("%s: refused a connection, too many are logging in", self._address)
            self._refused = True
            # After asyncssh has sent the version line (right after this returns), and after the
            # client's own first packets have arrived and been read: OpenSSH then shows the reason
            # ("Received disconnect ... too many connections") instead of "Broken pipe".
            loop.call_later(REFUSAL_DELAY, conn.disconnect, asyncssh.DISC_TOO_MANY_CONNECTIONS,
                            self._state.door.refusal())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._state.door.leave(self._conn, self._logged_in)

    def auth_completed(self) -> None:
        self._logged_in = True
        if self._conn is not None:
            self._state.door.logged_in_now(self._conn)

    def begin_auth(self, username: str) -> bool:
        return self._refused or self._state.config.auth_mode != "none"

    def public_key_auth_supported(self) -> bool:
        return self._state.authorized_keys is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        keys = self._state.authorized_keys
        if self._refused or keys is None or keys.validate(key, self._address, self._address) is None:
            return False
        # asyncssh checks the key again, just before the signature, for the attempt that succeeds.
        self._client = "key " + auth.fingerprint(key)
        return True

    def password_auth_supported(self) -> bool:
        return self._state.password_hash is not None

    async def validate_password(self, username: str, password: str) -> bool:
        state = self._state
        assert state.password_hash is not None
        if self._refused:
            return False
        # One check at a time per address, backing off after failures (door.py); scrypt itself runs
        # off the event loop so others keep typing.
        ok = await state.door.check_password(
            self._address, lambda: auth.verify_password(password, state.password_hash)
        )
        if not ok:
            self._failures += 1
            if self._failures >= state.config.max_auth_failures and self._conn is not None:
                self._conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many wrong passwords")
            await asyncio.sleep(state.config.auth_failure_delay)
        return ok

    def session_requested(self) -> GdsimSession:
        return GdsimSession(self._state.settings, self._state.registry, connection=self, client=self._client)

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

    async def zygote_ready(self) -> bool:
        """Wait until the app zygote has started (False: it failed, or there is none)."""
        zygote = self._state.settings.zygote
        return zygote is not None and await zygote.wait_ready()

    @property
    def sessions(self) -> set[GdsimSession]:
        return self._state.registry.live

    async def close(self) -> None:
        """Stop accepting, end every session (no process left behind), then close."""
        self._acceptor.close()
        await self._state.registry.close_all()
        await self._acceptor.wait_closed()
        if self._state.settings.zygote is not None:
            await self._state.settings.zygote.close()
        rundir.remove(self._state.run_dir)


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
            # Keys are checked in _Connection.validate_public_key, which notes whose key it was.
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
        rundir.remove(state.run_dir)
        raise UserError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    if state.settings.zygote is not None:
        state.settings.zygote.start()  # imports in the background; sessions before it is ready wait for it
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
        await server.zygote_ready()  # the banner says the room may connect: apps start quickly from now
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
