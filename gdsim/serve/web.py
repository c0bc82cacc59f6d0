"""`gdsim serve web`: gdsim in the browser through textual-serve, for participants without ssh.

textual-serve starts one app process per browser tab. It has NO authentication: anyone who can
reach the port gets a gdsim. So it binds to loopback unless told otherwise, and says so loudly.
The same per-session limits as the SSH server apply (through gdsim.serve.child), and the app
runs in served mode (GDSIM_SERVED=1: no files written, built-in scenarios only).
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gdsim.errors import UserError
from gdsim.serve import auth
from gdsim.serve.pty_process import ResourceLimits, precompile, served_child_environment, wrap_command
from gdsim.serve.ssh import DEFAULT_COMMAND, check_scenario

WARNING = """\
!!! WARNING: textual-serve has NO AUTHENTICATION. !!!
!!! Anyone who can reach {url} gets a gdsim session on this machine. !!!
{where}"""


@dataclass
class WebServerConfig:
    """Everything `gdsim serve web` can be told."""

    host: str = "127.0.0.1"
    port: int = 8000
    scenario: str | None = None
    scenario_dir: Path | None = None
    public_url: str | None = None
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    command: list[str] | None = None  # None: the real app

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise UserError(f"--port must be between 1 and 65535, got {self.port}")
        if self.scenario_dir is not None and not Path(self.scenario_dir).is_dir():
            raise UserError(f"--scenario-dir {self.scenario_dir} is not a directory")
        check_scenario(self.scenario, self.scenario_dir)

    def shell_command(self) -> str:
        """The command line textual-serve runs (through a shell) for each browser tab.

        `exec` makes the shell become the app, so textual-serve's process is the app itself and
        no shell is left between them.
        """
        command = list(self.command or DEFAULT_COMMAND)
        if self.scenario:
            command.append(self.scenario)
        return "exec " + shlex.join(wrap_command(command, self.limits, controlling_tty=False))

    def served_environment(self) -> dict[str, str]:
        """Variables added to this process's environment, which textual-serve hands to each app."""
        env = served_child_environment()
        if self.scenario_dir is not None:
            env["GDSIM_SCENARIO_DIR"] = str(Path(self.scenario_dir).resolve())
        return env


def warning_text(config: WebServerConfig) -> str:
    url = config.public_url or f"http://{config.host}:{config.port}"
    if auth.is_loopback(config.host):
        where = "It listens on loopback only: people on other machines cannot reach it."
    else:
        where = (
            f"It listens on {config.host}: EVERYONE ON THE NETWORK can use it. Prefer "
            "`gdsim serve ssh` with a password, or put this behind an authenticating proxy."
        )
    return WARNING.format(url=url, where=where)


def run_web_server(config: WebServerConfig, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Serve gdsim over HTTP until Ctrl+C; returns the exit status."""
    config.validate()
    from textual_serve.server import Server  # imported late: aiohttp is slow to import

    print(warning_text(config), file=err, flush=True)
    precompile()
    os.environ.update(config.served_environment())
    server = Server(
        config.shell_command(),
        host=config.host,
        port=config.port,
        title="gdsim",
        public_url=config.public_url,
    )
    print(f"gdsim in the browser: {server.public_url}  (Ctrl+C to stop)", file=out, flush=True)
    try:
        server.serve()
    except OSError as exc:
        raise UserError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    return 0
