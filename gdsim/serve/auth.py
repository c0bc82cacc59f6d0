"""Who may connect: the workshop password (salted scrypt hash), authorized keys, and the host key.

The password file holds one line, `scrypt$N$r$p$<salt>$<hash>` (base64), never the password
itself. The host key is generated on first start and kept, so participants see the same
fingerprint at every workshop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path

import asyncssh

from gdsim.errors import UserError

# scrypt cost: about 16 MiB and a few tens of milliseconds per check, which makes guessing slow
# while a room of participants logging in at once stays quick.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 8
HOST_KEY_NAME = "ssh_host_ed25519_key"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return the one-line salted scrypt hash stored in a password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches a hash made by hash_password (constant-time comparison)."""
    n, r, p, salt, digest = _parse_hash(encoded)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2**26)


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$r$p$salt$hash")
    n, r, p = (int(x) for x in parts[1:4])
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("scrypt parameters out of range")
    return n, r, p, base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)


def check_new_password(password: str) -> None:
    """Refuse passwords too short to survive a room full of guesses."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the workshop password must have at least {MIN_PASSWORD_LENGTH} characters")


def write_password_file(path: Path, password: str) -> None:
    """Store the salted hash of `password` in `path`, readable by the owner only."""
    check_new_password(password)
    line = hash_password(password) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(line)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise UserError(f"cannot write the password file {path}: {exc.strerror}") from None


def load_password_file(path: Path) -> str:
    """Read and check a password file; the result is handed to verify_password."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        raise UserError(
            f"password file {path} does not exist; create it with `gdsim serve hash-password {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not an ASCII text file"
        raise UserError(f"cannot read the password file {path}: {reason}") from None
    try:
        _parse_hash(text)
    except ValueError as exc:
        raise UserError(
            f"password file {path} does not hold a gdsim password hash ({exc}); "
            f"create it with `gdsim serve hash-password {path}`"
        ) from None
    return text.strip()


# authorized_keys options gdsim accepts: `from=` is checked at every login; the others only narrow
# what gdsim never allows anyway (forwarding of any kind, ~/.ssh/rc). Everything else OpenSSH
# knows would change what the key may do in a way gdsim cannot honour, and is refused at start
# (REFUSED_OPTIONS says why) rather than silently ignored.
HARMLESS_OPTIONS = {"from", "restrict", "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding",
                    "no-user-rc", "permitopen", "permitlisten"}
REFUSED_OPTIONS = {
    "cert-authority": "gdsim takes participants' own public keys, not a certificate authority",
    "principals": "gdsim takes participants' own public keys, not certificates",
    "command": "gdsim runs only gdsim, never another command",
    "no-pty": "gdsim runs only on a terminal, so this key could never start a session",
    "environment": "gdsim sets its sessions' environment itself",
    "expiry-time": "gdsim does not check key expiry; remove the key when it should stop working",
}


def load_authorized_keys(path: Path) -> asyncssh.SSHAuthorizedKeys:
    """Read an OpenSSH authorized_keys file (one public key per participant or one shared key).

    Every line must be a public key gdsim can use, optionally with the options in
    HARMLESS_OPTIONS; anything else is refused with its line number (asyncssh would skip an
    unreadable line silently, and options gdsim does not honour would be silently ignored)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the authorized keys file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"authorized keys file {path} is not a UTF-8 text file") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            problem = _authorized_key_problem(line)
            if problem:
                raise UserError(f"authorized keys file {path}, line {number}: {problem}")
    try:
        return asyncssh.import_authorized_keys(text)
    except (ValueError, asyncssh.KeyImportError) as exc:  # e.g. no key at all
        raise UserError(
            f"authorized keys file {path} is not in OpenSSH authorized_keys format: {exc}; expected one "
            "public key per line, as in ~/.ssh/id_ed25519.pub"
        ) from None


def _authorized_key_problem(line: str) -> str | None:
    """What is wrong with one authorized_keys line for gdsim (None: nothing)."""
    options, key_text = _split_options(line)
    try:
        asyncssh.import_public_key(key_text)
    except (ValueError, asyncssh.KeyImportError):
        shown = line[:40] + ("..." if len(line) > 40 else "")
        return f"expected a public key such as 'ssh-ed25519 AAAA... name', got {shown!r}"
    for option in options:
        name = option.split("=", 1)[0].strip().lower()
        if name in REFUSED_OPTIONS:
            return f"the option {name!r} is not supported: {REFUSED_OPTIONS[name]}"
        if name not in HARMLESS_OPTIONS:
            return (f"the option {name!r} is not supported (gdsim accepts only: "
                    f"{', '.join(sorted(HARMLESS_OPTIONS))})")
    if options:
        try:
            asyncssh.import_authorized_keys(line)
        except (ValueError, asyncssh.KeyImportError) as exc:
            return f"its options cannot be read: {exc}"
    return None


def _split_options(line: str) -> tuple[list[str], str]:
    """(options, the rest) of an authorized_keys line; a line starting with a key type has none.
    Options are comma-separated up to the first blank outside double quotes."""
    first = line.split(None, 1)[0]
    if first.startswith(("ssh-", "ecdsa-", "sk-")):
        return [], line
    options, current, quoted = [], "", False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        if not quoted and char in " \t":
            options.append(current)
            return [o for o in options if o], line[index:].strip()
        if not quoted and char == ",":
            options.append(current)
            current = ""
        else:
            current += char
    return [], line  # no blank: no key after options; the key check says so


def default_host_key_path() -> Path:
    """Where the host key is kept between workshops ($XDG_STATE_HOME/gdsim/...)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "gdsim" / HOST_KEY_NAME


def load_or_create_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """Return (key, created): the kept host key, or a new Ed25519 key written with mode 0600."""
    path = Path(path)
    if path.exists():
        try:
            return asyncssh.read_private_key(str(path)), False
        except (OSError, ValueError, asyncssh.KeyImportError) as exc:
            raise UserError(f"cannot read the SSH host key {path}: {exc}") from None
    key = asyncssh.generate_private_key("ssh-ed25519", comment="gdsim workshop host key")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.export_private_key())
        key.write_public_key(str(path) + ".pub")
    except OSError as exc:
        raise UserError(f"cannot create the SSH host key {path}: {exc.strerror}") from None
    return key, True


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The SHA256 fingerprint participants compare with what their ssh client shows."""
    return key.get_fingerprint("sha256")


def is_loopback(host: str) -> bool:
    """True only for addresses no other machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
