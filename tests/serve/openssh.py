"""Real OpenSSH clients on real terminals, for the serve tests: `ssh` in tmux panes, keys from ssh-keygen.

A Lab holds a private tmux server (its own socket in a temporary directory, both gone at the end) and a temporary
directory with keys and a known_hosts file. `await lab.open(name, key, port)` starts
`/usr/bin/ssh` in an 80x24 tmux window; a Terminal reads what that real terminal shows
(`tmux capture-pane`) and types into it (`tmux send-keys`). Waiting is always for text on the
screen, polled, with a generous deadline: never a fixed sleep.

Missing ssh, ssh-keygen or tmux: the tests are skipped with the reason, unless
GDSIM_REQUIRE_OPENSSH=1 (set by .ci/run, which also checks they exist), where it is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TOOLS = ("ssh", "ssh-keygen", "tmux")
POLL = 0.1  # seconds between looks at a screen while waiting for text


def require_tools() -> None:
    """Skip (or, on CI, fail) when a tool the real-client tests need is missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"the real-OpenSSH tests need {', '.join(missing)} on PATH"
        if os.environ.get("GDSIM_REQUIRE_OPENSSH") == "1":
            pytest.fail(reason + " (GDSIM_REQUIRE_OPENSSH=1: CI must run them)")
        pytest.skip(reason)


class Terminal:
    """One tmux window running one `ssh`; its screen as the participant sees it."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.name = name

    async def screen(self) -> str:
        return await self.lab.tmux("capture-pane", "-p", "-J", "-t", self.name)  # -J: wrapped lines joined

    async def keys(self, *keys: str, literal: bool = False) -> None:
        """Type `keys` (tmux key names such as Enter, Space, C-q; or text with literal=True)."""
        await self.lab.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    async def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """Wait until `pattern` (a regex) is on the screen, or in its text flowed into one line (a
        message the app wrapped onto two rows); fails with the screen if it never is."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            shown = await self.screen()
            match = regex.search(shown) or regex.search(" ".join(shown.split()))
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {pattern!r} within {timeout:g} s; the screen:\n{shown}")
            await asyncio.sleep(POLL)

    async def wait_gone(self, pattern: str, timeout: float = 60.0) -> str:
        """Wait until `pattern` is no longer on the screen; returns the screen."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            shown = await self.screen()
            if not regex.search(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {pattern!r} still shown after {timeout:g} s:\n{shown}")
            await asyncio.sleep(POLL)


class Lab:
    """Keys, known_hosts and a private tmux server for a test's real ssh clients."""

    def __init__(self, directory: Path) -> None:
        require_tools()
        self.directory = directory
        # The tmux server's socket, in a short directory of its own (a Unix socket path must stay
        # under ~100 bytes; pytest's tmp_path may not), removed with it at the end.
        self.socket_dir = tempfile.mkdtemp(prefix="gdsim-tmux-")
        self.socket = os.path.join(self.socket_dir, "tmux")
        self.known_hosts = directory / "known_hosts"
        self.started = False

    def keygen(self, name: str) -> tuple[Path, str]:
        """A new Ed25519 key made by ssh-keygen: (private key file, its public line)."""
        path = self.directory / f"id_{name}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                       check=True, capture_output=True, timeout=30)
        return path, path.with_suffix(".pub").read_text().strip()

    def ssh_command(self, key: Path, port: int, user: str) -> list[str]:
        return ["ssh", "-F", "/dev/null", "-p", str(port), "-i", str(key),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "LogLevel=ERROR",
                f"{user}@127.0.0.1"]

    async def tmux(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "tmux", "-S", self.socket, *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        if process.returncode:
            raise AssertionError(f"tmux {' '.join(args)} failed: {err.decode(errors='replace').strip()}")
        return out.decode(errors="replace")

    async def open(self, name: str, key: Path, port: int, user: str | None = None,
                   cols: int = 80, rows: int = 24) -> Terminal:
        """Start `ssh` as `user` (default: `name`) in a new cols x rows window called `name`.
        When ssh ends, the window shows `[ssh exited N]` and stays open to be read."""
        ssh = shlex.join(self.ssh_command(key, port, user or name))
        shell = f'{ssh}; echo "[ssh exited $?]"; exec sleep 600'
        if not self.started:
            await self.tmux("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows),
                            "sh", "-c", shell)
            self.started = True
        else:
            await self.tmux("new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), "sh", "-c", shell)
        return Terminal(self, name)

    async def close(self) -> None:
        if self.started:
            try:
                await self.tmux("kill-server")
            except AssertionError:
                pass  # already gone
        shutil.rmtree(self.socket_dir, ignore_errors=True)
