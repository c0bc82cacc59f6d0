"""KeyFooter: Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer rebuilds all its keys after every bindings signal (focus moving, the screen
stack changing, the app gaining focus), which fires four or five times while a screen opens, and
each new key is restyled twice on mount: a FooterKey's `compact` starts True and is then bound to
the footer's False, and every class change restyles the widget. Measured with
benchmarks/bench_app.py, that was the largest single cost of the scenario screen's first frame.
KeyFooter shows the same keys in the same style; it rebuilds at most once per refresh, only if
what it would show differs, and starts each key at the footer's own `compact`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A Footer that skips rebuilds which would show exactly the same keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None  # what the last compose showed; None: nothing yet
        self._rebuild_queued = False

    def compose(self) -> ComposeResult:
        self._shown = self._showing() if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                # Bound to our `compact` anyway: starting there saves two restyles per key. (The
                # palette key is not bound: it keeps FooterKey's own default, compact.)
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_queued:
            self._rebuild_queued = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_queued = False
        if self.is_attached and self._showing() != self._shown:
            await self.recompose()

    def _showing(self) -> tuple:
        """Everything Footer.compose reads, as plain values: the shown keys (with their state)
        and the command palette key."""
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip,
             binding.tooltip, repr(binding.group), binding.show, name == app.COMMAND_PALETTE_BINDING)
            for name, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or name == app.COMMAND_PALETTE_BINDING
        )
        return keys, self.show_command_palette, app.ENABLE_COMMAND_PALETTE, self.combine_groups
