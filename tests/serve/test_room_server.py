"""The classroom in the SSH server: who is a presenter (from the login only), names, the apps' room
variables (spawned and forked), members leaving with their sessions, bye at shutdown, the banner."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncssh
import pytest

from gdsim.app.runtime.room_link import ROOM_ENV, TOKEN_ENV, RoomLink
from gdsim.errors import UserError
from gdsim.serve.ssh import describe
from tests.serve.conftest import PASSWORD, connect, keys_file, new_key, open_screen, password_file_at
from tests.serve.test_ssh import READY
from tests.serve.test_zygote import environ_of, ready_zygote

PRESENTER_PASSWORD = "lead-the-room-7"


@pytest.fixture
def presenter_key() -> asyncssh.SSHKey:
    return new_key()


@pytest.fixture
def presenter_keys(tmp_path: Path, presenter_key) -> Path:
    return keys_file(tmp_path / "presenter_keys", presenter_key)


@pytest.fixture
def presenter_password(tmp_path: Path) -> Path:
    return password_file_at(tmp_path / "presenter.pw", PRESENTER_PASSWORD)


async def session_of(server, conn_kwargs: dict, username: str):
    """Log in as `username`, wait for the app; returns (connection, channel, screen, the app's environment)."""
    conn = await connect(server, username=username, **conn_kwargs)
    chan, screen = await open_screen(conn)
    await screen.wait_for(READY, timeout=20)
    return conn, chan, screen, await environ_of(chan, screen)


def roles(server) -> dict[str, str]:
    return {m.name: m.role for m in server.room.members}


async def wait_members(server, count: int, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(server.room.members) != count:
        assert asyncio.get_running_loop().time() < deadline, roles(server)
        await asyncio.sleep(0.05)


async def test_a_presenter_key_logs_in_as_presenter_and_other_keys_as_participants(
        serve, client_key, presenter_key, presenter_keys):
    server = await serve(presenter_keys=presenter_keys)
    p_conn, _, _, p_env = await session_of(server, {"client_keys": [presenter_key]}, "teacher")
    # The client's own environment cannot set the room variables (a forged token, another socket).
    forged = {"env": {ROOM_ENV: "/tmp/elsewhere.sock", TOKEN_ENV: p_env[TOKEN_ENV]}}
    a_conn = await connect(server, username="Ada Lovelace", client_keys=[client_key])
    a_chan, a_screen = await open_screen(a_conn, **forged)
    await a_screen.wait_for(READY, timeout=20)
    a_env = await environ_of(a_chan, a_screen)
    assert roles(server) == {"teacher": "presenter", "AdaLovelace": "participant"}
    by_name = {m.name: m for m in server.room.members}
    # Each app got the room's socket and its own member's token, nothing else says who it is.
    assert p_env[ROOM_ENV] == a_env[ROOM_ENV] == str(server.room.socket_path)
    assert p_env[TOKEN_ENV] == by_name["teacher"].token and a_env[TOKEN_ENV] == by_name["AdaLovelace"].token
    assert {s.role for s in server.sessions} == {"presenter", "participant"}
    assert by_name["AdaLovelace"].session in server.sessions
    # The session ends: its member leaves the room.
    a_chan.write(b"q")
    await wait_members(server, 1)
    assert roles(server) == {"teacher": "presenter"}
    a_conn.close()
    p_conn.close()


async def test_the_app_joins_with_its_token_and_gets_bye_when_the_server_stops(serve, client_key, presenter_keys):
    server = await serve(presenter_keys=presenter_keys)
    conn, _, _, env = await session_of(server, {"client_keys": [client_key]}, "ada")
    link = RoomLink.from_environment(env)  # as the served app does, with what its environment holds
    welcome = await link.connect()
    assert (welcome["name"], welcome["role"]) == ("ada", "participant")
    got = [m async for m in _until_end(link, server)]
    assert got[-1] == {"type": "bye", "reason": "the workshop server is stopping"}
    assert not Path(env[ROOM_ENV]).exists()
    conn.close()


async def _until_end(link, server):
    closing = asyncio.ensure_future(server.close())
    async for message in link.messages():
        yield message
    await closing


async def test_same_user_names_are_numbered(serve, client_key, presenter_keys):
    server = await serve(presenter_keys=presenter_keys)
    first = await session_of(server, {"client_keys": [client_key]}, "ada")
    second = await session_of(server, {"client_keys": [client_key]}, "ada")
    assert sorted(roles(server)) == ["ada", "ada-2"]
    for conn, *_ in (first, second):
        conn.close()


async def test_with_a_password_only_presenter_keys_may_use_a_key(
        serve, client_key, presenter_key, presenter_keys, password_file):
    server = await serve(authorized_keys=None, password_file=password_file, presenter_keys=presenter_keys)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, client_keys=[client_key], password=None):
            pass
    presenter = await session_of(server, {"client_keys": [presenter_key]}, "teacher")
    participant = await session_of(server, {"client_keys": None, "password": PASSWORD}, "bob")
    assert roles(server) == {"teacher": "presenter", "bob": "participant"}
    for conn, *_ in (presenter, participant):
        conn.close()


async def test_the_presenter_password_logs_in_as_presenter(serve, client_key, password_file, presenter_password):
    server = await serve(authorized_keys=None, password_file=password_file,
                         presenter_password_file=presenter_password)
    presenter = await session_of(server, {"client_keys": None, "password": PRESENTER_PASSWORD}, "teacher")
    participant = await session_of(server, {"client_keys": None, "password": PASSWORD}, "bob")
    assert roles(server) == {"teacher": "presenter", "bob": "participant"}
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, client_keys=None, password="neither-of-them"):
            pass
    for conn, *_ in (presenter, participant):
        conn.close()


