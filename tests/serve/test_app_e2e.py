"""The real gdsim app behind the SSH server: a participant connects and sees the scenario picker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.conftest import connect, open_screen, wait_gone

APP = Path(__file__).resolve().parents[2] / "gdsim" / "app" / "app.py"


@pytest.mark.skipif(not APP.exists(), reason="the gdsim app (gdsim/app/app.py) does not exist yet")
async def test_participant_sees_the_scenario_picker(serve, client_key):
    server = await serve(command=None, idle_timeout=None)  # command None: `python -m gdsim`, the real app
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(100, 30))
        await screen.wait_for(rb"Pick a scenario", timeout=20, plain=True)
        pids = [session.pid for session in server.sessions]
        assert len(pids) == 1
    for pid in pids:
        assert await wait_gone(pid)
