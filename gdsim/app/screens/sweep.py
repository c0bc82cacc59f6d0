"""The sweep screen: the selected run's final loss over ~200 learning rates (W), or over a grid of
learning rate x momentum (G), computed as one vectorized cohort in a worker thread (which runs it in a
child process where the app may use a second core: gdsim.app.runtime.sweep_child) while the screen
stays live (progress, escape to leave, the other key to switch).

On a quadratic the closed forms are drawn on the same picture (the divergence edge, Goh's
optimum); on a network the lr sweep is the idea of Smith's learning-rate range test, and the
caption says so (gdsim.engine.sweep_theory.describe writes the words, as for `gdsim sweep`).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from gdsim.app.text import clean
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.app.widgets.sweep_curve import SweepCurve
from gdsim.app.widgets.sweep_heat import SweepHeat

KINDS = {"lr": "sweep-curve", "grid": "sweep-heat"}


class SweepScreen(Screen):
    """One sweep of the run selected on the scenario screen under it."""

    BINDINGS = [
        Binding("W", "sweep('lr')", "Sweep lr"),
        Binding("G", "sweep('grid')", "lr × momentum"),
        Binding("escape", "back", "Back"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, session, kind: str = "lr") -> None:
        super().__init__()
        self.session = session
        self.kind = kind
        self.result = None  # (plan, result, sweep) once computed (tests read it)
        self.progress_text = ""
        self._child = None  # the ChildSweep computing, where the sweep runs in a child process

    def compose(self) -> ComposeResult:
        yield Static("", id="sweep-title", markup=False)
        yield SweepCurve(id="sweep-curve")
        yield SweepHeat(id="sweep-heat")
        yield Static("", id="sweep-caption", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_sweep(self.kind)

    # -- actions -------------------------------------------------------------------------------
    def action_sweep(self, kind: str) -> None:
        self._stop_child()  # the sweep shown before is no longer wanted
        self.kind = kind
        self.result = None
        for name, widget_id in KINDS.items():
            self.query_one(f"#{widget_id}").display = name == kind
        run = self.session.current
        row = int(run.rows[0])
        label = clean(run.label, keep_newlines=False)
        what = "learning rate" if kind == "lr" else "learning rate × momentum"
        seed = f" (its first seed, {self.session.sim.runs[row].seed})" if run.ensemble else ""
        self.query_one("#sweep-title", Static).update(f"Sweep of {label}{seed}: {what}")
        self._plot().wait("computing…")
        self.query_one("#sweep-caption", Static).update("")
        self.compute(self.session.loaded, row, label, kind)

    def action_back(self) -> None:
        self._stop_child()
        self.workers.cancel_group(self, "sweep")
        self.app.pop_screen()

    def _stop_child(self) -> None:
        if self._child is not None:
            self._child.cancel()
            self._child = None

    def _plot(self):
        return self.query_one(f"#{KINDS[self.kind]}")

    # -- the work ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def compute(self, loaded, row: int, label: str, kind: str) -> None:
        from gdsim.app.runtime.engine_worker import worker_wanted
        from gdsim.app.runtime.pacing import ShareSource
        from gdsim.app.runtime.sweep_child import ChildSweep
        from gdsim.app.runtime.sweep_job import SweepJob, make_plan
        from gdsim.build import build_sweep
        from gdsim.errors import UserError

        worker = get_current_worker()
        try:
            plan = make_plan(loaded, row, label, kind)
            if isinstance(plan, str):
                self.app.call_from_thread(self._failed, kind, plan)
                return
            self.app.call_from_thread(self._started, plan)
            report = lambda d, t, eta: self.app.call_from_thread(self._progress, kind, d, t, eta)  # noqa: E731
            if worker_wanted():  # a second core: the sweep in a child process, the app stays free
                child = self._child = ChildSweep(loaded, plan)
                got = child.run(report, lambda: worker.is_cancelled)
                if got is None:
                    if not (worker.is_cancelled or child.cancelled):
                        self.app.call_from_thread(self._failed, kind, "the sweep's process ended without a result")
                    return
                result, seconds = got
                done = (result, build_sweep(loaded, row, list(plan.axes)))  # not stepped: for the words
            else:
                job = SweepJob(loaded, plan)
                source = ShareSource()  # served: keep to the session's CPU share
                done = job.run(report, lambda: worker.is_cancelled, source.get if source.limited else None)
                seconds = job.seconds
        except UserError as exc:
            self.app.call_from_thread(self._failed, kind, str(exc))
            return
        except Exception as exc:  # never a traceback on screen: say what failed
            self.app.call_from_thread(self._failed, kind, f"the sweep failed: {type(exc).__name__}: {exc}")
            return
        if done is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._finished, plan, *done, seconds)

    def _started(self, plan) -> None:
        points = 1
        for axis in plan.axes:
            points *= axis.n
        self.progress_text = (f"{points:,} runs as one cohort, {plan.steps:,} steps each"
                              + (f" ({plan.note})" if plan.note else ""))
        self.query_one("#sweep-caption", Static).update(self.progress_text)

    def _progress(self, kind: str, done: int, total: int, eta: float) -> None:
        if kind != self.kind or self.result is not None:
            return
        self._plot().wait(f"step {done:,} of {total:,}, about {eta:.0f} s left (escape leaves)")

    def _failed(self, kind: str, message: str) -> None:
        if kind != self.kind:
            return
        self._plot().wait("no sweep")
        self.query_one("#sweep-caption", Static).update(clean(message))

    def _finished(self, plan, result, sweep, seconds: float) -> None:
        if plan.kind != self.kind:
            return
        from gdsim.app.runtime.sweep_job import picture

        self.result = (plan, result, sweep)
        shown = picture(plan, result, sweep, seconds, mono=bool(getattr(self.app, "mono", False)))
        if plan.kind == "lr":
            self._plot().show(shown.lrs, shown.values, shown.diverged, shown.best, shown.edge, shown.title)
        else:
            self._plot().show(shown.lrs, shown.momenta, shown.values, shown.diverged, shown.best_cell,
                              shown.optimum, shown.edges, shown.title, shown.y_name)
        lines = [self.progress_text + f" ({shown.seconds:.2f} s)", *shown.caption]
        self.query_one("#sweep-caption", Static).update("\n".join(lines))
