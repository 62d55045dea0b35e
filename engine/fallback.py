"""Fallback models: one request, answered by the first model of a list that answers.

A profile may list ``fallback = ["provider/model", ...]``. When a model fails
*before any content* with an error that another model could avoid
(``rate_limit``, ``server`` — 5xx, 529, overloaded — or ``timeout``), after its
own provider's retries, the next model is asked the same request. An ``auth``,
``invalid_arg``, ``content_filter`` (or any other) failure is final: another
model would not fix the request, and trying would hide the problem. A failure
after content started is final too (the answer is already on screen).

``FallbackStream`` yields the answering model's events as if it had been the
only one, preceded by one ``Fallback`` event per model skipped; the last
model's failure, when every model failed, ends the stream as usual.
``skipped`` lists why each model was passed over, for the stored metadata.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ikigai.engine.events import Fallback
from ikigai.providers.base import Provider
from ikigai.providers.events import Error, ProviderEvent, Retry, Start
from ikigai.providers.request import Request

if TYPE_CHECKING:
    from ikigai.engine.settings import FallbackTarget

FALLBACK_CATEGORIES = frozenset({"rate_limit", "server", "timeout"})
"""Failures that make the next model worth trying."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model that may answer: its provider instance, id and model name."""

    provider: Provider
    provider_id: str
    model: str

    @property
    def label(self) -> str:
        """``provider/model``."""
        return f"{self.provider_id}/{self.model}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A model that failed before answering, and how."""

    provider: str
    model: str
    category: str
    message: str
    http_status: int | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "category": self.category,
            "message": self.message,
        }
        if self.http_status is not None:
            data["http_status"] = self.http_status
        return data


@dataclass(slots=True)
class FallbackStream:
    """Stream one request from ``candidates[start:]``, falling back as the module says.

    ``request_for`` builds the request for a candidate (its own model name).
    After iteration, ``answered`` is the index of the candidate whose events
    were delivered (the last one tried when all failed) and ``skipped`` the
    models passed over, in order.
    """

    candidates: Sequence[Candidate]
    request_for: Callable[[Candidate], Request]
    start: int = 0
    answered: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def events(self) -> AsyncIterator[ProviderEvent | Fallback]:
        """The events to deliver; the caller closes the iterator (``close``) when it stops.

        When only the last candidate is left (no fallback configured, the usual
        case) that is its provider's stream itself: nothing to fall back on, and
        no generator in between (an answer is thousands of events).
        """
        if self.start == len(self.candidates) - 1:
            candidate = self.candidates[self.start]
            self.answered = self.start
            return candidate.provider.stream(self.request_for(candidate))
        return self._events()

    async def _events(self) -> AsyncIterator[ProviderEvent | Fallback]:
        last = len(self.candidates) - 1
        for position in range(self.start, len(self.candidates)):
            candidate = self.candidates[position]
            self.answered = position
            stream = candidate.provider.stream(self.request_for(candidate))
            # The last model never falls back: its events pass as they are.
            events = stream if position == last else _until_fallback(stream, candidate)
            try:
                skipped = None
                async for event in events:
                    if isinstance(event, Skipped):
                        skipped = event  # the generator ends right after it
                        continue
                    yield event
            finally:
                await close(stream)
            if skipped is None:
                return
            self.skipped.append(skipped)
            yield Fallback(
                candidate.label,
                self.candidates[position + 1].label,
                skipped.category,
                skipped.message,
                skipped.http_status,
            )


async def close(events: AsyncIterator[object]) -> None:
    """Close ``events`` if it can be closed (an async generator: its ``finally`` runs now)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


async def _until_fallback(
    stream: AsyncIterator[ProviderEvent], candidate: Candidate
) -> AsyncIterator[ProviderEvent | Skipped]:
    """``stream``'s events, or a ``Skipped`` in place of a failure worth falling back on.

    ``start`` is held back until the next event shows whether content follows;
    retry notices pass at once.
    """
    held: Start | None = None
    delivering = False
    async for event in stream:
        if delivering:
            yield event
            continue
        if isinstance(event, Retry):
            yield event
            continue
        if isinstance(event, Start):
            held = event
            continue
        if isinstance(event, Error) and event.category in FALLBACK_CATEGORIES:
            yield Skipped(
                candidate.provider_id,
                candidate.model,
                event.category,
                event.message,
                event.http_status,
            )
            return
        delivering = True
        if held is not None:
            yield held
        yield event


def candidates(
    targets: Sequence[FallbackTarget], providers: dict[tuple[str, str, str | None], Provider]
) -> list[Candidate]:
    """The fallback candidates for ``targets`` (those without their key are left out).

    ``providers`` keeps one provider instance per provider, URL and key across
    turns, as the conversation does for its own model.
    """
    from ikigai.providers.registry import create_provider

    out: list[Candidate] = []
    for target in targets:
        if target.missing_key:
            continue
        key = (target.provider, target.options.base_url, target.options.api_key)
        provider = providers.get(key)
        if provider is None:
            provider = create_provider(target.provider, target.options)
            providers[key] = provider
        out.append(Candidate(provider, target.provider, target.model))
    return out
