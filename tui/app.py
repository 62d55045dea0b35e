"""The full-screen app: layout, turn worker, bus wiring, keys and commands.

The turn runs in a Textual worker whose runner sink publishes every event on
the ``MessageBus`` tagged with the conversation and turn ids. The scrollback,
thinking pane, spinner and status bar subscribe (each event is posted to the
widget's own message queue, never called from the worker), and so does the
storage recorder. Heavy modules (providers, storage, Markdown) are imported
when first needed so the first frame comes quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ikigai.engine.session import ChatSession, initial_run
from ikigai.tui.bus import BusEvent, MessageBus
from ikigai.tui.history import PromptHistory
from ikigai.tui.keys import default_bindings, effective_keys, resolve_keymap
from ikigai.tui.terminal_guard import CONTROL_FILTER
from ikigai.tui.widgets.bus_link import BusMessage, forward_to
from ikigai.tui.widgets.prompt_input import PromptInput
from ikigai.tui.widgets.scrollback import SCROLLBACK_EVENTS, Scrollback
from ikigai.tui.widgets.spinner import Spinner
from ikigai.tui.widgets.status_bar import StatusBar
from ikigai.tui.widgets.thinking_pane import THINKING_EVENTS, ThinkingPane

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from textual.filter import LineFilter

    from ikigai.engine.settings import Config, RunConfig
    from ikigai.engine.toolloop import Approval, ToolLoop
    from ikigai.engine.turns import TurnOutcome
    from ikigai.providers.events import Error
    from ikigai.providers.request import ToolCallBlock
    from ikigai.storage.models import StoredMessage

SPINNER_EVENTS = frozenset(
    {
        "user_prompt",
        "start",
        "thinking_delta",
        "text_delta",
        "tool_call_start",
        "tool_run",
        "tool_result",
        "retry",
    }
)


class IkigaiApp(App[int]):
    """The chat app. ``clock`` and ``animate`` exist for deterministic snapshots."""

    CSS_PATH = "app.tcss"
    TITLE = "ikigai"
    BINDINGS: ClassVar[list[BindingType]] = list(default_bindings())

    def __init__(
        self,
        session: ChatSession,
        *,
        db_flag: str | None = None,
        resume: int | str | None = None,
        problems: list[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        history: PromptHistory | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.db_flag = db_flag
        self.resume = resume
        self.problems = list(problems or [])
        self.clock = clock
        self.animations = animate
        self.bus = MessageBus()
        self.prompt_history = history if history is not None else PromptHistory()
        self.marks: dict[str, tuple[int, int]] = {}
        self.turn_id = 0
        self.turn_worker: Worker[TurnOutcome] | None = None
        self.storage_ready = asyncio.Event()
        self.oldest_shown: int | None = None
        self.last_prompt: str | None = None
        self._tool_loop: ToolLoop | None = None
        keymap, warnings = resolve_keymap(session.config.get("keys", {}))
        self.keymap = keymap
        self.problems.extend(warnings)
        ui = session.config.get("ui", {})
        self.show_thinking = bool(ui.get("show_thinking", True))
        self.theme_name = ui.get("theme") or "textual-dark"

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the guard that keeps control characters off the terminal."""
        return [*super().get_line_filters(), CONTROL_FILTER]

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield Scrollback(is_current=self.is_current, advise=self.advise, id="scrollback")
            yield ThinkingPane(is_current=self.is_current, id="thinking")
        yield Spinner(
            is_current=self.is_current_turn, clock=self.clock, animate=self.animations, id="spinner"
        )
        yield PromptInput(self.prompt_history, self.complete, blink=self.animations, id="input")
        yield Footer()

    @property
    def scrollback(self) -> Scrollback:
        return self.query_one("#scrollback", Scrollback)

    @property
    def spinner(self) -> Spinner:
        return self.query_one("#spinner", Spinner)

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
        self.query_one("#thinking").display = self.show_thinking
        self.bus.subscribe(self._record)
        self.bus.subscribe(forward_to(self.scrollback, SCROLLBACK_EVENTS))
        self.bus.subscribe(forward_to(self.query_one("#thinking", ThinkingPane), THINKING_EVENTS))
        self.bus.subscribe(forward_to(self.spinner, SPINNER_EVENTS))
        self.bus.subscribe(forward_to(self, {"done"}))
        self.prompt_input.focus()
        self.update_status()
        self.run_worker(self._open_storage(), group="storage", exit_on_error=False)

    async def on_unmount(self) -> None:
        # However the app ends, a running turn is stored as interrupted and the
        # database thread does not outlive the app.
        await self.cancel_and_wait(show=False)
        await self.session.close()

    async def _open_storage(self) -> None:
        session = self.session
        try:
            await session.open_database(self.db_flag)
        except Exception as exc:
            self.scrollback.note(f"storage unavailable: {exc}", warning=True)
            return
        assert session.db is not None
        target: int | None = None
        if isinstance(self.resume, int):
            if await session.db.get_conversation(self.resume) is None:
                self.problems.append(f"no conversation {self.resume}; starting a new one")
            else:
                target = self.resume
        elif self.resume == "last":
            target = await session.db.newest_conversation_id()
        if target is not None:
            await self.show_conversation(target)
            return
        await session.start_conversation()
        self.reset_tools()
        self.welcome()
        self.storage_ready.set()

    def welcome(self) -> None:
        """The first lines of a new conversation: what is set up, and any problem."""
        run = self.session.run
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
        missing = self.session.missing_key_message()
        if missing:
            self.scrollback.note(missing, warning=True)
        self.update_status()

    def update_status(self) -> None:
        """Redraw the status bar from the session."""
        session = self.session
        run = session.run
        tokens = session.tokens
        warning = f"set {' or '.join(session.missing_key_vars)}" if session.missing_key_vars else ""
        self.query_one("#status", StatusBar).show(
            profile=run.profile,
            model=run.model_spec,
            thinking=run.thinking,
            last_tokens=(tokens.last_input, tokens.last_output),
            total_tokens=tokens.total,
            conversation=session.conversation_id,
            warning=warning,
        )

    # -- bus subscribers owned by the app ------------------------------------------------

    def _record(self, event: BusEvent) -> Awaitable[None] | None:
        # The recorder returns an awaitable only when it writes; the bus awaits it.
        recorder = self.session.recorder
        if recorder is not None and recorder.conversation_id == event.conversation_id:
            return recorder(event.response_number, event.event)
        return None

    def on_bus_message(self, message: BusMessage) -> None:
        usage = message.bus_event.event.usage  # type: ignore[union-attr]
        if message.bus_event.conversation_id == self.session.conversation_id:
            self.session.add_usage(usage.input_tokens, usage.output_tokens)
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

    def advise(self, error: Error) -> str:
        """What to do about a provider error, with this session's key names and URL."""
        from ikigai.tui.widgets.message_views import error_advice

        run = self.session.run
        return error_advice(
            error,
            keys=run.key_env_vars,
            base_url=run.options.base_url,
            provider=run.provider,
        )

    # -- sending -------------------------------------------------------------------------

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
        if self.session.missing_key_vars:
            self.scrollback.note(self.session.missing_key_message() or "", warning=True)
            return
        self.prompt_history.add(text)
        self.prompt_input.set_text("")
        self.start_turn(text)

    def on_prompt_input_completions(self, message: PromptInput.Completions) -> None:
        self.scrollback.note("  ".join(message.candidates[:30]))

    def on_prompt_input_scroll_request(self, message: PromptInput.ScrollRequest) -> None:
        if message.where == "home":
            self.action_scroll_top()
        else:
            self.action_scroll_bottom()

    async def _command(self, line: str) -> None:
        from ikigai.tui.commands import execute

        await self.storage_ready.wait()
        await execute(self, line)

    def complete(self, text: str) -> tuple[str, list[str]]:
        """Tab completion for the input."""
        from ikigai.tui.commands import complete

        return complete(text, self)

    def start_turn(self, prompt: str) -> int:
        """Run ``prompt`` as a new turn in a worker; returns the turn id."""
        self.turn_id += 1
        self.last_prompt = prompt
        self.spinner.begin()
        self.turn_worker = self.run_worker(
            self._turn(prompt, self.turn_id), group="turn", exit_on_error=False
        )
        return self.turn_id

    async def _turn(self, prompt: str, turn_id: int) -> TurnOutcome:
        from ikigai.engine.tools import default_registry
        from ikigai.engine.turns import TurnRunner, TurnSettings

        await self.storage_ready.wait()
        session = self.session
        run = session.run
        runner = TurnRunner(
            session.provider(),
            TurnSettings(
                model=run.model,
                system=run.system_prompt,
                thinking=run.thinking,
                max_output_tokens=run.max_output_tokens,
                tools=default_registry().specs(),
                max_turns=run.max_turns,
            ),
            self.bus.sink_for(session.conversation_id, turn_id),
            history=session.history,
            tools=self.tool_loop(),
        )
        return await runner.run(prompt)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "command" and event.state == WorkerState.ERROR:
            self.scrollback.note(f"command failed: {worker.error}", warning=True)
        if worker is not self.turn_worker or not worker.is_finished:
            return
        if event.state == WorkerState.SUCCESS:
            outcome = worker.result
            assert outcome is not None
            if outcome.status == "max_turns":
                self.spinner.stop(f"stopped after {outcome.responses} responses (max_turns)")
            elif outcome.status == "error":
                self.spinner.stop("✗ the request failed")
            else:
                self.spinner.stop()
        elif event.state == WorkerState.ERROR:
            self.spinner.stop("✗ failed")
            self.scrollback.post_message(Scrollback.CloseTurn(self.turn_id, "error"))
            self.scrollback.note(f"the turn failed: {worker.error!r}", warning=True)
        else:
            self.spinner.stop("⏹ interrupted")

    # -- tools -----------------------------------------------------------------------------

    def reset_tools(self) -> None:
        """Forget "always" answers (a new or another conversation)."""
        self._tool_loop = None

    def tool_loop(self) -> ToolLoop:
        """The conversation's tool loop (policy from ``[tools]``, approval by prompt)."""
        if self._tool_loop is None:
            from ikigai.engine.toolloop import ToolLoop
            from ikigai.engine.tools import (
                PolicyError,
                ToolContext,
                ToolPolicy,
                default_registry,
                parse_policy,
            )

            try:
                policy = parse_policy(self.session.config.get("tools", {}))
            except PolicyError as exc:
                self.scrollback.note(f"[tools] {exc}; using the default policy", warning=True)
                policy = ToolPolicy()
            context = ToolContext(
                cwd=Path.cwd(), secret_env_names=frozenset(self.session.run.key_env_vars)
            )
            self._tool_loop = ToolLoop(default_registry(), context, policy, self.approve)
        return self._tool_loop

    async def approve(self, call: ToolCallBlock) -> Approval:
        """The approver of the tool loop: the approval prompt, as a modal screen."""
        from ikigai.tui.screens.approval import ApprovalScreen

        answer: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()
        screen = ApprovalScreen(call)

        def done(result: Approval | None) -> None:
            if not answer.done():
                from ikigai.engine.toolloop import Approval as _Approval

                answer.set_result(result if result is not None else _Approval("deny"))

        self.push_screen(screen, done)
        # Through the spinner's own queue, after the tool_run event already queued there.
        self.spinner.call_later(self.spinner.set_state, "waiting for your approval")
        try:
            return await answer
        finally:
            if screen.is_active:
                screen.dismiss(None)
            self.spinner.call_later(self.spinner.set_state, "running a tool")

    # -- actions ---------------------------------------------------------------------------

    def action_cancel(self) -> None:
        """Esc: cancel the running turn, keeping (and storing) the partial answer."""
        if not self.busy:
            return
        assert self.turn_worker is not None
        self.turn_worker.cancel()
        self.scrollback.post_message(Scrollback.CloseTurn(self.turn_id, "interrupted"))
        self.spinner.stop("⏹ interrupted")

    async def cancel_and_wait(self, *, show: bool = True) -> None:
        """Cancel a running turn and wait until its end is stored (``show``: on screen too)."""
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
        await self.cancel_and_wait()
        await self.storage_ready.wait()
        self.turn_id += 1
        self.marks.clear()
        self.scrollback.clear_messages()
        self.query_one("#thinking", ThinkingPane).view.clear()
        self.scrollback.has_earlier = False
        await self.session.start_conversation()
        self.reset_tools()
        self.welcome()

    async def show_conversation(self, conversation_id: int) -> None:
        """Open a stored conversation: its last 50 messages first, then its context and marks.

        Sending waits for the context (``storage_ready``), not the screen.
        """
        from ikigai.tui.widgets.restore import views_from_rows

        await self.cancel_and_wait()
        ready = self.storage_ready
        ready.clear()
        self.turn_id += 1
        session = self.session
        rows = await session.open_conversation(conversation_id)
        self.marks = {}
        self.reset_tools()
        scrollback = self.scrollback
        scrollback.clear_messages()
        self.query_one("#thinking", ThinkingPane).view.clear()
        self.oldest_shown = rows[0].id if rows else None
        scrollback.has_earlier = len(rows) >= 50
        await scrollback.mount_all(views_from_rows(rows, self.advise), before=scrollback.marker)
        scrollback.anchor()
        scrollback.note(f"resumed conversation #{conversation_id}")
        self.show_problems()
        # Rebuilding the context reads every row: let the screen paint first.
        painted = asyncio.Event()
        self.call_after_refresh(painted.set)
        await painted.wait()
        self.marks = marks_in_context(await session.load_context())
        ready.set()

    async def on_scrollback_load_earlier(self, message: Scrollback.LoadEarlier) -> None:
        from ikigai.tui.widgets.restore import views_from_rows

        db = self.session.db
        if db is None or self.oldest_shown is None:
            return
        rows = await db.load_messages(self.session.conversation_id, 50, before_id=self.oldest_shown)
        self.scrollback.has_earlier = len(rows) >= 50
        if rows:
            self.oldest_shown = rows[0].id
            self.scrollback.prepend(views_from_rows(rows, self.advise))

    def action_open_picker(self) -> None:
        """Ctrl+O: the conversation picker."""
        self.show_picker()

    def show_picker(self) -> None:
        """Open the picker; the chosen conversation is resumed."""
        from ikigai.tui.screens.picker import PickerScreen

        if self.session.db is None:
            self.scrollback.note("storage is not open yet", warning=True)
            return

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None and conversation_id != self.session.conversation_id:
                self.run_worker(self.show_conversation(conversation_id), group="open")

        self.push_screen(PickerScreen(self.session.db, self.session.conversation_id), chosen)

    def action_toggle_thinking(self) -> None:
        """Ctrl+T: show or hide the thinking pane."""
        pane = self.query_one("#thinking", ThinkingPane)
        pane.display = not pane.display

    def action_help(self) -> None:
        """F1: the help screen."""
        self.show_help()

    def show_help(self) -> None:
        from ikigai.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(effective_keys(self.keymap)))

    def action_copy_last(self) -> None:
        """Ctrl+Y: copy the last answer (OSC 52)."""
        self.copy_last()

    def copy_last(self) -> None:
        answer = self.scrollback.last_answer()
        if answer is None:
            self.notify("no answer to copy yet", severity="warning")
            return
        self._copy(answer.copy_text, "the last answer")

    def copy_message(self, back: int) -> None:
        """Copy the ``back``-th message from the end (1 = the last)."""
        views = [v for v in self.scrollback.messages() if hasattr(v, "copy_text")]
        if not 1 <= back <= len(views):
            self.scrollback.note(f"/copy: there are {len(views)} messages", warning=True)
            return
        self._copy(str(views[-back].copy_text), f"message {back} from the end")

    def copy_code(self, number: int) -> None:
        """Copy code block ``number`` of the last answer."""
        answer = self.scrollback.last_answer()
        blocks = answer.code_blocks if answer is not None else []
        if not 1 <= number <= len(blocks):
            self.scrollback.note(
                f"/copy code: the last answer has {len(blocks)} code blocks", warning=True
            )
            return
        self._copy(blocks[number - 1], f"code block {number}")

    def _copy(self, text: str, what: str) -> None:
        self.copy_to_clipboard(text)
        self.notify(f"copied {what} ({len(text)} characters)")

    def action_copy_picker(self) -> None:
        """Ctrl+G: choose any message or code block to copy."""
        from ikigai.tui.screens.copy import CopyScreen

        self.push_screen(CopyScreen(self.scrollback.messages()), self._copied)

    def _copied(self, choice: tuple[str, str] | None) -> None:
        if choice is not None:
            self._copy(choice[1], choice[0])

    def action_scroll_page_up(self) -> None:
        self.scrollback.scroll_page_up()

    def action_scroll_page_down(self) -> None:
        self.scrollback.scroll_page_down()

    def action_scroll_top(self) -> None:
        self.scrollback.scroll_home(animate=False)

    def action_scroll_bottom(self) -> None:
        self.scrollback.action_scroll_end_follow()

    async def action_quit(self) -> None:
        """Ctrl+Q: cancel and store a running turn, then quit."""
        await self.quit_app()

    async def quit_app(self) -> None:
        await self.cancel_and_wait(show=False)
        await self.session.close()
        self.exit(0)

    def retry(self) -> None:
        """Regenerate the last answer: the context goes back to before the last prompt."""
        if self.busy:
            self.scrollback.note("a turn is running — Esc first", warning=True)
            return
        history = self.session.history
        last_user = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None
        )
        if last_user is None:
            self.scrollback.note("/retry: nothing to regenerate yet", warning=True)
            return
        prompt = history[last_user].text()
        del history[last_user:]
        self.start_turn(prompt)

    async def apply_run(self, run: RunConfig, command: str) -> None:
        """Switch profile/model/thinking/system prompt from the next turn on (stored)."""
        session = self.session
        session.switch(run)
        self.reset_tools()
        await session.note(
            "command",
            command,
            {
                "profile": run.profile,
                "provider": run.provider,
                "model": run.model,
                "thinking_level": run.thinking,
            },
        )
        self.scrollback.note(
            f"› {command} — now {run.profile} · {run.model_spec} · thinking {run.thinking or 'off'}"
        )
        self.show_problems()

    def note(self, text: str, *, warning: bool = False) -> None:
        """A one-line note in the scrollback (commands use it)."""
        self.scrollback.note(text, warning=warning)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Ctrl+P lists every action of the app, and Textual's own."""
        yield from super().get_system_commands(screen)
        for binding in default_bindings():
            action = getattr(self, f"action_{binding.action}", None)
            if action is not None and binding.action != "quit":
                yield SystemCommand(binding.description, action.__doc__ or "", action)


