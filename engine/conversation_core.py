"""The conversation's state and the plumbing every verb shares.

``ConversationCore`` holds what a ``Conversation`` is made of (run
configuration, context, marks, the storage writer, the tool loop, the
provider) and the helpers its verbs use: row requests to the background
writer, the context rebuilt from stored rows, the tool loop's setup. The verbs
themselves are in ``engine.conversation`` (turns, marks, switches, moving
between conversations), ``engine.branch_verbs`` and ``engine.context_verbs``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ikigai.engine.context import Rebuilt, rebuild_stepwise
from ikigai.engine.events import (
    Notice,
    RunnerEvent,
    Stored,
)
from ikigai.engine.meter import ContextMeter, CostTally
from ikigai.engine.settings import ConfigError, RunConfig, Settings
from ikigai.engine.turns import Turn
from ikigai.providers.request import Message

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.mcp.manager import McpManager
    from ikigai.engine.project_docs import ProjectDocs
    from ikigai.engine.toolloop import ToolLoop
    from ikigai.engine.tools.base import ToolContext
    from ikigai.providers.base import HttpProvider, Provider
    from ikigai.storage.errors import StorageError
    from ikigai.storage.repository import Database
    from ikigai.storage.writer import RowRef, StorageWriter, Target

from ikigai.engine.conversation_types import (
    Busy,
    ConversationError,
    LiveMark,
    Tokens,
    ToolAccess,
)


class ConversationCore:
    """The state of the current conversation, and what every verb needs."""

    async def _load_context(self, conversation_id: int, leaf: int | None) -> None:
        db = self._require_db()
        rows = await db.path_messages(conversation_id, leaf)
        # A step at a time, so the screen keeps painting meanwhile.
        rebuilt = await rebuild_stepwise(rows)
        self._adopt(rebuilt)

    def __init__(
        self,
        settings: Settings,
        run: RunConfig,
        *,
        db: Database | None = None,
        tools: ToolAccess | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        prompt_must_be_stored: bool = False,
        prompt_wait: float | None = 0.5,
        base_url: str | None = None,
        no_key: bool = False,
        strict: bool = False,
        report_rows: bool = False,
    ) -> None:
        """``strict`` (headless) raises ``ConfigError`` for a bad ``[tools]`` table; the
        app gets the default policy and the problem in ``problems``. ``report_rows``
        makes turns yield a ``Stored`` event for each message once it is stored
        (waiting for the disk; headless JSONL)."""
        self.settings = settings
        self._run = run
        self._base_url = base_url
        self._no_key = no_key
        self._flag_provider = run.provider
        self._notify = on_notice or (lambda notice: None)
        self._prompt_must_be_stored = prompt_must_be_stored
        self._prompt_wait = prompt_wait
        self.problems: list[str] = []
        self._db = db
        self._writer: StorageWriter | None = self._new_writer(db) if db is not None else None
        self._tools = self._tool_loop(tools or ToolAccess(), strict=strict)
        self._provider: HttpProvider | None = None
        self._provider_key: tuple[str, str, str | None] | None = None
        self._fallback_providers: dict[tuple[str, str, str | None], Provider] = {}
        self._turn: Turn | None = None
        self._conversation: RowRef | None = None
        self._context: list[Message] = []
        self._marks: dict[str, LiveMark] = {}
        self._mark_order = 0
        self._tokens = Tokens()
        self._leaf: Target = None
        self._last_prompt: RowRef | None = None
        self._ready: asyncio.Task[None] | None = None
        self._report_rows = report_rows
        self._written: list[tuple[str, RowRef, Target]] = []
        self._meter = ContextMeter()
        self._cost = CostTally()
        self._docs: ProjectDocs | None = None
        self._docs_told: set[str] = set()
        self._compacting = False

    @property
    def id(self) -> int | None:
        """The stored conversation's id (``None`` until its first row is written)."""
        return self._conversation.id if self._conversation is not None else None

    @property
    def run(self) -> RunConfig:
        """The run configuration the next turn uses."""
        return self._run

    @property
    def tokens(self) -> Tokens:
        """Token counts of the last response and the whole conversation."""
        return self._tokens

    @property
    def marks(self) -> tuple[str, ...]:
        """The labels of the marks the context still has, oldest first."""
        return tuple(self._marks)

    @property
    def busy(self) -> bool:
        """Whether a turn is running."""
        return self._turn is not None and self._turn.outcome is None

    @property
    def current_turn(self) -> Turn | None:
        """The turn running now, if any."""
        return self._turn if self.busy else None

    @property
    def db(self) -> Database | None:
        """The database (for browsing and search), or ``None`` when nothing is stored."""
        return self._db

    @property
    def stored(self) -> bool:
        """Whether this session stores conversations (a database is open and writable)."""
        return self._writer is not None and not self._writer.state.failed

    @property
    def storage_problem(self) -> str | None:
        """What keeps storage from working right now, or ``None``."""
        if self._writer is None:
            return None
        problem = self._writer.state.problem
        return str(problem) if problem is not None else None

    @property
    def tools_cwd(self) -> Path:
        """The working directory: where file tools and ``@path`` attachments start."""
        return self._tools.context.cwd

    @property
    def context_length(self) -> int:
        """Messages in the model context."""
        return len(self._context)

    def context(self) -> list[Message]:
        """A copy of the model context the next request would send."""
        return list(self._context)

    def provider(self, run: RunConfig | None = None) -> HttpProvider:
        """The provider for ``run`` (default: the current run configuration), created on
        first use."""
        run = run or self._run
        key = (run.provider, run.options.base_url, run.options.api_key)
        if self._provider is None or self._provider_key != key:
            from ikigai.providers.registry import create_provider

            self._provider = create_provider(run.provider, run.options)
            self._provider_key = key
        return self._provider

    def model_warning(self) -> str | None:
        """A warning when the model is unknown to its provider's table."""
        return self.provider().model_warning(self._run.model)

    def _adopt(self, rebuilt: Rebuilt) -> None:
        from ikigai.storage.writer import RowRef

        self._context[:] = rebuilt.context
        self._marks = {
            label: LiveMark(label, RowRef(mark.row_id), mark.length, order)
            for order, (label, mark) in enumerate(rebuilt.marks.items())
        }
        self._mark_order = len(self._marks)
        self._tokens = Tokens(
            rebuilt.last_input_tokens, rebuilt.last_output_tokens, rebuilt.total_tokens
        )
        self._meter.reset()
        if rebuilt.measured is not None:
            self._meter.seed(self._context, *rebuilt.measured)
        self._cost = CostTally(rebuilt.cost_usd, rebuilt.cost_partial)
        self._last_prompt = (
            RowRef(rebuilt.last_prompt_id) if rebuilt.last_prompt_id is not None else None
        )

    def _reset(self, conversation: RowRef | None) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()  # the context of a conversation no longer shown
        self._conversation = conversation
        self._context = []
        self._marks = {}
        self._mark_order = 0
        self._tokens = Tokens()
        self._leaf = None
        self._last_prompt = None
        self._ready = None
        self._tools.forget_answers()
        self._meter.reset()
        self._cost = CostTally()

    async def ready(self) -> None:
        """Wait until the model context of an opened conversation is rebuilt."""
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        task = self._ready
        if task is not None:
            try:
                await asyncio.shield(task)
            except Exception as exc:
                self._ready = None
                raise ConversationError(f"could not read the conversation: {exc}") from exc
            self._ready = None

    def _new_writer(self, db: Database) -> StorageWriter:
        from ikigai.storage.writer import StorageWriter

        return StorageWriter(db, on_problem=self._storage_problem, on_recovered=self._recovered)

    def _storage_problem(self, error: StorageError) -> None:
        from ikigai.storage.errors import DatabaseBusyError, DiskFullError

        if isinstance(error, DatabaseBusyError | DiskFullError):
            text = (
                f"not saved yet: {error} — ikigai keeps the conversation and saves it once it can"
            )
        elif self._writer is not None and self._writer.state.failed:
            text = f"not saved: {error} — the conversation goes on without being stored"
        else:
            text = f"not saved: {error}"
        self._notify(Notice(text))

    def _recovered(self) -> None:
        self._notify(Notice("saved again: the conversation is stored", "info"))

    def _write_message(
        self,
        kind: Any,
        content: str,
        data: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        *,
        status: Any = "complete",
        parent: Target = None,
        advance: bool = True,
    ) -> RowRef | None:
        writer = self._writer
        if writer is None or writer.state.failed:
            return None
        if self._conversation is None:
            self._conversation = writer.conversation()
        parent = self._leaf if parent is None else parent
        ref = writer.message(
            self._conversation, kind, content, data=data, status=status, parent=parent
        )
        if self._report_rows:
            self._written.append((str(kind), ref, parent))
        if advance:
            self._leaf = ref
        return ref

    def _write_stream(self, accumulator: ResponseAccumulator) -> RowRef | None:
        writer = self._writer
        if writer is None or writer.state.failed:
            return None
        if self._conversation is None:
            self._conversation = writer.conversation()
        ref = writer.stream(self._conversation, accumulator, parent=self._leaf)
        if self._report_rows:
            self._written.append(("assistant", ref, self._leaf))
        self._leaf = ref
        return ref

    async def _reported(self) -> list[RunnerEvent]:
        """``Stored`` events for the rows written since the last call, once they exist."""
        from ikigai.storage.writer import RowRef

        written, self._written = self._written, []
        writer = self._writer
        events: list[RunnerEvent] = []
        for position, (kind, ref, parent) in enumerate(written):
            if writer is None or self._conversation is None:
                break
            # Ids are not worth holding the stream: a locked database is known at once
            # (the impatient write) and a storage problem ends the wait.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._prompt_wait):
                    await writer.wait(ref, stop_on_problem=True, impatient=True)
            conversation_id = self._conversation.id
            if ref.id is None or conversation_id is None:
                if not ref.dropped:  # not written yet: said at the next chance, in order
                    self._written[:0] = written[position:]
                    break
                continue
            parent_id = parent.id if isinstance(parent, RowRef) else parent
            events.append(Stored(kind, ref.id, parent_id, conversation_id))
        return events

    def _finish_stream(self, ref: RowRef | None) -> None:
        if ref is not None and self._writer is not None:
            self._writer.finish(ref)

    def _require_db(self) -> Database:
        if self._db is None:
            raise ConversationError("conversations are not stored in this session")
        return self._db

    def _refuse_when_busy(self) -> None:
        if self.busy:
            raise Busy("a turn is running: wait for it or cancel it first (Esc)")
        if self._compacting:
            raise Busy("the conversation is being compacted: wait for it to finish")

    def _tool_loop(self, access: ToolAccess, *, strict: bool) -> ToolLoop:
        from ikigai.engine.toolloop import ToolLoop
        from ikigai.engine.tools.base import ToolContext
        from ikigai.engine.tools.policy import (
            PolicyError,
            ToolPolicy,
            parse_policy,
            resolve_headless,
        )

        tools = self.settings.tools
        servers = self.settings.mcp.servers
        try:
            policy = parse_policy(tools.permissions, mcp_servers=servers)
        except PolicyError as exc:
            if strict:
                raise ConfigError(str(exc)) from None
            self.problems.append(f"{exc}; using the default policy")
            policy = ToolPolicy()
        if access.approver is None:
            policy = resolve_headless(policy, access.allowed)
        context = ToolContext(
            cwd=access.cwd or Path.cwd(),
            secret_env_names=frozenset(self._secret_names()),
            env_allow=tools.env_allow,
            extra_env=dict(tools.env),
            tool_timeout=tools.timeout,
        )
        if tools.secret_patterns is not None:
            context = replace(context, secret_patterns=tools.secret_patterns)
        mcp = self._mcp_manager(context) if servers else None
        return ToolLoop(None, context, policy, access.approver, mcp)

    def _mcp_manager(self, context: ToolContext) -> McpManager:
        from ikigai.engine.mcp.manager import McpManager

        return McpManager(
            self.settings.mcp,
            cwd=context.cwd,
            secret_names=context.secret_env_names,
            notify=self._notify,
            output_cap=context.output_cap,
        )

    def _secret_names(self) -> Iterable[str]:
        """Every variable a configured provider's key may be read from."""
        from ikigai.providers.registry import PROVIDERS

        names = set(self._run.key_env_vars)
        for provider_id, info in PROVIDERS.items():
            names.update(info.key_env_vars)
            configured = self.settings.provider(provider_id).api_key_env
            if configured:
                names.add(configured)
        return names

    def _turn_ended(self, turn: Turn) -> None:
        if self._turn is turn:
            self._turn = None
