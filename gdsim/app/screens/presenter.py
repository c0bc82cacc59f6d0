"""The scenario screen's keys for a presenter: one panel full screen, the run table hidden, the
tab keys that mean the same at every size, the lesson scrolled from anywhere, and the rewind
cursor moved from one event (a run diverged, stopped, stalled, reached a minimum) to the next.

A mixin, like ScenarioActions: the screen provides session, redraw, say, notify, query_one.
Full screen hides (display: none) every sibling of the panel and of its containers up to the
screen, except the status line, the notices and the footer, and restores exactly what it hid.
"""

from __future__ import annotations

import numpy as np
from textual.widget import Widget
from textual.widgets import TabbedContent

from gdsim.app.runtime.session import Session
from gdsim.engine.run_state import RunState

PANEL_IDS = ("map-inline", "map-full", "landscape-map", "side-lesson", "tab-lesson-panel", "maths", "data")
KEPT = ("status", "verdicts", "notices")  # stay with a full-screen panel: the step, the verdicts, what happened
TAB_PANEL = {"tab-map": "map-full", "tab-lesson": "tab-lesson-panel", "tab-maths": "maths", "tab-data": "data"}


def is_panel(widget: Widget) -> bool:
    """A panel `f` can show full screen: a plot of the grid, a map, a lesson, the maths."""
    parent = widget.parent
    return widget.id in PANEL_IDS or (parent is not None and parent.id == "curves")


