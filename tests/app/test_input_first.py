"""Keys before streaming work: the hold from a key to its paint, and paints without skipped slots.

These pin the design (what waits for what), not speed: the figures are in
``bench/app_cpu.py``. No test here asserts a duration.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static

from ikigai.tui.frames import FrameClock
from ikigai.tui.input_priority import MAX_HOLD, InputPriority, priority_of
from ikigai.tui.input_thread import SWITCH_INTERVAL, input_thread_first
from ikigai.tui.screen_updates import MainScreen, SteadyUpdateTimer
from tests.app.conftest import make_app, wait_for
from tests.app.terminal import open_and_quit
from tests.cli.headless_helpers import clean_env
from tests.fakeserver import FakeServer, Reply, Text


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("event", "goes_first"),
    [
        (events.Key("a", "a"), True),
        (events.Paste("pasted"), True),
        (events.MouseScrollDown(None, 0, 0, 0, 1, 0, False, False, False), True),
        (events.MouseMove(None, 0, 0, 0, 0, 0, False, False, False), False),
        (events.Idle(), False),
    ],
)
def test_input_a_person_waits_for_goes_first(event: events.Event, goes_first: bool) -> None:
    priority = InputPriority(clock=_Clock())
    assert priority.arrived(event) is goes_first
    assert priority.waiting is goes_first


def test_the_hold_lasts_until_every_key_is_painted_and_never_past_max_hold() -> None:
    clock = _Clock()
    priority = InputPriority(clock=clock)
    assert not priority.waiting
    priority.arrived(events.Key("a", "a"))
    priority.arrived(events.Key("b", "b"))
    priority.painted()
    assert priority.waiting  # "b" is not on screen yet
    priority.painted()
    assert not priority.waiting
    priority.painted()  # an extra release never makes the count negative
    priority.arrived(events.Key("c", "c"))
    assert priority.waiting
    clock.now += MAX_HOLD
    assert not priority.waiting  # a lost release holds streaming back for MAX_HOLD at most
    priority.arrived(events.Key("d", "d"))
    priority.painted()
    assert not priority.waiting  # and is forgotten: the next key's paint releases at once


def test_a_step_waits_at_most_max_hold_however_many_keys_follow() -> None:
    clock = _Clock()
    priority = InputPriority(clock=clock)
    assert priority.hold(None) is None  # no input: run now
    priority.arrived(events.Key("a", "a"))
    since = priority.hold(None)
    assert since == clock.now
    assert since is not None
    for _ in range(9):  # a key every 10 ms, none painted yet
        clock.now += 0.01
        priority.arrived(events.Key("a", "a"))
        assert priority.hold(since) == since
    clock.now = since + MAX_HOLD
    priority.arrived(events.Key("a", "a"))
    assert priority.waiting
    assert priority.hold(since) is None  # waited MAX_HOLD: runs although keys keep coming


class _Owner:
    def call_after_refresh(self, callback: Any, *args: Any) -> bool:
        callback(*args)
        return True


class _Puller:
    def __init__(self) -> None:
        self.pulls = 0

    def pull(self) -> None:
        self.pulls += 1


async def test_a_frame_due_while_a_key_is_unpainted_is_drawn_once_it_is() -> None:
    priority = InputPriority()
    clock = FrameClock(_Owner(), yield_to=priority)  # type: ignore[arg-type]
    puller = _Puller()
    clock.add(puller)
    priority.arrived(events.Key("a", "a"))
    clock.touch()
    await asyncio.sleep(0.05)
    assert puller.pulls == 0
    assert clock.pending  # put off, not dropped
    priority.painted()
    await asyncio.sleep(0.05)
    assert puller.pulls == 1
    assert not clock.pending


async def test_a_key_typed_while_an_answer_streams_holds_rendering_until_it_is_painted(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text("streaming words " * 400, chunk=8)], pace=200))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        assert isinstance(app.screen, MainScreen)
        app.prompt_input.set_text("go")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.scrollback.last_answer() is not None, what="answer")
        priority = priority_of(app)
        app.post_message(events.Key("x", "x"))
        assert priority.waiting
        await wait_for(pilot, lambda: not priority.waiting, what="the key painted")
        assert app.prompt_input.text == "x"
        await wait_for(pilot, lambda: not app.busy, what="the answer")
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.body.markdown == "streaming words " * 400


class _Painted(App[None]):
    CSS = "#text { width: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("before", id="text")

    def get_default_screen(self) -> MainScreen:
        return MainScreen(id="_default")


async def test_the_main_screen_paints_once_per_resume_no_sooner_than_a_period_apart() -> None:
    app = _Painted()
    async with app.run_test() as pilot:
        screen = app.screen
        calls: list[float] = []
        clock = _Clock()
        timer = SteadyUpdateTimer(screen, lambda: calls.append(clock.now), 0.05, clock)
        timer.resume()
        timer.resume()  # already due: still one call
        await pilot.pause()
        assert calls == [100.0]
        timer.resume()  # within a period of the last call: due 0.05 s later
        await pilot.pause()
        assert calls == [100.0]
        await pilot.pause(0.1)
        assert calls == [100.0, 100.0]
        clock.now += 1.0
        timer.resume()
        timer.pause()  # a paused timer drops the call not made yet
        await pilot.pause(0.1)
        assert len(calls) == 2
        # The screen itself is laid out and painted by it: the text's new width is taken.
        text = app.query_one("#text", Static)
        assert isinstance(screen._update_timer, SteadyUpdateTimer)
        assert text.region.width == len("before")
        text.update("after, and longer")
        await pilot.pause()
        assert text.region.width == len("after, and longer")


class _TwoBars(App[None]):
    """The scrollback beside Textual's own scrolling container, fed the same lines."""

    CSS = "Horizontal > * { width: 20; height: 10; }"

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal, VerticalScroll

        from ikigai.tui.widgets.scrollback import Scrollback

        with Horizontal():
            yield Scrollback(is_current=lambda _turn: True, advise=str, id="steady")
            yield VerticalScroll(id="stock")


