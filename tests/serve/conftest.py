"""Shared fixtures for the serve tests: keys in tmp_path, a server on an ephemeral loopback port
running the stand-in program (tests/serve/standin.py), and a client session that records output."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import asyncssh
import pytest

from gdsim.serve.auth import write_password_file
from gdsim.serve.pty_process import ResourceLimits
from gdsim.serve.ssh import RunningSSHServer, SSHServerConfig, start_ssh_server

STANDIN = [sys.executable, str(Path(__file__).with_name("standin.py"))]
PASSWORD = "gradient-descent-42"
# Escape sequences (CSI, OSC, charset, two-byte) removed so that text split up by styling still matches.
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+].|\x1b[0-9=>@-Z\\-_]")


class Screen(asyncssh.SSHClientSession):
    """Collects everything the server sends on a session."""

    def __init__(self) -> None:
        self.output = b""
        self.changed = asyncio.Event()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes, datatype) -> None:
        self.output += data
        self.changed.set()

    def connection_lost(self, exc) -> None:
        self.closed.set()
        self.changed.set()

    def text(self) -> bytes:
        """The output with escape sequences removed."""
        return ESCAPES.sub(b"", self.output)

    async def wait_for(self, pattern: bytes, timeout: float = 10.0, *, plain: bool = False) -> re.Match:
        """Wait until `pattern` (a regex) appears in the output (escapes removed if `plain`)."""
        regex = re.compile(pattern)

        async def poll() -> re.Match:
            while True:
                match = regex.search(self.text() if plain else self.output)
                if match:
                    return match
                if self.closed.is_set():
                    raise AssertionError(f"session closed before {pattern!r}; got {self.output[-800:]!r}")
                self.changed.clear()
                await self.changed.wait()

        try:
            return await asyncio.wait_for(poll(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {pattern!r} within {timeout}s; got {self.output[-800:]!r}") from None


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def keys_file(path: Path, *keys: asyncssh.SSHKey) -> Path:
    """An authorized_keys file at `path` (participants' or presenters') listing `keys`."""
    path.write_bytes(b"".join(key.export_public_key() for key in keys))
    return path


def password_file_at(path: Path, password: str) -> Path:
    """A password hash file at `path`, as `gdsim serve hash-password` writes it."""
    write_password_file(path, password)
    return path


@pytest.fixture
def client_key() -> asyncssh.SSHKey:
    return new_key()


@pytest.fixture
def authorized_keys(tmp_path: Path, client_key: asyncssh.SSHKey) -> Path:
    return keys_file(tmp_path / "authorized_keys", client_key)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    return password_file_at(tmp_path / "workshop.pw", PASSWORD)


@pytest.fixture
async def serve(tmp_path: Path, authorized_keys: Path):
    """Factory: start a server (key auth, stand-in program) with any config fields overridden."""
    servers: list[RunningSSHServer] = []

    async def start(**overrides) -> RunningSSHServer:
        fields = dict(
            host="127.0.0.1",
            port=0,
            host_key=tmp_path / "host_key",
            authorized_keys=authorized_keys,
            command=STANDIN,
            limits=ResourceLimits(memory_bytes=1024**3, cpu_seconds=600, file_size_bytes=0),
            auth_failure_delay=0.0,
            zygote=False,  # tests/serve/test_zygote.py serves through the zygote
        )
        fields.update(overrides)
        server = await start_ssh_server(SSHServerConfig(**fields))
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def connect(server: RunningSSHServer, **kwargs):
    return connect_port(server.port, **kwargs)


def connect_port(port: int, **kwargs):
    options = dict(username="participant", known_hosts=None, encoding=None, agent_path=None)
    options.update(kwargs)
    return asyncssh.connect("127.0.0.1", port, **options)


async def open_screen(conn, term_size=(80, 24), env=None, term_type="xterm-256color"):
    chan, screen = await conn.create_session(Screen, term_type=term_type, term_size=term_size, env=env or {})
    return chan, screen


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone: it holds no resources but its pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)
