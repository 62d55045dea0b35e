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
* ``new`` / ``open`` / ``load_earlier`` / ``fork`` move between stored
  conversations; ``switch_branch`` and ``continue_from`` move within one
  (``engine.branch_verbs``: a conversation is a tree, the context is the path
  to the current leaf, and nothing is ever deleted by branching);
* ``compact``, ``context_report`` and the meter's numbers are in
  ``engine.context_verbs``, with attachments and project instructions.

The state and the plumbing every verb shares (row requests to the storage
writer, the tool loop's setup) are ``engine.conversation_core``; errors and
small values, ``engine.conversation_types``.

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
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from ikigai.engine.branches import (
    Position,
)
from ikigai.engine.events import (
    Branched,
    Notice,
    RunnerEvent,
    ToolResultEvent,
)
from ikigai.engine.settings import RunConfig, resolve_run
from ikigai.engine.turns import Turn, TurnSetup
from ikigai.providers.request import ContentBlock, Message, TextBlock, ThinkingLevel

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.fallback import Candidate
    from ikigai.engine.mcp.manager import ServerStatus
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.repository import Database
    from ikigai.storage.writer import RowRef

from ikigai.engine.branch_verbs import BranchVerbs
from ikigai.engine.context_verbs import ContextVerbs
from ikigai.engine.conversation_types import (
    PAGE,
    SETTLE_WAIT,
    AttachmentRefused,
    Busy,
    CompactionError,
    ContextFull,
    ConversationError,
    LiveMark,
    Opened,
    PromptNotStored,
    Tokens,
    ToolAccess,
    UnknownConversation,
    UnknownMessage,
)

__all__ = [
    "PAGE",
    "AttachmentRefused",
    "Busy",
    "CompactionError",
    "ContextFull",
    "Conversation",
    "ConversationError",
    "Opened",
    "PromptNotStored",
    "Tokens",
    "ToolAccess",
    "UnknownConversation",
    "UnknownMessage",
    "export_text",
]


class Conversation(BranchVerbs, ContextVerbs):
    """The current conversation of a session, and every verb the front ends use."""

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
            back_to = self._leaf_id()
            await self._move_to(target.parent_id)
            try:
                return await self._prepare_send(turn, None, opening)
            except BaseException:
                # Nothing was sent (a refused attachment, a full context, a cancel):
                # the session goes back to where it was, not to the edited prompt's parent.
                await asyncio.shield(self._move_to(back_to))
                raise

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
                        # Through another process's lock (for the wait's length), not
                        # through a full disk or a broken file.
                        stored = await writer.wait(
                            ref, stop_on_problem=True, patient_with_locks=True
                        )
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

    # -- marks, clearing, switches ------------------------------------------------------------

    async def mark(self, label: str | None = None) -> str:
        """Remember this point of the context under ``label`` (default ``markN``)."""
        self._refuse_when_busy()
        await self._wait_ready()
        label = (label or "").strip() or f"mark{len(self._marks) + 1}"
        ref = self._write_message("mark", label, {"label": label})
        self._marks.pop(label, None)
        self._mark_order += 1
        self._marks[label] = LiveMark(label, ref, len(self._context), self._mark_order)
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
        thinking: ThinkingLevel | Literal["off"] | None = None,
        system_prompt: str | None = None,
    ) -> RunConfig:
        """Use another profile, model, thinking level or system prompt from the next turn.

        ``thinking="off"`` turns thinking off whatever the profile says (``None``
        keeps the profile's level). ``command`` (what the user typed) is stored as
        a ``command`` row. Raises ``ConfigError`` for an unknown profile or model.
        """
        if system_prompt is not None and profile is None and model is None and thinking is None:
            run = replace(self._run, system_prompt=system_prompt)
        else:
            level = None if thinking == "off" else thinking
            run = self.resolve(profile=profile, model=model, thinking=level)
            if thinking == "off":
                run = replace(run, thinking=None)
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

    async def load_earlier(self, before_id: int) -> list[StoredMessage]:
        """The page of the path just above message ``before_id`` (root first)."""
        if self._db is None or self.id is None:
            return []
        return await self._db.path_messages(self.id, None, before_id=before_id, limit=PAGE)

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
        loading = self._ready
        if loading is not None and not loading.done():
            loading.cancel()
            # Over before the database closes (a read cut short still closes its cursor).
            await asyncio.wait([loading])
            if not loading.cancelled():
                loading.exception()
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

    # -- MCP servers ------------------------------------------------------------------------------

    def start_mcp(self) -> None:
        """Start the ``startup = "eager"`` MCP servers in the background (the others start
        with the first turn)."""
        if self._tools.mcp is not None:
            self._tools.mcp.start_eager()

    async def mcp_status(self) -> list[ServerStatus]:
        """Each configured MCP server: state, error, tools offered and their permissions."""
        return await self._tools.mcp_status()


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
