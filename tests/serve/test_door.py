"""The hardened door: silent connections, seats per connection and per login, password guessing.

Each test reproduces a probe that crowded out or locked out the room before the door existed.
"""

from __future__ import annotations

import asyncio
import time

import asyncssh
import pytest

from gdsim.serve.door import Door, DoorLimits
from tests.serve.conftest import PASSWORD, connect, keys_file, new_key, open_screen
from tests.serve.test_ssh import READY

OTHER_ADDRESS = ("127.0.0.2", 0)  # another loopback address: another participant's machine


async def silent_connections(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    return [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]


async def test_twenty_silent_connections_do_not_lock_the_room_out(serve, client_key):
    server = await serve(max_sessions=2)  # room for 2 * 2 + 10 = 14 connections in all
    streams = await silent_connections(server.port, 20)
    try:
        for reader, _ in streams:  # every one of them got the version line, even those refused or dropped
            assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"SSH-2.0-gdsim")
        for local_addr in (None, OTHER_ADDRESS):  # from the flooding address too
            async with connect(server, client_keys=[client_key], local_addr=local_addr) as conn:
                _, screen = await open_screen(conn)
                await screen.wait_for(READY, timeout=10)
        assert len(server._state.door.pending) <= 10  # the per-address limit held
    finally:
        for _, writer in streams:
            writer.close()


