"""The conversation both front ends drive: its state, its verbs, and where it is stored.

A ``Conversation`` is the current conversation of a session (the app's window,
or one headless run). It owns the model context and marks (private), the run
configuration (profile, model, thinking, system prompt), the tool loop and its
policy, and the recording of everything into storage. The front ends call its
verbs and render what they yield:

* ``send(prompt)`` / ``regenerate()`` return a ``Turn``: ``async for event in
  turn`` runs it (``cancel()`` stops it, keeping what arrived);
* ``mark`` / ``rewind`` / ``clear`` change the context (and are stored);
* ``switch`` changes profile, model, thinking level or system prompt from the
  next turn on; ``export`` renders the stored conversation;
* ``new`` / ``open`` / ``load_earlier`` move between stored conversations.

Storage runs beside the conversation, never in front of it: rows go to a
background ``StorageWriter`` and nothing here awaits the disk, except that a
prompt is committed before its request is sent whenever storage works (a
headless run insists: it fails with ``PromptNotStored`` rather than send an
unsaved prompt; the app waits a moment, then goes on and saves it later).
Storage trouble is reported once through ``on_notice``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ikigai.engine.context import Rebuilt, rebuild
from ikigai.engine.events import Notice, ToolResultEvent
from ikigai.engine.settings import ConfigError, RunConfig, Settings, resolve_run
from ikigai.engine.turns import Turn, TurnSetup
from ikigai.providers.request import Message, ThinkingLevel

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.fallback import Candidate
    from ikigai.engine.toolloop import Approver, ToolLoop
    from ikigai.providers.base import HttpProvider, Provider
    from ikigai.storage.errors import StorageError
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.repository import Database
    from ikigai.storage.writer import RowRef, StorageWriter, Target

PAGE = 50
"""Messages shown when a conversation is opened (and per earlier page)."""


class ConversationError(Exception):
    """A verb that cannot be done now; the message says why, for the user."""


class Busy(ConversationError):
    """A turn is running; the verb must wait until it ends (or is cancelled)."""


class UnknownConversation(ConversationError):
    """The conversation id does not exist in the database."""


class PromptNotStored(ConversationError):
    """The prompt could not be stored and this conversation must not send it unsaved."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of the last response and of the whole conversation."""

    last_input: int = 0
    last_output: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Opened:
    """A stored conversation just opened: its id, last messages, and whether more exist."""

    id: int
    rows: list[StoredMessage]
    has_earlier: bool


@dataclass(frozen=True, slots=True)
class ToolAccess:
    """How tool calls are allowed in this session.

    ``approver`` asks the user (the app's prompt); without one (headless), a
    tool whose policy is ``ask`` runs only when ``allowed`` names it.
    """

    approver: Approver | None = None
    allowed: frozenset[str] = frozenset()
    cwd: Path | None = None


@dataclass(slots=True)
class _LiveMark:
    label: str
    ref: RowRef | None
    length: int
    order: int


