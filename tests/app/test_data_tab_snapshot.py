"""Snapshot of the Data tab: a small tanh network on two moons after 80 steps (unit maps, the
output's decision map with the training points, the confusion matrix), at 120x40.

Regenerate after an intended change with
`pytest tests/app/test_data_tab_snapshot.py --snapshot-update`, and look at the new SVG.
"""

from __future__ import annotations

from tests.app.conftest import make_app


def test_data_tab_of_a_two_input_network(snap_compare):
    async def data_tab(pilot):
        screen = pilot.app.screen
        screen.session.step(80)
        await pilot.press("5")
        await pilot.pause(0.2)
        screen.redraw(force=True)
        await pilot.pause()

    assert snap_compare(make_app("moons"), terminal_size=(120, 40), run_before=data_tab)
