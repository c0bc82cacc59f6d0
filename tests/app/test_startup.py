"""What the app does, and does not do, while it opens: the structure behind the start-up figures
of benchmarks/bench_app.py (one build, lesson Markdown only where shown, footer rebuilt only when
its keys change, no second layout for a same-size resize). No clocks here."""

from __future__ import annotations

import html
import re

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, Footer, Markdown

from gdsim.app import app as app_module
from gdsim.app.screens.picker import PickerScreen
from gdsim.app.runtime.session import Session
from gdsim.app.widgets.key_footer import KeyFooter
from gdsim.app.widgets.lesson_panel import LessonPanel
from gdsim.app.widgets.lesson_text import LessonText
from tests.app.conftest import DATA, make_app


def footer_row(app) -> list[str]:
    """The footer's line as the SVG screenshot draws it: every text and rectangle of the last row,
    with its colours and font resolved (what a user sees, cell for cell)."""
    svg = app.export_screenshot()
    classes = dict(re.findall(r"\.(terminal-[\w-]*?r\d+) \{([^}]*)\}", svg))
    rows = re.findall(r'<(text|rect)(?: class="(terminal-[\w-]*?r\d+)")?(?: fill="([^"]*)")? x="([\d.]+)" y="([\d.]+)"[^>]*>'
                      r"([^<]*)", svg)
    last = max(float(y) for kind, _, _, _, y, _ in rows if kind == "text")
    bottom = [row for row in rows if abs(float(row[4]) - last) < 20]  # the texts and the rects of that row
    return [f"{kind} {classes.get(cls, '')} {fill} {x} {html.unescape(text)}".replace("\xa0", " ")
            for kind, cls, fill, x, _, text in bottom]


class KeysApp(App):
    """Two buttons with their own keys (moving focus changes the footer) under a footer."""

    FOOTER = Footer
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("h", "help", "Hidden", show=False),
                Binding("ctrl+t", "toggle", "Off", show=True), Binding("p", "press", "Press")]

    def __init__(self):
        super().__init__()
        self.pressed = []

    def compose(self) -> ComposeResult:
        first, second = Button("one", id="one"), Button("two", id="two")
        first._bindings.bind("a", "one", "Only on one")
        second._bindings.bind("b", "two", "Only on two")
        yield first
        yield second
        yield self.FOOTER()

    def action_press(self) -> None:
        self.pressed.append("p")

    def check_action(self, action: str, parameters) -> bool | None:
        return None if action == "toggle" else True  # shown, disabled


class KeyFooterApp(KeysApp):
    FOOTER = KeyFooter


async def shown_while_focus_moves(app_class) -> list[list[str]]:
    app = app_class()
    seen = []
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        seen.append(footer_row(app))
        for _ in range(3):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(footer_row(app))
    return seen


async def test_key_footer_draws_what_footer_draws():
    expected = await shown_while_focus_moves(KeysApp)
    assert any("Only on two" in str(row) for row in expected)  # focus did change the keys
    assert any("Off" in str(row) for row in expected)  # a disabled key is drawn too
    assert await shown_while_focus_moves(KeyFooterApp) == expected


