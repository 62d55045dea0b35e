"""Running one response's tool calls: permission, planning, concurrency, results.

``ToolLoop`` is the ``ToolRunner`` the turn runner calls when a response ends
with tool calls. For each call it decides permission (policy, then the
conversation's "always" answers, then the approver: the UI's prompt, or
nobody in headless mode, which means deny), runs the approved calls in the
planner's batches (independent calls concurrently) and returns one result per
call, in the model's order. Bad arguments, unknown tools and tools that raise
become error results the model sees; nothing here raises but cancellation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ikigai.engine.events import ToolResultEvent
from ikigai.engine.tools.base import ToolContext, ToolResult
from ikigai.engine.tools.policy import Permission, ToolPolicy, denied_result
from ikigai.providers.request import Message, ToolCallBlock, ToolSpec

if TYPE_CHECKING:
    from ikigai.engine.tools.registry import ToolRegistry

ApprovalAnswer = Literal["once", "always", "deny"]


@dataclass(frozen=True, slots=True)
class Approval:
    """The user's answer to "run this tool?", with an optional reason for a denial."""

    answer: ApprovalAnswer
    reason: str | None = None


Approver = Callable[[ToolCallBlock], Awaitable[Approval]]
"""Asks the user about one call (the UI's approval prompt)."""


class ToolLoop:
    """Decides, runs and reports the tool calls of one response."""

    def __init__(
        self,
        registry: ToolRegistry | None,
        context: ToolContext,
        policy: ToolPolicy,
        approver: Approver | None = None,
    ) -> None:
        self._registry = registry
        self.context = context
        self.policy = policy
        self.approver = approver
        self.always_allowed: set[str] = set()

    @property
    def registry(self) -> ToolRegistry:
        """The tools; the built-in ones are imported on first use, not at start-up."""
        if self._registry is None:
            from ikigai.engine.tools.registry import default_registry

            self._registry = default_registry()
        return self._registry

    def specs(self) -> list[ToolSpec]:
        """The tools to offer the model (the built-in specs need no implementation loaded)."""
        if self._registry is None:
            from ikigai.engine.tools.specs import BUILTIN_SPECS

            return list(BUILTIN_SPECS)
        return self.registry.specs()

    def forget_answers(self) -> None:
        """Forget the "always" answers (a new or another conversation)."""
        self.always_allowed.clear()

    async def run_calls(self, message: Message) -> list[ToolResultEvent]:
        """Results for every tool call of ``message``, in the model's order."""
        from ikigai.engine.tools.planner import plan_batches
        from ikigai.engine.tools.registry import execute

        calls = message.tool_calls()
        planned = [(call.name, _arguments_for_planning(call.arguments)) for call in calls]
        results: dict[int, ToolResult] = {}
        for batch in plan_batches(planned, self.context.cwd, self.registry):
            approved: list[int] = []
            for index in batch:
                refusal = await self._permission(calls[index])
                if refusal is None:
                    approved.append(index)
                else:
                    results[index] = refusal
            outcomes = await asyncio.gather(
                *(
                    execute(calls[i].name, calls[i].arguments, self.context, self.registry)
                    for i in approved
                )
            )
            results.update(zip(approved, outcomes, strict=True))
        return [
            ToolResultEvent(call.id, call.name, results[i].ok, results[i].output)
            for i, call in enumerate(calls)
        ]

    async def _permission(self, call: ToolCallBlock) -> ToolResult | None:
        """None when ``call`` may run, else the result that explains the refusal."""
        if self.registry.get(call.name) is None:
            return None  # execute() reports the unknown tool to the model
        permission = self.policy.permission(call.name)
        if permission is Permission.ALLOW or call.name in self.always_allowed:
            return None
        if permission is Permission.DENY or self.approver is None:
            return denied_result(call.name, "not allowed by the tool policy")
        approval = await self.approver(call)
        if approval.answer == "always":
            self.always_allowed.add(call.name)
            return None
        if approval.answer == "once":
            return None
        return denied_result(call.name, approval.reason)


def _arguments_for_planning(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
