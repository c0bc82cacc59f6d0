"""What `gdsim serve ssh` can be told (SSHServerConfig), and the checks made before anything starts."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gdsim.errors import UserError
from gdsim.serve import auth
from gdsim.serve.door import DoorLimits
from gdsim.serve.pty_process import ResourceLimits

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
    # Per source address, across connections: free wrong passwords, then a doubling wait (door.py).
    free_failures: int = 3
    backoff_base: float = 1.0
    max_pending_per_address: int = 10  # connections still logging in from one address
    sessions_per_connection: int = 1  # a multiplexed OpenSSH master must not take every seat
    sessions_per_client: int | None = None  # per key (key login) or address (otherwise); None: no limit
    zygote: bool = True  # fork apps from a process that has imported gdsim already (zygote.py)
    keepalive_interval: float = 30.0  # finds clients whose network vanished without a goodbye
    # The classroom (room.py): who logs in as a presenter, and where revealed polls are logged.
    presenter_keys: Path | None = None  # OpenSSH authorized_keys format
    presenter_password_file: Path | None = None  # a hash made by `gdsim serve hash-password`
    room_log: Path | None = None  # a directory

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
    def has_room(self) -> bool:
        """A room (broker, roles) runs when someone can log in as a presenter."""
        return self.presenter_keys is not None or self.presenter_password_file is not None

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
        if self.room_log is not None:
            if not self.has_room:
                raise UserError("--room-log needs --presenter-keys or --presenter-password-file: without a "
                                "presenter there are no polls to log")
            from gdsim.serve.room_log import check_directory

            check_directory(self.room_log)
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
