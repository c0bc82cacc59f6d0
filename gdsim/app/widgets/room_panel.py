"""RoomPanel: the classroom at a glance, over the right of the screen (ctrl+r shows and hides it).

A presenter sees who is connected, the scenario and step each one shows, whether they follow and
whether they answered the open poll, with the poll's live tally on top. A participant sees whom
they follow, the open poll and the last reveal. It sits on its own layer (gdsim.tcss): showing it
moves nothing beneath it, and it never takes the focus, so every key still reaches the screen.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gdsim.app.runtime.room_state import PRESENTER, RoomState, tally_line

BOLD = Style(bold=True)
DIM = Style(dim=True)
NAME_WIDTH = 12
SCENARIO_WIDTH = 16


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` cells with "…", or padded to it."""
    if cell_len(text) > width:
        while text and cell_len(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - cell_len(text))


def result_lines(state: RoomState) -> Text:
    """The last reveal: the answer and the room's counts (the right one marked)."""
    result = state.result
    text = Text()
    if result is None:
        return text
    if result.answer is not None and result.choices and result.answer <= len(result.choices):
        text.append(f"The answer: {result.answer}, {result.choices[result.answer - 1]}\n", BOLD)
    elif result.answer is not None:
        text.append(f"The answer: {result.answer}\n", BOLD)
    if result.text:
        text.append(result.text + "\n")
    text.append(f"Room: {tally_line(result.answered, result.of, result.counts, answer=result.answer)}\n")
    return text


def presenter_text(state: RoomState) -> Text:
    participants = [m for m in state.roster if m.role != PRESENTER]
    following = sum(m.following for m in participants)
    text = Text()
    text.append("Room", BOLD)
    text.append(f" · {len(participants)} participant{'s' if len(participants) != 1 else ''}, {following} following\n")
    poll, tally = state.poll, state.tally
    if poll is not None:
        text.append("Poll open: ", BOLD)
        if tally is not None and tally.poll == poll.id:
            text.append(tally_line(tally.answered, tally.of, tally.counts, tally.skipped))
        else:
            text.append(f"0 of {len(participants)} answered")
        text.append("\n  Y reveals it · C closes it\n", DIM)
    elif state.result is not None:
        text.append_text(result_lines(state))
    else:
        text.append("on a scenario: H brings everyone to it, P polls the room\n", DIM)
    text.append(f"{_fit('who', NAME_WIDTH)} {_fit('scenario', SCENARIO_WIDTH)} {'step':>7} F A\n", DIM)
    for member in state.roster:
        if member.role == PRESENTER:
            continue
        where = member.scenario or "(the list)"
        step = f"{member.step:>7,}" if member.scenario else " " * 7
        text.append(_fit(member.name, NAME_WIDTH) + " ", BOLD)
        text.append(f"{_fit(where, SCENARIO_WIDTH)} {step} ")
        text.append("●" if member.following else "·")
        text.append(" ")
        text.append("✓" if member.answered else ("·" if poll is not None else " "))
        text.append("\n")
    if not participants:
        text.append("nobody has joined yet\n", Style(italic=True))
    text.append("F follows you · A answered the poll", DIM)
    return text


def participant_text(state: RoomState) -> Text:
    text = Text()
    text.append("Room", BOLD)
    text.append(f" · you are {state.name}")
    text.append("\n" if state.nicknamed else " (ctrl+n: another name, once)\n", DIM)
    if state.following:
        text.append("Following the presenter", BOLD)
        text.append(" (X: explore on your own)\n", DIM)
    else:
        text.append("Exploring on your own", BOLD)
        text.append(" (F, or ctrl+f at the list: follow the presenter)\n", DIM)
    poll = state.poll
    if poll is not None:
        text.append("Poll open: ", BOLD)
        if state.answer is None:
            text.append("not answered yet (ctrl+r shows it)\n")
        else:
            text.append("you skipped\n" if state.answer == 0 else f"you said {state.answer}\n")
    if state.result is not None:
        text.append_text(result_lines(state))
    return text


class RoomPanel(Static, can_focus=False):
    """Mounted on a screen by the room client (gdsim/app/room_client.py); `show` redraws it."""

    _shown: tuple = ()

    def show(self, state: RoomState, gone: str = "") -> None:
        key = (state.role, state.name, state.following, tuple(state.roster), state.poll, state.tally,
               state.result, state.answer, gone)
        if key == self._shown:
            return
        self._shown = key
        if gone:
            text = Text(f"Not in the room: {gone}", Style(italic=True))
        else:
            text = presenter_text(state) if state.presenter else participant_text(state)
        text.rstrip()
        self.update(text)
