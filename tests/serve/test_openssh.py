"""The served app through real OpenSSH clients (`ssh` on tmux terminals), as participants see it.

The server is start_ssh_server in this process (tests/serve/conftest.py's `serve`), serving the
real app; the clients are /usr/bin/ssh with keys made by ssh-keygen. Everything is asserted on
what the real terminals show. Skipped, with the reason, where ssh, ssh-keygen or tmux is missing
(a failure instead under GDSIM_REQUIRE_OPENSSH=1, as .ci/run sets).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from gdsim.errors import internal_message
from tests.serve.openssh import Lab

CRASHING = [sys.executable, str(Path(__file__).with_name("crashing_app.py"))]


@pytest.fixture
async def lab(tmp_path):
    made = Lab(tmp_path)
    yield made
    await made.close()


def authorize(tmp_path: Path, *public_lines: str) -> Path:
    path = tmp_path / "participants_keys"
    path.write_text("".join(line + "\n" for line in public_lines))
    return path


async def test_a_participant_opens_a_scenario_runs_it_and_quits(serve, lab, tmp_path, caplog):
    key, public = lab.keygen("alice")
    server = await serve(command=None, idle_timeout=None, authorized_keys=authorize(tmp_path, public))
    caplog.set_level(logging.INFO, logger="gdsim.serve")
    alice = await lab.open("alice", key, server.port)
    await alice.wait_for(r"Pick a scenario")
    await alice.keys("Enter")  # the first scenario in the list
    await alice.wait_for(r"paused\s+step 0 / \d+")
    await alice.keys("Space")  # run it (its question is skipped)
    await alice.wait_for(r"step [1-9]\d* / \d+")
    await alice.keys("Space")  # pause
    step = int((await alice.wait_for(r"paused\s+step (\d+) / \d+")).group(1))
    assert step > 0
    await alice.keys("C-q")
    shown = await alice.wait_for(r"\[ssh exited 0\]")
    assert "Traceback" not in shown[0]
    ended = [r.getMessage() for r in caplog.records if "session ended" in r.getMessage()]
    assert ended and ended[-1].endswith("session ended (exit status 0)")
    assert not server.sessions


async def test_a_crash_shows_the_servers_closing_line_on_the_real_terminal(serve, lab, tmp_path):
    key, public = lab.keygen("bob")
    server = await serve(command=CRASHING + ["guard"], authorized_keys=authorize(tmp_path, public))
    bob = await lab.open("bob", key, server.port)
    await bob.wait_for(r"READY")
    await bob.keys("x", literal=True)
    screen = await bob.wait_for(r"\[ssh exited 70\]")
    shown = screen.string
    assert f"\ngdsim session closed: {internal_message()}.\n" in shown  # on one line of 80 columns
    assert "Traceback" not in shown and "ZeroDivisionError" not in shown