def _bar_cells(bar: Any) -> list[tuple[str, bool]]:
    """The scroll bar as painted: each cell's character and whether it is the thumb."""
    from textual.geometry import Region

    strips = bar.render_lines(Region(0, 0, bar.size.width, bar.size.height))
    return [
        (segment.text, bool(segment.style and segment.style.reverse))
        for strip in strips
        for segment in strip
    ]


async def test_the_scrollbacks_bar_shows_what_textuals_shows_repainting_only_when_it_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual.containers import VerticalScroll
    from textual.scrollbar import ScrollBar

    from ikigai.tui.widgets.scrollback import Scrollback
    from ikigai.tui.widgets.steady_scrollbar import SteadyScrollBar

    renders: dict[str, int] = {"steady": 0, "stock": 0}
    original = ScrollBar.render

    def counted(self: ScrollBar) -> Any:
        assert self.parent is not None and self.parent.id is not None
        renders[self.parent.id] += 1
        return original(self)

    monkeypatch.setattr(ScrollBar, "render", counted)
    app = _TwoBars()
    async with app.run_test(size=(60, 12)) as pilot:
        steady = app.query_one("#steady", Scrollback)
        stock = app.query_one("#stock", VerticalScroll)
        stock.anchor()
        changes = 0
        shown: list[tuple[str, bool]] = []
        for n in range(80):
            steady.add(Static(f"line {n}"))
            await stock.mount(Static(f"line {n}"))
            await pilot.pause()
            if n >= 10:  # both scroll: both bars are shown
                assert isinstance(steady.vertical_scrollbar, SteadyScrollBar)
                assert steady.scroll_y == stock.scroll_y == stock.max_scroll_y
                cells = _bar_cells(stock.vertical_scrollbar)
                assert _bar_cells(steady.vertical_scrollbar) == cells, f"after line {n}"
                changes += cells != shown
                shown = cells
        steady.scroll_home(animate=False)
        stock.scroll_home(animate=False)
        await pilot.pause()
        assert _bar_cells(steady.vertical_scrollbar) == _bar_cells(stock.vertical_scrollbar)
    # Rendered when what it shows changed (and when it first showed and took its size),
    # where Textual's bar was rendered for every line added.
    assert 0 < renders["steady"] <= changes + 3
    assert renders["stock"] >= 70


SWITCH_PROBE = """
import atexit, json, os, sys
import textual.drivers.linux_driver as driver

seen = {}
write = driver.LinuxDriver.write

def probe_write(self, data):
    if "running" not in seen and "fake-model" in data:
        seen["running"] = sys.getswitchinterval()
    return write(self, data)

def report():
    seen["after"] = sys.getswitchinterval()
    with open(os.environ["PROBE_REPORT"], "w") as out:
        json.dump(seen, out)

driver.LinuxDriver.write = probe_write
atexit.register(report)
from ikigai.cli.main import main
sys.exit(main())
"""


def test_the_thread_reading_keys_waits_for_the_interpreter_a_millisecond_at_most(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """While the app runs in a terminal, CPython's switch interval is ``SWITCH_INTERVAL``
    (keys were kept from the app for 100 ms and more behind the event loop's 4 ms steps
    with the 5 ms default: ``tui.input_thread``); the process's own is restored at exit."""
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    report = tmp_path / "report.json"
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback", PROBE_REPORT=str(report))
    args = ["--model", "openai-chat/fake-model", "--base-url", fake_server.base_url("openai-chat")]
    status = open_and_quit(args, env, tmp_path, python=("-c", SWITCH_PROBE))
    assert status == 0
    seen = json.loads(report.read_text(encoding="utf-8"))
    assert seen == {"running": SWITCH_INTERVAL, "after": sys.getswitchinterval()}
    assert sys.getswitchinterval() > SWITCH_INTERVAL


def test_the_switch_interval_is_restored_however_the_app_ends() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), input_thread_first():
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        raise RuntimeError("the app failed")
    assert sys.getswitchinterval() == before
