"""DataPanel: the Data tab (key 5), the pictures of the data that fit the scenario's problem.

What each problem gets is decided in gdsim/app/runtime/data_views.py: the unit maps of a 2-input
network, the digits with what was read, a 1-input regression's fitted lines, and a confusion
matrix for every classifier. The panel only places them and hands each the Session.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from gdsim.app.widgets.confusion_matrix import ConfusionMatrix
from gdsim.app.widgets.digit_strip import DigitStrip
from gdsim.app.widgets.fit_view import FitView
from gdsim.app.widgets.unit_view import UnitView

VIEWS = {"units": UnitView, "digits": DigitStrip, "fit": FitView, "confusion": ConfusionMatrix}


class DataPanel(Horizontal, can_focus=True):
    """The views side by side, the main one first; redrawn from the Session by show()."""

    def __init__(self, views: tuple[str, ...], *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.views = tuple(v for v in views if v in VIEWS)
        self._sized = False

    def compose(self) -> ComposeResult:
        for name in self.views:
            yield VIEWS[name](id=f"data-{name}", classes="data-view")

    def show(self, session) -> None:
        for child in self.children:
            child.show(session)
        if not self._sized:  # the confusion matrix's width (auto) depends on the problem: once known
            self._sized = True
            self.refresh(layout=True)

    def toggle_numbers(self) -> bool:
        """u: the unit view's weights as numbers and back; False when there is no unit view."""
        views = self.query(UnitView)
        if not views:
            return False
        views.first().toggle_numbers()
        return True
