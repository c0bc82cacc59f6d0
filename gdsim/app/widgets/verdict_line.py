"""VerdictLine: the scenario's expects as they stand at the live step ("✓ ...", "✗ ...", "… decided at step k")."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.runtime.verdicts import FAIL, PASS, WAIT, Verdict

COMPONENTS = {PASS: "verdict-line--pass", FAIL: "verdict-line--fail"}  # colours from the theme (gdsim.tcss)


class VerdictLine(Static):
    """One line per expect, failures first (its height is capped in gdsim.tcss: the first lines
    are the ones that matter); hidden for a scenario without expects."""

    COMPONENT_CLASSES = set(COMPONENTS.values())

    _shown: tuple = ()

    def show(self, verdicts: list[Verdict], mono: bool = False) -> None:
        key = (tuple(verdicts), mono, self.app.theme)
        if key == self._shown:
            return  # unchanged: an update would re-lay out the screen
        same_height = len(self._shown[0]) == len(verdicts) if self._shown else False
        self._shown = key
        self.display = bool(verdicts)
        if not verdicts:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        counts = {mark: sum(v.count for v in verdicts if v.mark == mark) for mark in (PASS, FAIL, WAIT)}
        summary = "  ".join(f"{mark} {n}" for mark, n in counts.items() if n)
        for i, verdict in enumerate(verdicts):
            if i:
                text.append("\n")
            else:
                text.append(f" expects {summary} │ ", Style(bold=True))
            colour = None
            if not mono and verdict.mark in COMPONENTS:
                colour = self.get_component_rich_style(COMPONENTS[verdict.mark], partial=True).color
            text.append(f"{verdict.mark} ", Style(color=colour, bold=True, dim=verdict.mark == WAIT))
            text.append(verdict.text, Style(dim=verdict.mark == WAIT))
        self.update(text, layout=not same_height)  # a reading changed: repaint, no new layout
