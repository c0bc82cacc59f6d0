"""Counts in words for messages and command-line output: "1 run", "2 runs", never "1 runs"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """'1 scenario', '3 scenarios', '1,000 runs' (`many` for irregular plurals)."""
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"
