"""A room's presenter comes first: its own CPU share whatever the room's size, and a higher scheduling
priority than participants' apps (gdsim/serve/cpu_share.py, GdsimSession.limits)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gdsim.app.runtime.frame_slots import SLOTS_ENV
from gdsim.app.runtime.pacing import SHARE_FILE_ENV
from gdsim.serve.cpu_share import PRESENTER_SHARE, USABLE, CpuShares, share_for, shares_for, slot_count
from gdsim.serve.sessions import PRESENTER_NICE
from tests.serve.test_room_server import presenter_key, presenter_keys, session_of  # noqa: F401 - fixtures
from tests.serve.test_zygote import ready_zygote


@pytest.mark.parametrize("participants, cores", [(30, 2), (15, 2), (30, 1), (40, 8), (3, 2)])
def test_a_presenter_keeps_its_share_however_many_follow(participants, cores):
    each, lead = shares_for(participants, 1, cores)
    budget = USABLE * cores
    assert lead >= min(PRESENTER_SHARE, budget / 2)  # ~8 frames a second at 120x40 whatever the room's size
    assert lead >= each  # never behind a participant
    assert participants * each + lead == pytest.approx(budget)  # and the room as a whole still keeps to the budget


def test_shares_without_a_presenter_or_alone():
    assert shares_for(30, 0, 2) == (share_for(30, 2), 0.0) and share_for(30, 2) == pytest.approx(1 / 30)
    assert shares_for(0, 1, 2)[1] == 1.0  # a presenter alone: a whole core
    each, lead = shares_for(30, 3, 2)  # co-presenters together take at most half of the budget
    assert 3 * lead <= USABLE * 2 / 2 + 1e-9 and each == pytest.approx((1.0 - 3 * lead) / 30)


@pytest.mark.parametrize(("cores", "slots"), [(1, 1), (2, 1), (4, 2), (16, 8)])
def test_the_frame_slots_are_the_cores_the_apps_may_use(tmp_path, cores, slots):
    shares = CpuShares(tmp_path, cores=cores)
    assert slot_count(cores) == slots == max(1, round(USABLE * cores))
    assert sorted(p.name for p in shares.slots.iterdir()) == [str(i) for i in range(slots)]
    assert shares.slots.parent == shares.path.parent


def test_both_shares_are_published(tmp_path):
    shares = CpuShares(tmp_path, cores=2)
    shares.publish(30, 1)
    assert float(shares.path.read_text()) == pytest.approx(shares_for(30, 1, 2)[0], abs=1e-4)
    assert float(shares.presenter_path.read_text()) == pytest.approx(PRESENTER_SHARE, abs=1e-4)


def nice_of(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def group_nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/autogroup").read_text().split("nice")[1])


@pytest.mark.parametrize("zygote", [False, True], ids=["spawned", "forked"])
async def test_the_presenter_reads_its_own_share_and_runs_before_participants(
        serve, client_key, presenter_key, presenter_keys, zygote):  # noqa: F811
    server = await serve(presenter_keys=presenter_keys, zygote=zygote)
    if zygote:
        await ready_zygote(server)
    lead = await session_of(server, {"client_keys": [presenter_key]}, "teacher")
    ada = await session_of(server, {"client_keys": [client_key]}, "ada")
    (_, lead_chan, lead_screen, lead_env), (_, ada_chan, ada_screen, ada_env) = lead, ada
    shares = server._state.shares
    assert lead_env[SHARE_FILE_ENV] == str(shares.presenter_path) and ada_env[SHARE_FILE_ENV] == str(shares.path)
    # participants' apps draw background frames in turns (frame slots); the room watches the presenter's
    assert ada_env[SLOTS_ENV] == str(shares.slots) and SLOTS_ENV not in lead_env
    each, first = shares_for(1, 1, shares.cores)
    lead_chan.write(b"s")
    await lead_screen.wait_for(rf"SHARE {first:.4f}".encode())
    ada_chan.write(b"s")
    await ada_screen.wait_for(rf"SHARE {each:.4f}".encode())
    by_role = {s.role: s.pid for s in server.sessions}
    assert nice_of(by_role["participant"]) == nice_of(by_role["presenter"]) + PRESENTER_NICE
    assert nice_of(by_role["participant"]) - os.getpriority(os.PRIO_PROCESS, 0) == server._state.settings.limits.nice
    if Path("/proc/self/autogroup").exists():  # scheduled by session: the session's group has the app's nice
        for pid in by_role.values():
            assert group_nice(pid) == nice_of(pid), Path(f"/proc/{pid}/autogroup").read_text()
    for conn, *_ in (lead, ada):
        conn.close()


