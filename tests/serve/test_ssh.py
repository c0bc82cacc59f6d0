"""The SSH workshop server end to end, with an asyncssh client on loopback and the stand-in program."""

from __future__ import annotations

import asyncio
import signal
import socket
import struct
import sys
from pathlib import Path

import asyncssh
import pytest

from gdsim.errors import MEMORY_EXIT, UserError
from gdsim.serve.pty_process import ResourceLimits
from gdsim.serve.ssh import SSHServerConfig, start_ssh_server
from tests.serve.conftest import PASSWORD, STANDIN, alive, connect, open_screen, wait_gone

READY = rb"READY pid=(\d+) size=(\d+)x(\d+) term=(\S+) served=(\S+) no_color=(\S+) scenario_dir=(\S+)"


async def test_right_key_gets_the_program_with_terminal_and_served_env(serve, client_key, tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    server = await serve(scenario="momentum-overshoot", scenario_dir=scenarios)
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(80, 24), term_type="xterm-kitty")
        ready = await screen.wait_for(READY)
        assert ready.group(2, 3) == (b"80", b"24")
        assert ready.group(4) == b"xterm-kitty"
        assert ready.group(5) == b"1"  # GDSIM_SERVED
        assert ready.group(6) == b"None"  # the client sent no NO_COLOR
        assert ready.group(7) == str(scenarios.resolve()).encode()
        assert b"args=momentum-overshoot" in screen.output
        pid = int(ready.group(1))
        # its own session and process group, so the whole group can be killed at the end
        assert f"pgid={pid} sid={pid}".encode() in screen.output
        chan.write(b"a")
        await screen.wait_for(rb"KEY 61")
        chan.write(b"q")
        await asyncio.wait_for(screen.closed.wait(), 5)
        assert chan.get_exit_status() == 0
        assert await wait_gone(pid)


async def test_limits_applied_and_no_color_passed_only_when_sent(serve, client_key):
    server = await serve()
    async with connect(server, client_keys=[client_key]) as conn:
        _, screen = await open_screen(conn, env={"NO_COLOR": "1", "SECRET": "leak"})
        ready = await screen.wait_for(READY)
        assert ready.group(6) == b"1"
        assert f"as={1024**3} cpu=600 fsize=0 agent=None".encode() in screen.output


async def test_wrong_key_is_refused(serve):
    server = await serve()
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, client_keys=[stranger]):
            pass
    assert not server.sessions


async def test_password_right_and_wrong(serve, password_file):
    server = await serve(authorized_keys=None, password_file=password_file)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, password="not-the-password", client_keys=None):
            pass
    async with connect(server, password=PASSWORD, client_keys=None) as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(READY)


async def test_exec_sftp_and_forwarding_are_refused(serve, client_key):
    server = await serve()
    async with connect(server, client_keys=[client_key]) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("id")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.start_sftp_client()
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_session(asyncssh.SSHClientSession, subsystem="sftp")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", server.port)  # local (-L) forwarding
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)  # remote (-R)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_unix_connection("/tmp/.X11-unix/X0")
        with pytest.raises(asyncssh.ChannelOpenError, match="X11"):
            await conn.create_session(
                asyncssh.SSHClientSession, term_type="xterm", x11_forwarding=True, x11_display="localhost:10"
            )
    assert not server.sessions


async def test_agent_forwarding_does_not_reach_the_program(serve, client_key, tmp_path):
    # A minimal agent that lists no keys, so the client can ask for forwarding.
    async def agent(reader, writer):
        while header := await reader.read(4):
            await reader.readexactly(struct.unpack(">I", header)[0])
            writer.write(struct.pack(">IBI", 5, 12, 0))
        writer.close()

    sock = str(tmp_path / "agent.sock")
    agent_server = await asyncio.start_unix_server(agent, sock)
    async with agent_server:
        server = await serve()
        async with connect(server, client_keys=[client_key], agent_path=sock, agent_forwarding=True) as conn:
            _, screen = await open_screen(conn)
            await screen.wait_for(READY)
            assert b"agent=None" in screen.output


async def test_shell_without_pty_is_told_to_use_a_terminal(serve, client_key):
    server = await serve()
    async with connect(server, client_keys=[client_key]) as conn:
        process = await conn.create_process(encoding=None)  # a shell, no pty
        stderr = await asyncio.wait_for(process.stderr.read(), 5)
        await process.wait_closed()
    assert b"interactive terminal" in stderr
    assert process.exit_status == 1
    assert b"READY" not in (await process.stdout.read())


