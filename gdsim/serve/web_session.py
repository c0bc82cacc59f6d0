"""One browser tab's gdsim under `gdsim serve web`, kept as close to an SSH session as textual-serve allows.

textual-serve starts each app through a shell with a copy of the server's whole environment (the
presenter's secrets, SSH_AUTH_SOCK...) in the server's own process group. GdsimAppService starts
it without a shell, with the same trimmed environment an SSH session gets (plus the variables
textual-serve's driver needs), in its own session and process group, and kills that group when
the tab's app ends. Its page loads a Google font; served_templates() writes a copy of the page
that uses the font textual-serve itself serves, so the page makes no third-party requests.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
from pathlib import Path

from textual_serve.app_service import AppService

from gdsim.serve.sessions import SessionSettings, child_environment

# What textual-serve's AppService sets for its driver; everything else comes from child_environment.
TEXTUAL_SERVE_ENV = ("TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM", "TERM_PROGRAM",
                     "TERM_PROGRAM_VERSION", "COLUMNS", "ROWS")
# <link ... href="https://..."> and <script src="//..."> tags: anything the page would fetch elsewhere.
THIRD_PARTY = re.compile(r"<(?:link|script)\b[^>]*\b(?:href|src)\s*=\s*[\"'](?:[a-z]+:)?//[^>]*>(?:\s*</script>)?",
                         re.IGNORECASE)
LOCAL_FONT = """<style>
      @font-face { font-family: "Roboto Mono"; font-style: normal;
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"); }
      @font-face { font-family: "Roboto Mono"; font-style: italic;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf"); }
    </style>
  </head>"""


def served_templates(directory: Path) -> Path:
    """Write textual-serve's page, minus its third-party requests, into `directory`; return it."""
    import textual_serve

    original = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    page = THIRD_PARTY.sub("", original.read_text(encoding="utf-8"))
    page = page.replace("</head>", LOCAL_FONT, 1)
    directory.mkdir(mode=0o700, exist_ok=True)
    (directory / "app_index.html").write_text(page, encoding="utf-8")
    return directory


class GdsimAppService(AppService):
    """textual-serve's per-tab app service: no shell, a trimmed environment, its own process group.

    `settings` is set on the class by the web server before it starts (textual-serve builds the
    service itself, with only the command line)."""

    settings: SessionSettings = SessionSettings(command=[])

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        textual_serve = super()._build_environment(width=width, height=height)
        env = child_environment(self.settings, "xterm-256color", {})
        env.update({name: textual_serve[name] for name in TEXTUAL_SERVE_ENV if name in textual_serve})
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *shlex.split(self.command),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            cwd="/",
            start_new_session=True,  # own session and process group: pgid == pid
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """textual-serve's loop over the app's output, ended when the app exits even if something
        it started still holds its output open; then its process group is killed."""
        process = self._process
        assert process is not None
        reading = asyncio.ensure_future(super().run())
        exited = asyncio.ensure_future(_exit_of(process))
        try:
            await asyncio.wait({reading, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():  # the app has exited: its last output is still in the pipe
                await asyncio.wait({reading}, timeout=0.5)
        finally:
            await _end_group(process)
            await asyncio.wait({reading}, timeout=5)
            exited.cancel()


async def _exit_of(process: asyncio.subprocess.Process, poll: float = 0.1) -> int:
    """The app's exit status, as soon as it has exited (Process.wait() also waits for every pipe
    to close, which a process it started may keep open)."""
    while process.returncode is None:
        await asyncio.sleep(poll)
    return process.returncode


async def _end_group(process: asyncio.subprocess.Process, grace: float = 1.0) -> None:
    """Give the app `grace` seconds to exit, then kill its process group: whatever it started
    goes with it, as at the end of an SSH session."""
    try:
        await asyncio.wait_for(_exit_of(process), grace)
    except asyncio.TimeoutError:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    await asyncio.wait({asyncio.ensure_future(_exit_of(process))}, timeout=5)
