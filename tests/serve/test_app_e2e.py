"""The real gdsim app behind the SSH server: a participant logs in and sees the scenario picker."""

from __future__ import annotations

import pytest

from tests.serve.conftest import PASSWORD, connect, open_screen, wait_gone


@pytest.mark.parametrize("login", ["key", "password"])
async def test_participant_sees_the_scenario_picker(serve, client_key, password_file, login):
    if login == "key":
        server = await serve(command=None, idle_timeout=None)  # command None: `python -m gdsim`
        credentials = dict(client_keys=[client_key])
    else:
        server = await serve(command=None, idle_timeout=None, authorized_keys=None, password_file=password_file)
        credentials = dict(client_keys=None, password=PASSWORD)
    async with connect(server, **credentials) as conn:
        _, screen = await open_screen(conn, term_size=(100, 30))
        await screen.wait_for(rb"Pick a scenario", timeout=30, plain=True)
        pids = [session.pid for session in server.sessions]
        assert len(pids) == 1
    assert await wait_gone(pids[0])  # the app is gone once the participant disconnects
