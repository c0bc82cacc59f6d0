"""The server's private run directory (mode 0700 in the temp dir), and cleaning up after killed servers.

It holds what the server shares with its apps (the CPU share file; later the room's socket). A
server stopped normally removes it; one killed with SIGKILL cannot, so every start first removes
the run directories left behind, and only those that are surely stale: a directory (not a link)
named like ours, owned by this user, whose `owner` file names a process that no longer runs (the
pid AND its start time, so a reused pid does not keep it alive). A directory without that file
(another version of gdsim, or one being created this instant) is left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "gdsim-serve-"
OWNER = "owner"

log = logging.getLogger("gdsim.serve")


def process_start(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (None: no such process; "" when
    /proc cannot say, e.g. not Linux: then the pid alone decides)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None  # Linux: no /proc entry, no process
    except (OSError, IndexError):
        return ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def create(parent: str | None = None) -> Path:
    """Make a new run directory for this process (after removing stale ones)."""
    remove_stale(parent)
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))  # mode 0700
    pid = os.getpid()
    tmp = path / (OWNER + ".tmp")
    tmp.write_text(f"{pid} {process_start(pid) or '-'}\n", encoding="ascii")
    os.replace(tmp, path / OWNER)
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def is_stale(path: Path) -> bool:
    """True when `path` is one of our run directories and the server that made it is gone."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        fd = os.open(path / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, encoding="ascii") as handle:
            pid_text, start = handle.read(100).split()
        pid = int(pid_text)
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if pid <= 0:
        return False
    now = process_start(pid)
    if now is None:
        return True  # no such process
    return bool(now) and start != "-" and now != start  # the pid was reused by another process


def remove_stale(parent: str | None = None) -> list[Path]:
    """Remove the run directories of servers that were killed; returns what was removed."""
    removed = []
    try:
        candidates = list(Path(parent or tempfile.gettempdir()).glob(PREFIX + "*"))
    except OSError:
        return removed
    for path in candidates:
        if is_stale(path):
            shutil.rmtree(path, ignore_errors=True)  # on Linux, never follows a link inside it
            if not path.exists():
                log.info("removed %s, left behind by a server that was killed", path)
                removed.append(path)
    return removed
