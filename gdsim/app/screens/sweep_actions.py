"""The scenario screen's sweep keys: W sweeps the selected run's learning rate, G its learning rate
x momentum grid (gdsim.app.screens.sweep). The issue asked for `w`: it answers / folds a question."""

from __future__ import annotations


class SweepActions:
    """Mixed into ScenarioScreen (which has session, _sync_ticks and say)."""

    def action_sweep(self, kind: str) -> None:
        from gdsim.app.screens.sweep import SweepScreen

        if self.session.running:  # the sweep gets the CPU; space resumes the runs afterwards
            self.session.running = False
            self._sync_ticks()
            self.say("paused while sweeping; space runs again")
        self.app.push_screen(SweepScreen(self.session, kind))