class Conversation:
    """The current conversation of a session, and every verb the front ends use."""

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
        strict: bool = False,
    ) -> None:
        """``strict`` (headless) raises ``ConfigError`` for a bad ``[tools]`` table; the
        app gets the default policy and the problem in ``problems``."""
        self.settings = settings
        self._run = run
        self._base_url = base_url
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
        self._marks: dict[str, _LiveMark] = {}
        self._mark_order = 0
        self._tokens = Tokens()
        self._leaf: Target = None
        self._last_prompt: RowRef | None = None
        self._ready: asyncio.Task[None] | None = None

    # -- state the front ends read --------------------------------------------------------------

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
    def context_length(self) -> int:
        """Messages in the model context."""
        return len(self._context)

    def context(self) -> list[Message]:
        """A copy of the model context the next request would send."""
        return list(self._context)

    # -- turns ----------------------------------------------------------------------------------

    def send(self, prompt: str) -> Turn:
        """A turn answering ``prompt`` (iterate it to run it). Raises ``Busy`` during a turn."""
        if self.busy:
            raise Busy("a turn is running: wait for it or cancel it first")
        turn = Turn(prompt, self._prepare_send, on_end=self._turn_ended)
        self._turn = turn
        return turn

    def regenerate(self) -> Turn:
        """A new answer to the last prompt; the prompt is not stored again."""
        if self.busy:
            raise Busy("a turn is running: wait for it or cancel it first")
        position = next(
            (i for i in range(len(self._context) - 1, -1, -1) if self._context[i].role == "user"),
            None,
        )
        if position is None or self._last_prompt is None:
            raise ConversationError("nothing to regenerate yet")
        prompt = self._context[position].text()
        prompt_ref = self._last_prompt

        async def prepare(turn: Turn) -> TurnSetup:
            await self._wait_ready()
            del self._context[position + 1 :]
            self._leaf = prompt_ref
            return self._setup()

        turn = Turn(prompt, prepare, on_end=self._turn_ended)
        self._turn = turn
        return turn

    def cancel(self) -> None:
        """Cancel the running turn, if any (what arrived is kept and stored)."""
        if self._turn is not None:
            self._turn.cancel()

    async def _prepare_send(self, turn: Turn) -> TurnSetup:
        await self._wait_ready()
        self._context.append(Message.user(turn.prompt))
        ref = self._write_message(
            "user",
            turn.prompt,
            {
                "profile": self._run.profile,
                "provider": self._run.provider,
                "model": self._run.model,
            },
        )
        self._last_prompt = ref
        writer = self._writer
        if ref is not None and writer is not None:
            if self._prompt_must_be_stored:
                try:
                    async with asyncio.timeout(self._prompt_wait):
                        stored = await writer.wait(ref, stop_on_problem=True)
                except TimeoutError:
                    stored = False
                if not stored:
                    del self._context[-1]
                    problem = self.storage_problem or "the database did not answer in time"
                    raise PromptNotStored(f"the prompt was not stored: {problem}")
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._prompt_wait):
                        await writer.wait(ref)
        return self._setup()

    def _setup(self) -> TurnSetup:
        run = self._run
        return TurnSetup(
            provider=self.provider(),
            model=run.model,
            context=self._context,
            recording=_Recording(self),
            tools=self._tools,
            system=run.system_prompt,
            thinking=run.thinking,
            max_output_tokens=run.max_output_tokens,
            max_turns=run.max_turns,
            base_data={
                "provider": run.provider,
                "model": run.model,
                "thinking_level": run.thinking,
            },
            fallbacks=self._fallback_candidates(),
            temperature=run.temperature,
            top_p=run.top_p,
            top_k=run.top_k,
        )

    def _fallback_candidates(self) -> list[Candidate]:
        from ikigai.engine.fallback import candidates

        return candidates(self._run.fallbacks, self._fallback_providers)

    def _turn_ended(self, turn: Turn) -> None:
        if self._turn is turn:
            self._turn = None

    def _response_ended(self, accumulator: ResponseAccumulator) -> None:
        usage = accumulator.usage
        if usage.input_tokens or usage.output_tokens:
            self._tokens = Tokens(
                usage.input_tokens,
                usage.output_tokens,
                self._tokens.total + usage.input_tokens + usage.output_tokens,
            )

    def provider(self) -> HttpProvider:
        """The provider for the current run configuration (created on first use)."""
        run = self._run
        key = (run.provider, run.options.base_url, run.options.api_key)
        if self._provider is None or self._provider_key != key:
            from ikigai.providers.registry import create_provider

            self._provider = create_provider(run.provider, run.options)
            self._provider_key = key
        return self._provider

    def model_warning(self) -> str | None:
        """A warning when the model is unknown to its provider's table."""
        return self.provider().model_warning(self._run.model)

    # -- context verbs ----------------------------------------------------------------------------

    async def mark(self, label: str | None = None) -> str:
        """Remember this point of the context under ``label`` (default ``markN``)."""
        self._refuse_when_busy()
        await self._wait_ready()
        label = (label or "").strip() or f"mark{len(self._marks) + 1}"
        ref = self._write_message("mark", label, {"label": label})
        self._marks.pop(label, None)
        self._mark_order += 1
        self._marks[label] = _LiveMark(label, ref, len(self._context), self._mark_order)
        return label

    async def rewind(self, label: str | None = None) -> str:
        """Take the context back to mark ``label`` (default: the latest mark)."""
        self._refuse_when_busy()
        await self._wait_ready()
        if not self._marks:
            raise ConversationError("no mark in this conversation yet (/mark [label])")
        label = label or next(reversed(self._marks))
        mark = self._marks.get(label)
        if mark is None:
            raise ConversationError(f"no mark '{label}' (marks: {', '.join(self._marks)})")
        del self._context[mark.length :]
        mark_ref = mark.ref
        self._write_message(
            "rewind",
            label,
            lambda: {"mark_id": mark_ref.id if mark_ref is not None else None, "label": label},
        )
        for other in [m for m in self._marks.values() if m.order > mark.order]:
            del self._marks[other.label]
        return label

    async def clear(self) -> None:
        """Start a new context; the conversation's history stays stored and shown."""
        self._refuse_when_busy()
        await self._wait_ready()
        self._write_message("clear", "")
        self._context.clear()
        self._marks.clear()

    def resolve(
        self,
        *,
        profile: str | None = None,
        model: str | None = None,
        thinking: ThinkingLevel | None = None,
    ) -> RunConfig:
        """A run configuration for a switch (raises ``ConfigError``). The ``--base-url``
        flag keeps applying only while the provider stays the one it was given for."""
        candidate = resolve_run(
            self.settings,
            profile=profile or self._run.profile,
            model=model,
            thinking=thinking,
            max_turns=self._run.max_turns,
            require_key=False,
        )
        if self._base_url and candidate.provider == self._run.provider:
            candidate = resolve_run(
                self.settings,
                profile=profile or self._run.profile,
                model=model,
                thinking=thinking,
                base_url=self._base_url,
                max_turns=self._run.max_turns,
                require_key=False,
            )
        return candidate

    async def switch(
        self,
        command: str,
        *,
        profile: str | None = None,
        model: str | None = None,
        thinking: ThinkingLevel | None = None,
        system_prompt: str | None = None,
    ) -> RunConfig:
        """Use another profile, model, thinking level or system prompt from the next turn.

        ``command`` (what the user typed) is stored as a ``command`` row. Raises
        ``ConfigError`` for an unknown profile or model.
        """
        if system_prompt is not None and profile is None and model is None and thinking is None:
            run = replace(self._run, system_prompt=system_prompt)
        else:
            run = self.resolve(profile=profile, model=model, thinking=thinking)
            if system_prompt is not None:
                run = replace(run, system_prompt=system_prompt)
        self._run = run
        self._tools.forget_answers()
        self._write_message(
            "command",
            command,
            {
                "profile": run.profile,
                "provider": run.provider,
                "model": run.model,
                "thinking_level": run.thinking,
            },
        )
        return run

    # -- moving between conversations -----------------------------------------------------------

    async def new(self) -> None:
        """Begin a new, empty conversation (stored when its first row is written)."""
        self._refuse_when_busy()
        self._reset(None)

    async def open(self, conversation_id: int) -> Opened:
        """Switch to stored ``conversation_id``: its last messages now, its context soon.

        The model context is rebuilt from every row in the background, so the
        screen can show the conversation first; a prompt sent meanwhile waits for
        it. Raises ``UnknownConversation``.
        """
        self._refuse_when_busy()
        db = self._require_db()
        if await db.get_conversation(conversation_id) is None:
            raise UnknownConversation(f"no conversation {conversation_id} in {db.path}")
        rows = await db.load_messages(conversation_id, PAGE)
        from ikigai.storage.writer import RowRef

        self._reset(RowRef(conversation_id))
        self._leaf = rows[-1].id if rows else None
        self._ready = asyncio.get_running_loop().create_task(self._load_context(conversation_id))
        return Opened(conversation_id, rows, len(rows) >= PAGE)

    async def open_newest(self) -> Opened | None:
        """Open the most recently active conversation, or ``None`` when there is none."""
        db = self._require_db()
        newest = await db.newest_conversation_id()
        return await self.open(newest) if newest is not None else None

    async def load_earlier(self, before_id: int) -> list[StoredMessage]:
        """The page of stored messages just before message ``before_id``."""
        if self._db is None or self.id is None:
            return []
        return await self._db.load_messages(self.id, PAGE, before_id=before_id)

    async def _load_context(self, conversation_id: int) -> None:
        db = self._require_db()
        rows = await db.all_messages(conversation_id)
        # Off the event loop's thread, so the screen keeps painting meanwhile.
        rebuilt = await asyncio.to_thread(rebuild, rows)
        self._adopt(rebuilt)

    def _adopt(self, rebuilt: Rebuilt) -> None:
        from ikigai.storage.writer import RowRef

        self._context[:] = rebuilt.context
        self._marks = {
            label: _LiveMark(label, RowRef(mark.row_id), mark.length, order)
            for order, (label, mark) in enumerate(rebuilt.marks.items())
        }
        self._mark_order = len(self._marks)
        self._tokens = Tokens(
            rebuilt.last_input_tokens, rebuilt.last_output_tokens, rebuilt.total_tokens
        )
        if rebuilt.last_prompt_id is not None:
            self._last_prompt = RowRef(rebuilt.last_prompt_id)
        if rebuilt.last_row_id is not None:
            self._leaf = rebuilt.last_row_id

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

    def _reset(self, conversation: RowRef | None) -> None:
        self._conversation = conversation
        self._context = []
        self._marks = {}
        self._mark_order = 0
        self._tokens = Tokens()
        self._leaf = None
        self._last_prompt = None
        self._ready = None
        self._tools.forget_answers()

    # -- export and closing -----------------------------------------------------------------------

    async def export(self, fmt: str = "md") -> str:
        """The stored conversation as Markdown (``md``) or JSON (``json``) text."""
        db = self._require_db()
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await self._writer.drain()
        if self.id is None:
            raise ConversationError("this conversation has nothing stored yet")
        return await export_text(db, self.id, fmt)

    async def close(self, grace: float | None = 10.0) -> bool:
        """Save what is pending (for at most ``grace`` seconds) and close the database.

        Returns True when everything was stored (or nothing is stored by design).
        """
        saved = True
        if self._writer is not None:
            saved = await self._writer.close(grace)
        if self._db is not None:
            await self._db.close()
            self._db = None
        from ikigai.providers.http import close_shared_client

        await close_shared_client()
        return saved

    @property
    def unsaved(self) -> int:
        """Rows that could not be stored (dropped) or are still waiting to be."""
        if self._writer is None:
            return 0
        return self._writer.state.dropped_rows + self._writer.pending

    # -- storage ----------------------------------------------------------------------------------

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
        ref = writer.message(
            self._conversation,
            kind,
            content,
            data=data,
            status=status,
            parent=self._leaf if parent is None else parent,
        )
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
        self._leaf = ref
        return ref

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

    # -- tools ------------------------------------------------------------------------------------

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
        try:
            policy = parse_policy(tools.permissions)
        except PolicyError as exc:
            if strict:
                raise ConfigError(f"[tools] {exc}") from None
            self.problems.append(f"[tools] {exc}; using the default policy")
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
        return ToolLoop(None, context, policy, access.approver)

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


