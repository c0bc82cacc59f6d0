"""`gdsim serve ...`: the argparse front of workshop mode (ssh, web, hash-password).

Option values are parsed here and every mistake becomes a UserError naming the option, which
gdsim.cli prints as one line with exit status 2. The servers themselves are imported only when
a sub-command runs, so `gdsim --help` never pays for asyncssh or aiohttp.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from gdsim.errors import UserError

DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
OFF = ("0", "off", "none", "never", "unlimited")


def parse_duration(text: str, option: str) -> float | None:
    """'15m', '90s', '1h30m', '900' (seconds); 'off'/'never'/'0' give None (no limit)."""
    text = text.strip().lower()
    if text in OFF:
        return None
    match = DURATION.fullmatch(text)
    if not text or not match or not any(match.groups()):
        raise UserError(f"{option} expects a duration such as 90s, 15m or 1h (or 'off'), got {text!r}")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_size(text: str, option: str) -> int | None:
    """'1GiB', '512M', '768MiB'; 'off'/'unlimited' give None (no limit)."""
    text = text.strip()
    if text.lower() in OFF:
        return None
    match = SIZE.fullmatch(text)
    if not match:
        raise UserError(f"{option} expects a size such as 512MiB or 1GiB (or 'off'), got {text!r}")
    factor = 1024 ** "_KMGT".index(match.group(2).upper() or "_") if match.group(2) else 1
    value = int(float(match.group(1)) * factor)
    if value < 64 * 2**20:
        raise UserError(f"{option} of {text} is too small for gdsim to start (at least 64MiB)")
    return value


def parse_port(text: str, option: str = "--port") -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UserError(f"{option} expects a port number between 1 and 65535, got {text!r}")
    return int(text)


def parse_count(text: str, option: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{option} expects a whole number of at least 1, got {text!r}")
    return int(text)


def readable_file(text: str, option: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise UserError(f"{option} {text}: no such file")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise UserError(f"{option} {text}: cannot read it ({exc.strerror})") from None
    return path


def _limits(args: argparse.Namespace):
    from gdsim.serve.pty_process import ResourceLimits

    cpu = parse_duration(args.cpu_limit, "--cpu-limit")
    return ResourceLimits(
        memory_bytes=parse_size(args.memory_limit, "--memory-limit"),
        cpu_seconds=int(cpu) if cpu else None,
    )


def _scenario_dir(args: argparse.Namespace) -> Path | None:
    if args.scenario_dir is None:
        return None
    path = Path(args.scenario_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"--scenario-dir {args.scenario_dir}: no such directory")
    return path


def run_ssh(args: argparse.Namespace) -> int:
    from gdsim.serve.ssh import SSHServerConfig, run_ssh_server

    login = parse_duration(args.login_timeout, "--login-timeout")
    config = SSHServerConfig(
        host=args.host,
        port=parse_port(args.port),
        host_key=Path(args.host_key).expanduser() if args.host_key else None,
        authorized_keys=readable_file(args.authorized_keys, "--authorized-keys") if args.authorized_keys else None,
        password_file=readable_file(args.password_file, "--password-file") if args.password_file else None,
        max_sessions=parse_count(args.max_sessions, "--max-sessions"),
        sessions_per_connection=parse_count(args.sessions_per_connection, "--sessions-per-connection"),
        sessions_per_client=(None if args.sessions_per_client.lower() in OFF
                             else parse_count(args.sessions_per_client, "--sessions-per-client")),
        max_pending_per_address=parse_count(args.max_pending_per_address, "--max-pending-per-address"),
        idle_timeout=parse_duration(args.idle_timeout, "--idle-timeout"),
        login_timeout=login if login else 60.0,
        scenario=args.scenario,
        scenario_dir=_scenario_dir(args),
        limits=_limits(args),
        presenter_keys=readable_file(args.presenter_keys, "--presenter-keys") if args.presenter_keys else None,
        presenter_password_file=(readable_file(args.presenter_password_file, "--presenter-password-file")
                                 if args.presenter_password_file else None),
        room_log=Path(args.room_log).expanduser() if args.room_log else None,
    )
    return run_ssh_server(config)


def run_web(args: argparse.Namespace) -> int:
    from gdsim.serve.web import WebServerConfig, run_web_server

    config = WebServerConfig(
        host=args.host,
        port=parse_port(args.port),
        scenario=args.scenario,
        scenario_dir=_scenario_dir(args),
        public_url=args.public_url,
        limits=_limits(args),
    )
    return run_web_server(config)


def run_hash_password(args: argparse.Namespace) -> int:
    """Ask for the workshop password (twice on a terminal) and store only its salted hash."""
    from gdsim.serve.auth import check_new_password, write_password_file

    if sys.stdin.isatty():
        password = getpass.getpass("Workshop password: ")
        check_new_password(password)
        if getpass.getpass("Again: ") != password:
            raise UserError("the two passwords differ; nothing was written")
    else:  # scripted use: the first line of stdin
        password = sys.stdin.readline().rstrip("\r\n")
    path = Path(args.file).expanduser()
    write_password_file(path, password)
    print(f"wrote the salted hash to {path}; start the server with "
          f"`gdsim serve ssh --host 0.0.0.0 --password-file {path}`")
    return 0


def _shared_options(parser: argparse.ArgumentParser, port: str) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for the whole network)")
    parser.add_argument("--port", default=port, help=f"port to listen on (default {port})")
    parser.add_argument("--scenario", metavar="ID", help="open this built-in scenario for everyone")
    parser.add_argument("--scenario-dir", metavar="DIR",
                        help="also offer the scenarios in DIR (participants can open nothing else)")
    parser.add_argument("--memory-limit", default="1GiB", metavar="SIZE",
                        help="address-space limit per session (default 1GiB)")
    parser.add_argument("--cpu-limit", default="1h", metavar="DURATION",
                        help="CPU time limit per session (default 1h)")


def register(subparsers) -> None:
    """Add `gdsim serve` with its sub-commands ssh, web and hash-password."""
    serve = subparsers.add_parser("serve", help="workshop mode: serve gdsim over SSH or the web",
                                  description="Serve a private gdsim to every participant of a workshop.")
    sub = serve.add_subparsers(dest="serve_command", metavar="{ssh,web,hash-password}", required=True)

    ssh = sub.add_parser("ssh", help="serve over SSH: participants type `ssh -p PORT host`",
                         description="Each SSH session gets its own gdsim on its own terminal.")
    _shared_options(ssh, "2222")
    auth = ssh.add_mutually_exclusive_group()
    auth.add_argument("--authorized-keys", metavar="FILE", help="OpenSSH authorized_keys file")
    auth.add_argument("--password-file", metavar="FILE",
                      help="workshop password hash made by `gdsim serve hash-password FILE`")
    ssh.add_argument("--presenter-keys", metavar="FILE",
                     help="OpenSSH authorized_keys file of the presenters: a login with one of these keys "
                     "leads the room (bring everyone here, follow mode, polls); accepted in every auth mode")
    ssh.add_argument("--presenter-password-file", metavar="FILE",
                     help="presenter password hash made by `gdsim serve hash-password FILE`: a login with "
                     "this password leads the room")
    ssh.add_argument("--room-log", metavar="DIR",
                     help="append each revealed poll (question, names and answers only) to "
                     "DIR/gdsim-room-<start time>.jsonl")
    ssh.add_argument("--max-sessions", default="40", metavar="N", help="participants at once (default 40)")
    ssh.add_argument("--sessions-per-connection", default="1", metavar="N",
                     help="gdsim sessions one SSH connection may hold (default 1; an OpenSSH "
                     "ControlMaster shares one connection between many `ssh` commands)")
    ssh.add_argument("--sessions-per-client", default="off", metavar="N",
                     help="gdsim sessions one key (key login) or one address (password) may hold "
                     "(default off: a shared key or a room behind one NAT address would be locked out)")
    ssh.add_argument("--max-pending-per-address", default="10", metavar="N",
                     help="connections still logging in from one address (default 10)")
    ssh.add_argument("--idle-timeout", default="15m", metavar="DURATION",
                     help="close a session after this long without a key press (default 15m)")
    ssh.add_argument("--login-timeout", default="60s", metavar="DURATION",
                     help="drop connections that have not logged in by then (default 60s)")
    ssh.add_argument("--host-key", metavar="FILE",
                     help="host key file, created on first start (default ~/.local/state/gdsim/...)")
    ssh.set_defaults(func=run_ssh)

    web = sub.add_parser("web", help="serve in the browser via textual-serve (NO authentication)",
                         description="Serve gdsim to web browsers. textual-serve has no authentication.")
    _shared_options(web, "8000")
    web.add_argument("--public-url", metavar="URL", help="the URL participants open, if behind a proxy")
    web.set_defaults(func=run_web)

    hp = sub.add_parser("hash-password", help="store the salted hash of a workshop password in FILE",
                        description="Prompts for the password; FILE gets a salted scrypt hash, never the password.")
    hp.add_argument("file", metavar="FILE")
    hp.set_defaults(func=run_hash_password)