async def test_resize_reaches_the_program(serve, client_key):
    # The stand-in reads its size as Textual does (shutil: COLUMNS/LINES first, then the pty), so
    # this also fails if the server pins the size through COLUMNS/LINES.
    server = await serve()
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(80, 24))
        await screen.wait_for(READY)
        chan.change_terminal_size(120, 40)
        await screen.wait_for(rb"RESIZED 120x40")


async def test_idle_session_is_closed_with_a_message(serve, client_key):
    server = await serve(idle_timeout=1.0)
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn)
        pid = int((await screen.wait_for(READY)).group(1))
        chan.write(b"a")  # input restarts the clock
        await screen.wait_for(rb"KEY 61")
        await asyncio.wait_for(screen.closed.wait(), 5)
        assert b"no key was pressed for 1 s" in screen.output
        assert b"\x1b[?1049l" in screen.output  # the terminal is put back
        assert await wait_gone(pid)
    assert not server.sessions


async def test_dropped_client_leaves_no_process_behind(serve, client_key):
    server = await serve(command=STANDIN + ["--grandchild"])
    conn = await connect(server, client_keys=[client_key])
    _, screen = await open_screen(conn)
    grandchild = int((await screen.wait_for(rb"GRANDCHILD pid=(\d+)")).group(1))
    pid = int((await screen.wait_for(READY)).group(1))
    assert alive(pid) and alive(grandchild)
    conn.abort()  # the participant's laptop lid closes: no goodbye
    assert await wait_gone(pid), "the session's program outlived the connection"
    assert await wait_gone(grandchild), "a process started by the program outlived the connection"
    for _ in range(50):
        if not server.sessions:
            break
        await asyncio.sleep(0.05)
    assert not server.sessions


async def test_one_over_the_cap_is_refused_politely(serve, client_key):
    server = await serve(max_sessions=2, sessions_per_connection=3)
    async with connect(server, client_keys=[client_key]) as conn:
        screens = [await open_screen(conn) for _ in range(2)]
        for _, screen in screens:
            await screen.wait_for(READY)
        process = await conn.create_process(term_type="xterm", encoding=None)
        stderr = await asyncio.wait_for(process.stderr.read(), 5)
        await process.wait_closed()
        assert b"the workshop is full (2 participants" in stderr
        assert process.exit_status == 1
        # once someone leaves, the seat is free again
        screens[0][0].write(b"q")
        await asyncio.wait_for(screens[0][1].closed.wait(), 5)
        _, again = await open_screen(conn)
        await again.wait_for(READY)


async def test_login_timeout_drops_a_silent_connection(serve):
    server = await serve(login_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    banner = await asyncio.wait_for(reader.readline(), 5)
    assert banner.startswith(b"SSH-2.0-gdsim")
    rest = await asyncio.wait_for(reader.read(), 5)  # b"" once the server hangs up
    assert reader.at_eof(), rest
    writer.close()


async def test_program_that_fails_to_start_ends_the_session(serve, client_key):
    server = await serve(command=["/nonexistent/gdsim-app"])
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn)
        await asyncio.wait_for(screen.closed.wait(), 5)
        assert b"cannot start /nonexistent/gdsim-app" in screen.output
        assert chan.get_exit_status() == 127


async def test_server_close_ends_every_session(tmp_path, authorized_keys, client_key):
    server = await start_ssh_server(
        SSHServerConfig(port=0, host_key=tmp_path / "hk", authorized_keys=authorized_keys, command=STANDIN)
    )
    conn = await connect(server, client_keys=[client_key])
    _, screen = await open_screen(conn)
    pid = int((await screen.wait_for(READY)).group(1))
    await server.close()
    assert await wait_gone(pid)
    await asyncio.wait_for(screen.closed.wait(), 5)
    assert b"the workshop server is stopping" in screen.output
    conn.close()


def test_no_auth_refused_off_loopback_allowed_on_it(tmp_path):
    with pytest.raises(UserError, match="without authentication"):
        SSHServerConfig(host="0.0.0.0").validate()
    with pytest.raises(UserError, match="without authentication"):
        SSHServerConfig(host="192.168.1.10").validate()
    SSHServerConfig(host="127.0.0.1").validate()
    SSHServerConfig(host="::1").validate()
    with pytest.raises(UserError, match="not a path"):
        SSHServerConfig(scenario="../../etc/passwd").validate()
    with pytest.raises(UserError, match="--scenario no-such-lesson: no such scenario"):
        SSHServerConfig(scenario="no-such-lesson").validate()
    (tmp_path / "my-lesson.toml").write_text("")
    SSHServerConfig(scenario="my-lesson", scenario_dir=tmp_path).validate()
    SSHServerConfig(scenario="momentum-overshoot").validate()  # a built-in
    with pytest.raises(UserError, match="--scenario-dir"):
        SSHServerConfig(scenario_dir=tmp_path / "missing").validate()