async def test_talking_connections_over_the_limit_are_refused_after_the_version_line(serve, client_key):
    server = await serve(max_pending_per_address=3)
    streams = await silent_connections(server.port, 3)
    for reader, writer in streams:  # they speak, then stall in the key exchange: not silent
        await reader.readline()
        writer.write(b"SSH-2.0-stalling\r\n")
    await asyncio.sleep(0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        data = await asyncio.wait_for(reader.read(), 5)  # all of it, until the server hangs up
        assert data.startswith(b"SSH-2.0-gdsim\r\n")
        assert b"too many connections are logging in from your address" in data  # the disconnect reason
        # A refused client that could log in before the disconnect arrives (a right key, on loopback) may not.
        with pytest.raises((asyncssh.PermissionDenied, asyncssh.DisconnectError, ConnectionError)):
            async with connect(server, client_keys=[client_key]):
                pass
        assert not server.sessions
        # another address is not affected, and neither is a participant once the stalled ones go
        async with connect(server, client_keys=[client_key], local_addr=OTHER_ADDRESS) as conn:
            _, screen = await open_screen(conn)
            await screen.wait_for(READY)
    finally:
        writer.close()
        for _, stalled in streams:
            stalled.close()


async def test_a_password_login_over_its_seats_is_told_its_address_counts(serve, password_file):
    server = await serve(max_sessions=5, sessions_per_client=1, authorized_keys=None, password_file=password_file)
    async with connect(server, password=PASSWORD, client_keys=None) as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(READY)
        async with connect(server, password=PASSWORD, client_keys=None) as again:
            process = await again.create_process(term_type="xterm", encoding=None)
            stderr = await asyncio.wait_for(process.stderr.read(), 5)
            await process.wait_closed()
    assert b"Your address (127.0.0.1) already holds 1 gdsim session" in stderr


def test_the_refusal_names_the_limit_that_was_met():
    class Talking:
        def get_extra_info(self, name, default=None):
            return "SSH-2.0-x"

    door = Door(DoorLimits(max_connections=10, max_pending=3, max_pending_per_address=2))
    assert door.arrive(Talking(), "a")[0] and door.arrive(Talking(), "a")[0]
    assert door.arrive(Talking(), "a") == (False, [])
    assert "from your address" in door.refusal()
    assert door.arrive(Talking(), "b")[0]
    assert door.arrive(Talking(), "c") == (False, [])  # c's first connection: the server's limit, not c's
    assert "from your address" not in door.refusal() and "the server is full" in door.refusal()


def test_the_door_drops_the_oldest_silent_connection_and_keeps_a_reserve():
    class Conn:
        def __init__(self, spoke: bool) -> None:
            self.spoke = spoke

        def get_extra_info(self, name, default=None):
            return "SSH-2.0-x" if self.spoke else None

    door = Door(DoorLimits(max_connections=6, max_pending=4, max_pending_per_address=3))
    talking, silent_a, silent_b = Conn(True), Conn(False), Conn(False)
    assert door.arrive(talking, "a") == (True, [])
    assert door.arrive(silent_a, "a") == (True, [])
    assert door.arrive(silent_b, "a") == (True, [])
    assert door.arrive(Conn(True), "a")[1] == [silent_a]  # the oldest silent one makes room
    assert door.arrive(Conn(True), "a")[1] == [silent_b]
    assert door.arrive(Conn(True), "a") == (False, [])  # three talking: refused
    assert door.arrive(Conn(True), "b") == (True, [])  # the 4th pending, from elsewhere
    assert door.arrive(Conn(True), "c") == (False, [])  # pending limit: the rest is the reserve
    door.logged_in_now(talking)
    assert door.logged_in == 1 and len(door.pending) == 3
    door.leave(talking, was_logged_in=True)
    assert door.logged_in == 0


async def test_one_connection_holds_one_session_a_second_connection_another(serve, client_key):
    # An OpenSSH master connection (ControlMaster) multiplexes every later `ssh` over itself.
    server = await serve(max_sessions=3)
    async with connect(server, client_keys=[client_key]) as conn:
        _, first = await open_screen(conn)
        await first.wait_for(READY)
        process = await conn.create_process(term_type="xterm", encoding=None)
        stderr = await asyncio.wait_for(process.stderr.read(), 5)
        await process.wait_closed()
        assert b"One SSH connection may hold 1 gdsim session" in stderr
        assert len(server.sessions) == 1
        async with connect(server, client_keys=[client_key]) as second:
            _, screen = await open_screen(second)
            await screen.wait_for(READY)
        assert not first.closed.is_set()


async def test_sessions_per_client_counts_the_key_across_connections(serve, client_key, authorized_keys):
    other_key = new_key()
    keys_file(authorized_keys, client_key, other_key)
    server = await serve(max_sessions=5, sessions_per_client=1)
    async with connect(server, client_keys=[client_key]) as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(READY)
        async with connect(server, client_keys=[client_key]) as again:
            process = await again.create_process(term_type="xterm", encoding=None)
            stderr = await asyncio.wait_for(process.stderr.read(), 5)
            await process.wait_closed()
        assert b"Your key already holds 1 gdsim session" in stderr  # a key login is counted by its key
        async with connect(server, client_keys=[other_key]) as someone_else:  # another participant
            _, theirs = await open_screen(someone_else)
            await theirs.wait_for(READY)


async def test_parallel_password_guessers_share_one_slow_queue(serve, password_file):
    """15 clients guessing at once from one address: a few free checks, then a doubling wait."""
    server = await serve(authorized_keys=None, password_file=password_file, backoff_base=0.5)
    attempts: list[float] = []

    class Guesser(asyncssh.SSHClient):
        def password_auth_requested(self):
            attempts.append(time.monotonic())
            return f"guess-{len(attempts)}"

    async def guess() -> None:
        try:
            async with connect(server, client_factory=Guesser, client_keys=None, preferred_auth="password"):
                pass
        except (asyncssh.Error, OSError):
            pass

    guessers = [asyncio.create_task(guess()) for _ in range(15)]
    await asyncio.sleep(3.0)
    checked = server._state.door.password_checks
    # 3 free, then waits of 0.5, 1 and 2 s: at most 6 checks in 3 s (before: 15 x 6 = 90 in seconds)
    assert 3 <= checked <= 6, (checked, len(attempts))
    # Someone else, with the right password, is not held up by this address's queue.
    started = time.monotonic()
    async with connect(server, password=PASSWORD, client_keys=None, local_addr=OTHER_ADDRESS) as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(READY)
    assert time.monotonic() - started < 3.0
    for task in guessers:
        task.cancel()
    await asyncio.gather(*guessers, return_exceptions=True)


async def test_backoff_is_per_address_and_forgotten_after_a_quiet_while():
    door = Door(DoorLimits(free_failures=1, backoff_base=10.0, forget_after=0.2))
    assert not await door.check_password("a", lambda: False)
    assert door.backoff("a") == pytest.approx(10.0, abs=0.5)
    assert door.backoff("b") == 0.0
    await asyncio.sleep(0.3)
    door._forget_old()
    assert door.backoff("a") == 0.0
