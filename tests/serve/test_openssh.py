"""The served app through real OpenSSH clients (`ssh` on tmux terminals), as participants see it.

The server is start_ssh_server in this process (tests/serve/conftest.py's `serve`), serving the
real app; the clients are /usr/bin/ssh with keys made by ssh-keygen. Everything is asserted on
what the real terminals show. Skipped, with the reason, where ssh, ssh-keygen or tmux is missing
(a failure instead under GDSIM_REQUIRE_OPENSSH=1, as .ci/run sets).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
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


async def step_above(terminal, floor: int, timeout: float = 60.0) -> int:
    """Wait until `terminal`'s status line shows a step above `floor`; returns it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        match = await terminal.wait_for(r"step (\d+) / \d+", timeout)
        if int(match.group(1)) > floor:
            return int(match.group(1))
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{terminal.name}: step never went past {floor}:\n{match.string}")
        await asyncio.sleep(0.1)


async def test_a_presenter_and_three_participants_bring_follow_break_away_and_poll(serve, lab, tmp_path):
    """The classroom's done-when (#17), on four real terminals: bring everyone here, follow and
    break away, a poll with a live tally and a reveal."""
    lead_key, lead_public = lab.keygen("teacher")
    keys = {name: lab.keygen(name) for name in ("alice", "bob", "carol")}
    presenter_keys = tmp_path / "presenter_keys"
    presenter_keys.write_text(lead_public + "\n")
    log_dir = tmp_path / "room-log"
    log_dir.mkdir()
    server = await serve(command=None, idle_timeout=None, zygote=True, presenter_keys=presenter_keys,
                         room_log=log_dir, authorized_keys=authorize(tmp_path, *(k[1] for k in keys.values())))
    assert await server.zygote_ready()
    teacher = await lab.open("teacher", lead_key, server.port)
    await teacher.wait_for(r"joined the room as teacher")
    people = {name: await lab.open(name, key, server.port) for name, (key, _) in keys.items()}
    alice, bob, carol = people.values()
    for name, person in people.items():
        await person.wait_for(rf"joined the room as {name}")

    # The presenter opens a scenario; participants follow from the moment they join.
    await teacher.keys("momentum-overshoot", literal=True)  # the list's filter
    await teacher.wait_for(r"momentum-overshoot\s*▎")
    await teacher.keys("Enter")
    await teacher.wait_for(r"paused\s+step 0 / \d+")
    for person in people.values():
        await person.wait_for(r"paused\s+step 0 / \d+")

    # Carol breaks away and goes back to the list; bringing everyone here opens it for her too.
    await carol.keys("X")
    await carol.wait_for(r"exploring\s+on\s+your\s+own")  # the status line may wrap it
    await carol.keys("Escape")
    await carol.wait_for(r"Pick a scenario")
    await teacher.keys("H")
    await carol.wait_for(r"the presenter brought you to")
    await carol.wait_for(r"paused\s+step 0 / \d+")

    # The presenter runs and pauses: the followers are at the presenter's step, carol (not following) is not.
    await teacher.keys("Space")
    await step_above(teacher, 0)
    await teacher.keys("Space")
    here = int((await teacher.wait_for(r"paused\s+step (\d+) / \d+")).group(1))
    for person in (alice, bob):
        await person.wait_for(rf"paused\s+step {here} / \d+")
    assert re.search(r"paused\s+step 0 / \d+", await carol.screen())

    # Bob breaks away; the presenter steps on; bob stays, then rejoins.
    await bob.keys("X")
    await bob.wait_for(r"exploring\s+on\s+your\s+own")  # the status line may wrap it
    await teacher.keys(".", ".", ".", literal=True)
    await teacher.wait_for(rf"paused\s+step {here + 3} / \d+")
    await alice.wait_for(rf"paused\s+step {here + 3} / \d+")
    shown = await bob.wait_for(r"(\w+)\s+step (\d+) / \d+")  # bob stayed where he broke away
    assert shown.group(1, 2) == ("paused", str(here)), shown.string  # the whole screen if not
    await bob.keys("F")
    await bob.wait_for(r"following the presenter again")
    await bob.wait_for(rf"paused\s+step {here + 3} / \d+")

    # A poll from the scenario's question: a live tally for the presenter, then the reveal everywhere.
    await teacher.keys("P")
    await teacher.wait_for(r"0 of 3 answered")
    for person in people.values():
        await person.wait_for(r"the presenter asks the room")
    await alice.keys("2", literal=True)
    await teacher.wait_for(r"1 of 3 answered: 1: 0, 2: 1")  # live, before everyone has answered
    await bob.keys("2", literal=True)
    await carol.keys("1", literal=True)
    await teacher.wait_for(r"3 of 3 answered: 1: 1, 2: 2")
    await teacher.keys("Y")
    for person in people.values():
        await person.wait_for(r"Room: 3 of 3 answered: 1: 1, 2: 2")
    await step_above(alice, here + 3)  # the reveal runs the scenario, and the followers with it
    (log,) = log_dir.glob("gdsim-room-*.jsonl")
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["by"] == {"alice": 2, "bob": 2, "carol": 1} and record["counts"][:2] == [1, 2]

    for terminal in (teacher, *people.values()):
        await terminal.keys("C-q")
    for terminal in (teacher, *people.values()):
        shown = (await terminal.wait_for(r"\[ssh exited 0\]")).string
        assert "Traceback" not in shown
