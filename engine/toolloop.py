"""Running one response's tool calls: permission, planning, concurrency, results.

``ToolLoop`` is the ``ToolRunner`` the turn runner calls when a response ends
with tool calls. For each call it decides permission (policy, then the
conversation's "always" answers, then the approver: the UI's prompt, or
nobody in headless mode, which means deny), runs the approved calls in the
planner's batches (independent calls concurrently) and returns one result per
call, in the model's order. Bad arguments, unknown tools and tools that raise
become error results the model sees; nothing here raises but cancellation.

MCP tools (``mcp__<server>__<tool>``, from the optional ``McpManager``) are
offered beside the built-in ones and go through the same permission steps;
the planner runs each MCP call on its own, since what it touches is unknown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ikigai.engine.events import ToolResultEvent
from ikigai.engine.mcp.names import is_mcp_name
from ikigai.engine.tools.base import ToolContext, ToolResult
from ikigai.engine.tools.policy import Permission, ToolPolicy, denied_result
from ikigai.providers.request import Message, ToolCallBlock, ToolSpec

if TYPE_CHECKING:
    from ikigai.engine.mcp.manager import McpManager, ServerStatus
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
        mcp: McpManager | None = None,
    ) -> None:
        self._registry = registry
        self.context = context
        self.policy = policy
        self.approver = approver
        self.mcp = mcp
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

            specs = list(BUILTIN_SPECS)
        else:
            specs = self.registry.specs()
        if self.mcp is not None:
            specs.extend(self.mcp.specs())
        return specs

    async def prepare(self) -> None:
        """Before a turn's first request: start the MCP servers not running yet (in parallel)."""
        if self.mcp is not None:
            await self.mcp.ensure_started()

    async def close(self) -> None:
        """Shut the MCP servers down."""
        if self.mcp is not None:
            await self.mcp.close()

    async def mcp_status(self) -> list[ServerStatus]:
        """Each configured MCP server's state and tools, with their permissions."""
        if self.mcp is None:
            return []
        return await self.mcp.status(self._permission_name)

    def _permission_name(self, name: str) -> str:
        if name in self.always_allowed:
            return "allow"
        return self.policy.permission(name).value

    def forget_answers(self) -> None:
        """Forget the "always" answers (a new or another conversation)."""
        self.always_allowed.clear()

    async def run_calls(self, message: Message) -> list[ToolResultEvent]:
        """Results for every tool call of ``message``, in the model's order."""
        from ikigai.engine.tools.planner import plan_batches

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
            outcomes = await asyncio.gather(*(self._execute(calls[i]) for i in approved))
            results.update(zip(approved, outcomes, strict=True))
        return [self._result_event(call, results[i]) for i, call in enumerate(calls)]

    async def _execute(self, call: ToolCallBlock) -> ToolResult:
        from ikigai.engine.tools.registry import execute

        if self.mcp is not None and is_mcp_name(call.name):
            return await self.mcp.call(call.name, call.arguments)
        return await execute(call.name, call.arguments, self.context, self.registry)

    def _result_event(self, call: ToolCallBlock, result: ToolResult) -> ToolResultEvent:
        source = self.mcp.source(call.name) if self.mcp is not None else None
        return ToolResultEvent(
            call.id,
            call.name,
            result.ok,
            result.output,
            mcp_server=source[0] if source else None,
            mcp_tool=source[1] if source else None,
            images=result.images,
        )

    async def _permission(self, call: ToolCallBlock) -> ToolResult | None:
        """None when ``call`` may run, else the result that explains the refusal."""
        if is_mcp_name(call.name):
            if self.mcp is None or not self.mcp.offers(call.name):
                return None  # the manager explains why it is not available
        elif self.registry.get(call.name) is None:
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
