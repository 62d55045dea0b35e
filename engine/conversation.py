"""The conversation both front ends drive: its state, its verbs, and where it is stored.

A ``Conversation`` is the current conversation of a session (the app's window,
or one headless run). It owns the model context and marks (private), the run
configuration (profile, model, thinking, system prompt), the tool loop and its
policy, and the recording of everything into storage. The front ends call its
verbs and render what they yield:

* ``send(prompt)`` returns a ``Turn``: ``async for event in turn`` runs it
  (``cancel()`` stops it, keeping what arrived); ``edit(id, prompt)`` and
  ``regenerate(id)`` return turns that make a new version of a stored message;
* ``mark`` / ``rewind`` / ``clear`` change the context (and are stored);
* ``switch`` changes profile, model, thinking level or system prompt from the
  next turn on; ``export`` renders the stored conversation;
* ``new`` / ``open`` / ``load_earlier`` move between stored conversations;
  ``switch_branch``, ``continue_from`` and ``fork`` move within one.

A conversation is a tree of stored messages; the session is at one leaf, and
the model context is the path from the root to it (``engine.context``). Every
new row's parent is the leaf (``_leaf``); a branch verb first moves the leaf
(to the parent of the message it makes a new version of) and rebuilds the
context from the stored path, so nothing is ever deleted by branching. The
tree lives in storage: branch verbs need a working database (``/retry`` alone
also works without one, on the context).

* ``compact`` summarizes the context (``engine.compaction``); a prompt that
  would pass the window's threshold compacts it first, by itself, when
  ``[context] auto_compact`` allows. ``context_report`` says what a request
  holds; ``cost_usd`` and ``context_fill`` feed the meter.

A prompt's ``@path`` mentions attach files (``engine.attachments``), and the
``AGENTS.md`` files of the working directory join the system prompt
(``engine.project_docs``).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ikigai.engine.branches import (
    BranchMove,
    Position,
    VersionChoice,
    VersionError,
    pick_version,
)
from ikigai.engine.context import Rebuilt, rebuild
from ikigai.engine.events import (
    Branched,
    CompactionNotice,
    Notice,
    RunnerEvent,
    Stored,
    ToolResultEvent,
)
from ikigai.engine.meter import ContextMeter, ContextPart, ContextReport, CostTally
from ikigai.engine.settings import ConfigError, RunConfig, Settings, resolve_run
from ikigai.engine.turns import Turn, TurnSetup
from ikigai.providers.request import ContentBlock, Message, TextBlock, ThinkingLevel

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.attachments import Attachment
    from ikigai.engine.compaction import Compacted
    from ikigai.engine.fallback import Candidate
    from ikigai.engine.mcp.manager import McpManager, ServerStatus
    from ikigai.engine.project_docs import ProjectDocs
    from ikigai.engine.toolloop import Approver, ToolLoop
    from ikigai.engine.tools.base import ToolContext
    from ikigai.providers.base import HttpProvider, Provider
    from ikigai.providers.model_facts import ModelFacts
    from ikigai.storage.errors import StorageError
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.repository import Database
    from ikigai.storage.tree import Version
    from ikigai.storage.writer import RowRef, StorageWriter, Target

PAGE = 50
"""Messages shown when a conversation is opened (and per earlier page)."""

SETTLE_WAIT = 5.0
"""Seconds a branch verb waits for pending rows to be stored before it gives up."""


class ConversationError(Exception):
    """A verb that cannot be done now; the message says why, for the user."""


class Busy(ConversationError):
    """A turn is running; the verb must wait until it ends (or is cancelled)."""


class UnknownConversation(ConversationError):
    """The conversation id does not exist in the database."""


class UnknownMessage(ConversationError):
    """The message id does not exist, or belongs to no conversation."""


class PromptNotStored(ConversationError):
    """The prompt could not be stored and this conversation must not send it unsaved."""


class AttachmentRefused(ConversationError):
    """An ``@path`` of the prompt cannot be attached; nothing was sent."""


class ContextFull(ConversationError):
    """The request does not fit the model's context window; nothing was sent."""