class PresenterActions:
    """Mixed into ScenarioScreen."""

    session: Session
    _zoomed: Widget | None = None
    _hidden: list[tuple[Widget, object]] = []  # (widget, its inline display rule before) while zoomed
    table_hidden = False
    _events: list = []
    _jumped: tuple[int, int] | None = None  # (the event's step, the step it was shown at) after [ or ]

    # -- panels --------------------------------------------------------------------------------
    def panels(self) -> list[Widget]:
        """Every panel there is now; each is made focusable (tab reaches it, `f` then shows it)."""
        found = [w for w in self.query("*") if is_panel(w)]
        for widget in found:
            widget.can_focus = True
        return found

    def _default_panel(self) -> Widget | None:
        """What `f` shows when no panel has the focus: the active tab's main panel."""
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active == "tab-plots":
            candidates = ["map-inline", "plot-loss"]
        else:
            candidates = [TAB_PANEL.get(tabs.active, "")]
            if tabs.active == "tab-map":
                candidates.append("landscape-map")  # the Map tab shows one of the two
        for name in candidates:
            found = [w for w in self.panels() if w.id == name and w.display]
            if found:
                return found[0]
        return None

    def _focused_panel(self) -> Widget | None:
        node = self.focused
        while node is not None and node is not self:
            if is_panel(node):
                return node
            node = node.parent
        return None

    # -- full screen ---------------------------------------------------------------------------
    def action_full_screen(self) -> None:
        if self.leave_full_screen():
            return
        panel = self._focused_panel() or self._default_panel()
        if panel is None:
            self.notify("nothing to show full screen here", markup=False)
            return
        self._zoom(panel)
        panel.focus()
        self.say("full screen: f or escape goes back")
        self.redraw(force=True)

    def _zoom(self, panel: Widget) -> None:
        hidden: list[tuple[Widget, object]] = []
        node: Widget = panel
        while node.parent is not None and node is not self:
            self._hide_beside(node.parent.children, node, hidden)
            node = node.parent
        self._hidden = hidden
        self._zoomed = panel
        self.add_class("-zoom")
        # The lesson sits beside #main, which holds the status line: #main then keeps only the kept
        # lines and goes under the lesson (gdsim.tcss: -zoom-side), so the step stays on screen.
        self.set_class(panel.id == "side-lesson", "-zoom-side")
        panel.add_class("-zoomed")
        self._show_table()

    @staticmethod
    def _hide_beside(children, node: Widget | None, hidden: list) -> None:
        """Hide `children` but `node`, the kept lines (KEPT), the run table (its own rule) and the
        footer; a child holding a kept line is not hidden but emptied around it."""
        for sibling in children:
            if sibling is node or sibling.id in KEPT or not sibling.display or sibling.id == "runs":
                continue
            if type(sibling).__name__ == "KeyFooter":
                continue
            if any(True for _ in sibling.query(", ".join(f"#{name}" for name in KEPT))):
                PresenterActions._hide_beside(sibling.children, None, hidden)
                continue
            hidden.append((sibling, sibling.styles.inline.get_rule("display")))
            sibling.display = False

    def leave_full_screen(self, redraw: bool = True) -> Widget | None:
        """Back from full screen: the panel that was full screen, or None if none was."""
        panel = self._zoomed
        if panel is None:
            return None
        for widget, rule in reversed(self._hidden):
            if rule is None:
                widget.styles.inline.clear_rule("display")
                widget.refresh(layout=True)
            else:
                widget.styles.inline.set_rule("display", rule)
        self._hidden = []
        self._zoomed = None
        self.remove_class("-zoom", "-zoom-side")
        panel.remove_class("-zoomed")
        self._show_table()
        if redraw:
            self.redraw(force=True)
        return panel

    def zoom_again(self, panel: Widget) -> None:
        """After the layout changed for a new size or new runs: the same panel full screen again."""
        if panel.is_attached and panel.display:
            self._zoom(panel)

    # -- the run table -------------------------------------------------------------------------
    def action_toggle_table(self) -> None:
        self.table_hidden = not self.table_hidden
        self._show_table()
        self.many_runs_class()  # a hidden table of six runs leaves the notices their second line
        self.say("run table hidden: h shows it (↑/↓ still select a run)" if self.table_hidden
                 else "run table shown")
        self._after()

    def _show_table(self) -> None:
        table = self.query_one("#runs")
        wanted = not (self.table_hidden or self._zoomed is not None)
        if table.display != wanted:
            table.display = wanted

    def action_select_run(self, delta: int) -> None:
        """↑/↓ when the run table does not have the focus (hidden, or a plot focused)."""
        self.session.select(self.session.selected + delta)
        self.say(f"selected run {self.session.current.letter}: {self.session.current.label}")
        self.redraw()

    # -- tab keys: the same at every size ------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        """Show what tab `tab` holds: its tab, or, where that is already on screen (the lesson
        beside the plots, the map inline on very wide screens), focus it there."""
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.get_tab(tab).display:
            if self._zoomed is not None:
                self.leave_full_screen()
            tabs.active = tab
            if tab != "tab-plots":  # its panel is built as the tab opens: focus it after that
                self.call_after_refresh(self._focus_by_id, TAB_PANEL.get(tab, ""))
            elif not self.table_hidden:
                self.query_one("#runs").focus()
            return
        beside = {"tab-lesson": "side-lesson", "tab-map": "map-inline"}.get(tab)
        panel = next((w for w in self.panels() if w.id == beside and w.display), None) if beside else None
        if panel is None:
            self.notify("this problem has no map: it has more than two parameters" if tab == "tab-map"
                        else "not available here", markup=False)
            return
        if self._zoomed is not None and self._zoomed is not panel:
            self.leave_full_screen()
        tabs.active = "tab-plots"
        panel.focus()
        self.say(f"{'lesson' if tab == 'tab-lesson' else 'map'} focused: f shows it full screen")
        self._after()

    def _focus_by_id(self, name: str, tries: int = 10) -> None:
        """Focus panel `name`, once the tab that builds it has mounted it."""
        found = [w for w in self.panels() if w.id == name and w.is_mounted]
        if found:
            found[0].focus()
        elif tries > 1:
            self.call_after_refresh(self._focus_by_id, name, tries - 1)

    # -- the lesson ----------------------------------------------------------------------------
    def action_scroll_lesson(self, pages: int) -> None:
        lesson = next((w for w in self.panels() if w.id in ("side-lesson", "tab-lesson-panel") and _shown(w)),
                      None)
        if lesson is None:
            self.notify("the lesson is not on screen: press 3 to show it", markup=False)
            return
        (lesson.scroll_page_down if pages > 0 else lesson.scroll_page_up)(animate=False)

    # -- jump to the next / previous event -----------------------------------------------------
    def action_jump_event(self, direction: int) -> None:
        self._events = self._find_events()
        self._jump(direction)

    def _find_events(self) -> list:
        """The events of the displayed runs: a single run's every state change, judged by the engine
        at every record as it stepped (gdsim.engine.state_events); an ensemble's first divergence or
        early stop, from the engine's flags (its seeds' states are a tally, not a story)."""
        from gdsim.engine.state_events import Event, state_events

        session = self.session
        session.tracker_now()  # just broke away from a presenter: what was written meanwhile, judged now
        sim = session.sim
        singles = [int(run.rows[0]) for run in session.display if not run.ensemble]
        events = state_events(sim, singles) if singles else []
        diverged, stopped = sim.diverged_at, sim.stopped_at
        for run in session.display:
            if run.ensemble:
                frozen = [Event(int(diverged[r]), int(r), RunState("diverged", step=int(diverged[r])))
                          if diverged[r] >= 0 else Event(int(stopped[r]), int(r), RunState("stopped", step=int(stopped[r])))
                          for r in run.rows if diverged[r] >= 0 or stopped[r] >= 0]
                if frozen:
                    events.append(min(frozen, key=lambda e: e.step))
        events.sort(key=lambda e: (e.step, e.row))
        return events

    def _jump(self, direction: int) -> None:
        session = self.session
        here = session.shown_step
        if self._jumped is not None and self._jumped[1] == here:
            here = self._jumped[0]  # still where the last jump left it: at that event, even if shown later
        steps = sorted({e.step for e in self._events})
        later = [s for s in steps if s > here] if direction > 0 else [s for s in steps if s < here][::-1]
        if not later:
            self.say(("no later event" if direction > 0 else "no earlier event")
                     + (f" ({len(steps)} in all: [ and ] move between them)" if steps else
                        ": no run has diverged, stalled, stopped or reached a minimum yet"))
            self._after()
            return
        step = later[0]
        session.scrub_to(_record_from(session, step))
        self._jumped = (step, session.shown_step)
        runs = {int(r): run for run in session.display for r in run.rows}
        found = [e for e in self._events if e.step == step and e.row in runs]
        words = "; ".join(f"{runs[e.row].label}{' (first of the ensemble)' if runs[e.row].ensemble else ''}: "
                          f"{e.state.words}" for e in found)
        self.say(f"{_when(found, step)}: {words}  (event {steps.index(step) + 1} of {len(steps)}"
                 f"{_shown_at(session, step)})")
        self._after()


def _record_from(session: Session, step: int) -> int | None:
    """The first recorded step at or after `step` (None: the live step): once the history keeps
    every 2nd, 4th... step, an event's own step may be gone, and the record before it shows the
    run before the event."""
    history = session.sim.history
    if history is None or not history.count:
        return step
    recorded = history.steps[: history.count]
    index = int(np.searchsorted(recorded, step))
    return None if index >= history.count else int(recorded[index])


def _when(events: list, step: int) -> str:
    """"step k" where the events are exact, else the steps between which the state began (the
    engine judged every 2nd, 4th... step once the history had halved)."""
    earliest = min((e.earliest for e in events if not e.exact), default=None)
    return f"step {step:,}" if earliest is None else f"steps {earliest:,}-{step:,}"


def _shown_at(session: Session, step: int) -> str:
    shown = session.shown_step
    if shown == step:
        return ""
    return f"; shown at {shown:,}, the nearest record: every {_nth(session.sim.history.stride)} step is kept"


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"

def _shown(widget: Widget) -> bool:
    """Whether the widget is on screen now (not in a hidden tab or a hidden container)."""
    node = widget
    while node is not None and node.parent is not None:
        if not node.display:
            return False
        node = node.parent
    return True