async def test_no_auth_on_loopback_lets_anyone_in(serve):
    server = await serve(authorized_keys=None)
    async with connect(server, client_keys=None) as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(READY)


async def test_port_in_use_is_a_user_error(serve, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UserError, match="cannot listen"):
            await serve(port=busy.getsockname()[1])


async def test_cpu_limit_ends_a_runaway_session_with_a_message(serve, client_key):
    server = await serve(
        command=[sys.executable, "-c", "while True: pass"],
        limits=ResourceLimits(memory_bytes=None, cpu_seconds=1, file_size_bytes=0),
    )
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn)
        await asyncio.wait_for(screen.closed.wait(), 10)
        assert b"CPU time limit" in screen.output
        assert chan.get_exit_status() == 128 + signal.SIGXCPU


async def test_memory_limit_ends_the_session_with_one_line_and_no_traceback(serve, client_key):
    # gdsim's own guard, as `python -m gdsim` runs it, asking for more than its memory limit.
    grab = "import sys; from gdsim.cli import _guard; sys.exit(_guard(lambda: bytearray(3 * 1024**3)))"
    server = await serve(
        command=[sys.executable, "-c", grab],
        limits=ResourceLimits(memory_bytes=512 * 2**20, cpu_seconds=60, file_size_bytes=0),
    )
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn)
        await asyncio.wait_for(screen.closed.wait(), 20)
    assert screen.text().strip() == b"gdsim session closed: this session ran out of its memory limit."
    assert chan.get_exit_status() == MEMORY_EXIT


async def test_password_guessing_is_cut_off(serve, password_file):
    server = await serve(authorized_keys=None, password_file=password_file, max_auth_failures=3)
    attempts = []

    class Guesser(asyncssh.SSHClient):
        def password_auth_requested(self):
            attempts.append(1)
            return f"guess-{len(attempts)}" if len(attempts) < 10 else None

    with pytest.raises((asyncssh.PermissionDenied, asyncssh.DisconnectError)):
        async with connect(server, client_factory=Guesser, client_keys=None, preferred_auth="password"):
            pass
    assert len(attempts) == 3


async def test_a_textual_app_starts_follows_resizes_and_quits(serve, client_key):
    # Textual's own driver behind the server, under the default 1 GiB memory limit.
    app = [sys.executable, str(Path(__file__).with_name("textual_standin.py"))]
    server = await serve(command=app, limits=ResourceLimits())
    async with connect(server, client_keys=[client_key]) as conn:
        chan, screen = await open_screen(conn, term_size=(80, 24))
        await screen.wait_for(rb"size 80x24", timeout=20, plain=True)
        assert b"Pick a scenario" in screen.text()
        chan.change_terminal_size(120, 40)
        await screen.wait_for(rb"size 120x40", timeout=10, plain=True)
        chan.write(b"k")
        await screen.wait_for(rb"pressed k", timeout=10, plain=True)
        chan.write(b"q")
        await asyncio.wait_for(screen.closed.wait(), 10)
        assert chan.get_exit_status() == 0
    assert b"\x1b[?1049l" in screen.output  # Textual left the alternate screen itself


async def test_cpu_share_follows_the_number_of_sessions(serve, client_key):
    """Each app is told its share of the machine, re-published as sessions start and end."""
    from gdsim.serve.cpu_share import share_for, usable_cores

    server = await serve(max_sessions=4, sessions_per_connection=2)
    cores = usable_cores()
    async with connect(server, client_keys=[client_key]) as conn:
        first, first_screen = await open_screen(conn)
        await first_screen.wait_for(READY)
        first.write(b"s")
        await first_screen.wait_for(rf"SHARE {share_for(1, cores):.4f}".encode())
        second, second_screen = await open_screen(conn)
        await second_screen.wait_for(READY)
        first.write(b"s")
        await first_screen.wait_for(rf"SHARE {share_for(2, cores):.4f}".encode())
        second.write(b"q")
        await asyncio.wait_for(second_screen.closed.wait(), 5)
        first.write(b"s")
        await first_screen.wait_for(rf"SHARE {share_for(1, cores):.4f}\r\n(?![\s\S]*SHARE {share_for(2, cores):.4f})".encode())
    path = server._state.shares.path
    assert path.exists()
    await server.close()
    assert not path.parent.exists()  # the server removes its share directory when it stops