class _Recording:
    """Stores one turn's pieces through the conversation's writer (never waits)."""

    __slots__ = ("_conversation", "_stream")

    def __init__(self, conversation: Conversation) -> None:
        self._conversation = conversation
        self._stream: RowRef | None = None

    def response_started(self, accumulator: ResponseAccumulator) -> None:
        self._stream = self._conversation._write_stream(accumulator)

    def response_ended(self, accumulator: ResponseAccumulator) -> None:
        self._conversation._finish_stream(self._stream)
        self._conversation._response_ended(accumulator)

    def tool_result(self, result: ToolResultEvent) -> None:
        self._conversation._write_message(
            "tool_result",
            result.output,
            {"id": result.id, "name": result.name, "output": result.output, "success": result.ok},
            parent=self._stream,
        )

    def interrupted_before_answer(self) -> None:
        self._conversation._write_message("interrupted", "")


async def export_text(db: Database, conversation_id: int, fmt: str) -> str:
    """Stored conversation ``conversation_id`` as ``md`` or ``json`` text (ending in a newline).

    Raises ``UnknownConversation`` for an id that does not exist.
    """
    from ikigai.storage.errors import NotFoundError
    from ikigai.storage.export import dumps

    try:
        if fmt == "json":
            text = dumps(await db.export_json(conversation_id))
        else:
            text = await db.export_markdown(conversation_id)
    except NotFoundError as exc:
        raise UnknownConversation(str(exc)) from None
    return text if text.endswith("\n") else text + "\n"
