"""`gdsim serve web`: gdsim in the browser through textual-serve, for participants without ssh.

textual-serve starts one app process per browser tab. It has NO authentication: anyone who can
reach the port gets a gdsim. So it binds to loopback unless told otherwise, and says so loudly.
The same per-session limits as the SSH server apply (through gdsim.serve.child), the app runs
in served mode (GDSIM_SERVED=1: no files written, built-in scenarios only), with the same trimmed
environment and in its own process group (web_session.py), and the page fetches nothing from
other sites.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gdsim.errors import UserError
from gdsim.serve import auth, rundir
from gdsim.serve.pty_process import ResourceLimits, precompile, wrap_command
from gdsim.serve.sessions import SessionSettings
from gdsim.serve.ssh_config import DEFAULT_COMMAND, check_scenario

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

    def command_line(self) -> str:
        """The command line textual-serve hands each browser tab's app service, which splits it
        and runs it without a shell (web_session.py)."""
        command = list(self.command or DEFAULT_COMMAND)
        if self.scenario:
            command.append(self.scenario)
        return shlex.join(wrap_command(command, self.limits, controlling_tty=False))

    def session_settings(self) -> SessionSettings:
        """What every tab's app gets: the SSH sessions' trimmed environment and limits."""
        return SessionSettings(
            command=shlex.split(self.command_line()),
            limits=self.limits,
            scenario_dir=Path(self.scenario_dir).resolve() if self.scenario_dir is not None else None,
        )


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

    import textual_serve.server

    from gdsim.serve.web_session import GdsimAppService, served_templates

    print(warning_text(config), file=err, flush=True)
    precompile()
    GdsimAppService.settings = config.session_settings()
    textual_serve.server.AppService = GdsimAppService  # the server builds one per browser tab
    run_dir = rundir.create()
    try:
        server = Server(
            config.command_line(),
            host=config.host,
            port=config.port,
            title="gdsim",
            public_url=config.public_url,
            templates_path=served_templates(run_dir / "templates"),
        )
        print(f"gdsim in the browser: {server.public_url}  (Ctrl+C to stop)", file=out, flush=True)
        try:
            server.serve()
        except OSError as exc:
            raise UserError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    finally:
        rundir.remove(run_dir)
    return 0
