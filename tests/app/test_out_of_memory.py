"""Running out of memory (a served session's limit) ends the app with one line, never a traceback
with paths and local variables."""

from __future__ import annotations

import pytest
from textual.worker import WorkerFailed

from gdsim.errors import MEMORY_EXIT, ran_out_of_memory
from tests.app.conftest import make_app


def boom() -> None:
    raise MemoryError()


@pytest.mark.parametrize("served", [False, True])
async def test_out_of_memory_exits_with_one_line(monkeypatch, capfd, served):
    if served:
        monkeypatch.setenv("GDSIM_SERVED", "1")
    app = make_app(None)
    with pytest.raises(MemoryError):  # the test pilot re-raises what ended the app
        async with app.run_test() as pilot:
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == MEMORY_EXIT
    # served: nothing at all (the server says it); alone: one line instead of rich's Traceback
    err = capfd.readouterr().err
    assert err.strip() == ("" if served else "gdsim: gdsim ran out of memory")


async def test_any_other_error_still_gets_textual_handling(capfd):
    app = make_app(None)
    with pytest.raises(ZeroDivisionError):
        async with app.run_test() as pilot:
            app.call_later(lambda: 1 / 0)
            await pilot.pause()
    assert app.return_code == 1
    assert "ZeroDivisionError" in capfd.readouterr().err  # Textual's traceback: the capture works


def test_memory_errors_are_found_inside_worker_failures_and_chains():
    assert ran_out_of_memory(WorkerFailed(MemoryError()))
    try:
        try:
            raise MemoryError()
        except MemoryError:
            raise RuntimeError("while handling it")
    except RuntimeError as exc:
        assert ran_out_of_memory(exc)
    assert not ran_out_of_memory(WorkerFailed(ValueError()))
    assert not ran_out_of_memory(None)
