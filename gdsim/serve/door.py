"""The SSH server's door: how many may wait at it, and how fast one address may guess passwords.

Probes found that 20 TCP connections which never say a word filled the connection limit and
locked the room out, and that 15 parallel clients made 90 password guesses in 6.5 s (the limit was
per connection). So, before anyone has logged in:
- connections still logging in are limited per source address and in total, below the overall
  connection limit (the rest is a reserve only logged-in connections use);
- when either limit is reached, the oldest connection that has not even sent its SSH version line
  (a real client sends it at once) makes room for the newcomer; only if there is none is the
  newcomer refused, after the server's version line, with an SSH disconnect message;
- password checks from one address are made one at a time, across all its connections, and after
  a few failures each further check waits twice as long as the one before (up to a cap). Failures
  are forgotten after a quiet while.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol


class Waiting(Protocol):
    """What the door needs of a connection still logging in (asyncssh's SSHServerConnection)."""

    def get_extra_info(self, name: str, default: object = None) -> object: ...


@dataclass(frozen=True)
class DoorLimits:
    max_connections: int = 90  # everything: logged in or not
    max_pending: int = 60  # not logged in yet; max_connections - max_pending is the reserve
    max_pending_per_address: int = 8
    free_failures: int = 3  # wrong passwords per address before the backoff starts
    backoff_base: float = 1.0  # seconds before the check after the first backed-off failure
    backoff_max: float = 30.0
    forget_after: float = 600.0  # an address's failures are forgotten after this long without one
    max_queued_checks: int = 16  # password checks waiting per address; more are refused unchecked


def silent(conn: Waiting) -> bool:
    """True while the client has not sent its SSH version line."""
    return conn.get_extra_info("client_version") is None


class Door:
    """Counts connections by address and state; decides who waits, who is dropped, who is refused."""

    def __init__(self, limits: DoorLimits) -> None:
        self.limits = limits
        self.pending: OrderedDict[Waiting, str] = OrderedDict()  # oldest first
        self.logged_in = 0
        self.password_checks = 0  # how many passwords were checked at all (the tests count guesses)
        self.refused_for = ""  # the last refusal's limit: "address" (per address) or "server" (in all)
        self._guesses: dict[str, _Guesses] = {}

    # -- connections --------------------------------------------------------------------------
    def arrive(self, conn: Waiting, address: str) -> tuple[bool, list[Waiting]]:
        """A new connection: (admitted, connections to drop to make room for it)."""
        limits = self.limits
        drop: list[Waiting] = []

        def waiting(where: str | None = None) -> int:
            return sum(1 for c, a in self.pending.items() if c not in drop and where in (None, a))

        if waiting(address) >= limits.max_pending_per_address and not self._evict(address, drop):
            self.refused_for = "address"
            return False, []
        if waiting() >= limits.max_pending and not self._evict(None, drop):
            self.refused_for = "server"
            return False, []
        if self.logged_in + waiting() >= limits.max_connections and not self._evict(None, drop):
            self.refused_for = "server"
            return False, []
        for dropped in drop:
            del self.pending[dropped]
        self.pending[conn] = address
        return True, drop

    def _evict(self, address: str | None, drop: list[Waiting]) -> bool:
        """Pick the oldest silent waiting connection (of `address`, if given) to drop."""
        for conn, where in self.pending.items():
            if conn not in drop and (address is None or where == address) and silent(conn):
                drop.append(conn)
                return True
        return False

    def refusal(self) -> str:
        """What a refused client is told (its ssh shows it): which limit it met."""
        if self.refused_for == "address":
            return "too many connections are logging in from your address; try again shortly"
        return "the server is full: too many connections are logging in or logged in; try again shortly"

    def logged_in_now(self, conn: Waiting) -> None:
        if self.pending.pop(conn, None) is not None:
            self.logged_in += 1

    def leave(self, conn: Waiting, was_logged_in: bool) -> None:
        if self.pending.pop(conn, None) is None and was_logged_in:
            self.logged_in -= 1

    # -- password guessing --------------------------------------------------------------------
    async def check_password(self, address: str, check) -> bool:
        """Run `check()` (a blocking password check, run off the loop) in this address's turn.

        Returns its result, or False without checking when too many checks already wait."""
        self._forget_old()
        guesses = self._guesses.setdefault(address, _Guesses())
        if guesses.queued >= self.limits.max_queued_checks:
            return False
        guesses.queued += 1
        try:
            async with guesses.lock:
                delay = guesses.next_check - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.password_checks += 1
                ok = await asyncio.get_running_loop().run_in_executor(None, check)
                if not ok:
                    guesses.failed(self.limits)
                return ok
        finally:
            guesses.queued -= 1

    def backoff(self, address: str) -> float:
        """Seconds until this address's next password is checked (0: at once)."""
        guesses = self._guesses.get(address)
        return max(0.0, guesses.next_check - time.monotonic()) if guesses else 0.0

    def _forget_old(self) -> None:
        now = time.monotonic()
        for address in [a for a, g in self._guesses.items()
                        if not g.queued and now - g.last_failure > self.limits.forget_after]:
            del self._guesses[address]


class _Guesses:
    """One address's wrong passwords and when its next check may run."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.failures = 0
        self.next_check = 0.0
        self.last_failure = 0.0
        self.queued = 0

    def failed(self, limits: DoorLimits) -> None:
        now = time.monotonic()
        if now - self.last_failure > limits.forget_after:
            self.failures = 0
        self.failures += 1
        self.last_failure = now
        over = self.failures - limits.free_failures
        if over >= 0:
            self.next_check = now + min(limits.backoff_max, limits.backoff_base * 2.0**over)
