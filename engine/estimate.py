"""Estimating how many tokens a request holds, before any provider has counted them.

The providers count tokens exactly, but only after a request was sent; the
meter, the compaction threshold and ``/context`` need a number before that.
Each vendor has its own tokenizer (and Anthropic's and Gemini's are not
published), so no library gives the right count for every model: the
estimate is the usual four characters per token, rounded up, with a fixed
cost per message and per image. It is only ever used where being off by a
tenth does no harm (a threshold, a percentage); costs use the providers'
real counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from ikigai.providers.request import (
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens a message costs beyond its content (role markers and separators)."""
IMAGE_TOKENS = 1_600
"""What one image costs at most on the vendors' scales (Anthropic: about 1,600 for a
large image; OpenAI and Gemini charge less)."""


def text_tokens(text: str) -> int:
    """The estimated tokens of ``text`` (0 for an empty string)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def message_tokens(message: Message) -> int:
    """The estimated tokens of one message, content and overhead."""
    total = MESSAGE_OVERHEAD
    for block in message.content:
        if isinstance(block, TextBlock | ThinkingBlock):
            total += text_tokens(block.text)
        elif isinstance(block, ToolCallBlock):
            total += text_tokens(block.name) + text_tokens(block.arguments)
        elif isinstance(block, ToolResultBlock):
            total += text_tokens(block.output) + MESSAGE_OVERHEAD
        elif isinstance(block, ImageBlock):
            total += IMAGE_TOKENS
    return total


def messages_tokens(messages: Iterable[Message]) -> int:
    """The estimated tokens of several messages."""
    return sum(message_tokens(message) for message in messages)


def tools_tokens(tools: Sequence[ToolSpec]) -> int:
    """The estimated tokens of the tool definitions sent with every request."""
    return sum(
        text_tokens(tool.name)
        + text_tokens(tool.description)
        + text_tokens(json.dumps(tool.parameters, separators=(",", ":")))
        for tool in tools
    )


def request_tokens(
    system: str | None, tools: Sequence[ToolSpec], messages: Iterable[Message]
) -> int:
    """The estimated input tokens of a whole request."""
    return text_tokens(system or "") + tools_tokens(tools) + messages_tokens(messages)
