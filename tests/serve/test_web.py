"""`gdsim serve web`: textual-serve on loopback, a loud warning, served-mode environment and limits."""

from __future__ import annotations

import asyncio
import os
import re
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
from gdsim.serve.sessions import child_environment
from gdsim.serve.web import WebServerConfig, warning_text
from gdsim.serve.web_session import TEXTUAL_SERVE_ENV, GdsimAppService, served_templates
from tests.serve.conftest import alive, wait_gone

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_runs_the_app_under_limits_in_served_mode(tmp_path, monkeypatch):
    config = WebServerConfig(scenario="saddle-point", scenario_dir=tmp_path)
    argv = shlex.split(config.command_line())
    assert argv[:3] == [sys.executable, "-m", "gdsim.serve.child"]
    assert "--memory" in argv and "--ctty" not in argv  # a pipe, not a pty, in web mode
    assert argv[-3:] == ["-m", "gdsim", "saddle-point"]
    monkeypatch.setenv("PRESENTERS_SECRET", "hunter2")
    GdsimAppService.settings = config.session_settings()
    env = GdsimAppService("true", write_bytes=None, write_str=None, close=None,
                          download_manager=None)._build_environment(100, 30)
    assert env["GDSIM_SERVED"] == "1"
    assert env["GDSIM_SCENARIO_DIR"] == str(tmp_path.resolve())
    assert env["TEXTUAL_DRIVER"].endswith("WebDriver") and env["COLUMNS"] == "100"
    assert "PRESENTERS_SECRET" not in env and "SSH_AUTH_SOCK" not in env
    assert set(env) - set(TEXTUAL_SERVE_ENV) == set(child_environment(config.session_settings(), "xterm", {}))


async def test_a_tabs_app_runs_in_its_own_group_and_its_group_ends_with_it(tmp_path):
    code = ("import os, subprocess, sys; child = subprocess.Popen(['sleep', '300']); "
            "print(os.getpgid(0) == os.getpid(), os.getsid(0) == os.getpid(), child.pid, flush=True)")
    GdsimAppService.settings = WebServerConfig().session_settings()
    service = GdsimAppService(shlex.join([sys.executable, "-c", code]), write_bytes=None, write_str=None,
                              close=None, download_manager=None)
    process = await service._open_app_process(80, 24)
    line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().split()
    assert line[:2] == ["True", "True"]  # its own process group and session, not the server's
    grandchild = int(line[2])
    assert alive(grandchild)
    await service.run()  # returns when the app's output ends; then the group is killed
    assert await wait_gone(grandchild), "something the app started outlived it"


def test_the_page_fetches_nothing_from_other_sites(tmp_path):
    page = (served_templates(tmp_path) / "app_index.html").read_text()
    assert "googleapis" not in page
    assert not re.search(r"""(?:href|src)\s*=\s*["'](?:https?:)?//""", page, re.IGNORECASE)
    assert "fonts/RobotoMono-VariableFont_wght.ttf" in page  # textual-serve's own copy of the font


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
        assert "googleapis" not in page and "Roboto Mono" in page
        assert not re.search(r"""(?:href|src)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1)""", page)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/fonts/RobotoMono-VariableFont_wght.ttf",
                                    timeout=5) as response:
            assert response.status == 200  # the font the page names is served
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert "NO AUTHENTICATION" in err
    assert f"http://127.0.0.1:{port}" in out
