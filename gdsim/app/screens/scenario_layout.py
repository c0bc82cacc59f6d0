"""The scenario screen's layout: which panels, tabs and classes fit the terminal's size.

A mixin of ScenarioScreen (which provides session, flow, the widgets and lesson_text): wide
screens show the lesson beside the plots (and, very wide ones, the map beside the curves); narrow
ones move the lesson and the map into tabs, whose content is built the first time they are opened;
the plot grid keeps as many panels as fit, the most telling first (PANEL_PRIORITY).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from gdsim.app.draw import panels
from gdsim.app.runtime.data_views import data_views
from gdsim.app.widgets.data_panel import DataPanel
from gdsim.app.widgets.landscape_map import LandscapeMap, has_landscape
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.app.widgets.maths_panel import MathsPanel
from gdsim.app.widgets.surface_map import SurfaceMap, map_kind
from gdsim.app.widgets.weights_panel import has_weights

NARROW = 100  # below this width the lesson moves into a tab
WIDE_MAP = 150  # from this width the map sits beside the curves
# A plot panel: its title, five rows of curve (20 braille dots: a zig-zag or a bump reads as one)
# and its axis. At 80x24 the grid has ~10 rows: one row of two panels, the loss and the next most
# telling, rather than four 5-row strips with three rows of curve each.
PANEL_MIN_ROWS = 7
# Which panels stay when the grid has no room for all: the loss first, then what a lesson is
# most often about (validation, per-layer gradients, accuracy), then the rest.
PANEL_PRIORITY = ("plot-loss", "plot-val", "plot-layers", "plot-acc", "plot-grad", "plot-velocity", "plot-lr",
                  "histogram", "weights", "plot-wnorm", "plot-step", "plot-epochs")

# From this many runs a short screen gives the run table the notices' second line: at 80x24 the
# table then shows six runs (local-minima-networks' widths) and the plots keep their rows.
MANY_RUNS = 6


def shown(widget: Widget) -> bool:
    """Whether the widget is on screen now (not in a hidden tab or a hidden container)."""
    node = widget
    while node is not None and not isinstance(node, Screen):
        if not node.display:
            return False
        node = node.parent
    return True


def show_if(widget: Widget, wanted: bool) -> None:
    if widget.display != wanted:
        widget.display = wanted


class ScenarioLayout:
    """Mixed into ScenarioScreen: the layout for the terminal's size and the tabs' content."""

    def _apply_layout(self) -> None:
        """Classes and tabs for this terminal size; only what changed is touched (each change
        re-styles the whole screen). A full-screen panel stays full screen."""
        zoomed = self.leave_full_screen(redraw=False)
        self._layout_for_size()
        if zoomed is not None:
            self.zoom_again(zoomed)

    def _layout_for_size(self) -> None:
        width, height = self.size.width, self.size.height
        for flag, name in ((width < NARROW, "-narrow"), (height < 30, "-short"), (width >= WIDE_MAP, "-wide")):
            if flag != self.has_class(name):
                self.set_class(flag, name)
        self.many_runs_class()
        tabs = self.query_one("#tabs", TabbedContent)
        has_map = map_kind(self.session) is not None
        inline = has_map and width >= WIDE_MAP
        show_if(self.query_one("#map-inline"), inline)
        # a model on data also has loss landscapes (widgets/landscape_map.py): always a Map tab
        map_tab = (has_map and not inline) or has_landscape(self.session)
        for tab, wanted in (("tab-lesson", width < NARROW), ("tab-map", map_tab),
                            ("tab-data", bool(data_views(self.session)))):
            if tabs.get_tab(tab).display != wanted:
                (tabs.show_tab if wanted else tabs.hide_tab)(tab)
        self._arrange_plots()

    def many_runs_class(self) -> None:
        """-many-runs: a table of MANY_RUNS runs or more is shown, and on a short screen the notices
        give it their second line (gdsim.tcss); a hidden table (h) leaves them both."""
        many = len(self.session.display) >= MANY_RUNS and not self.table_hidden
        if many != self.has_class("-many-runs"):
            self.set_class(many, "-many-runs")

    def _arrange_plots(self) -> None:
        """Show the panels that have something to show, as many as fit the grid's height in
        order of PANEL_PRIORITY (at 80x24 a network has seven candidates and room for four: with
        all of them shown the loss plots got no rows at all); an odd one out spans both columns."""
        if self.has_class("-zoom"):
            return  # full screen (f) decides what is shown until it is left
        wanted = panels.wanted(self.session)
        wanted["weights"] = has_weights(self.session)
        wanted["histogram"] = any(run.ensemble for run in self.session.display)
        grid = self.query_one("#curves")
        candidates = [w for w in grid.children if wanted.get(w.id or "", True)]
        height = grid.size.height
        if height > 0:  # laid out: keep the panels that fit, the most telling first
            # On a short screen the row the tab bar gave up (gdsim.tcss) makes the panels taller, not more
            # of them: at 80x24 one row of two, as before, and no second row flickering in as notices go.
            rows = max(1, (height - self.has_class("-short")) // PANEL_MIN_ROWS)
            fit = 2 * rows
            priority = list(PANEL_PRIORITY)
            for panel in reversed(panels.about(self.session)):  # what the scenario is about: right after the loss
                priority.insert(1, priority.pop(priority.index(panel)))
            if any(getattr(e, "metric", None) == "sparsity" for e in self.session.loaded.scenario.expect):
                # a lesson measuring near-zero weights (l1-sparsity) is about the weights panel; a penalty
                # alone is not (overfitting's L2 run is a cure: its lesson is the validation loss)
                priority.insert(1, priority.pop(priority.index("weights")))
            ranked = sorted(candidates, key=lambda w: priority.index(w.id) if w.id in priority else 99)
            candidates = ranked[:fit]  # in that order on screen too: the loss, then what the lesson is about
            order = candidates + [w for w in grid.children if w not in candidates]
            if list(grid.children) != order:
                for before, widget in zip(order, order[1:]):
                    grid.move_child(widget, after=before)
        shown = set(map(id, candidates))
        for widget in grid.children:
            show_if(widget, id(widget) in shown)
        for widget in grid.children:
            span = bool(candidates) and widget is candidates[-1] and len(candidates) % 2 == 1
            if widget.has_class("-span") != span:
                widget.set_class(span, "-span")

    async def _fill_tab(self, pane: TabPane) -> None:
        """Build a tab's content the first time it is opened (the map, the lesson for narrow
        terminals, the maths): none of them is on the first frame."""
        if pane.children:
            return
        if pane.id == "tab-map":
            if map_kind(self.session) is not None:
                surface = SurfaceMap(self.session, id="map-full")
                await pane.mount(surface)
                self._maps.append(surface)
            if has_landscape(self.session):
                land = LandscapeMap(self.session, id="landscape-map")
                await pane.mount(land)
                self._landscapes.append(land)
            self.apply_map_kind()
        elif pane.id == "tab-lesson":
            hidden = self.flow is not None and self.flow.phase != "revealed"
            await pane.mount(LessonPanel(self.session.loaded, lesson=self.lesson_text(), tips=not hidden,
                                         id="tab-lesson-panel", classes="lesson"))
        elif pane.id == "tab-maths":
            maths = MathsPanel(id="maths")
            await pane.mount(maths)
            self._maths = maths  # redrawn from here on (a tick may come while it mounts)
        elif pane.id == "tab-data":
            data = DataPanel(data_views(self.session), id="data")
            await pane.mount(data)
            self._data = data
