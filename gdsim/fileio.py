"""Writing files safely: atomically (temp file + rename), never over an existing file unasked, and
with the permissions any program's new file gets (0666 less the umask; a replaced file keeps its own).

Every file gdsim writes goes through here: `gdsim run -o`, `gdsim new`, `gdsim schema -o`, and the
app's ctrl+s, ctrl+e and ctrl+g. tempfile.mkstemp makes its file 0600 whatever the umask, so the
mode is set on the temp file before it is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

from gdsim.errors import UserError


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Raise UserError now (before any work) if `path` cannot or may not be written."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory; give a file name")
    if path.exists() and not overwrite:
        raise UserError(f"{path}: already exists; choose another name or pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{path}: the folder {parent} is not writable")


@contextlib.contextmanager
def atomic_text_writer(path: Path, *, overwrite: bool = False) -> Iterator[IO[str]]:
    """Write to a temp file beside `path`, then rename it into place; nothing is left on failure."""
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.fchmod(fd, new_file_mode(path if overwrite else None))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # fails if the file appeared meanwhile: never clobber
            except FileExistsError:
                raise UserError(f"{path}: already exists; nothing was written") from None
            except OSError:
                if path.exists():
                    raise UserError(f"{path}: already exists; nothing was written") from None
                os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux 4.7+)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and put back at once (gdsim writes from one thread)
    os.umask(mask)
    return mask


def new_file_mode(replacing: Path | None = None) -> int:
    """0666 less the umask, as open() gives a new file; a file being replaced keeps its mode."""
    if replacing is not None:
        with contextlib.suppress(OSError):
            return stat.S_IMODE(os.stat(replacing).st_mode)
    return 0o666 & ~current_umask()


def write_text_atomic(path: Path, text: str, *, overwrite: bool = False) -> None:
    with atomic_text_writer(path, overwrite=overwrite) as handle:
        handle.write(text)
