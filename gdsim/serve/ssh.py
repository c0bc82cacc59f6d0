"""`gdsim serve ssh`: an asyncssh server giving every participant their own gdsim on their own pty.

Modelled on charmbracelet/wish: the SSH server is the only thing participants reach; each
authenticated interactive session starts `python -m gdsim` (configurable) in its own process
group under resource limits (see sessions.py and pty_process.py). Everything else SSH can do
(exec, sftp/scp, port forwarding, X11, agent forwarding) is refused.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TextIO

import asyncssh

from gdsim.errors import UserError
from gdsim.serve import auth, rundir
from gdsim.serve.cpu_share import CpuShares
from gdsim.serve.door import Door
from gdsim.serve.pty_process import precompile
from gdsim.serve.room import Room
from gdsim.serve.room_protocol import PARTICIPANT, PRESENTER
from gdsim.serve.sessions import GdsimSession, SessionRegistry, SessionSettings, child_environment, format_duration
from gdsim.serve.ssh_config import SSHServerConfig
from gdsim.serve.zygote_client import Zygote
from gdsim.words import plural

log = logging.getLogger("gdsim.serve")

REFUSAL_DELAY = 0.5  # seconds between the version line and the disconnect message of a refusal


class _ServerState:
    """What all connections of one server share."""

    def __init__(self, config: SSHServerConfig) -> None:
        self.config = config
        self.password_hash = auth.load_password_file(config.password_file) if config.password_file else None
        self.authorized_keys = (
            auth.load_authorized_keys(config.authorized_keys) if config.authorized_keys else None
        )
        self.presenter_keys = _for_option("--presenter-keys", auth.load_authorized_keys, config.presenter_keys)
        self.presenter_hash = _for_option("--presenter-password-file", auth.load_password_file,
                                          config.presenter_password_file)
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
        if config.has_room:
            self.settings.room = Room(self.run_dir, log_dir=config.room_log)
        if config.zygote:
            env = child_environment(self.settings, "xterm-256color", {})
            env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as gdsim.cli sets it for the app
            self.settings.zygote = Zygote(self.run_dir / "zygote.sock", env)
        self.registry = SessionRegistry(
            config.max_sessions, self.shares,
            per_connection=config.sessions_per_connection, per_client=config.sessions_per_client,
        )
        self.door = Door(config.door_limits())


def _for_option(option: str, load, path: Path | None):
    """load(path), its UserError naming `option` (None when not given)."""
    if path is None:
        return None
    try:
        return load(path)
    except UserError as exc:
        raise UserError(f"{option}: {exc}") from None


class _Connection(asyncssh.SSHServer):
    """asyncssh creates one of these per TCP connection."""

    def __init__(self, state: _ServerState) -> None:
        self._state = state
        self._conn: asyncssh.SSHServerConnection | None = None
        self._failures = 0
        self._address = "?"
        self._logged_in = False
        self._client = "?"  # who logged in: the key's fingerprint, else the source address
        self._username = ""
        self._role = PARTICIPANT  # PRESENTER after a presenter key or the presenter password
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
        self._username = username
        # Without participant authentication, a room still needs a login to tell its presenters.
        return self._refused or self._state.config.auth_mode != "none" or self._state.config.has_room

    def _open_door(self) -> bool:
        """Participants need no credentials (loopback, no auth) though presenters log in."""
        return self._state.config.auth_mode == "none" and not self._refused

    def public_key_auth_supported(self) -> bool:
        state = self._state
        return state.authorized_keys is not None or state.presenter_keys is not None or self._open_door()

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """A presenter's key, a participant's key, or (open door) any key. asyncssh checks the key again
        just before the signature, for the attempt that succeeds: the last call says who logged in."""
        state = self._state
        if self._refused:
            return False
        if state.presenter_keys is not None and state.presenter_keys.validate(key, self._address, self._address) is not None:
            role = PRESENTER
        elif self._open_door() or (state.authorized_keys is not None
                                   and state.authorized_keys.validate(key, self._address, self._address) is not None):
            role = PARTICIPANT
        else:
            return False
        self._client, self._role = "key " + auth.fingerprint(key), role
        return True

    def kbdint_auth_supported(self) -> bool:
        # Open door: keyboard-interactive with no question lets in a participant who has no key;
        # otherwise asyncssh's default (the password, asked through keyboard-interactive).
        return True if self._open_door() else NotImplemented

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        self._client, self._role = self._address, PARTICIPANT
        return self._open_door()

    def password_auth_supported(self) -> bool:
        return self._state.password_hash is not None or self._state.presenter_hash is not None

    def _check_password(self, password: str) -> str | None:
        """The role this password logs in as (None: wrong). Blocking (scrypt): run off the loop."""
        state = self._state
        if state.presenter_hash is not None and auth.verify_password(password, state.presenter_hash):
            return PRESENTER
        if state.password_hash is not None and auth.verify_password(password, state.password_hash):
            return PARTICIPANT
        return None

    async def validate_password(self, username: str, password: str) -> bool:
        state = self._state
        if self._refused:
            return False
        # One check at a time per address, backing off after failures (door.py); scrypt itself runs
        # off the event loop so others keep typing.
        role = await state.door.check_password(self._address, lambda: self._check_password(password))
        ok = role is not None
        if ok:
            self._client, self._role = self._address, role
        else:
            self._failures += 1
            if self._failures >= state.config.max_auth_failures and self._conn is not None:
                self._conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many wrong passwords")
            await asyncio.sleep(state.config.auth_failure_delay)
        return ok

    def session_requested(self) -> GdsimSession:
        return GdsimSession(self._state.settings, self._state.registry, connection=self, client=self._client,
                            role=self._role, name=self._username)

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

    @property
    def room(self) -> Room | None:
        """The classroom broker (None without presenters)."""
        return self._state.settings.room

    async def close(self) -> None:
        """Stop accepting, say bye to the room, end every session (no process left behind), then close."""
        self._acceptor.close()
        if self.room is not None:
            await self.room.stop()
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
        if state.settings.room is not None:
            await state.settings.room.start()
    except OSError as exc:
        rundir.remove(state.run_dir)
        raise UserError(f"cannot open the room's socket in {state.run_dir}: {exc.strerror or exc}") from None
    except BaseException:
        rundir.remove(state.run_dir)
        raise
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
        if state.settings.room is not None:
            await state.settings.room.stop()
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
    user = "YOURNAME" if config.has_room else "workshop"
    return "\n".join([
        f"gdsim workshop server listening on {host}:{server.port}",
        f"  host key     {server.host_key_path} ({key_state})",
        f"  fingerprint  {server.fingerprint}",
        "               participants check that their ssh shows this fingerprint before typing 'yes'",
        f"  participants type:  ssh {port_flag}{user}@{shown}",
        f"  authentication: {how}",
        *_describe_room(server, config, f"ssh {port_flag}", shown),
        f"  limits: {plural(config.max_sessions, 'session')}{' (presenters not counted)' if server.room else ''}, "
        f"idle timeout {idle}, per session {mem} and {cpu}",
        "Press Ctrl+C to stop (every session is closed).",
    ])


def _describe_room(server: RunningSSHServer, config: SSHServerConfig, ssh: str, shown: str) -> list[str]:
    """The banner's lines about the classroom: who is a presenter, how they log in, where polls are logged."""
    if server.room is None:
        return ["  presenter: none (give --presenter-keys or --presenter-password-file for a room"
                " with follow mode and polls)"]
    lines = ["  room: participants are named by their ssh user name (YOURNAME); presenters lead the room"]
    if config.presenter_keys is not None:
        lines.append(f"  presenters: a key in {config.presenter_keys}:  {ssh}-i KEY NAME@{shown}")
    if config.presenter_password_file is not None:
        force = " -o PreferredAuthentications=password" if config.auth_mode == "none" else ""
        lines.append(f"  presenters: the presenter password (hash in {config.presenter_password_file}):"
                     f"  {ssh}{force.strip()}{' ' if force else ''}NAME@{shown}")
    log = server.room.log
    lines.append(f"  room log: revealed polls go to {log.path} (names and answers only)" if log is not None
                 else "  room log: none (poll results are not kept; --room-log DIR keeps them)")
    return lines


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
