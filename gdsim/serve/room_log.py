"""The optional room log (`gdsim serve ssh --room-log DIR`): each revealed poll as one JSON line.

The file `DIR/gdsim-room-<start time>.jsonl` is created exclusively when the room starts (an
existing file is never overwritten: a second server started in the same second gets "-2"), and
every new record rewrites the whole file to a temporary file in DIR that replaces it, so a crash
never leaves half a line (a log still empty when the room stops is removed). Files get the mode the
umask allows, like any file the user writes.
Nothing but names and answers is stored: no keys, no addresses.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from gdsim.errors import UserError

log = logging.getLogger("gdsim.serve")

PREFIX = "gdsim-room-"
RECORD_KEYS = ("time", "poll", "scenario", "question", "choices", "answer", "answered", "of", "counts", "by")


def check_directory(directory: Path, option: str = "--room-log") -> Path:
    """The directory the log goes to, or a UserError naming `option`."""
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise UserError(f"{option} {directory}: no such directory (the room log goes into a directory you name)")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{option} {directory}: cannot write there")
    return path


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class RoomLog:
    """Appends poll results; `path` is the file (created by `open()`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path: Path | None = None
        self._lines: list[str] = []

    def open(self, started: dt.datetime | None = None) -> Path:
        """Create the (empty) log file; never one that exists. A UserError if it cannot be created."""
        stamp = (started or utc_now()).strftime("%Y%m%dT%H%M%SZ")
        for n in range(1, 100):
            path = self.directory / f"{PREFIX}{stamp}{'' if n == 1 else f'-{n}'}.jsonl"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError as exc:
                raise UserError(f"--room-log {self.directory}: cannot create {path.name} ({exc.strerror})") from None
            os.close(fd)
            self.path = path
            return path
        raise UserError(f"--room-log {self.directory}: too many room logs named {PREFIX}{stamp}*")

    def append(self, record: dict) -> bool:
        """Add one record (the keys of RECORD_KEYS); False if the file could not be written (logged)."""
        if self.path is None:
            return False
        line = json.dumps({key: record[key] for key in RECORD_KEYS}, ensure_ascii=False)
        self._lines.append(line)
        try:
            self._rewrite()
        except OSError as exc:
            log.error("room log %s: cannot write it (%s); poll %s is not in it", self.path, exc.strerror,
                      record["poll"])
            self._lines.pop()
            return False
        return True

    def close(self) -> None:
        """At the end: a log no poll was revealed into is removed (it would only be an empty file)."""
        path, self.path = self.path, None
        if path is not None and not self._lines:
            try:
                if path.stat().st_size == 0:
                    path.unlink()
            except OSError:
                pass

    def _rewrite(self) -> None:
        assert self.path is not None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # mode from the umask
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in self._lines))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def record(poll: dict, names: dict[str, int], *, answered: int, of: int, counts: list[int]) -> dict:
    """The log record of a revealed poll (`names`: who chose what, 0 = skipped)."""
    return {
        "time": utc_now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "poll": poll["poll"], "scenario": poll["scenario"], "question": poll["question"],
        "choices": list(poll["choices"]), "answer": poll["answer"],
        "answered": answered, "of": of, "counts": list(counts), "by": dict(sorted(names.items())),
    }
