"""The scenario screen's map keys: gradient/velocity arrows, zoom to the runs, held-out points.

A mixin (like ScenarioActions): the state lives in one MapOptions per screen, which every map of
the screen is handed at each redraw, so the inline map and the Map tab always agree.
"""

from __future__ import annotations

from gdsim.app.draw.map_marks import MapOptions
from gdsim.app.widgets.surface_map import map_kind

HELD_OUT = ("", "val", "test")


class MapActions:
    """Mixed into ScenarioScreen (which provides session, redraw and notify)."""

    @property
    def map_options(self) -> MapOptions:
        options = self.__dict__.get("_map_options")
        if options is None:
            options = self.__dict__["_map_options"] = MapOptions()
        return options

    def _map_kind(self) -> str | None:
        kind = map_kind(self.session)
        if kind is None:
            self.notify("this problem has no map (more than two parameters)", markup=False)
        return kind

    def action_map_arrows(self) -> None:
        kind = self._map_kind()
        if kind == "decision":
            self.notify("arrows are drawn on 2-D surfaces", markup=False)
        if kind != "surface":
            return
        options = self.map_options
        options.arrows = not options.arrows
        if options.arrows and self.session.current.ensemble:
            self.notify("arrows show the selected single run: select one with ↑/↓", markup=False)
        self.redraw(force=True)

    def action_map_zoom(self) -> None:
        kind = self._map_kind()
        if kind == "decision":
            self.notify("a decision map always shows the whole data set", markup=False)
        if kind != "surface":
            return
        options = self.map_options
        options.whole = not options.whole
        self.redraw(force=True)

    def action_map_points(self) -> None:
        kind = self._map_kind()
        if kind == "surface":
            self.notify("held-out points are shown on decision maps (2-input classifiers)", markup=False)
        if kind != "decision":
            return
        options = self.map_options
        options.held_out = HELD_OUT[(HELD_OUT.index(options.held_out) + 1) % len(HELD_OUT)]
        shown = {"": "training points only", "val": "validation points shown (boxed)",
                 "test": "test points shown (boxed)"}[options.held_out]
        self.notify(shown, markup=False)
        self.redraw(force=True)
