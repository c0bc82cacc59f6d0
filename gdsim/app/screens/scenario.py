"""The scenario screen: lesson, live plots, the surface map, the runs, and the keys that drive them.

The layout for the terminal's size is ScenarioLayout's (scenario_layout.py). A timer ticks at
REDRAW_HZ: each tick steps the engine for at most a budget of time, then redraws the visible
widgets from the Session if anything changed. A served participant's ticks (and a follower's frames
of the presenter's steps) are background work: each waits for one of the machine's frame slots
(runtime/frame_slots.py); its learner's keys never wait.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from gdsim.app.app import collect_garbage_again
from gdsim.app.runtime.frame_slots import shared_slots
from gdsim.app.runtime.pacing import FRAME_PERIOD, Pacer, ShareSource
from gdsim.app.screens.map_actions import MapActions
from gdsim.app.screens.predict_actions import PredictActions
from gdsim.app.screens.presenter import PresenterActions
from gdsim.app.screens.scenario_actions import ScenarioActions
from gdsim.app.screens.scenario_layout import ScenarioLayout, shown
from gdsim.app.screens.sweep_actions import SweepActions
from gdsim.app.draw import panels
from gdsim.app.draw.series import PlotData, final_values
from gdsim.app.runtime.session import Session
from gdsim.app.widgets.curve_plot import CurvePlot
from gdsim.app.widgets.data_panel import DataPanel
from gdsim.app.widgets.histogram import LossHistogram
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.app.widgets.landscape_map import LandscapeMap
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.app.widgets.maths_panel import MathsPanel
from gdsim.app.widgets.notice_bar import NoticeBar
from gdsim.app.widgets.panel_grid import PanelGrid
from gdsim.app.widgets.question_panel import QuestionPanel
from gdsim.app.widgets.run_table import RunTable
from gdsim.app.widgets.status_line import StatusLine
from gdsim.app.widgets.surface_map import SurfaceMap
from gdsim.app.widgets.verdict_line import VerdictLine
from gdsim.app.widgets.weights_panel import WeightsPanel


class SlotGranted(Message):
    """One of the machine's frame slots is this app's (ScenarioScreen.in_background)."""

    bubble = False


REDRAW_HZ = round(1 / FRAME_PERIOD)  # timer ticks per second; the Pacer decides how much engine work each one does


class ScenarioScreen(PredictActions, PresenterActions, ScenarioActions, MapActions, SweepActions, ScenarioLayout,
                     Screen):
    """One open scenario; escape goes back to the list."""

    BINDINGS = [
        # the run table's own ↑/↓ while it has the focus; these when a panel has it or the table is hidden
        Binding("up", "select_run(-1)", "Select run", key_display="↑/↓"),
        Binding("down", "select_run(1)", show=False),
        Binding("space", "toggle_run", "Run/pause"),
        Binding("full_stop", "step", "Step", key_display="."),
        Binding("n", "step_n", "Step N", show=False),
        Binding("r", "reset", "Reset"),
        Binding("plus,equals_sign", "speed(1)", "Faster", key_display="+", show=False),
        Binding("minus", "speed(-1)", "Slower", key_display="-", show=False),
        Binding("left", "scrub(-1)", "Rewind", key_display="←", priority=True),
        Binding("right", "scrub(1)", "Forward", key_display="→", show=False, priority=True),
        Binding("shift+left", "scrub_far(-0.1)", "Rewind 10%", show=False, priority=True),
        Binding("shift+right", "scrub_far(0.1)", "Forward 10%", show=False, priority=True),
        Binding("home", "scrub_to_start", "To step 0", show=False, priority=True),
        Binding("end", "live", "Back to live", show=False, priority=True),
        Binding("l", "lr(1)", "lr up", show=True),
        Binding("L", "lr(-1)", "lr down", show=False),
        Binding("b", "batch(1)", "Batch ×2", show=False),
        Binding("B", "batch(-1)", "Batch ÷2", show=False),
        Binding("s", "seed(1)", "Next seed", show=False),
        Binding("S", "seed(-1)", "Previous seed", show=False),
        Binding("m", "momentum(1)", "Momentum", show=False),
        Binding("M", "momentum(-1)", "Momentum back", show=False),
        Binding("o", "optimizer(1)", "Optimizer"),
        Binding("O", "optimizer(-1)", "Optimizer back", show=False),
        Binding("c", "schedule", "Schedule", show=False),
        Binding("p", "start_point", "Start point", show=False),
        Binding("a", "add_run", "Add run"),
        Binding("d", "remove_run", "Remove run", show=False),
        Binding("e", "ensemble", "Ensemble", show=False),
        Binding("E", "random_starts", "Ensemble of random starts", show=False),
        Binding("0", "answer(0)", "Skip the question", show=False),
        Binding("w", "why", "Answer now / fold it", show=False),
        Binding("x", "maths", "Maths"),
        Binding("W", "sweep('lr')", "Sweep the lr: the final loss of ~200 lrs (a range test)", show=False),
        Binding("G", "sweep('grid')", "Sweep lr × momentum (heat map)", show=False),
        Binding("v", "velocity_view", "Velocity parts", show=False),
        Binding("g", "map_arrows", "Map: gradient/velocity arrows", show=False),
        Binding("z", "map_zoom", "Map: the whole surface / back to the runs", show=False),
        Binding("V", "map_points", "Map: validation/test points; landscape: train/validation loss", show=False),
        Binding("K", "map_kind", "Map: kind (own map, loss line from the start, line to the next run, PCA plane, random plane)", show=False),
        Binding("R", "map_again", "Map: compute the landscape again at the shown step", show=False),
        Binding("1", "tab('tab-plots')", "Plots tab", show=False),
        Binding("2", "tab('tab-map')", "Map tab", show=False),
        Binding("3", "tab('tab-lesson')", "Lesson tab", show=False),
        Binding("4", "tab('tab-maths')", "Maths tab", show=False),
        Binding("5", "tab('tab-data')", "Data tab: units, digits, confusion, fitted lines", show=False),
        Binding("u", "unit_weights", "Data: the selected network's weights as numbers (units)", show=False),
        Binding("f", "full_screen", "Full screen (the focused panel)", show=False),
        Binding("h", "toggle_table", "Hide/show the run table", show=False),
        Binding("left_square_bracket", "jump_event(-1)", "Previous event", key_display="[", show=False),
        Binding("right_square_bracket", "jump_event(1)", "Next event (diverged, stalled, minimum...)",
                key_display="]", show=False),
        Binding("pageup", "scroll_lesson(-1)", "Lesson: page up", key_display="PgUp", show=False),
        Binding("pagedown", "scroll_lesson(1)", "Lesson: page down", key_display="PgDn", show=False),
        Binding("ctrl+s", "save", "Save scenario", show=False),
        Binding("ctrl+e", "export", "Export runs", show=False),
        Binding("ctrl+g", "screenshot", "Screenshot", show=False),
        Binding("t", "app.next_theme", "Theme", show=False),
        Binding("escape", "back", "Back"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    AUTO_FOCUS = "#runs"  # focused as the screen opens, so the footer composes once, in its final order

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.velocity_parts = False
        self._drawn: tuple | None = None
        self._last_tick = time.perf_counter()
        self.pacer = Pacer(ShareSource())
        self.slots = shared_slots()  # served participants: background work takes turns (runtime/frame_slots.py)
        self._background = None  # the background work waiting for a slot (the newest only)
        self.redraws = 0  # full redraws done (the benchmark reads this)
        self._resumed = False  # see on_screen_resume
        self._styles_fresh = False
        self._redraw_pending = False

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        loaded = self.session.loaded
        asking = loaded.scenario.predict is not None  # the explanation waits for the reveal
        with Horizontal(id="body"):
            yield LessonPanel(loaded, lesson=self.lesson_text() if asking else None, tips=not asking,
                              id="side-lesson", classes="lesson")
            with Vertical(id="main"):
                yield QuestionPanel(id="question")
                with TabbedContent(id="tabs"):
                    with TabPane("Plots", id="tab-plots"):
                        with Horizontal(id="plots-row"):
                            yield SurfaceMap(self.session, id="map-inline")
                            with PanelGrid(id="curves"):
                                yield CurvePlot("loss", id="plot-loss")
                                yield CurvePlot("train / validation loss", id="plot-val")
                                yield CurvePlot("gradient norm |g|", id="plot-grad")
                                yield CurvePlot("gradient norm per layer", id="plot-layers")
                                yield CurvePlot("velocity norm |v|", id="plot-velocity")
                                yield CurvePlot("learning rate", id="plot-lr")
                                yield CurvePlot("accuracy", id="plot-acc")
                                yield CurvePlot("weight length |w|", id="plot-wnorm")
                                yield CurvePlot("step length |Δθ|", id="plot-step")
                                yield CurvePlot("training loss by epoch", id="plot-epochs")
                                yield WeightsPanel(id="weights")
                                yield LossHistogram(id="histogram")
                    # Built when first opened (_fill_tab): not on the first frame.
                    yield TabPane("Map", id="tab-map")
                    yield TabPane("Lesson", id="tab-lesson")
                    yield TabPane("Maths", id="tab-maths")
                    yield TabPane("Data", id="tab-data")
                # The status line and the notices sit with the run table under the plots: what
                # changes at every step is then one block of the screen, and Textual's compositor
                # re-renders only that block, not the lesson and the tab bar as well.
                yield StatusLine(id="status")
                yield VerdictLine(id="verdicts")
                yield NoticeBar(id="notices")
                yield RunTable(id="runs")
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        # Runs before Screen._on_screen_resume, which restyles the whole screen; on the first
        # resume the styles are those applied as it mounted, moments ago (~20 ms of the first frame).
        self._styles_fresh = not self._resumed
        self._resumed = True

    def update_node_styles(self, animate: bool = True) -> None:
        if self._styles_fresh:
            self._styles_fresh = False
            return
        super().update_node_styles(animate)

    def on_mount(self) -> None:
        # The widgets redrawn every tick, looked up once (a CSS query per tick costs milliseconds).
        self._table = self.query_one(RunTable)
        self._status = self.query_one(StatusLine)
        self._notices = self.query_one(NoticeBar)
        self._plots = list(self.query(CurvePlot))
        self._maps = list(self.query(SurfaceMap))
        self._landscapes: list[LandscapeMap] = []  # mounted with the Map tab
        self._histogram = self.query_one(LossHistogram)
        self._weights = self.query_one(WeightsPanel)
        self._maths: MathsPanel | None = None  # the tabs' contents come when first opened
        self._data: DataPanel | None = None
        self._tab_drawn = "tab-plots"
        self.setup_predict()
        self._apply_layout()
        self._table.focus()
        # Ticks only while a scenario runs: an idle session then costs nothing (30 served at once).
        self._ticks = self.set_interval(1 / REDRAW_HZ, self._tick, name="engine-and-redraw", pause=True)
        self._ticking = False
        self._worker_tried = False
        self._sync_ticks()
        # Not redraw(), which waits for is_mounted (set after this handler): the status line and
        # the run table then have their text and rows in the first layout, not the second.
        self._redraw(force=True)
        self.set_timer(1.0, collect_garbage_again)  # in case no resize comes (on_resize does it first)

    def on_resize(self) -> None:
        self._apply_layout()
        self.redraw(force=True)
        # After the frame this draws: the collector, off for the start (gdsim.cli), comes back
        # once the screen is up (with it on from on_mount, the first frame came ~15 ms later).
        self.call_after_refresh(collect_garbage_again)

    @on(PanelGrid.Resized)
    def _panel_grid_resized(self, event: PanelGrid.Resized) -> None:
        event.stop()
        self._arrange_plots()

    @on(TabbedContent.TabActivated)
    async def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane
        if pane.id == self._tab_drawn:
            return  # e.g. the first tab, activated as the screen opens: on_resize drew it
        self._tab_drawn = pane.id or ""
        await self._fill_tab(pane)
        # The new pane is laid out on the next refresh; draw once it has its size.
        self.call_after_refresh(self.redraw, True)

    # -- the loop ------------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.perf_counter()
        budget = self.pacer.tick(now, time.process_time(), self.session.catching_up)
        if budget is None:  # served and over this session's CPU share: the time is not lost, dt carries it
            self._ticks.pause()  # and no wake-ups (charged to the share too) until it has earned a tick
            self.set_timer(self.pacer.wait(), self._wake, name="cpu-share")
            return
        if self.slots is not None:  # the tick's work is background work: it waits for a frame slot
            self._ticks.pause()
            self.in_background(lambda: self._work(budget))
            return
        self._work(budget)

    def _work(self, budget: float) -> None:
        now = time.perf_counter()
        dt, self._last_tick = min(0.25, now - self._last_tick), now
        if self.session.running:
            cpu = time.process_time()
            self.session.advance(dt, budget)
            self.pacer.engine_used(time.process_time() - cpu)
        self._flush_events()
        if not self.session.catching_up or self.pacer.frame_due():  # a follower behind: few frames
            self.redraw()
        self._sync_ticks()

    def start_worker(self) -> None:
        """The engine worker (a second process) for running flat out: started on the first run, not
        at start-up, where it would compete with the first frame for the CPU."""
        if self.session.worker is None and not self._worker_tried:
            from gdsim.app.runtime.engine_worker import shared_worker

            self._worker_tried = True
            self.session.worker = shared_worker()

    def _wake(self) -> None:
        if self._ticking and not self._waiting_for_slot:
            self._ticks.resume()

    @property
    def _waiting_for_slot(self) -> bool:
        return self._background is not None

    def in_background(self, work) -> None:
        """Do `work` (a tick, or a frame nobody pressed a key for: a presenter's new step) once one
        of the machine's frame slots is this app's, and give the slot back after Textual has
        written the frame (runtime/frame_slots.py); at once when there are no slots. Work asked
        for while waiting replaces the work waiting (the newest is what the screen must show)."""
        slots = self.slots
        if slots is None:
            work()
            return
        waiting = self._background is not None
        self._background = work
        if not waiting and not slots.acquire(lambda: self.post_message(SlotGranted())):  # (thread-safe)
            self._slot_granted(own=False)  # held (this app's frame being written) or asked for by another screen

    @on(SlotGranted)
    def _slot_granted(self, event: SlotGranted | None = None, own: bool = True) -> None:
        work, self._background = self._background, None
        slots, grant = self.slots, self.slots.granted_count
        try:
            if work is not None and self.is_attached:
                work()
        finally:
            if own and self.is_attached:
                self.call_after_refresh(slots.release, grant)  # once the frame is written
            elif own:
                slots.release(grant)
            if self._ticking and self.is_attached:
                self._ticks.resume()

    def _sync_ticks(self) -> None:
        """Tick while running, rest while paused or waiting for a presenter to move on (every
        action that may start a run, and every scene of the room, calls this)."""
        wanted = self.session.running and not self.session.waiting
        if wanted and not self._ticking:
            self._ticking = True
            self._last_tick = time.perf_counter()
            # A follower without frame slots spreads its frames itself (Pacer.spread); with them the
            # slots already make thirty followers' frames take turns, and a spread only made them later
            spread = self.session.hold is not None and self.slots is None
            delay = self.pacer.spread() if spread else 0.0
            if delay > 0:
                self.set_timer(delay, self._wake, name="follow-spread")
            else:
                self._ticks.resume()
        elif not wanted and self._ticking:
            self._ticking = False
            self._ticks.pause()
            self.pacer.rest()  # keys and room messages while paused are not charged to a CPU share

    def _flush_events(self) -> None:
        while self.session.events:
            self.say(self.session.events.pop(0))

    def redraw(self, force: bool = False) -> None:
        """Redraw every visible widget from the Session, if anything changed since the last time."""
        if self.is_mounted:
            self._redraw(force)

    def _redraw(self, force: bool) -> None:
        session = self.session
        options = self.map_options
        key = (session.version, session.sim.step_count, self.app.theme, self.velocity_parts,
               options.arrows, options.whole, options.held_out)
        if key == self._drawn and not force:
            return
        self._drawn = key
        self.redraws += 1
        self.pacer.frame_drawn()
        with self.app.batch_update():
            self._status.show(session)
            self._notices.show(session)
            self._table.show(session)
            self.redraw_predict()
            for plot in self._plots:
                if shown(plot):
                    plot.show(self.plot_data(plot.id or "", max(16, 2 * plot.size.width)))
            for surface in self._maps:
                if shown(surface):
                    surface.show(session, options)
            for land in self._landscapes:
                if shown(land):
                    land.show(session, self.landscape_options)
            histogram = self._histogram
            if shown(histogram):
                ensembles = [run for run in session.display if run.ensemble]
                run = session.current if session.current.ensemble else (ensembles[0] if ensembles else None)
                if run is not None:
                    histogram.show(final_values(session, run), run.label, run.colour)
            if shown(self._weights):
                self._weights.show(session)
            maths = self._maths
            if maths is not None and shown(maths):
                maths.show(session)
            if self._data is not None and shown(self._data):
                self._data.show(session)

    def action_unit_weights(self) -> None:
        """u: the unit view's weights as numbers, and back (the Data tab of a 2-input network)."""
        if self._data is None or not shown(self._data) or not self._data.toggle_numbers():
            self.notify("u shows a 2-input network's weights in the Data tab (5)", markup=False)

    def plot_data(self, plot_id: str, points: int) -> PlotData:
        """What plot `plot_id` shows now, with at most `points` points per trace."""
        return panels.plot_data(self.session, plot_id, points, self.velocity_parts)
