"""`gdsim serve web`: textual-serve on loopback, a loud warning, served-mode environment and limits."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gdsim.errors import UserError
from gdsim.serve.web import WebServerConfig, warning_text

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_runs_the_app_under_limits_in_served_mode(tmp_path):
    config = WebServerConfig(scenario="saddle-point", scenario_dir=tmp_path)
    argv = shlex.split(config.shell_command())
    assert argv[:4] == ["exec", sys.executable, "-m", "gdsim.serve.child"]
    assert "--memory" in argv and "--ctty" not in argv  # a pipe, not a pty, in web mode
    assert argv[-3:] == ["-m", "gdsim", "saddle-point"]
    env = config.served_environment()
    assert env["GDSIM_SERVED"] == "1"
    assert env["GDSIM_SCENARIO_DIR"] == str(tmp_path.resolve())


def test_warning_is_louder_off_loopback():
    assert "NO AUTHENTICATION" in warning_text(WebServerConfig())
    assert "loopback only" in warning_text(WebServerConfig())
    assert "EVERYONE ON THE NETWORK" in warning_text(WebServerConfig(host="0.0.0.0"))


def test_bad_scenario_is_refused():
    with pytest.raises(UserError, match="not a path"):
        WebServerConfig(scenario="../x.toml").validate()


def test_serves_the_page_on_loopback_and_warns():
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gdsim", "serve", "web", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        page = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert page is not None, "textual-serve did not answer"
        assert "gdsim" in page
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert "NO AUTHENTICATION" in err
    assert f"http://127.0.0.1:{port}" in out
