"""Workshop password hashes, password files, authorized keys, the kept host key, loopback detection."""

from __future__ import annotations

import stat

import asyncssh
import pytest

from gdsim.errors import UserError
from gdsim.serve import auth


def test_hash_verifies_only_the_right_password_and_is_salted():
    encoded = auth.hash_password("gradient-descent")
    assert auth.verify_password("gradient-descent", encoded)
    assert not auth.verify_password("gradient-descend", encoded)
    assert "gradient-descent" not in encoded
    assert encoded.startswith("scrypt$16384$8$1$")
    assert auth.hash_password("gradient-descent") != encoded  # a fresh salt each time


def test_password_file_holds_only_the_hash_and_is_private(tmp_path):
    path = tmp_path / "pw"
    auth.write_password_file(path, "learning-rate-0.1")
    text = path.read_text()
    assert "learning-rate" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.verify_password("learning-rate-0.1", auth.load_password_file(path))


def test_short_password_is_refused(tmp_path):
    with pytest.raises(UserError, match="at least 8 characters"):
        auth.write_password_file(tmp_path / "pw", "sgd")
    assert not (tmp_path / "pw").exists()


def test_bad_password_files_name_the_file(tmp_path):
    missing = tmp_path / "missing.pw"
    with pytest.raises(UserError, match=f"{missing} does not exist.*hash-password"):
        auth.load_password_file(missing)
    plain = tmp_path / "plain.pw"
    plain.write_text("hunter2hunter2\n")  # someone wrote the password itself
    with pytest.raises(UserError, match=f"{plain} does not hold a gdsim password hash"):
        auth.load_password_file(plain)


def test_bad_authorized_keys_file_is_a_user_error(tmp_path):
    bad = tmp_path / "authorized_keys"
    bad.write_text("this is not a key\n")
    with pytest.raises(UserError, match=f"authorized keys file {bad}"):
        auth.load_authorized_keys(bad)
    with pytest.raises(UserError, match="cannot read"):
        auth.load_authorized_keys(tmp_path / "missing")


def test_host_key_is_created_once_then_kept(tmp_path):
    path = tmp_path / "state" / "host_key"
    key, created = auth.load_or_create_host_key(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = auth.load_or_create_host_key(path)
    assert not created_again
    assert auth.fingerprint(again) == auth.fingerprint(key)
    assert auth.fingerprint(key).startswith("SHA256:")
    assert asyncssh.read_public_key(str(path) + ".pub").get_fingerprint() == auth.fingerprint(key)


def test_unreadable_host_key_is_a_user_error(tmp_path):
    path = tmp_path / "host_key"
    path.write_text("garbage")
    with pytest.raises(UserError, match=f"cannot read the SSH host key {path}"):
        auth.load_or_create_host_key(path)


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.0.5", False), ("example.org", False), ("", False)],
)
def test_is_loopback(host, loopback):
    assert auth.is_loopback(host) is loopback


@pytest.mark.parametrize("line,problem", [
    ('cert-authority {key}', "'cert-authority' is not supported: gdsim takes participants' own public keys"),
    ('command="/bin/sh" {key}', "'command' is not supported: gdsim runs only gdsim"),
    ('no-pty {key}', "'no-pty' is not supported"),
    ('expiry-time="20300101" {key}', "'expiry-time' is not supported"),
    ('tunnel="1" {key}', "'tunnel' is not supported (gdsim accepts only: from, no-agent-forwarding"),
    ("ssh-ed25519 AAAAnot-base64-at-all me@laptop", "expected a public key such as 'ssh-ed25519 AAAA... name'"),
    ("this is not a key", "expected a public key"),
])
def test_authorized_keys_lines_gdsim_cannot_honour_are_refused_with_their_line(tmp_path, line, problem):
    # Before: asyncssh skipped unreadable lines silently, and options such as command= or
    # cert-authority were accepted but never honoured once keys were checked by the server itself.
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    path = tmp_path / "authorized_keys"
    path.write_text(f"# participants\n{key}\n\n{line.format(key=key)}\n")
    with pytest.raises(UserError) as caught:
        auth.load_authorized_keys(path)
    assert str(caught.value).startswith(f"authorized keys file {path}, line 4: ")
    assert problem in str(caught.value)


def test_authorized_keys_with_from_and_restrictions_gdsim_keeps_anyway_load(tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key().decode().strip()
    path = tmp_path / "authorized_keys"
    path.write_text(f'from="127.0.0.2,10.0.0.0/8",restrict,no-port-forwarding,permitopen="a:1" {public}\n')
    keys = auth.load_authorized_keys(path)
    offered = asyncssh.import_public_key(public)  # what a client offers at login
    assert keys.validate(offered, "127.0.0.2", "127.0.0.2") is not None
    assert keys.validate(offered, "127.0.0.1", "127.0.0.1") is None  # from= is checked
