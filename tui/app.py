"""The full-screen app: layout, the turn worker, bus wiring, keys.

The app holds the engine's ``Conversation`` and calls its verbs. A turn runs in
a worker that iterates the engine's ``Turn`` and publishes every event on the
``MessageBus`` tagged with the turn id and the response's accumulator; the
scrollback, thinking pane, spinner and status bar subscribe. Structural
events are posted to each widget's own queue; deltas only wake the frame
clock (``tui.frames``), which has the widgets pull the new text from the
accumulator once a frame. Storage is the engine's business and runs beside
the display: nothing here waits on the disk. Heavy modules load when first
needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ikigai.tui import signals
from ikigai.tui.actions import ViewActions
from ikigai.tui.branching import BranchActions
from ikigai.tui.bus import BusEvent, MessageBus
from ikigai.tui.completion import CompletionActions
from ikigai.tui.frames import FrameClock
from ikigai.tui.history import PromptHistory
from ikigai.tui.input_priority import InputFirst, priority_of
from ikigai.tui.keys import default_bindings, input_keys, resolve_keymap
from ikigai.tui.launch import close_session, open_session
from ikigai.tui.terminal_guard import CONTROL_FILTER
from ikigai.tui.thinking_marks import ThinkingMarks
from ikigai.tui.widgets.bus_link import BusMessage
from ikigai.tui.widgets.completion_popup import CompletionPopup
from ikigai.tui.widgets.prompt_input import PromptInput
from ikigai.tui.widgets.scrollback import Scrollback
from ikigai.tui.widgets.spinner import Spinner
from ikigai.tui.widgets.status_bar import StatusBar, StatusInfo
from ikigai.tui.widgets.thinking_pane import ThinkingPane
from ikigai.tui.wiring import wire

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.filter import LineFilter

    from ikigai.engine.conversation import Conversation
    from ikigai.engine.events import Notice
    from ikigai.engine.settings import RunConfig, Settings
    from ikigai.engine.turns import Turn, TurnOutcome
    from ikigai.providers.events import Error
    from ikigai.tui.launch import Launch


class IkigaiApp(InputFirst, BranchActions, ViewActions, CompletionActions):
    """The chat app. ``clock`` and ``animate`` exist for deterministic snapshots."""

    CSS_PATH = "app.tcss"
    TITLE = "ikigai"
    BINDINGS: ClassVar[list[BindingType]] = list(default_bindings())
    status_info: reactive[StatusInfo] = reactive(StatusInfo)
    """What the status bar shows (bound to it)."""

    def __init__(
        self,
        settings: Settings,
        run: RunConfig,
        *,
        launch: Launch | None = None,
        problems: list[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        history: PromptHistory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.initial_run = run
        self.launch = launch or Launch()
        self.problems = list(problems or [])
        self.clock = clock
        self.animations = animate
        self.bus = MessageBus()
        self.frames = FrameClock(self, on_error=self._handle_exception, yield_to=priority_of(self))
        self.prompt_history = history if history is not None else PromptHistory()
        self.turn_id = 0
        self.turn_worker: Worker[TurnOutcome | None] | None = None
        self.thinking_marks = ThinkingMarks(self)
        self.models_fetched = set()
        self.last_turn: Turn | None = None
        self.ready = asyncio.Event()
        """Set once the conversation exists (stored or not): prompts and commands wait on it."""
        self._conversation: Conversation | None = None
        self.closed = False
        self.stopping_signal: int | None = None
        self.unsaved_at_exit = ""
        """Set when the app closed with messages storage could not take (said after exit)."""
        self.oldest_shown: int | None = None
        self.keymap, warnings = resolve_keymap(settings.keys)
        self.problems.extend(warnings)
        self.show_thinking = settings.ui.show_thinking
        self.theme_name = settings.ui.theme or "textual-dark"

    @property
    def conversation(self) -> Conversation:
        """The engine's conversation (exists once ``ready`` is set)."""
        assert self._conversation is not None, "the conversation is not open yet"
        return self._conversation

    def attach(self, conversation: Conversation) -> None:
        """Use ``conversation`` (once, when the session opens)."""
        self._conversation = conversation

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the guard that keeps control characters off the terminal."""
        return [*super().get_line_filters(), CONTROL_FILTER]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status").data_bind(info=IkigaiApp.status_info)
        with Horizontal(id="main"):
            yield Scrollback(is_current=self.is_current, advise=self.advise, id="scrollback")
            yield ThinkingPane(is_current=self.is_current, id="thinking")
        yield Spinner(
            is_current=self.is_current_turn, clock=self.clock, animate=self.animations, id="spinner"
        )
        popup = CompletionPopup(id="completions")
        yield PromptInput(
            self.prompt_history,
            self.complete,
            blink=self.animations,
            submit_keys=input_keys(self.keymap, "submit"),
            newline_keys=input_keys(self.keymap, "newline"),
            popup=popup,
            id="input",
        )
        yield popup
        yield Footer(compact=True)

    @property
    def scrollback(self) -> Scrollback:
        return self.query_one("#scrollback", Scrollback)

    @property
    def spinner(self) -> Spinner:
        return self.query_one("#spinner", Spinner)

    @property
    def thinking_pane(self) -> ThinkingPane:
        return self.query_one("#thinking", ThinkingPane)

    @property
    def prompt_input(self) -> PromptInput:
        return self.query_one("#input", PromptInput)

    def on_mount(self) -> None:
        if self.theme_name in self.available_themes:
            self.theme = self.theme_name
        else:
            self.problems.append(f"[ui] theme {self.theme_name!r} is unknown; using textual-dark")
        if self.keymap:
            self.set_keymap(self.keymap)
        self.thinking_pane.start(self.show_thinking)
        wire(self)
        self.prompt_input.focus()
        self.update_status()
        signals.install(self)
        # After the first frame: opening imports the engine, httpx and storage.
        self.call_after_refresh(self.run_worker, self._open(), group="storage", exit_on_error=False)

    async def on_unmount(self) -> None:
        # However the app ends, a running turn is stored as interrupted and the
        # database thread does not outlive the app.
        self.frames.close()
        await self.cancel_and_wait(show=False)
        await close_session(self)

    async def _open(self) -> None:
        from ikigai.engine.collector import resume_after_startup

        try:
            await open_session(self)
        finally:
            resume_after_startup()  # start-up is over (engine.collector)
            self.ready.set()

    def welcome(self) -> None:
        """The first lines of a new conversation: what is set up, and any problem."""
        run = self.conversation.run
        self.scrollback.note(
            f"ikigai · profile {run.profile} · {run.provider}/{run.model} · "
            "Enter sends · F1 help · Ctrl+P commands"
        )
        self.show_problems()

    def show_problems(self) -> None:
        """Config problems and a missing key, on screen."""
        for problem in self.problems:
            self.scrollback.note(problem, warning=True)
        self.problems.clear()
        run = self.current_run
        for line in [run.missing_key_message(), *run.sending_problems(), *run.fallback_warnings()]:
            if line:
                self.scrollback.note(line, warning=True)
        self.update_status()

    @property
    def current_run(self) -> RunConfig:
        """The run configuration in force (the initial one until the conversation exists)."""
        return self._conversation.run if self._conversation is not None else self.initial_run

    def update_status(self) -> None:
        """Refresh the status bar's information from the conversation."""
        from ikigai.tui.status import status_info

        self.status_info = status_info(self)

    def on_engine_notice(self, notice: Notice) -> None:
        """Storage trouble, compaction and AGENTS.md notes from the engine, and the bar."""
        if not self.is_running or not self.screen_stack:
            return  # closing: what was not saved is said on stderr after exit
        from ikigai.tui.context_view import show_notice

        show_notice(self, notice)
        self.update_status()

    def on_bus_message(self, message: BusMessage) -> None:
        if self.is_current(message.bus_event.turn_id):
            self.update_status()

    def is_current(self, turn_id: int) -> bool:
        """Whether events of ``turn_id`` should still be shown (not superseded)."""
        return turn_id == self.turn_id

    def is_current_turn(self, turn_id: int) -> bool:
        """Whether ``turn_id`` is the turn running now."""
        return turn_id == self.turn_id and self.busy

    @property
    def busy(self) -> bool:
        """True while a turn runs."""
        return self.turn_worker is not None and not self.turn_worker.is_finished

    def advise(self, error: Error, partial: bool | None = None) -> str:
        """What to do about a provider error (``tui.advice``; ``partial``: part of the
        answer arrived first, ``None``: the last turn says)."""
        from ikigai.tui.advice import advice_for

        return advice_for(self, error, partial)

    def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        text = message.text
        if not text.strip():
            return
        if text.lstrip().startswith("/"):
            self.prompt_history.add(text)
            self.prompt_input.set_text("")
            self.run_worker(self._command(text.strip()), group="command", exit_on_error=False)
            return
        if self.busy:
            self.scrollback.note(
                "a turn is running: your prompt stays in the input — Esc cancels the turn",
                warning=True,
            )
            return
        if self._conversation is not None and self._conversation.compacting:
            self.scrollback.note("compacting: your prompt stays in the input", warning=True)
            return
        missing = self.current_run.missing_key_message()
        if missing:
            self.scrollback.note(missing, warning=True)
            return
        self.prompt_history.add(text)
        self.prompt_input.set_text("")
        self.turn_id += 1
        self.spinner.begin()
        self.turn_worker = self.run_worker(
            self._send(text, self.turn_id), group="turn", exit_on_error=False
        )

    async def _send(self, prompt: str, turn_id: int) -> TurnOutcome | None:
        await self.ready.wait()
        turn = await self.branches.turn_for(prompt)
        return await self._run_turn(turn, turn_id) if turn is not None else None

    def start(self, turn: Turn) -> None:
        """Run an engine ``turn`` (``/retry``) in the turn worker."""
        self.turn_id += 1
        self.spinner.begin()
        self.turn_worker = self.run_worker(
            self._run_turn(turn, self.turn_id), group="turn", exit_on_error=False
        )

    async def _run_turn(self, turn: Turn, turn_id: int) -> TurnOutcome | None:
        publish = self.bus.publish
        self.last_turn = turn
        try:
            async for event in turn:
                publish(BusEvent(turn_id, turn.response_number, event, turn.row, turn.accumulator))
        finally:
            turn.cancel()  # a turn the worker never got to start must not stay "running"
        return turn.outcome

    async def _command(self, line: str) -> None:
        from ikigai.tui.commands import execute

        await self.ready.wait()
        await execute(self, line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "command" and event.state == WorkerState.ERROR:
            self.scrollback.note(f"command failed: {worker.error}", warning=True)
        if worker is not self.turn_worker or not worker.is_finished:
            return
        if event.state == WorkerState.SUCCESS:
            self.spinner.ended(worker.result)
        elif event.state == WorkerState.ERROR:
            self.spinner.stop("✗ failed")
            self.scrollback.post_message(Scrollback.CloseTurn(self.turn_id, "error"))
            self.scrollback.note(f"the turn failed: {worker.error}", warning=True)
        else:
            self.spinner.stop()  # the transcript says it (tui.interruption)
        self.update_status()
        self.branches.turn_ended()

    def action_cancel(self) -> None:
        """Esc: cancel the running turn, keeping (and storing) the partial answer."""
        if not self.busy:
            self.branches.cancel_edit()
            return
        from ikigai.tui.interruption import interruption_note

        assert self.turn_worker is not None
        note = interruption_note(self.spinner.state)
        self.turn_worker.cancel()
        self.scrollback.post_message(Scrollback.CloseTurn(self.turn_id, "interrupted", note))
        self.thinking_marks.turn_closed(self.turn_id)
        self.spinner.stop()

    async def cancel_and_wait(self, *, show: bool = True) -> None:
        """Cancel a running turn and wait until it ended (``show``: on screen too)."""
        worker = self.turn_worker
        if worker is None or worker.is_finished:
            return
        if show:
            self.action_cancel()
        else:
            worker.cancel()
        from textual.worker import WorkerCancelled, WorkerFailed

        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()

    async def action_new_conversation(self) -> None:
        """Ctrl+N: a new conversation."""
        await self.new_conversation()

    async def new_conversation(self) -> None:
        """Cancel any running turn and start a new, empty conversation."""
        from ikigai.tui.switching import new_conversation

        await new_conversation(self)

    async def show_conversation(self, conversation_id: int) -> bool:
        """Open a stored conversation (False, with a note, when it cannot be opened)."""
        from ikigai.tui.switching import show_conversation

        return await show_conversation(self, conversation_id)

    async def on_scrollback_load_earlier(self, message: Scrollback.LoadEarlier) -> None:
        from ikigai.tui.switching import load_earlier

        await load_earlier(self)

    async def action_quit(self) -> None:
        """Ctrl+Q: cancel and store a running turn, then quit."""
        await self.quit_app()

    async def quit_app(self) -> None:
        await self.cancel_and_wait(show=False)
        await close_session(self)
        self.exit(0)

    def note(self, text: str, *, warning: bool = False) -> None:
        """A one-line note in the scrollback (commands use it)."""
        self.scrollback.note(text, warning=warning)

    def switched(self, run: RunConfig, command: str) -> None:
        """After a profile/model/thinking/system switch: say so and redraw the status bar."""
        self.scrollback.note(
            f"› {command} — now {run.profile} · {run.model_spec} · thinking {run.thinking or 'off'}"
        )
        self.show_problems()
