"""`gdsim serve ...` argument handling: every mistake is a one-line UserError naming the option."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from gdsim.errors import UserError
from gdsim.serve import auth, command


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gdsim")
    command.register(top.add_subparsers(dest="command"))
    return top


@pytest.mark.parametrize(
    "text, seconds",
    [("15m", 900), ("90s", 90), ("90", 90), ("1h30m", 5400), ("1.5h", 5400), ("off", None), ("0", None)],
)
def test_parse_duration(text, seconds):
    assert command.parse_duration(text, "--idle-timeout") == seconds


@pytest.mark.parametrize("text", ["", "15 minutes", "m", "-5m", "1d"])
def test_bad_duration_names_the_option(text):
    with pytest.raises(UserError, match="--idle-timeout expects a duration"):
        command.parse_duration(text, "--idle-timeout")


def test_parse_size():
    assert command.parse_size("1GiB", "--memory-limit") == 2**30
    assert command.parse_size("768M", "--memory-limit") == 768 * 2**20
    assert command.parse_size("unlimited", "--memory-limit") is None
    with pytest.raises(UserError, match="too small"):
        command.parse_size("10MiB", "--memory-limit")
    with pytest.raises(UserError, match="--memory-limit expects a size"):
        command.parse_size("lots", "--memory-limit")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["serve", "ssh", "--port", "99999"], "--port expects a port number"),
        (["serve", "ssh", "--port", "ssh"], "--port expects a port number"),
        (["serve", "ssh", "--max-sessions", "0"], "--max-sessions expects a whole number"),
        (["serve", "ssh", "--password-file", "/nonexistent/pw"], "--password-file /nonexistent/pw: no such file"),
        (["serve", "ssh", "--authorized-keys", "/nonexistent/ak"], "--authorized-keys /nonexistent/ak: no such"),
        (["serve", "ssh", "--scenario-dir", "/nonexistent/dir"], "--scenario-dir /nonexistent/dir: no such"),
        (["serve", "ssh", "--host", "0.0.0.0", "--port", "2299"], "without authentication"),
        (["serve", "ssh", "--scenario", "/etc/passwd"], "not a path"),
        (["serve", "web", "--port", "0"], "--port expects a port number"),
        (["serve", "ssh", "--sessions-per-connection", "0"], "--sessions-per-connection expects a whole"),
        (["serve", "ssh", "--sessions-per-client", "many"], "--sessions-per-client expects a whole"),
        (["serve", "ssh", "--max-pending-per-address", "-1"], "--max-pending-per-address expects a whole"),
        (["serve", "ssh", "--presenter-keys", "/nonexistent/pk"], "--presenter-keys /nonexistent/pk: no such file"),
        (["serve", "ssh", "--presenter-password-file", "/nonexistent/pw"],
         "--presenter-password-file /nonexistent/pw: no such file"),
        (["serve", "ssh", "--room-log", "/tmp"], "--room-log needs --presenter-keys or --presenter-password-file"),
        (["serve", "ssh", "--presenter-keys", __file__, "--room-log", "/nonexistent/dir"],
         "--room-log /nonexistent/dir: no such directory"),
    ],
)
def test_bad_options_are_user_errors(argv, message):
    args = parser().parse_args(argv)
    with pytest.raises(UserError, match=message):
        args.func(args)


def test_key_and_password_options_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["serve", "ssh", "--authorized-keys", "a", "--password-file", "b"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_hash_password_from_stdin_writes_a_hash(tmp_path, monkeypatch, capsys):
    path = tmp_path / "workshop.pw"
    monkeypatch.setattr(sys, "stdin", io.StringIO("steepest-descent\n"))
    args = parser().parse_args(["serve", "hash-password", str(path)])
    assert args.func(args) == 0
    assert "steepest" not in path.read_text()
    assert auth.verify_password("steepest-descent", auth.load_password_file(path))
    assert f"--password-file {path}" in capsys.readouterr().out


def test_door_options_reach_the_server_config(monkeypatch):
    seen = []
    monkeypatch.setattr("gdsim.serve.ssh.run_ssh_server", lambda config: seen.append(config) or 0)
    for argv in (["--sessions-per-connection", "2", "--sessions-per-client", "3", "--max-pending-per-address", "4"],
                 []):
        args = parser().parse_args(["serve", "ssh", *argv])
        args.func(args)
    door = [(c.sessions_per_connection, c.sessions_per_client, c.max_pending_per_address) for c in seen]
    assert door == [(2, 3, 4), (1, None, 10)]  # the defaults: one per connection, no per-client cap
