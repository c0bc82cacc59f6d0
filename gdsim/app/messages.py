"""App-wide messages (widget-specific ones are nested in their widgets)."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


class OpenScenario(Message):
    """Open the scenario file at `path` (listed id `id`) on a new scenario screen."""

    def __init__(self, path: Path, id: str) -> None:
        super().__init__()
        self.path = path
        self.id = id
