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
    assert ran_out_of_memory(RuntimeError("can't start new thread"))  # a thread's stack over the limit
    assert not ran_out_of_memory(RuntimeError("something else"))
    assert not ran_out_of_memory(WorkerFailed(ValueError()))
    assert not ran_out_of_memory(None)


def no_thread() -> None:
    raise RuntimeError("can't start new thread")  # what a thread's stack over the limit looks like


@pytest.mark.parametrize("rendering_fails", [False, True])
async def test_a_thread_that_cannot_start_is_out_of_memory_too(monkeypatch, capfd, rendering_fails):
    # Measured behind the SSH server at --memory-limit 150MiB: Textual's key thread could not start,
    # and rendering the traceback then ran out of memory inside pygments (a ValueError around it).
    from textual.app import App

    def render_fails(self):
        try:
            raise MemoryError()
        except MemoryError as exc:
            raise ValueError("uncompilable regex") from exc

    if rendering_fails:
        monkeypatch.setattr(App, "_fatal_error", render_fails)
    app = make_app(None)
    with pytest.raises(RuntimeError):
        async with app.run_test() as pilot:
            app.call_later(no_thread)
            await pilot.pause()
    assert app.return_code == MEMORY_EXIT
    assert capfd.readouterr().err.strip() == "gdsim: gdsim ran out of memory"
