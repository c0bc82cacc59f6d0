"""A minimal Textual app for the serve tests: shows its size, and the key last pressed, as text.

It stands in for the gdsim app until that exists, so that Textual itself (its Linux driver, its
resize handling, its start-up under the memory limit) is exercised behind the SSH server.
"""

from textual.app import App, ComposeResult
from textual.events import Key, Resize
from textual.widgets import Static


class SizeApp(App):
    def compose(self) -> ComposeResult:
        yield Static("Pick a scenario", id="title")
        yield Static("", id="size")
        yield Static("", id="key")

    def on_resize(self, event: Resize) -> None:
        self.query_one("#size", Static).update(f"size {event.size.width}x{event.size.height}")

    def on_key(self, event: Key) -> None:
        self.query_one("#key", Static).update(f"pressed {event.key}")
        if event.key == "q":
            self.exit()


if __name__ == "__main__":
    SizeApp().run()