class CompactionError(ConversationError):
    """The summary could not be made; the conversation is unchanged."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of the last response and of the whole conversation."""

    last_input: int = 0
    last_output: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Opened:
    """A stored conversation just opened: its id, the last messages of the path to its
    leaf, and whether more exist above them."""

    id: int
    rows: list[StoredMessage]
    has_earlier: bool
    leaf: int | None = None


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
        self._marks: dict[str, _LiveMark] = {}
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

    # -- turns ----------------------------------------------------------------------------------

    def send(self, prompt: str, *, attachments: Sequence[str] | None = None) -> Turn:
        """A turn answering ``prompt`` (iterate it to run it). Raises ``Busy`` during a turn.

        ``attachments`` are the ``@path`` mentions to attach; ``None`` takes them
        from ``prompt`` (a headless run passes those of its argument only, not
        of piped input). A file that cannot be attached fails the turn with
        ``AttachmentRefused`` before anything is sent or stored.
        """
        if self.busy:
            raise Busy("a turn is running: wait for it or cancel it first")
        if self._compacting:
            raise Busy("the conversation is being compacted: wait for it to finish")

        async def prepare(turn: Turn) -> TurnSetup:
            return await self._prepare_send(turn, attachments)

        turn = Turn(prompt, prepare, on_end=self._turn_ended)
        self._turn = turn
        return turn

    async def edit(self, message_id: int, prompt: str) -> Turn:
        """A turn sending ``prompt`` as a new version of user message ``message_id``.

        The new prompt is a sibling of that message (same parent) and is
        answered with the context of the path up to its parent; the old version
        and everything after it stay stored. Raises ``Busy`` during a turn and
        ``ConversationError`` for a message that is not a prompt of this
        conversation.
        """
        self._refuse_when_busy()
        if not prompt.strip():
            raise ConversationError("the new version of the prompt is empty")
        target = await self._stored_message(message_id, "user")
        self._refuse_when_busy()
        opening = (Branched(target.id, target.parent_id),)

        async def prepare(turn: Turn) -> TurnSetup:
            await self._move_to(target.parent_id)
            return await self._prepare_send(turn, None, opening)

        return self._begin(Turn(prompt, prepare, on_end=self._turn_ended))

    async def regenerate(self, message_id: int | None = None, *, model: str | None = None) -> Turn:
        """A turn making a new answer in place of answer ``message_id``, optionally with
        another ``model`` for this turn only (``/regen``, ``/retry``).

        The new answer is a sibling of the old one, sent the path up to their
        prompt (or tool result): whatever followed the old answer, its tool
        calls and results included, stays on the old branch. The prompt is not
        stored again. Without ``message_id`` it is the last prompt or answer of
        the path: an answer is made again, a prompt left unanswered (cancelled
        before any answer) is answered. Raises ``ConfigError`` for an unknown
        model.
        """
        self._refuse_when_busy()
        run = self._run
        if model:
            run = replace(
                self.resolve(model=model, thinking=run.thinking), system_prompt=run.system_prompt
            )
        if message_id is None and not self.stored:
            return self._regenerate_in_context(run)
        opening: tuple[RunnerEvent, ...] = ()
        if message_id is None:
            # The last prompt or answer of the path: an answer is made again, a prompt
            # left unanswered (cancelled, say) is answered.
            await self._settle()
            rows = await self._require_db().path_messages(self._id_or_fail(), self._leaf_id())
            last = next((r for r in reversed(rows) if r.kind in ("user", "assistant")), None)
            if last is None:
                raise ConversationError("nothing to regenerate yet")
            parent: int | None = last.id
            if last.kind == "assistant":
                message_id = last.id
        if message_id is not None:
            target = await self._stored_message(message_id, "assistant")
            if target.parent_id is None:
                raise ConversationError(f"answer {message_id} has no prompt to answer again")
            parent = target.parent_id
            opening = (Branched(target.id, parent),)
        self._refuse_when_busy()

        async def prepare(turn: Turn) -> TurnSetup:
            await self._move_to(parent)
            return self._setup(run, opening=opening)

        return self._begin(Turn("", prepare, on_end=self._turn_ended, announce=False))

    def _regenerate_in_context(self, run: RunConfig) -> Turn:
        """``regenerate`` without storage: answer the last prompt of the context again."""
        position = next(
            (i for i in range(len(self._context) - 1, -1, -1) if self._context[i].role == "user"),
            None,
        )
        if position is None:
            raise ConversationError("nothing to regenerate yet")
        prompt = _prompt_text(self._context[position])

        async def prepare(turn: Turn) -> TurnSetup:
            await self._wait_ready()
            await self._refresh_docs()
            del self._context[position + 1 :]
            return self._setup(run)

        return self._begin(Turn(prompt, prepare, on_end=self._turn_ended, announce=False))

    def _begin(self, turn: Turn) -> Turn:
        self._refuse_when_busy()
        self._turn = turn
        return turn

    def cancel(self) -> None:
        """Cancel the running turn, if any (what arrived is kept and stored)."""
        if self._turn is not None:
            self._turn.cancel()

    async def _prepare_send(
        self,
        turn: Turn,
        mentions: Sequence[str] | None = None,
        opening: tuple[RunnerEvent, ...] = (),
    ) -> TurnSetup:
        await self._wait_ready()
        attached = await self._attach(turn.prompt, mentions)
        await self._refresh_docs()
        blocks: list[ContentBlock] = [TextBlock(turn.prompt), *(a.block() for a in attached)]
        message = Message(role="user", content=blocks)
        await self._make_room(message)
        self._context.append(message)
        data: dict[str, Any] = {
            "profile": self._run.profile,
            "provider": self._run.provider,
            "model": self._run.model,
        }
        if attached:
            from ikigai.engine.attachments import attachment_records

            data["attachments"] = attachment_records(attached)
        ref = self._write_message("user", turn.prompt, data)
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
                # The app must not be held up: a locked database is known at once.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._prompt_wait):
                        await writer.wait(ref, stop_on_problem=True, impatient=True)
        return self._setup(prompt_row=ref, opening=opening)

    def _setup(
        self,
        run: RunConfig | None = None,
        *,
        prompt_row: RowRef | None = None,
        opening: tuple[RunnerEvent, ...] = (),
    ) -> TurnSetup:
        run = run or self._run
        return TurnSetup(
            provider=self.provider(run),
            model=run.model,
            context=self._context,
            recording=_Recording(self),
            tools=self._tools,
            system=self.system_prompt(),
            thinking=run.thinking,
            max_output_tokens=run.max_output_tokens,
            max_turns=run.max_turns,
            base_data={
                "provider": run.provider,
                "model": run.model,
                "thinking_level": run.thinking,
            },
            prompt_row=prompt_row,
            opening=opening,
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
            self._meter.measured(self._context, usage)
            self._cost.add(accumulator.cost_usd, usage)
        from ikigai.engine.compaction import stopped_by_window

        if stopped_by_window(accumulator.done):
            self._notify(
                Notice(
                    "the answer stopped because the context window is full: /compact "
                    "summarizes the conversation (from a shell: ikigai -c -p /compact)",
                    source="context",
                )
            )

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
        """A run configuration for a switch (raises ``ConfigError``).

        The ``--base-url`` and ``--no-key`` flags apply whenever the provider is
        the one they were given for. A switch of model or thinking level keeps
        the system prompt in force; a switch of profile takes the profile's.
        """
        candidate = resolve_run(
            self.settings,
            profile=profile or self._run.profile,
            model=model,
            thinking=thinking,
            max_turns=self._run.max_turns,
            require_key=False,
        )
        if candidate.provider == self._flag_provider and (self._base_url or self._no_key):
            candidate = resolve_run(
                self.settings,
                profile=profile or self._run.profile,
                model=model,
                thinking=thinking,
                base_url=self._base_url,
                no_key=self._no_key,
                max_turns=self._run.max_turns,
                require_key=False,
            )
        if profile is None:
            candidate = replace(candidate, system_prompt=self._run.system_prompt)
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

    # -- context: window, cost, compaction, instructions, attachments ---------------------------

    def model_facts(self) -> ModelFacts | None:
        """What is known about the current model (window, prices), or ``None``."""
        from ikigai.providers.model_facts import facts

        return facts(self._run.provider, self._run.model, self.settings.models)

    def response_cost(self, accumulator: ResponseAccumulator) -> float | None:
        """The price of one ended response in USD (``None`` when it is not known)."""
        usage = accumulator.usage
        if not (usage.input_tokens or usage.output_tokens):
            return None
        from ikigai.providers.model_facts import facts

        provider = str(accumulator.base_data.get("provider") or self._run.provider)
        model = str(accumulator.base_data.get("model") or self._run.model)
        known = facts(provider, model, self.settings.models)
        return known.cost(usage) if known is not None else None

    @property
    def cost_usd(self) -> float | None:
        """The summed known cost of this conversation's answers (``None``: none known)."""
        return self._cost.total

    @property
    def cost_partial(self) -> bool:
        """Whether some answer had no known price (``cost_usd`` is then a lower bound)."""
        return self._cost.partial

    @property
    def compacting(self) -> bool:
        """Whether a compaction is running."""
        return self._compacting

    def system_prompt(self) -> str | None:
        """The system prompt sent: the profile's, then the project instructions."""
        docs = self._docs.prompt_text() if self._docs is not None else None
        parts = [part for part in (self._run.system_prompt, docs) if part]
        return "\n\n".join(parts) if parts else None

    def context_tokens(self) -> int:
        """The tokens the next request holds (the provider's count where it has one)."""
        return self._meter.tokens(self._context, self.system_prompt(), self._tools.specs())

    def context_limit(self) -> int | None:
        """The input the model's window takes: the window less the room kept for the
        answer (``None`` when the window is unknown)."""
        known = self.model_facts()
        if known is None or not known.context_window:
            return None
        window = known.context_window
        room = self._run.max_output_tokens or known.max_output_tokens or 0
        return window - min(room, window // 2)

    def context_fill(self) -> float | None:
        """How full the context window is (0.0 to 1.0 and past), ``None`` when unknown."""
        limit = self.context_limit()
        return self.context_tokens() / limit if limit else None

    async def context_report(self) -> ContextReport:
        """What the next request holds, part by part, against the window (``/context``)."""
        from ikigai.engine.compaction import is_summary
        from ikigai.engine.estimate import message_tokens, text_tokens, tools_tokens

        await self._wait_ready()
        await self._refresh_docs()
        parts = [ContextPart("system prompt (profile)", text_tokens(self._run.system_prompt or ""))]
        notes: list[str] = []
        docs = self._docs
        if docs is not None:
            for doc in docs.parts:
                detail = "cut at the limit" if doc.truncated else ""
                parts.append(ContextPart(f"AGENTS.md {doc.path}", doc.tokens, detail))
            notes.extend(docs.problems)
        elif not self.settings.context.project_docs:
            notes.append("AGENTS.md files are off ([context] project_docs = false)")
        specs = self._tools.specs()
        parts.append(ContextPart(f"tool definitions ({len(specs)})", tools_tokens(specs)))
        summaries = [m for m in self._context if is_summary(m)]
        if summaries:
            parts.append(ContextPart("summary (compacted)", sum(map(message_tokens, summaries))))
        messages = [m for m in self._context if not is_summary(m)]
        images = sum(len(m.images()) for m in messages)
        detail = f"{images} image{'s' if images != 1 else ''}" if images else ""
        parts.append(
            ContextPart(f"messages ({len(messages)})", sum(map(message_tokens, messages)), detail)
        )
        known = self.model_facts()
        return ContextReport(
            model=self._run.model_spec,
            parts=tuple(parts),
            tokens=self.context_tokens(),
            measured=self._meter.is_measured,
            window=known.context_window if known is not None else None,
            limit=self.context_limit(),
            threshold=self.settings.context.compact_threshold,
            auto_compact=self.settings.context.auto_compact,
            cost_usd=self._cost.total,
            cost_partial=self._cost.partial,
            notes=tuple(notes),
        )

    async def compact(self, instructions: str | None = None) -> Compacted:
        """Summarize the context so far, keeping the last turns verbatim (``[context]
        keep_turns``); the summary is stored as a ``summary`` row and the originals stay.

        Raises ``Busy`` while a turn or another compaction runs, ``ConversationError``
        when there is nothing to compact and ``CompactionError`` when the summary
        request fails (the conversation is then unchanged).
        """
        self._refuse_when_busy()
        if self._compacting:
            raise Busy("a compaction is already running")
        await self._wait_ready()
        await self._refresh_docs()
        return await self._compact(instructions, auto=False)

    async def _compact(
        self, instructions: str | None, *, auto: bool, incoming: Message | None = None
    ) -> Compacted:
        from ikigai.engine import compaction
        from ikigai.engine.estimate import message_tokens, messages_tokens, request_tokens

        context = self._context
        configured = self.settings.context.keep_turns
        keep = configured
        limit = self.context_limit()
        specs = self._tools.specs()
        overhead = request_tokens(self.system_prompt(), specs, [])
        extra = message_tokens(incoming) if incoming is not None else 0
        if limit is not None:
            allowed = limit * self.settings.context.compact_threshold
            reserve = min(compaction.SUMMARY_MAX_OUTPUT // 4, int(allowed) // 4)
            while keep > 0:
                kept = context[compaction.split_index(context, keep) :]
                if overhead + messages_tokens(kept) + extra + reserve <= allowed:
                    break
                keep -= 1
        if auto:
            # The request must get smaller: keep fewer turns when they are all there is.
            while keep > 0 and not _summarizable(context, compaction.split_index(context, keep)):
                keep -= 1
        start = compaction.split_index(context, keep)
        if start == 0:
            raise ConversationError(
                f"nothing to compact: the context holds no more than the last {configured} "
                "turns, which are kept verbatim ([context] keep_turns)"
            )
        if not _summarizable(context, start):
            raise ConversationError(
                "nothing to compact: the context is a summary and the turns kept after it"
            )
        before = self.context_tokens()
        budget = None if limit is None else limit - overhead - 1_000
        messages, left_out = compaction.fit_for_summary(context[:start], budget)
        known = self.model_facts()
        run = self._run
        request = compaction.summary_request(
            run.model,
            messages,
            specs,
            instructions,
            known.max_output_tokens if known is not None else None,
        )
        self._compacting = True
        try:
            accumulator = await compaction.run_summary(
                self.provider(), request, {"provider": run.provider, "model": run.model}
            )
        except compaction.CompactionFailed as exc:
            raise CompactionError(
                f"compaction failed: {exc}; the conversation is unchanged"
            ) from None
        finally:
            self._compacting = False
        summary = accumulator.text.strip()
        cost = self.response_cost(accumulator)
        self._cost.add(cost, accumulator.usage)
        context[:] = compaction.compacted_context(context, summary, keep)
        shift = start - 1
        for label, mark in list(self._marks.items()):
            if mark.length >= start:
                mark.length -= shift
            else:
                del self._marks[label]
        if keep == 0:
            self._last_prompt = None
        self._meter.reset()
        after = self.context_tokens()
        done = compaction.Compacted(
            summary=summary,
            summarized=start,
            kept_turns=keep,
            tokens_before=before,
            tokens_after=after,
            auto=auto,
            cost_usd=cost,
            reduced_from=configured if keep < configured else None,
            left_out=left_out,
        )
        usage = accumulator.usage
        self._write_message(
            "summary",
            summary,
            {
                "auto": auto,
                "instructions": instructions or None,
                "kept_turns": keep,
                "keep_turns": configured,
                "summarized_messages": start,
                "left_out_messages": left_out or None,
                "tokens_before": before,
                "tokens_after": after,
                "provider": run.provider,
                "model": run.model,
                "finish_reason": accumulator.done.finish_reason if accumulator.done else None,
                **usage.to_dict(),
                "cost_usd": cost,
            },
        )
        self._notify(CompactionNotice(done.describe(), "info", "context", compacted=done))
        return done

    async def _make_room(self, message: Message) -> None:
        """Before ``message`` is sent: compact when the request would pass the threshold
        (auto-compaction), refuse it when it cannot fit the window at all."""
        from ikigai.engine.estimate import message_tokens

        limit = self.context_limit()
        if limit is None:
            return
        options = self.settings.context
        incoming = message_tokens(message)
        projected = self.context_tokens() + incoming
        if projected <= limit * options.compact_threshold:
            return
        model = self._run.model_spec
        if options.auto_compact:
            percent = round(100 * projected / limit)
            self._notify(
                Notice(
                    f"the next request would fill {percent}% of {model}'s context window: "
                    "compacting the conversation first",
                    "info",
                    "context",
                )
            )
            try:
                await self._compact(None, auto=True, incoming=message)
            except ConversationError as exc:
                self._notify(Notice(f"auto-compaction did not happen: {exc}", source="context"))
            projected = self.context_tokens() + incoming
        if projected <= limit:
            return
        if incoming > limit:
            raise ContextFull(
                f"the prompt alone (~{incoming:,} tokens with its attachments) is larger "
                f"than {model}'s context window (~{limit:,} tokens of input): shorten it "
                "or attach less"
            )
        hint = (
            "/compact summarizes it (from a shell: ikigai -c -p /compact)"
            if not options.auto_compact
            else "compaction could not make room"
        )
        raise ContextFull(
            f"the conversation (~{projected:,} tokens) no longer fits {model}'s context "
            f"window (~{limit:,} tokens of input): {hint}"
        )

    async def _refresh_docs(self) -> None:
        """Read the ``AGENTS.md`` files again (they may have changed since the last turn)."""
        options = self.settings.context
        if not options.project_docs:
            self._docs = None
            return
        from ikigai.engine.project_docs import load

        cwd = self._tools.context.cwd
        docs = await asyncio.to_thread(load, cwd, options.project_docs_max_bytes)
        self._docs = docs
        for problem in docs.problems:
            if problem not in self._docs_told:
                self._docs_told.add(problem)
                self._notify(Notice(problem, source="context"))

    async def _attach(self, prompt: str, mentions: Sequence[str] | None) -> list[Attachment]:
        """The files the prompt's ``@path`` mentions attach (read in a worker thread)."""
        from ikigai.engine import attachments

        raws = attachments.mentions(prompt) if mentions is None else list(mentions)
        if not raws:
            return []
        try:
            found = await asyncio.to_thread(
                attachments.load_all,
                raws,
                self._tools.context,
                self.settings.context.attachment_max_bytes,
            )
        except attachments.AttachmentError as exc:
            raise AttachmentRefused(f"{exc} — nothing was sent") from None
        images = [a for a in found if a.kind == "image"]
        known = self.model_facts()
        if images and known is not None and known.images is False:
            names = ", ".join(f"@{a.shown}" for a in images)
            raise AttachmentRefused(
                f"{self._run.model_spec} does not take images ({names}): switch with /model "
                "or leave the image out — nothing was sent"
            )
        return found

    # -- moving between conversations -----------------------------------------------------------

    async def new(self) -> None:
        """Begin a new, empty conversation (stored when its first row is written)."""
        self._refuse_when_busy()
        self._reset(None)

    async def open(
        self, conversation_id: int, *, at: int | None = None, branch: Position = "current"
    ) -> Opened:
        """Switch to stored ``conversation_id``: the last messages of its path now, the
        model context soon.

        The path ends where the user was (``branch="current"``), at the branch
        written to last (``"newest"``), or, with ``at``, at the newest leaf
        below message ``at`` (a search hit: the branch that holds it). The
        model context is rebuilt from the whole path in the background, so the
        screen can show the conversation first; a prompt sent meanwhile waits
        for it. Raises ``UnknownConversation`` (and ``UnknownMessage`` for an
        ``at`` of another conversation).
        """
        self._refuse_when_busy()
        db = self._require_db()
        if await db.get_conversation(conversation_id) is None:
            raise UnknownConversation(f"no conversation {conversation_id} in {db.path}")
        if at is not None:
            row = await db.get_message(at)
            if row is None or row.conversation_id != conversation_id:
                raise UnknownMessage(f"no message {at} in conversation {conversation_id}")
            leaf = await db.latest_leaf(at if row.kind != "tool_call" else row.parent_id or at)
        elif branch == "newest":
            leaf = await db.newest_leaf(conversation_id)
        else:
            leaf = await db.current_leaf(conversation_id)
        rows = await db.path_messages(conversation_id, leaf, limit=PAGE)
        from ikigai.storage.writer import RowRef

        self._reset(RowRef(conversation_id))
        self._leaf = leaf
        if at is not None and leaf is not None and self._writer is not None:
            self._writer.set_leaf(conversation_id, leaf)
        self._ready = asyncio.get_running_loop().create_task(
            self._load_context(conversation_id, leaf)
        )
        return Opened(conversation_id, rows, bool(rows) and rows[0].parent_id is not None, leaf)

    async def open_newest(self, branch: Position = "current") -> Opened | None:
        """Open the most recently active conversation, or ``None`` when there is none."""
        db = self._require_db()
        newest = await db.newest_conversation_id()
        return await self.open(newest, branch=branch) if newest is not None else None

    async def continue_from(self, message_id: int) -> None:
        """Continue the conversation holding ``message_id`` from that message: the next
        prompt is its child (a new branch), sent the path up to and including it.

        Raises ``UnknownMessage`` for an id that does not exist or belongs to no
        conversation, ``ConversationError`` for a tool call (an attachment of
        its answer, which is where to continue from).
        """
        self._refuse_when_busy()
        db = self._require_db()
        row = await db.get_message(message_id)
        if row is None:
            raise UnknownMessage(f"no message {message_id} in {db.path}")
        if await db.get_conversation(row.conversation_id) is None:
            raise UnknownMessage(f"message {message_id} belongs to no conversation in {db.path}")
        if row.kind == "tool_call":
            raise ConversationError(
                f"message {message_id} is a tool call; continue from the answer that made it "
                f"(message {row.parent_id})"
            )
        from ikigai.storage.writer import RowRef

        self._reset(RowRef(row.conversation_id))
        self._leaf = message_id
        self._ready = asyncio.get_running_loop().create_task(
            self._load_context(row.conversation_id, message_id)
        )

    async def load_earlier(self, before_id: int) -> list[StoredMessage]:
        """The page of the path just above message ``before_id`` (root first)."""
        if self._db is None or self.id is None:
            return []
        return await self._db.path_messages(self.id, None, before_id=before_id, limit=PAGE)

    async def _load_context(self, conversation_id: int, leaf: int | None) -> None:
        db = self._require_db()
        rows = await db.path_messages(conversation_id, leaf)
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
        self._meter.reset()
        if rebuilt.measured is not None:
            self._meter.seed(self._context, *rebuilt.measured)
        self._cost = CostTally(rebuilt.cost_usd, rebuilt.cost_partial)
        self._last_prompt = (
            RowRef(rebuilt.last_prompt_id) if rebuilt.last_prompt_id is not None else None
        )

    # -- branches ---------------------------------------------------------------------------------

    async def switch_branch(
        self, choice: VersionChoice, message_id: int | None = None
    ) -> BranchMove:
        """Show another version of ``message_id`` (default: the last message of the path
        that has versions): ``next``, ``prev`` or version N (from 1).

        The path then runs from that version to the newest leaf below it, the
        context is rebuilt from it and the leaf is stored (a resume opens
        here). Raises ``ConversationError`` when there is no such version.
        """
        self._refuse_when_busy()
        await self._settle()
        db = self._require_db()
        conversation_id = self._id_or_fail()
        if message_id is None:
            path = await db.path_messages(conversation_id, self._leaf_id())
            nodes = [r.id for r in path if r.kind != "tool_call"]
            versions = await db.versions(conversation_id, nodes)
            message_id = next((n for n in reversed(nodes) if versions[n].count > 1), None)
            if message_id is None:
                raise ConversationError("no message of this branch has another version")
        version = (await db.versions(conversation_id, [message_id])).get(message_id)
        if version is None:
            raise ConversationError(f"message {message_id} is not in this conversation")
        if version.count < 2:
            raise ConversationError(f"message {message_id} has no other version")
        try:
            target = pick_version(version, choice)
        except VersionError as exc:
            raise ConversationError(str(exc)) from None
        self._refuse_when_busy()
        leaf = await db.latest_leaf(target) or target
        path = await self._move_to(leaf)
        assert self._writer is not None
        self._writer.set_leaf(conversation_id, leaf)
        tail = next(i for i, row in enumerate(path) if row.id == target)
        index = version.siblings.index(target) + 1
        return BranchMove(message_id, path[tail:], replace(version, index=index))

    async def fork(self) -> Opened:
        """Copy the current path into a new conversation (linked to this one) and open it."""
        self._refuse_when_busy()
        await self._settle()
        db = self._require_db()
        conversation_id, leaf = self._id_or_fail(), self._leaf_id()
        if leaf is None:
            raise ConversationError("nothing to fork yet")
        summary = await db.get_conversation(conversation_id)
        forked = await db.fork_conversation(
            conversation_id, leaf, title=summary.title if summary is not None else None
        )
        return await self.open(forked)

    async def user_messages(self) -> list[StoredMessage]:
        """The prompts of the current path, first to last (``/edit N`` counts them)."""
        await self._settle()
        db = self._require_db()
        rows = await db.path_messages(self._id_or_fail(), self._leaf_id())
        return [row for row in rows if row.kind == "user"]

    async def versions(self, rows: Iterable[RowRef | int | None]) -> dict[int, Version]:
        """Which version each stored message of ``rows`` is among its siblings.

        For display: rows not stored (yet) are left out, and a storage problem
        gives an empty answer rather than an error.
        """
        from ikigai.storage.errors import StorageError
        from ikigai.storage.writer import RowRef

        if self._db is None or self.id is None:
            return {}
        ids: list[int] = []
        for row in rows:
            if isinstance(row, RowRef) and row.id is None and self._writer is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._writer.wait(row)
            row_id = row.id if isinstance(row, RowRef) else row
            if row_id is not None:
                ids.append(row_id)
        try:
            return await self._db.versions(self.id, ids)
        except StorageError:
            return {}

    async def _settle(self) -> None:
        """Wait until every requested row is stored, so the tree in storage is complete.

        Raises ``ConversationError`` when this session stores nothing, storage
        failed, or it stays behind for ``SETTLE_WAIT`` seconds.
        """
        from ikigai.storage.writer import RowRef

        writer = self._writer
        if writer is None or self._db is None:
            raise ConversationError(
                "branches are kept in the database, and this session stores nothing"
            )
        if writer.state.failed:
            raise ConversationError(
                f"branches need the database, which failed: {self.storage_problem}"
            )
        await self._wait_ready()
        try:
            async with asyncio.timeout(SETTLE_WAIT):
                await writer.drain()
        except TimeoutError:
            raise ConversationError(
                f"not saved yet ({self.storage_problem or 'storage is slow'}); try again soon"
            ) from None
        leaf = self._leaf
        if isinstance(leaf, RowRef):
            if leaf.id is None:
                raise ConversationError("the last message could not be stored")
            self._leaf = leaf.id

    async def _stored_message(self, message_id: int, kind: str) -> StoredMessage:
        """Message ``message_id`` of this conversation, which must be of ``kind``."""
        await self._settle()
        db = self._require_db()
        row = await db.get_message(message_id)
        if row is None or row.conversation_id != self.id:
            raise ConversationError(f"message {message_id} is not in this conversation")
        if row.kind != kind:
            wanted = "a prompt" if kind == "user" else "an answer"
            raise ConversationError(f"message {message_id} is {row.kind}, not {wanted}")
        return row

    async def _move_to(self, leaf: int | None) -> list[StoredMessage]:
        """Put the session at ``leaf`` (``None``: before the first message): the context
        becomes the path's; returns the path."""
        db = self._require_db()
        rows = await db.path_messages(self._id_or_fail(), leaf) if leaf is not None else []
        rebuilt = await asyncio.to_thread(rebuild, rows) if len(rows) > PAGE else rebuild(rows)
        self._adopt(rebuilt)
        self._leaf = leaf
        return rows

    def _id_or_fail(self) -> int:
        conversation_id = self.id
        if conversation_id is None:
            raise ConversationError("this conversation has nothing stored yet")
        return conversation_id

    def _leaf_id(self) -> int | None:
        leaf = self._leaf
        return leaf if isinstance(leaf, int) or leaf is None else leaf.id

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

    # -- export and closing -----------------------------------------------------------------------

    async def export(self, fmt: str = "md", *, all_branches: bool = False) -> str:
        """The stored conversation's current path (or every branch) as Markdown (``md``)
        or JSON (``json``) text."""
        db = self._require_db()
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await self._writer.drain()
        if self.id is None:
            raise ConversationError("this conversation has nothing stored yet")
        return await export_text(db, self.id, fmt, all_branches=all_branches)

    async def close(self, grace: float | None = 10.0) -> bool:
        """Save what is pending (for at most ``grace`` seconds) and close the database.

        Returns True when everything was stored (or nothing is stored by design).
        """
        saved = True
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        await self._tools.close()
        if self._writer is not None:
            saved = await self._writer.close(grace)
        if self._db is not None:
            await self._db.close()
            self._db = None
        from ikigai.providers.http import close_shared_client

        await close_shared_client()
        return saved

    async def saved(self, grace: float | None = SETTLE_WAIT) -> bool:
        """Wait (at most ``grace`` seconds) until every row requested so far is stored;
        False when something was not (or storage is behind)."""
        if self._writer is None:
            return True
        try:
            async with asyncio.timeout(grace):
                await self._writer.drain()
        except TimeoutError:
            return False
        return self._writer.pending == 0 and not self._writer.state.failed

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
        for kind, ref, parent in written:
            if writer is None or self._conversation is None:
                break
            # A storage problem ends the wait at once: ids are not worth holding the stream.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._prompt_wait):
                    await writer.wait(ref, stop_on_problem=True)
            conversation_id = self._conversation.id
            if ref.id is None or conversation_id is None:
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
        servers = self.settings.mcp.servers
        try:
            policy = parse_policy(tools.permissions, mcp_servers=servers)
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

    # -- MCP servers ------------------------------------------------------------------------------

    def start_mcp(self) -> None:
        """Start the ``startup = "eager"`` MCP servers in the background (the others start
        with the first turn)."""
        if self._tools.mcp is not None:
            self._tools.mcp.start_eager()

    async def mcp_status(self) -> list[ServerStatus]:
        """Each configured MCP server: state, error, tools offered and their permissions."""
        return await self._tools.mcp_status()

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

    def response_started(self, accumulator: ResponseAccumulator) -> RowRef | None:
        self._stream = self._conversation._write_stream(accumulator)
        return self._stream

    def response_ended(self, accumulator: ResponseAccumulator) -> None:
        accumulator.set_cost(self._conversation.response_cost(accumulator))
        self._conversation._finish_stream(self._stream)
        self._conversation._response_ended(accumulator)

    def tool_result(self, result: ToolResultEvent) -> None:
        data = {"id": result.id, "name": result.name, "output": result.output, "success": result.ok}
        if result.mcp_server is not None:
            data["mcp_server"] = result.mcp_server
            data["mcp_tool"] = result.mcp_tool
        self._conversation._write_message("tool_result", result.output, data)

    def interrupted_before_answer(self) -> None:
        self._conversation._write_message("interrupted", "")

    async def reported(self) -> list[RunnerEvent]:
        if not self._conversation._report_rows:
            return []
        return await self._conversation._reported()


def _summarizable(context: Sequence[Message], start: int) -> bool:
    """Whether the part before ``start`` holds more than a previous summary."""
    from ikigai.engine.compaction import is_summary

    return start > 1 or (start == 1 and not is_summary(context[0]))


def _prompt_text(message: Message) -> str:
    """What the user typed: a prompt's first text block (attachments follow it)."""
    for block in message.content:
        if isinstance(block, TextBlock):
            return block.text
    return ""


async def export_text(
    db: Database, conversation_id: int, fmt: str, *, all_branches: bool = False
) -> str:
    """Stored conversation ``conversation_id`` as ``md`` or ``json`` text (ending in a
    newline): its current path, or with ``all_branches`` the whole tree.

    Raises ``UnknownConversation`` for an id that does not exist.
    """
    from ikigai.storage.errors import NotFoundError
    from ikigai.storage.export import dumps

    branches: Literal["all", "current"] = "all" if all_branches else "current"
    try:
        if fmt == "json":
            text = dumps(await db.export_json(conversation_id, branches=branches))
        else:
            text = await db.export_markdown(conversation_id, branches=branches)
    except NotFoundError as exc:
        raise UnknownConversation(str(exc)) from None
    return text if text.endswith("\n") else text + "\n"
