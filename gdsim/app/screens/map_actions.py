"""The scenario screen's map keys: gradient/velocity arrows, zoom to the runs, held-out points.

A mixin (like ScenarioActions): the state lives in one MapOptions per screen, which every map of
the screen is handed at each redraw, so the inline map and the Map tab always agree.
"""

from __future__ import annotations

from gdsim.app.draw.map_marks import MapOptions
from gdsim.app.widgets.landscape_map import KINDS as LANDSCAPE_KINDS
from gdsim.app.widgets.landscape_map import LandscapeOptions, kinds_for
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

    @property
    def landscape_options(self) -> LandscapeOptions:
        options = self.__dict__.get("_landscape_options")
        if options is None:
            options = self.__dict__["_landscape_options"] = LandscapeOptions()
        return options

    def shown_map_kind(self) -> str:
        """What the Map tab shows: "map" (the problem's own), "line", "pca" or "random"."""
        kinds = kinds_for(self.session, map_kind(self.session) is not None)
        kind = self.landscape_options.kind
        return kind if kind in kinds else (kinds[0] if kinds else "map")

    def apply_map_kind(self) -> None:
        """Show the Map tab's own map or its landscape, as the kind says."""
        kind = self.shown_map_kind()
        self.landscape_options.kind = kind
        for widget in self.query("#map-full"):
            widget.display = kind == "map"
        for widget in self.query("#landscape-map"):
            widget.display = kind in LANDSCAPE_KINDS

    def action_map_kind(self) -> None:
        """K: the next kind of map (the problem's own, the loss line, the PCA and random planes)."""
        kinds = kinds_for(self.session, map_kind(self.session) is not None)
        if len(kinds) < 2:
            self.notify("this map is the whole landscape: the problem has two parameters", markup=False)
            return
        kind = self.shown_map_kind()
        self.landscape_options.kind = kinds[(kinds.index(kind) + 1) % len(kinds)]
        self.apply_map_kind()
        self._show_map_tab()
        self.redraw(force=True)

    def action_map_again(self) -> None:
        """R: compute the landscape again, at the shown step."""
        if self.shown_map_kind() not in LANDSCAPE_KINDS:
            self.notify("R computes a loss landscape again: K chooses one first", markup=False)
            return
        self.landscape_options.again += 1
        self.redraw(force=True)

    def _show_map_tab(self) -> None:
        """The kind keys bring the Map tab up (where it is a tab)."""
        try:
            tabs = self.query_one("#tabs")
        except Exception:  # noqa: BLE001 - no tabs on this screen
            return
        if tabs.get_tab("tab-map").display and tabs.active != "tab-map":
            self.action_tab("tab-map")

    def _map_kind(self) -> str | None:
        kind = map_kind(self.session)
        if kind is None:
            self.notify("no 2-D map here: the problem has more than two parameters "
                        "(the Map tab shows its loss landscapes: K)", markup=False)
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
        if self.shown_map_kind() in LANDSCAPE_KINDS:
            options = self.landscape_options
            options.split = "val" if options.split == "train" else "train"
            self.notify(f"landscape of the {'validation' if options.split == 'val' else 'training'} loss",
                        markup=False)
            self.redraw(force=True)
            return
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
