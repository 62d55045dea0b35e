"""The per-frame design of streaming: deltas cost a flag, the screen is drawn once a frame.

These tests pin the design, not speed: how many frames and renders happen
for a given burst of events, and that nothing is scheduled when nothing
moves. (Figures are in ``bench/``; no test here times anything.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.accumulator import ResponseAccumulator
from ikigai.providers.events import Start, TextDelta, ThinkingDelta
from ikigai.tui.app import IkigaiApp
from ikigai.tui.bus import BusEvent
from ikigai.tui.frames import FrameClock
from ikigai.tui.widgets.markdown_stream import StreamingMarkdown
from ikigai.tui.widgets.thinking import ThinkingView
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text


def _count_calls(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[str]:
    """Record the text of every call of ``cls.name`` (the real method still runs)."""
    calls: list[str] = []
    original = getattr(cls, name)

    def counted(self: Any, text: str) -> None:
        calls.append(text)
        original(self, text)

    monkeypatch.setattr(cls, name, counted)
    return calls


def _start_response(app: IkigaiApp) -> ResponseAccumulator:
    """Publish the start of a response of the current turn, as the turn worker does."""
    accumulator = ResponseAccumulator("openai-chat")
    start = Start("fake-model")
    accumulator.add(start)
    app.bus.publish(BusEvent(app.turn_id, 1, start, None, accumulator))
    return accumulator


def _burst(app: IkigaiApp, accumulator: ResponseAccumulator, events: list[Any]) -> None:
    """Feed and publish ``events`` with no await in between: they arrive within one frame."""
    for event in events:
        accumulator.add(event)
        app.bus.publish(BusEvent(app.turn_id, 1, event, None, accumulator))


async def test_a_thousand_deltas_within_one_frame_cause_one_render(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = _count_calls(monkeypatch, StreamingMarkdown, "feed")
    thinking_feeds = _count_calls(monkeypatch, ThinkingView, "feed")
    app = make_app(app_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.show_thinking = True
        app.thinking_pane.display = True
        accumulator = _start_response(app)
        await pilot.pause()  # the scrollback takes the start from its queue
        frames_before = app.frames.frames
        _burst(app, accumulator, [ThinkingDelta(0, "hm ") for _ in range(1000)])
        _burst(app, accumulator, [TextDelta(0, f"w{n} ") for n in range(1000)])
        assert app.frames.pending  # one frame is scheduled for the whole burst
        await wait_for(pilot, lambda: app.frames.frames > frames_before, what="a frame")
        await pilot.pause(0.1)
        assert app.frames.frames == frames_before + 1
        answer = app.scrollback.last_answer()
        assert answer is not None
        assert feeds == ["".join(f"w{n} " for n in range(1000))]
        assert answer.body.markdown == feeds[0]
        assert thinking_feeds == ["hm " * 1000]
        assert not app.frames.pending  # nothing new: no next frame


async def test_each_frame_takes_only_what_arrived_since_the_last(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = _count_calls(monkeypatch, StreamingMarkdown, "feed")
    app = make_app(app_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        accumulator = _start_response(app)
        await pilot.pause()
        for burst in range(3):
            drawn = app.frames.frames
            _burst(app, accumulator, [TextDelta(0, f"b{burst}.{n} ") for n in range(50)])

            def drawn_next(drawn: int = drawn) -> bool:
                return app.frames.frames > drawn

            await wait_for(pilot, drawn_next)
        await pilot.pause(0.1)
        assert feeds == ["".join(f"b{burst}.{n} " for n in range(50)) for burst in range(3)]
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.body.markdown == "".join(feeds)


async def test_an_idle_app_schedules_no_frames_and_its_spinner_no_ticks(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text("an answer, " * 40, chunk=4)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"), animate=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        assert not app.frames.pending
        assert not app.spinner._timer._active.is_set()  # paused: no turn runs
        app.prompt_input.set_text("go")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.turn_worker is not None and not app.busy)
        await pilot.pause(0.2)
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.status == "complete"
        # The stream's last frame may still be due (the frame rate adapts); then nothing.
        await wait_for(pilot, lambda: not app.frames.pending, what="the last frame")
        drawn = app.frames.frames
        ticks = app.spinner.frame
        assert drawn >= 1
        await pilot.pause(0.6)  # three animation periods
        assert app.frames.frames == drawn
        assert not app.frames.pending
        assert app.spinner.frame == ticks
        assert not app.spinner._timer._active.is_set()


async def test_the_spinner_keeps_the_newest_state_and_asks_for_one_frame(
    app_env: Path,
) -> None:
    app = make_app(app_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.spinner.is_current = lambda _turn: True  # as while the turn worker runs
        app.spinner.begin()
        accumulator = _start_response(app)
        _burst(app, accumulator, [TextDelta(0, "x") for _ in range(500)])
        # Until the frame, the spinner has only remembered the newest event.
        assert app.spinner._latest is not None and app.spinner._latest.type == "text_delta"
        drawn = app.frames.frames
        await wait_for(pilot, lambda: app.frames.frames > drawn)
        assert app.spinner.state == "writing"
        app.spinner.stop()


class _Owner:
    """Stands in for the app as the painter: ``call_after_refresh`` runs at once."""

    def call_after_refresh(self, callback: Any, *args: Any) -> bool:
        callback(*args)
        return True


class _Puller:
    def __init__(self, cpu: list[float], cost: float) -> None:
        self.cpu = cpu
        self.cost = cost
        self.pulls = 0

    def pull(self) -> None:
        self.pulls += 1
        self.cpu[0] += self.cost


@pytest.mark.parametrize(
    ("cost", "interval"),
    [(0.0005, 1 / FrameClock.MAX_FPS), (0.01, 0.01 / FrameClock.BUDGET), (1.0, 0.5)],
)
async def test_the_frame_rate_follows_what_a_frame_costs(cost: float, interval: float) -> None:
    cpu = [0.0]
    clock = FrameClock(_Owner(), cpu_clock=lambda: cpu[0])  # type: ignore[arg-type]
    puller = _Puller(cpu, cost)
    clock.add(puller)
    clock.draw()
    clock.draw()
    assert puller.pulls == 2
    assert clock.interval == pytest.approx(interval)
    assert interval <= FrameClock.MAX_INTERVAL