async def test_key_footer_on_the_picker_is_one_widget_drawing_what_footer_draws(monkeypatch):
    app = make_app(None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        footer = app.screen.query_one(KeyFooter)
        assert not footer.children and "Quit" in [key.description for key in footer.keys]
        shown = footer_row(app)

    monkeypatch.setattr("gdsim.app.screens.picker.KeyFooter", Footer)
    app = make_app(None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert footer_row(app) == shown


async def test_key_footer_click_presses_the_key_and_hover_highlights_it():
    app = KeyFooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        start, end, key = next(span for span in footer._spans if span[2].key == "p")
        before = footer.render_line(0)
        await pilot.hover(KeyFooter, offset=(start + 1, 0))
        await pilot.pause()
        assert footer._hover == key and footer.render_line(0) != before
        await pilot.click(KeyFooter, offset=(start + 1, 0))
        await pilot.pause()
        assert app.pressed == ["p"]


def lessons(screen) -> dict[str, tuple[int, int]]:
    """Per lesson panel: (LessonText widgets, Markdown widgets) in it."""
    return {panel.id: (len(panel.query(LessonText)), len(panel.query(Markdown))) for panel in screen.query(LessonPanel)}


async def test_a_plain_lesson_is_drawn_without_the_markdown_widget():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert lessons(app.screen) == {"side-lesson": (1, 0)}  # the lesson tab is built when opened
        text = app.screen.query_one("#side-lesson").query_one(LessonText)
        assert "Gradient descent on a curved valley: watch the three runs." in text.plain
        assert "• run B: momentum" in text.plain
        order = [child.classes for child in app.screen.query_one("#side-lesson").children]
        assert order.index(text.classes) == 3  # after title, claim and problem; before "try this"
        lines = [text.render_line(y).text for y in range(6)]
        assert lines[0].startswith("Gradient descent on a curved valley:")  # wrapped at the panel's width
        assert lines[3].rstrip() == "• run A: small steps"


RICH_LESSON = (
    '[scenario]\ntitle = "t"\nclaim = "c"\nlesson = """\n## A heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"""\n\n'
    '[problem]\nsurface = "bowl"\n'
)


async def test_a_lesson_beyond_plain_markdown_gets_the_markdown_widget_only_where_shown(tmp_path):
    from gdsim.scenario.load import load_scenario

    path = tmp_path / "rich.toml"
    path.write_text(RICH_LESSON)
    app = app_module.GdsimApp(load_scenario(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert lessons(app.screen) == {"side-lesson": (0, 1)}
        assert "A heading" in app.screen.query_one(Markdown).source

    app = app_module.GdsimApp(load_scenario(path))
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: the lesson has its own tab
        await pilot.pause()
        assert lessons(app.screen) == {"side-lesson": (0, 0)}
        await pilot.press("3")
        await pilot.pause()
        assert lessons(app.screen) == {"side-lesson": (0, 0), "tab-lesson-panel": (0, 1)}
        await pilot.press("1", "3")  # shown again: still one
        await pilot.pause()
        assert lessons(app.screen) == {"side-lesson": (0, 0), "tab-lesson-panel": (0, 1)}


async def test_a_resize_to_the_same_size_is_not_laid_out_again(monkeypatch):
    layouts = []
    original = Screen._refresh_layout

    def counting(self, *args, **kwargs):
        layouts.append(self.size)
        return original(self, *args, **kwargs)

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        monkeypatch.setattr(Screen, "_refresh_layout", counting)
        app.post_message(events.Resize.from_dimensions((120, 40), None))
        await pilot.pause()
        assert layouts == []
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert layouts and app.screen.size == (100, 30)


def test_gdsim_scenario_builds_it_once(monkeypatch):
    import gdsim.app.runtime.session as session_module
    import gdsim.build as build_module

    builds, opened = [], []
    real_build = build_module.build

    def counting(*args, **kwargs):
        builds.append(args)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(build_module, "build", counting)
    monkeypatch.setattr(session_module, "build", counting)
    monkeypatch.setattr(app_module.GdsimApp, "run", lambda self, *a, **k: opened.append(self.initial))
    assert app_module.run(str(DATA / "three_runs.toml")) == 0
    assert len(builds) == 1
    assert isinstance(opened[0], Session) and opened[0].loaded.id == "three_runs"


def test_gdsim_scenario_that_cannot_be_built_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(app_module.GdsimApp, "run", lambda self, *a, **k: pytest_fail("the app opened"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\ntitle = "t"\nclaim = "c"\n\n[problem]\nsurface = "nowhere"\n')
    assert app_module.run(str(bad)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gdsim: {bad}") and "nowhere" in err and "Traceback" not in err


def pytest_fail(message: str):
    raise AssertionError(message)


def test_picker_scan_rereads_a_file_only_when_it_changed(tmp_path, monkeypatch):
    from gdsim.app.screens import picker
    from gdsim.scenario.library import Entry

    path = tmp_path / "mine.toml"
    monkeypatch.setattr(picker, "list_entries", lambda: [Entry("mine", path, builtin=False)])
    reads = []
    real_load = picker.load_scenario
    monkeypatch.setattr(picker, "load_scenario", lambda *a, **k: reads.append(a) or real_load(*a, **k))
    body = '[scenario]\ntitle = "{}"\nclaim = "c"\n\n[problem]\nsurface = "bowl"\n'
    path.write_text(body.format("First"))
    assert [item.title for item in picker.scan()] == ["First"]
    assert [item.title for item in picker.scan()] == ["First"] and len(reads) == 1
    path.write_text(body.format("Second title"))
    assert [item.title for item in picker.scan()] == ["Second title"] and len(reads) == 2
    path.write_text("[scenario\n")
    assert picker.scan()[0].broken


async def test_tab_contents_are_built_when_first_opened_and_work_then():
    from gdsim.app.widgets.maths_panel import MathsPanel
    from gdsim.app.widgets.surface_map import SurfaceMap

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert not screen.query(MathsPanel) and [m.id for m in screen.query(SurfaceMap)] == ["map-inline"]
        assert not screen.query("#tab-lesson-panel")
        await pilot.press("x")  # the maths
        await pilot.pause()
        assert "update rule" in str(screen.query_one("#maths-text").render())
        await pilot.press("2")  # the map
        await pilot.pause()
        full = screen.query_one("#map-full", SurfaceMap)
        assert full.size.width > 0 and any(strip.text.strip() for strip in full._strips)
        await pilot.press("3")  # the lesson's tab, at this width
        await pilot.pause()
        assert "curved valley" in screen.query_one("#tab-lesson-panel").query_one(LessonText).plain
        await pilot.press("4", "2", "4")  # opened again: built once
        await pilot.pause()
        assert len(screen.query(MathsPanel)) == 1 and len(screen.query("#map-full")) == 1
        screen.session.step(5)
        screen.redraw()
        await pilot.pause()
        assert "from step 5 to 6" in str(screen.query_one("#maths-text").render())


async def test_the_first_screen_is_rendered_only_after_textuals_start_up_batch(monkeypatch):
    """A frame rendered while Textual's start-up batch lasts is thrown away: the first screen is
    pushed as the batch ends (GdsimApp._ready), so its first render is the one shown."""
    from gdsim.app.screens.scenario import ScenarioScreen

    renders = []
    original = Screen._compositor_refresh

    def recording(self):
        renders.append((type(self).__name__, self.app._batch_count))
        return original(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", recording)
    for app, screen_class in ((make_app(), ScenarioScreen), (make_app(None), PickerScreen)):
        renders.clear()
        async with app.run_test(size=(120, 40)) as pilot:
            assert isinstance(app.screen, screen_class)  # current as soon as the app is ready
            await pilot.pause()
        mine = [batch for name, batch in renders if name == screen_class.__name__]
        assert mine and all(batch == 0 for batch in mine), renders


async def test_the_scenario_screen_has_its_readings_before_its_first_layout(monkeypatch):
    """on_mount fills the status line and the run table (is_mounted is still False there, so
    redraw() would wait): the first layout already has the table's rows, and no second layout
    follows for its height."""
    from gdsim.app.screens.scenario import ScenarioScreen

    seen = {}
    original = ScenarioScreen.on_mount

    def recording(self):
        original(self)
        seen["rows"] = len(self._table.rows)
        seen["status"] = self._status.text.plain

    monkeypatch.setattr(ScenarioScreen, "on_mount", recording)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert seen["rows"] == 3 and "step 0 / 300" in seen["status"]


async def test_the_scenario_screen_is_not_restyled_as_it_opens_but_is_when_its_classes_change(monkeypatch):
    """Pushing a screen restyles it on resume; the scenario screen's styles were applied as it
    mounted, moments before (~20 ms to apply again). Class changes still restyle it."""
    from gdsim.app.screens.scenario import ScenarioScreen

    restyled = []
    original = App.update_styles

    def recording(self, node, animate=True):
        if isinstance(node, ScenarioScreen):
            restyled.append(node)
        return original(self, node, animate)

    monkeypatch.setattr(App, "update_styles", recording)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert restyled == []  # its classes fit 120x40 as composed: no restyle at all
        await pilot.resize_terminal(80, 24)  # -narrow, -short
        await pilot.pause()
        assert restyled and restyled[0] is app.screen and app.screen.has_class("-narrow")


def test_gdsim_turns_the_garbage_collector_off_for_the_start(monkeypatch):
    import gc

    import gdsim.cli
    import gdsim.commands.app_cmd as app_cmd

    seen = []
    monkeypatch.setattr(app_cmd, "run_app", lambda argv: seen.append(gc.isenabled()) or 0)
    try:
        assert gdsim.cli.main([str(DATA / "three_runs.toml")]) == 0
    finally:
        gc.enable()
    assert seen == [False]


async def test_the_first_screen_turns_the_garbage_collector_back_on():
    import gc

    for initial in ("three_runs", None):
        app = make_app(initial)
        gc.disable()
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                assert gc.isenabled()
        finally:
            gc.enable()


def test_gdsim_sets_aside_what_the_imports_made_before_building_the_scenario(monkeypatch):
    import gc

    import gdsim.app.runtime.session as session_module

    frozen_at_build = []
    real_session = session_module.Session

    def building(*args, **kwargs):
        frozen_at_build.append(gc.get_freeze_count())
        return real_session(*args, **kwargs)

    monkeypatch.setattr(session_module, "Session", building)
    monkeypatch.setattr(app_module.GdsimApp, "run", lambda self, *a, **k: None)
    gc.disable()
    try:
        assert app_module.run(str(DATA / "three_runs.toml")) == 0
    finally:
        gc.enable()
        gc.unfreeze()  # this test process keeps collecting what it made
    assert frozen_at_build and frozen_at_build[0] > 1000