async def test_with_keys_the_presenter_password_is_the_only_password(
        serve, client_key, authorized_keys, presenter_password):
    server = await serve(presenter_password_file=presenter_password)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, client_keys=None, password=PASSWORD):
            pass
    presenter = await session_of(server, {"client_keys": None, "password": PRESENTER_PASSWORD}, "teacher")
    participant = await session_of(server, {"client_keys": [client_key]}, "ada")
    assert roles(server) == {"teacher": "presenter", "ada": "participant"}
    for conn, *_ in (presenter, participant):
        conn.close()


async def test_without_participant_auth_anyone_is_a_participant_and_the_presenter_key_a_presenter(
        serve, presenter_key, presenter_keys):
    server = await serve(authorized_keys=None, presenter_keys=presenter_keys)
    stranger = new_key()
    keyless = await session_of(server, {"client_keys": None, "client_factory": _KeyboardInteractive}, "nokey")
    with_key = await session_of(server, {"client_keys": [stranger]}, "somekey")
    presenter = await session_of(server, {"client_keys": [presenter_key]}, "teacher")
    assert roles(server) == {"nokey": "participant", "somekey": "participant", "teacher": "presenter"}
    for conn, *_ in (keyless, with_key, presenter):
        conn.close()


class _KeyboardInteractive(asyncssh.SSHClient):
    """A client with no key and no password that offers keyboard-interactive (as OpenSSH does)."""

    def kbdint_auth_requested(self) -> str:
        return ""


async def test_the_login_that_succeeds_decides_the_role_not_a_key_only_offered(
        serve, client_key, presenter_key, presenter_keys, password_file):
    """OpenSSH offers each key before signing with it, and the server says yes to a presenter key
    before its signature: if that signature never comes (the key's hardware is unplugged, the agent
    refuses) and another key or the password logs in, that login is a participant's."""
    from gdsim.serve.ssh import _Connection

    def public(key):
        return asyncssh.import_public_key(key.export_public_key())

    server = await serve(presenter_keys=presenter_keys)
    login = _Connection(server._state)
    login._address = "127.0.0.1"
    assert login.validate_public_key("ada", public(presenter_key)) and login._role == "presenter"
    assert login.validate_public_key("ada", public(client_key)) and login._role == "participant"
    assert not login.validate_public_key("ada", public(new_key()))
    assert login._role == "participant"

    server = await serve(authorized_keys=None, password_file=password_file, presenter_keys=presenter_keys)
    login = _Connection(server._state)
    login._address = "127.0.0.1"
    assert login.validate_public_key("bob", public(presenter_key)) and login._role == "presenter"
    assert await login.validate_password("bob", PASSWORD)
    assert login._role == "participant" and login._client == "127.0.0.1"


async def test_forked_apps_get_the_room_variables(serve, client_key, presenter_keys):
    server = await serve(zygote=True, presenter_keys=presenter_keys)
    await ready_zygote(server)
    conn, _, _, env = await session_of(server, {"client_keys": [client_key]}, "ada")
    (session,) = server.sessions
    assert session.forked
    (member,) = server.room.members
    assert env[ROOM_ENV] == str(server.room.socket_path) and env[TOKEN_ENV] == member.token
    conn.close()


async def test_no_presenter_no_room(serve, client_key):
    server = await serve()
    assert server.room is None
    conn, _, _, env = await session_of(server, {"client_keys": [client_key]}, "ada")
    assert ROOM_ENV not in env and TOKEN_ENV not in env
    assert "presenter: none" in describe(server, server._state.config)
    conn.close()


async def test_the_banner_names_presenters_and_the_room_log(serve, presenter_keys, presenter_password):
    log_dir = Path(tempfile.mkdtemp(prefix="gdsim-room-log-"))
    try:
        server = await serve(presenter_keys=presenter_keys, presenter_password_file=presenter_password,
                             room_log=log_dir)
        text = describe(server, server._state.config)
        assert f"ssh -p {server.port} YOURNAME@127.0.0.1" in text
        assert "limits: 40 sessions (presenters not counted)," in text
        assert f"presenters: a key in {presenter_keys}" in text
        assert f"the presenter password (hash in {presenter_password})" in text
        (log_file,) = log_dir.iterdir()
        assert log_file.name.startswith("gdsim-room-") and f"room log: revealed polls go to {log_file}" in text
        assert log_file.read_text() == ""
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


async def test_a_bad_presenter_keys_file_names_the_option(serve, tmp_path):
    bad = tmp_path / "presenters"
    bad.write_text("not a key\n")
    with pytest.raises(UserError, match="^--presenter-keys: authorized keys file .*line 1"):
        await serve(presenter_keys=bad)


async def test_a_full_room_still_lets_the_presenter_in(serve, client_key, presenter_key, presenter_keys):
    server = await serve(presenter_keys=presenter_keys, max_sessions=1)
    first = await session_of(server, {"client_keys": [client_key]}, "ada")
    async with connect(server, client_keys=[client_key], username="bob") as conn:
        _, screen = await open_screen(conn)
        await screen.wait_for(rb"the workshop is full", plain=True)
    presenter = await session_of(server, {"client_keys": [presenter_key]}, "teacher")
    assert roles(server) == {"ada": "participant", "teacher": "presenter"}
    for conn, *_ in (first, presenter):
        conn.close()
