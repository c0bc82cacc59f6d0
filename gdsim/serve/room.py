"""The classroom broker: presenters and participants' apps meet here (the contract: /work/notes/ROOM.md).

One asyncio Unix socket, `<run_dir>/room.sock` (mode 0600, in the server's private run directory),
JSON lines both ways. The server creates each member (name, role) before its app starts and gives
the app a single-use token; the app's first line is a `hello` with it. Who a connection is comes
from that token only, never from anything the app says. A presenter's room commands (bring, state,
polls) reach the participants; a participant can only send its own status and answers. Nothing
here ever waits for a reader: each connection has an Outbox (room_protocol.py).

Usable without an SSH server (the app's tests do): `room = Room(run_dir)`, `await room.start()`,
`token = room.add_member("ada", "participant")`, `room.remove_member(token)`, `await room.stop()`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from gdsim.serve import room_log
from gdsim.serve.room_protocol import (
    HELLO_LIMIT, LINE_LIMIT, NAME_LENGTH, PARTICIPANT, PRESENTER, ROLES,
    Outbox, ProtocolError, clean_name, decode, encode, parse, parse_hello,
)

log = logging.getLogger("gdsim.serve")

SOCKET_NAME = "room.sock"
HELLO_TIMEOUT = 10.0  # seconds a new connection has to say hello
ROSTER_INTERVAL = 0.25  # at most 4 rosters a second
BYE_FLUSH = 1.0  # seconds to let a bye reach its reader before the connection is closed


def _fresh_status() -> dict:
    return {"scenario": None, "title": "", "step": 0, "following": False, "tab": ""}


@dataclass(eq=False)
class Member:
    """Someone in the room, as the server made them (name and role are never the app's say)."""

    name: str
    role: str
    token: str
    session: object = None  # the server's session (GdsimSession), None in tests
    status: dict = field(default_factory=_fresh_status)
    spent: bool = False  # its token has been used
    nicknamed: bool = False
    writer: asyncio.StreamWriter | None = None
    outbox: Outbox | None = None

    @property
    def connected(self) -> bool:
        return self.outbox is not None


class Room:
    """The broker of one server."""

    def __init__(self, run_dir: Path, *, log_dir: Path | None = None) -> None:
        self.socket_path = Path(run_dir) / SOCKET_NAME
        self.log = room_log.RoomLog(log_dir) if log_dir is not None else None
        self._members: dict[str, Member] = {}  # by token
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()  # connection handlers and closings, awaited by stop()
        self._scene: dict | None = None  # the presenters' latest scene (state or bring)
        self._poll: dict | None = None  # the latest poll, open or not
        self._poll_ids = itertools.count(1)
        self._roster_handle: asyncio.TimerHandle | None = None
        self._roster_last = float("-inf")

    # -- the server's side ----------------------------------------------------------------------
    async def start(self) -> None:
        if self.log is not None:
            self.log.open()
        self._server = await asyncio.start_unix_server(
            self._serve, str(self.socket_path), limit=LINE_LIMIT[PRESENTER] + 2)
        os.chmod(self.socket_path, 0o600)

    @property
    def members(self) -> list[Member]:
        return list(self._members.values())

    def add_member(self, name: str, role: str, session: object = None) -> str:
        """Admit someone (before their app starts); returns the token their app says hello with."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        token = secrets.token_urlsafe(24)
        self._members[token] = Member(self._unique(clean_name(name)), role, token, session)
        return token

    def remove_member(self, token: str) -> None:
        """The session ended: its connection is closed (after a bye), it leaves roster and tally."""
        member = self._members.pop(token, None)
        if member is None:
            return
        if member.connected:
            self._part(member, "you were removed from the room")
        self._changed(tally=member.role == PARTICIPANT)

    async def stop(self) -> None:
        """Bye to everyone, every connection closed, the socket removed."""
        if self._roster_handle is not None:
            self._roster_handle.cancel()
        connected = [m for m in self._members.values() if m.connected]
        for member in connected:
            member.outbox.put("bye", encode({"type": "bye", "reason": "the workshop server is stopping"}))
        await asyncio.gather(*(m.outbox.flush(BYE_FLUSH) for m in connected))
        for member in connected:
            self._disconnect(member)
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=BYE_FLUSH + 1.0)
        self.socket_path.unlink(missing_ok=True)
        if self.log is not None:
            self.log.close()

    # -- connections ----------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        self._tasks.add(task)
        member: Member | None = None
        try:
            line = await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT)
            token = parse_hello(decode(line, HELLO_LIMIT))
            member = self._members.get(token)
            if member is None or member.spent:
                log.warning("room: refused a hello with an unknown or used token")
                member = None
                writer.write(encode({"type": "bye", "reason": "the room does not know this session's token"}))
                return
            member.spent = True
            self._connect(member, writer)
            limit = LINE_LIMIT[member.role]
            while line := await reader.readline():
                if member.writer is not writer:
                    break  # dropped meanwhile
                self._handle(member, parse(member.role, decode(line, limit)))
        except ProtocolError as exc:
            self._drop(member, writer, str(exc))
        except ValueError:  # the StreamReader's own limit: a line longer than any role may send
            self._drop(member, writer, "a line longer than any message")
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        except Exception:  # a bug in the broker: this connection goes, the room carries on
            log.exception("room: failed on a message from %s", member.name if member else "a new connection")
            self._drop(member, writer, "the room failed on its message")
        finally:
            if member is not None and member.writer is writer:
                self._disconnect(member)
            writer.close()
            self._writers.discard(writer)
            self._tasks.discard(task)

    def _connect(self, member: Member, writer: asyncio.StreamWriter) -> None:
        member.writer = writer
        member.outbox = Outbox(writer, lambda: self._drop(member, writer, "it fell too far behind", tell=False))
        poll = self._poll if self._poll is not None and self._poll["open"] else None
        member.outbox.put("welcome", encode({
            "type": "welcome", "name": member.name, "role": member.role,
            "poll": self._poll_message(poll, member.role) if poll else None, "scene": self._scene,
        }))
        if member.role == PRESENTER and self._poll is not None:
            member.outbox.put("tally", encode(self._tally()))
        log.info("room: %s joined as %s", member.name, member.role)
        self._changed(tally=member.role == PARTICIPANT)

    def _drop(self, member: Member | None, writer: asyncio.StreamWriter, why: str, *, tell: bool = True) -> None:
        """A connection that broke the rules or fell behind: logged and closed (its member stays)."""
        who = member.name if member is not None else "a connection before its hello"
        log.warning("room: dropped %s: %s", who, why)
        if tell and not writer.is_closing():
            writer.write(encode({"type": "bye", "reason": f"the room dropped this session: {why}"}))
        if member is not None and member.writer is writer:
            self._disconnect(member, abort=not tell)
        elif not tell:
            writer.transport.abort()
        else:
            writer.close()

    def _part(self, member: Member, reason: str) -> None:
        """Say bye to `member` and close its connection once the bye is out (or soon anyway)."""
        outbox, writer = member.outbox, member.writer
        member.outbox = member.writer = None
        outbox.put("bye", encode({"type": "bye", "reason": reason}))

        async def close() -> None:
            await outbox.flush(BYE_FLUSH)
            outbox.close()
            writer.close()

        task = asyncio.get_running_loop().create_task(close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _disconnect(self, member: Member, *, abort: bool = False) -> None:
        outbox, writer = member.outbox, member.writer
        member.outbox = member.writer = None
        if outbox is not None:
            outbox.close()
        if writer is not None:
            writer.transport.abort() if abort else writer.close()
        if member.token in self._members:
            self._changed(tally=member.role == PARTICIPANT)

    # -- messages -------------------------------------------------------------------------------
    def _handle(self, member: Member, message: dict) -> None:
        kind = message.pop("type")
        if kind == "status":
            was_following = member.status["following"]
            member.status.update(message)
            if member.role == PARTICIPANT and member.status["following"] and not was_following and self._scene:
                member.outbox.put("follow", encode({"type": "follow", "scene": self._scene}))
            self._changed()
        elif kind == "nickname":
            if not member.nicknamed:
                member.nicknamed = True
                member.name = self._unique(message["name"], exclude=member)
                self._changed()
        elif kind == "answer":
            poll = self._poll
            if (poll is not None and poll["open"] and message["poll"] == poll["poll"]
                    and 0 <= message["choice"] <= len(poll["choices"])):
                poll["answers"][member.token] = message["choice"]
                self._changed(tally=True)
        elif kind in ("bring", "state"):
            self._scene = message["scene"]
            if kind == "bring":
                self._send(encode({"type": "open", "scene": self._scene}), "open", self._participants())
            else:
                followers = [m for m in self._participants() if m.status["following"]]
                self._send(encode({"type": "follow", "scene": self._scene}), "follow", followers)
        elif kind == "poll_open":
            self._close_poll(announce=True)
            self._poll = {"poll": next(self._poll_ids), **message, "open": True, "revealed": False,
                          "answers": {}, "final": None}
            for role in ROLES:
                line = encode(self._poll_message(self._poll, role))
                self._send(line, "poll", [m for m in self._connected() if m.role == role])
            self._changed(tally=True)
        elif kind == "poll_close":
            self._close_poll(announce=True)
        elif kind == "reveal":
            self._reveal(message["text"])

    def _close_poll(self, *, announce: bool) -> None:
        poll = self._poll
        if poll is None or not poll["open"]:
            return
        poll["final"] = self._tally()
        poll["by"] = {self._members[t].name: c for t, c in poll["answers"].items() if t in self._members}
        poll["open"] = False
        if announce:
            self._send(encode({"type": "closed", "poll": poll["poll"]}), "closed", self._connected())
        self._changed(tally=True)

    def _reveal(self, text: str) -> None:
        poll = self._poll
        if poll is None or poll["revealed"]:
            return
        self._close_poll(announce=False)
        poll["revealed"] = True
        final = poll["final"]
        self._send(encode({
            "type": "revealed", "poll": poll["poll"], "answer": poll["answer"], "text": text,
            "counts": final["counts"], "answered": final["answered"], "of": final["of"],
        }), "revealed", self._connected())
        if self.log is not None:
            self.log.append(room_log.record(poll, poll["by"], answered=final["answered"], of=final["of"],
                                            counts=final["counts"]))

    # -- what goes out ----------------------------------------------------------------------------
    def _connected(self) -> list[Member]:
        return [m for m in self._members.values() if m.connected]

    def _participants(self) -> list[Member]:
        return [m for m in self._connected() if m.role == PARTICIPANT]

    def _presenters(self) -> list[Member]:
        return [m for m in self._connected() if m.role == PRESENTER]

    @staticmethod
    def _send(line: bytes, kind: str, members: list[Member]) -> None:
        for member in members:
            member.outbox.put(kind, line)

    @staticmethod
    def _poll_message(poll: dict, role: str) -> dict:
        message = {"type": "poll", "poll": poll["poll"], "question": poll["question"],
                   "choices": poll["choices"], "scenario": poll["scenario"]}
        if role == PRESENTER:
            message["answer"] = poll["answer"]  # presenters only: participants learn it at the reveal
        return message

    def _tally(self) -> dict:
        """The latest poll's tally: live while it is open (participants connected now), else as it closed."""
        poll = self._poll
        assert poll is not None
        if not poll["open"] and poll["final"] is not None:
            return poll["final"]
        present = {m.token for m in self._participants()}
        choices = [c for t, c in poll["answers"].items() if t in present]
        counts = [choices.count(n) for n in range(1, len(poll["choices"]) + 1)]
        return {"type": "tally", "poll": poll["poll"], "answered": len(choices), "of": len(present),
                "counts": counts, "skipped": choices.count(0)}

    def _changed(self, *, tally: bool = False) -> None:
        """Someone came, went or moved: a roster soon (at most 4 a second); the tally now."""
        if tally and self._poll is not None:
            self._send(encode(self._tally()), "tally", self._presenters())
        if self._roster_handle is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._roster_last + ROSTER_INTERVAL - loop.time())
            self._roster_handle = loop.call_later(delay, self._send_roster)

    def roster(self) -> list[dict]:
        """Who is connected, and what each shows (sorted by name)."""
        poll = self._poll
        open_answers = poll["answers"] if poll is not None and poll["open"] else {}
        return [{"name": m.name, "role": m.role, **m.status, "answered": m.token in open_answers}
                for m in sorted(self._connected(), key=lambda m: m.name)]

    def _send_roster(self) -> None:
        self._roster_handle = None
        self._roster_last = asyncio.get_running_loop().time()
        self._send(encode({"type": "roster", "members": self.roster()}), "roster", self._presenters())

    def _unique(self, name: str, exclude: Member | None = None) -> str:
        taken = {m.name for m in self._members.values() if m is not exclude}
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            suffix = f"-{n}"
            candidate = name[:NAME_LENGTH - len(suffix)] + suffix
        return candidate
