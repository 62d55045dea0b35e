"""The context of a conversation: its window, its cost, compaction, instructions, files.

``compact`` summarizes the context (``engine.compaction``); a prompt that
would pass the window's threshold compacts it first, by itself, when
``[context] auto_compact`` allows. ``context_report`` says what a request
holds; ``cost_usd`` and ``context_fill`` feed the meter. A prompt's ``@path``
mentions attach files (``engine.attachments``), and the ``AGENTS.md`` files of
the working directory join the system prompt (``engine.project_docs``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ikigai.engine.events import (
    CompactionNotice,
    Notice,
)
from ikigai.engine.meter import ContextPart, ContextReport
from ikigai.providers.request import Message

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.attachments import Attachment
    from ikigai.engine.compaction import Compacted
    from ikigai.providers.model_facts import ModelFacts

from ikigai.engine.conversation_core import ConversationCore
from ikigai.engine.conversation_types import (
    AttachmentRefused,
    CompactionError,
    ContextFull,
    ConversationError,
)


class ContextVerbs(ConversationCore):
    """The window, the cost, compaction, project instructions and attachments."""

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
        # Set before the first await: nothing may change the conversation meanwhile.
        self._compacting = True
        try:
            await self._wait_ready()
            await self._refresh_docs()
            return await self._compact(instructions, auto=False)
        finally:
            self._compacting = False

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
        conversation, compacting = self._conversation, self._compacting
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
            self._compacting = compacting
        if self._conversation is not conversation or self._context is not context:
            raise CompactionError(
                "the conversation changed while it was being summarized; nothing was compacted"
            )
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
        if mentions is not None and not mentions:
            return []  # the caller found none: the attachment machinery is not loaded
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


def _summarizable(context: Sequence[Message], start: int) -> bool:
    """Whether the part before ``start`` holds more than a previous summary."""
    from ikigai.engine.compaction import is_summary

    return start > 1 or (start == 1 and not is_summary(context[0]))