def marks_in_context(rows: list[StoredMessage]) -> dict[str, tuple[int, int]]:
    """The marks a stored conversation's context still has: label -> (row id, context length)."""
    from ikigai.engine.recording import history_from_messages

    marks: dict[str, tuple[int, int]] = {}
    for position, row in enumerate(rows):
        if row.kind == "mark":
            marks[row.content] = (row.id, len(history_from_messages(rows[:position])))
        elif row.kind == "clear":
            marks.clear()
    return marks


def run_app(args: argparse.Namespace) -> int:
    """Open the full-screen app with the CLI's flags; returns the exit status."""
    from ikigai.engine.settings import ConfigError, load_settings

    try:
        config, _ = load_settings(args.config)
    except ConfigError as exc:
        print(f"ikigai: {exc}", file=sys.stderr)
        return 2
    app = build_app(config, args)
    result = app.run()
    return int(result or 0)


def build_app(config: Config, args: argparse.Namespace, **options: Any) -> IkigaiApp:
    """The app for ``config`` and the CLI flags (tests pass ``clock``/``history``)."""
    run, problem = initial_run(config, args)
    session = ChatSession(config, run, base_url=getattr(args, "base_url", None))
    resume: int | str | None = None
    if getattr(args, "conversation", None) is not None:
        resume = int(args.conversation)
    elif getattr(args, "continue_last", False) or config["ui"]["on_start"] == "resume":
        resume = "last"
    return IkigaiApp(
        session,
        db_flag=getattr(args, "db", None),
        resume=resume,
        problems=[problem] if problem else [],
        **options,
    )
