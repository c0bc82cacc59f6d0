"""Apps forked by the zygote behave as spawned ones did; a killed zygote means spawning, then a new zygote."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from gdsim.errors import MEMORY_EXIT
from gdsim.serve.pty_process import ResourceLimits
from gdsim.serve.zygote_client import forkable
from tests.serve.conftest import STANDIN, alive, connect, open_screen, wait_gone
from tests.serve.test_ssh import READY


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


async def environ_of(chan, out) -> dict[str, str]:
    """The program's environment as it sees it (a forked one's /proc/PID/environ shows the zygote's)."""
    chan.write(b"e")
    text = (await out.wait_for(rb"ENV (.*?) END")).group(1).decode()
    return dict(item.split("=", 1) for item in text.split(" ")) if text else {}


async def ready_zygote(server):
    zygote = server._state.settings.zygote
    assert await asyncio.wait_for(asyncio.shield(zygote._ready), 60), "the zygote did not start"
    return zygote


async def session_once(server, client_key, **screen) -> tuple[int, dict[str, str], object]:
    """Connect, check what the stand-in reports, and return (pid, its environment, the session)."""
    async with connect(server, client_keys=[client_key]) as conn:
        chan, out = await open_screen(conn, term_size=(80, 24), env={"SECRET": "x", "NO_COLOR": "1"}, **screen)
        ready = await out.wait_for(READY, timeout=20)
        pid = int(ready.group(1))
        assert ready.group(2, 3, 4, 5, 6) == (b"80", b"24", b"xterm-256color", b"1", b"1")
        assert f"as={1024**3} cpu=600 fsize=0 agent=None pgid={pid} sid={pid}".encode() in out.output
        env = await environ_of(chan, out)
        env.pop("GDSIM_CPU_SHARE_FILE")  # in each server's own run directory
        assert env.pop("GDSIM_FRAME_SLOTS").endswith("/frame-slots")  # beside it (a participant's)
        assert env.pop("GDSIM_ERROR_FD").isdigit()  # the session's error pipe, at whatever number it has
        (session,) = server.sessions
        chan.change_terminal_size(100, 30)
        await out.wait_for(rb"RESIZED 100x30")
        chan.write(b"x")  # the stand-in exits with status 3
        await asyncio.wait_for(out.closed.wait(), 10)
        assert chan.get_exit_status() == 3
    assert await wait_gone(pid)
    return pid, env, session


async def test_a_forked_session_is_what_a_spawned_one_was(serve, client_key):
    spawned_server = await serve(zygote=False)
    _, spawned_env, spawned = await session_once(spawned_server, client_key)
    server = await serve(zygote=True)
    zygote = await ready_zygote(server)
    async with connect(server, client_keys=[client_key]) as conn:
        _, out = await open_screen(conn)
        pid = int((await out.wait_for(READY, timeout=20)).group(1))
        assert parent_of(pid) == zygote.pid  # forked, not spawned
    _, forked_env, forked = await session_once(server, client_key)
    assert forked.forked and not spawned.forked
    assert forked_env == spawned_env  # the same trimmed environment, nothing of the zygote's own
    assert "SECRET" not in forked_env


async def test_a_dropped_client_leaves_no_forked_process_behind(serve, client_key):
    server = await serve(zygote=True, command=STANDIN + ["--grandchild"])
    await ready_zygote(server)
    conn = await connect(server, client_keys=[client_key])
    _, screen = await open_screen(conn)
    grandchild = int((await screen.wait_for(rb"GRANDCHILD pid=(\d+)", timeout=20)).group(1))
    pid = int((await screen.wait_for(READY)).group(1))
    assert alive(pid) and alive(grandchild)
    conn.abort()
    assert await wait_gone(pid)
    assert await wait_gone(grandchild)


async def test_a_killed_zygote_means_spawning_until_it_is_back(serve, client_key):
    server = await serve(zygote=True)
    zygote = await ready_zygote(server)
    first = zygote.pid
    # The new zygote's imports are held until the test lets them go: on a quiet machine they were
    # done before the session below asked (it forked, and the test failed once in a full suite).
    imported, start = asyncio.Event(), zygote._start

    async def held_start() -> bool:
        await imported.wait()
        return await start()

    zygote._start = held_start
    os.kill(first, signal.SIGKILL)
    for _ in range(100):  # it is noticed, and a new one started, without any session asking
        if zygote.restarts:
            break
        await asyncio.sleep(0.05)
    assert zygote.restarts == 1 and not zygote._ready.done()
    _, _, session = await session_once(server, client_key)  # served at once, by spawning
    assert not session.forked
    imported.set()
    await ready_zygote(server)
    assert zygote.pid != first
    _, _, session = await session_once(server, client_key)
    assert session.forked  # the new zygote serves again


async def test_the_real_app_forked_shows_the_list(serve, client_key):
    server = await serve(zygote=True, command=None, idle_timeout=None)
    zygote = await ready_zygote(server)
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(100, 30))
        await screen.wait_for(rb"Pick a scenario", timeout=30, plain=True)
        (session,) = server.sessions
        assert session.forked and parent_of(session.pid) == zygote.pid
        chan.write(b"\x11")  # ctrl+q
        await asyncio.wait_for(screen.closed.wait(), 10)
        assert chan.get_exit_status() == 0
    await server.close()
    assert await wait_gone(zygote.pid)  # the zygote ends with the server


async def test_the_real_app_over_its_memory_limit_ends_with_one_line(serve, client_key):
    # Tried with OpenSSH at --memory-limit 150MiB: a traceback of Textual's key thread, then of
    # pygments running out of memory while Textual rendered the first one. (A forked app starts with
    # the zygote's ~140 MiB of address space; a spawned one still shows the list at 80 MiB.)
    server = await serve(zygote=True, command=None, idle_timeout=None,
                         limits=ResourceLimits(memory_bytes=150 * 2**20, cpu_seconds=60, file_size_bytes=0))
    await ready_zygote(server)
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(100, 30))
        await asyncio.wait_for(screen.closed.wait(), 60)
    assert b"Traceback" not in screen.text()
    assert screen.text().strip().endswith(b"gdsim session closed: this session ran out of its memory limit.")
    assert chan.get_exit_status() == MEMORY_EXIT


def test_only_this_python_with_a_module_or_script_is_forked():
    assert forkable([sys.executable, "-m", "gdsim"])
    assert forkable([sys.executable, "/x/standin.py", "--grandchild"])
    assert not forkable([sys.executable, "-c", "pass"])
    assert not forkable(["/usr/bin/python3-other", "-m", "gdsim"]) or sys.executable == "/usr/bin/python3-other"
    assert not forkable(["/nonexistent/gdsim-app"])
