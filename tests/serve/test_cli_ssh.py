"""`gdsim serve ssh` as the presenter runs it: the banner, a participant, Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from gdsim.serve import auth
from tests.serve.conftest import connect_port, open_screen

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_banner_participant_and_ctrl_c(tmp_path, authorized_keys, client_key):
    port = free_port()
    host_key = tmp_path / "state" / "host_key"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gdsim", "serve", "ssh", "--port", str(port), "--host-key", str(host_key),
        "--authorized-keys", str(authorized_keys), "--max-sessions", "3", "--idle-timeout", "10m",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        banner = b""
        while b"Press Ctrl+C" not in banner:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, (banner, await proc.stderr.read())
            banner += line
        text = banner.decode()
        key, _ = auth.load_or_create_host_key(host_key)
        assert f"listening on 127.0.0.1:{port}" in text
        assert f"fingerprint  {auth.fingerprint(key)}" in text
        assert f"ssh -p {port} workshop@127.0.0.1" in text
        assert "3 sessions, idle timeout 10 min" in text
        async with connect_port(port, client_keys=[client_key]) as conn:
            _, screen = await open_screen(conn)
            await screen.wait_for(rb"\S", timeout=30)  # gdsim answers (its picker is checked in test_app_e2e)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err
    assert b"stopping" in out
    assert b"session started" in err  # the presenter's log
