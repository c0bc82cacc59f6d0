"""A served session never shows a traceback: the participant gets one line from the server, the
presenter the traceback in the server's log (through the session's error pipe), and the app ends
with exit status INTERNAL_EXIT. Served by the SSH server (spawned and forked from the zygote), and
the three places that catch an error: the app (GdsimApp._handle_exception), the command line's
guard, and the zygote's child."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from gdsim.errors import ERROR_FD_ENV, INTERNAL_EXIT, internal_message
from tests.serve.conftest import connect, open_screen

CRASHING = [sys.executable, str(Path(__file__).with_name("crashing_app.py"))]
CLOSING = f"gdsim session closed: {internal_message()}.".encode()


def read_pipe(fd: int) -> str:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1 << 20).decode()
    except BlockingIOError:
        return ""


@pytest.fixture
def error_pipe(monkeypatch):
    read_fd, write_fd = os.pipe()
    monkeypatch.setenv("GDSIM_SERVED", "1")
    monkeypatch.setenv(ERROR_FD_ENV, str(write_fd))
    yield read_fd
    os.close(read_fd)
    os.close(write_fd)


async def test_the_app_sends_its_traceback_to_the_pipe_and_shows_nothing(error_pipe, capfd):
    from tests.app.conftest import make_app

    app = make_app(None)
    with pytest.raises(ZeroDivisionError):  # the test pilot re-raises what ended the app
        async with app.run_test() as pilot:
            app.call_later(lambda: 1 / 0)
            await pilot.pause()
    assert app.return_code == INTERNAL_EXIT
    assert not app._exit_renderables  # Textual would print its traceback from these at exit
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    report = read_pipe(error_pipe)
    assert report.startswith("Traceback") and "ZeroDivisionError" in report


def test_the_guard_sends_its_traceback_to_the_pipe(error_pipe, capsys):
    from gdsim import cli

    assert cli._guard(lambda: {}["missing"]) == INTERNAL_EXIT
    assert capsys.readouterr().err == ""
    assert "KeyError: 'missing'" in read_pipe(error_pipe)


def test_not_served_the_guard_lets_the_error_through(monkeypatch):
    from gdsim import cli

    monkeypatch.delenv("GDSIM_SERVED", raising=False)
    with pytest.raises(KeyError):
        cli._guard(lambda: {}["missing"])


# "top", spawned: an error outside any guard in a spawned app (gdsim.serve.child runs it in-process
# and reports it, as the zygote's child does; exec'd, python printed the traceback on the pty).
@pytest.mark.parametrize("where,zygote", [("guard", False), ("guard", True), ("top", True), ("top", False)])
async def test_a_crash_is_one_line_for_the_participant_and_a_traceback_in_the_log(
        serve, client_key, caplog, where, zygote):
    server = await serve(command=CRASHING + [where], zygote=zygote)
    if zygote:
        assert await server.zygote_ready()
    caplog.set_level(logging.INFO, logger="gdsim.serve")
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn)
        await screen.wait_for(rb"READY", timeout=30)
        assert next(iter(server.sessions)).forked is zygote
        chan.write(b"x")
        await asyncio.wait_for(screen.closed.wait(), 30)
    text = screen.text()
    assert b"Traceback" not in text and b"ZeroDivisionError" not in text and b"secret_local" not in text
    assert text.strip().endswith(CLOSING)
    assert chan.get_exit_status() == INTERNAL_EXIT
    logged = [r.getMessage() for r in caplog.records if "its traceback" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert "Traceback" in logged[0] and "ZeroDivisionError" in logged[0] and "in divide" in logged[0]
    assert "key SHA256:" in logged[0]  # whose session it was
