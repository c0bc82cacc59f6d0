"""The scenario screen's part of predict → observe → explain, the live verdict line, and the
warning for ensembles whose runs cannot differ.

A mixin (like ScenarioActions) so scenario.py keeps to layout and the redraw loop. It holds:
- the verification of the scenario as the learner has it, run headless in a thread worker
  (gdsim.scenario.verify) 0.5 s after the screen opens or after the last change of settings,
  so a burst of keys starts one run, not one per key (see gdsim/app/runtime/verdicts.py for why
  this keeps the verdict line cheap);
- the [predict] flow: neutral run labels and no explanation until the reveal; the answer keys
  (1-5 while the question is open, 0 skips, w shows the answer now / folds the reveal);
- `redraw_predict`, called from the screen's redraw: the verdict line, the question panel, the
  automatic reveal when the run has reached the point, and lesson placeholders as values arrive.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from gdsim.app.runtime.predict_flow import ASKING, REVEALED, PredictFlow
from gdsim.app.runtime.verdicts import Verdicts, shown_names
from gdsim.app.runtime.verify_job import VerifyJob, cached
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.app.widgets.question_panel import QuestionPanel
from gdsim.app.widgets.verdict_line import VerdictLine

VERIFY_DELAY = 0.5  # seconds after opening or after the last change before the verification starts
TAB_CHOICES = ("tab-plots", "tab-map", "tab-lesson", "tab-maths", "tab-data")  # keys 1-5 = choices 1-5 while asking


class PredictActions:
    """Mixed into ScenarioScreen before ScenarioActions (whose action_tab and action_ensemble it extends)."""

    flow: PredictFlow | None = None
    verdicts: Verdicts | None = None
    _job = None  # the VerifyJob running, if any

    def setup_predict(self) -> None:
        """At mount: the flow (neutral labels until the reveal) and the first verification."""
        self.flow = PredictFlow.of(self.session.loaded)
        self._verify_timer = None
        self._job: VerifyJob | None = None
        self.verdicts = Verdicts(self.session.loaded)
        self._verdict_line = self.query_one(VerdictLine)
        self._question = self.query_one(QuestionPanel)
        self._question.display = self.flow is not None
        # as composed: the lesson hidden while asking, else with "…" for values not measured yet
        self._lesson_key: tuple | None = (id(self.session.loaded), self.flow is not None, False)
        self._lesson_shown = self.lesson_text()  # as composed
        if self.flow is not None:
            self.session.set_neutral(True)
        self._schedule_verification()

    # -- the verification ----------------------------------------------------------------------
    def _schedule_verification(self) -> None:
        loaded = self.session.loaded
        if not loaded.scenario.expect:
            return
        if self._verify_timer is not None:
            self._verify_timer.stop()
        if self._job is not None:
            self._job.cancel()
            self._job = None
        known = cached(loaded)
        if known is not None:  # measured before (a reset, the scenario opened again)
            self.verdicts = Verdicts(loaded, known)
            return
        self._verify_timer = self.set_timer(VERIFY_DELAY, self._start_verification)

    def _start_verification(self) -> None:
        from gdsim.app.runtime.engine_worker import worker_wanted

        loaded = self.session.loaded
        if self.verdicts is None or self.verdicts.loaded is not loaded or self.verdicts.settled:
            return
        job = self._job = VerifyJob(loaded, child=worker_wanted())
        self.run_worker(lambda: (loaded, job.run()), thread=True, group="verify", exclusive=True,
                        exit_on_error=False, name="verify")

    def on_unmount(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The verification finished (a plain handler name: @on does not work in a mixin)."""
        worker = event.worker
        if worker.group != "verify" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state == WorkerState.ERROR:
            self.notify(f"the expects could not be measured: {worker.error}", severity="error", markup=False)
            return
        loaded, verification = worker.result
        if verification is not None and loaded is self.session.loaded:  # else a newer one comes
            self.verdicts = Verdicts(loaded, verification)
            self.redraw(force=True)

    # -- drawn with every redraw -----------------------------------------------------------------
    def redraw_predict(self) -> None:
        session = self.session
        if self.verdicts is None:
            return
        if self.verdicts.loaded is not session.loaded:  # a change of settings: measure again
            self.verdicts = Verdicts(session.loaded)
            self._schedule_verification()
        step = session.sim.step_count
        flow = self.flow
        mono = bool(getattr(self.app, "mono", False))
        if flow is not None and flow.due(step, session.loaded, self.verdicts.settled):
            self.reveal()
        neutral = flow is not None and flow.phase != REVEALED
        names = shown_names(session) if neutral else None
        hide = tuple(flow.predict.shown_by) if flow is not None else ()
        asking = flow is not None and flow.phase == ASKING
        if asking != self.has_class("-asking"):  # the notice bar reads it (widgets/notice_bar.py)
            self.set_class(asking, "-asking")
        # While asking, nothing is measured yet ("answer the question, then watch..."): on a short screen
        # the verdict line gives its row to the plots, as the notices do theirs (local-minima-networks at
        # 80x24: 2 rows of curve, now 4; cosine-warmup's longer question 1, now 3)
        quiet = asking and self.has_class("-short")
        lines = [] if quiet else self.verdicts.lines(step, names, self._live_readings(), hide, asking)
        self._verdict_line.show(lines, mono)
        panel = self._question
        if flow is not None:
            measured = self.verdicts.verification or self.verdicts.unavailable
            reveal = flow.reveal_text(measured) if flow.phase == REVEALED else None
            claim = None
            if self.has_class("-narrow"):  # the lesson panel with the claim is in a tab
                from gdsim.app.text import clean

                claim = clean(session.loaded.scenario.scenario.claim, keep_newlines=False)
            panel.show(flow, flow.reveal_at(session.loaded), reveal, mono, claim)
        self._update_lessons(step, neutral)

    def _live_readings(self) -> dict[int, str]:
        """How the waiting checks stand now (verdicts.live_readings): while running read at most every
        STATE_PERIOD; at once after a key (a step, a rewind) or a pause."""
        import time

        from gdsim.app.runtime.session import STATE_PERIOD
        from gdsim.app.runtime.verdicts import live_readings

        key = (id(self.verdicts), self.session.sim.step_count)
        cached_now = getattr(self, "_now", None)
        if cached_now is not None and cached_now[0][0] == key[0] and (
                cached_now[0][1] == key[1] or (self.session.running and time.monotonic() - cached_now[1] < STATE_PERIOD)):
            return cached_now[2]
        readings = live_readings(self.verdicts, self.session.sim)
        self._now = (key, time.monotonic(), readings)
        return readings

    def _update_lessons(self, step: int, hidden: bool) -> None:
        """Lesson panels show the lesson with the values measured so far (none of it before a reveal)."""
        from gdsim.scenario.predict import placeholders

        filled = bool(placeholders(self.session.loaded.scenario.scenario.lesson))  # else nothing to fill in
        decided = not hidden and filled and self.verdicts.ready and self.verdicts.decided(step)
        key = (id(self.session.loaded), hidden, decided)
        if key == self._lesson_key:
            return
        self._lesson_key = key
        text = self.lesson_text()
        if text == self._lesson_shown:
            return  # e.g. a change of settings before any value is known: the same words
        self._lesson_shown = text
        self.call_later(self._swap_lessons, text, not hidden)

    async def _swap_lessons(self, lesson: str, tips: bool) -> None:
        for old in list(self.query(LessonPanel)):
            parent = old.parent
            index = parent.children.index(old)
            new = LessonPanel(self.session.loaded, lesson=lesson, tips=tips, id=old.id, classes=" ".join(old.classes))
            await old.remove()
            await parent.mount(new, before=index if index < len(parent.children) else None)

    def lesson_text(self) -> str:
        """The lesson as shown now: hidden while a question is open, else with the measured values."""
        from gdsim.scenario.predict import render_lesson

        loaded = self.session.loaded
        if loaded.scenario.predict is not None and (self.flow is None or self.flow.phase != REVEALED):
            return ("The explanation comes after the run has shown the answer "
                    "(or press w to see it now).")
        values = self.verdicts.values(self.session.sim.step_count) if self.verdicts is not None else {}
        return render_lesson(self.session.loaded, values)

    # -- keys --------------------------------------------------------------------------------------
    def answer(self, choice: int | None) -> None:
        flow = self.flow
        if flow is None or flow.phase != ASKING:
            return
        if choice is not None and not 1 <= choice <= len(flow.choices):
            self.notify(f"choose 1 to {len(flow.choices)}, or 0 to skip", markup=False)
            return
        answer = flow.choose(choice)
        self.session.answers.append(answer)
        self.post_message(QuestionPanel.Answered(answer))
        self.redraw(force=True)

    def action_answer(self, choice: int) -> None:
        """0 skips (1-5 come through action_tab while the question is open)."""
        self.answer(choice or None)

    def action_tab(self, tab: str) -> None:
        if self.flow is not None and self.flow.phase == ASKING and tab in TAB_CHOICES:
            self.answer(TAB_CHOICES.index(tab) + 1)
            return
        super().action_tab(tab)  # type: ignore[misc]

    def action_why(self) -> None:
        """w: show the answer now (the learner asks), or fold / unfold the reveal."""
        flow = self.flow
        if flow is None:
            self.notify("this scenario asks no question", markup=False)
            return
        if flow.phase == REVEALED:
            panel = self._question
            panel.folded = not panel.folded
            self.redraw(force=True)
            return
        if flow.phase == ASKING:
            self.answer(None)
        self.reveal(asked=True)

    def reveal(self, asked: bool = False) -> None:
        """Show the answer: open when the learner asked (w), folded to one line when the run
        reached the point by itself (the plots keep their rows; w opens it)."""
        flow = self.flow
        if flow is None or flow.phase == REVEALED:
            return
        self._question.folded = not asked
        flow.reveal()
        self.session.set_neutral(False)
        self.post_message(QuestionPanel.Revealed())
        self.redraw(force=True)

    # -- ensembles -------------------------------------------------------------------------------
    def action_ensemble(self) -> None:
        super().action_ensemble()  # type: ignore[misc]
        from gdsim.app.notices import ensemble_cannot_differ

        run = self.session.current
        if run.ensemble:
            why = ensemble_cannot_differ(self.session, run.rows)
            if why:
                offer = ("Press E for random starts." if self._on_surface()
                         else "Give it a random init (init = \"xavier\" or \"he\") or mini-batches.")
                self.notify(f"{run.label}: {len(run.rows)} identical runs: {why}, so every seed does the same. "
                            f"{offer}", severity="warning", timeout=8, markup=False)

    def _on_surface(self) -> bool:
        cohort, _ = self.session.cohort_of(int(self.session.current.rows[0]))
        return hasattr(cohort.problem, "view")

    def action_random_starts(self) -> None:
        """E: the selected run as an ensemble of random starts (its fixed start dropped)."""
        from gdsim.app import tweaks

        if not self._on_surface():
            self.notify("random starts are for surfaces; a network's start is its init (a random one per seed)",
                        markup=False)
            return
        self.change(tweaks.random_starts)  # type: ignore[attr-defined]
