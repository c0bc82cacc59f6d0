"""SessionView: a RasterWidget drawn from the scenario's Session, redrawn at the screen's rate by
show(session) (the Data tab's views: digits, fit, confusion matrix, units, weights)."""

from __future__ import annotations

from gdsim.app.widgets.raster import RasterWidget


class SessionView(RasterWidget):
    """Subclasses draw `self.session` (None until the first show) in _rasterise()."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.session = None

    def show(self, session) -> None:
        self.session = session
        self._redraw()
