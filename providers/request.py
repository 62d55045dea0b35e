"""A provider-agnostic request: what to ask, independent of any wire format.

Each provider serializes a ``Request`` into its own JSON body. Assistant
messages keep ``provider``/``provider_data`` from the ``Done`` event that ended
them, so the same provider can replay opaque items (signatures, encrypted
reasoning) verbatim on the next turn while other providers ignore them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

ThinkingLevel = Literal["min", "low", "med", "high"]
THINKING_LEVELS: tuple[ThinkingLevel, ...] = ("min", "low", "med", "high")
Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Plain text."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """Model reasoning; ``signature`` or ``redacted`` data must go back unchanged."""

    text: str
    signature: str | None = None
    redacted: str | None = None
    kind: Literal["thinking"] = "thinking"


@dataclass(frozen=True, slots=True)
class ToolCallBlock:
    """A tool call the model made; ``arguments`` is the JSON text it sent."""

    id: str
    name: str
    arguments: str
    kind: Literal["tool_call"] = "tool_call"

    def parsed_arguments(self) -> Any:
        """The arguments as JSON data; an empty string means no arguments."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""Image types every provider that takes images in tool results accepts."""


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image a tool returned: base64 ``data`` of type ``mime_type`` (one of ``IMAGE_TYPES``)."""

    mime_type: str
    data: str


@dataclass(frozen=True, slots=True)
class ToolResultBlock:
    """The output of a tool the client ran, answering call ``tool_call_id``.

    ``images`` go with the text to the providers whose tool results take images
    (Anthropic Messages, OpenAI Responses); the others send the text alone, which
    describes each image.
    """

    tool_call_id: str
    name: str
    output: str
    is_error: bool = False
    kind: Literal["tool_result"] = "tool_result"
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """An image in a user message (an attachment): base64 ``data`` of ``media_type``.

    Kept base64-encoded because every wire format sends it that way, and a
    long conversation would otherwise encode the same image for every request.
    ``name`` is how the user referred to it (the attachment's path).
    """

    media_type: str
    data: str
    name: str = ""
    kind: Literal["image"] = "image"

    def data_url(self) -> str:
        """``data:<media type>;base64,<data>``, as the OpenAI APIs take an image."""
        return f"data:{self.media_type};base64,{self.data}"


ContentBlock = TextBlock | ThinkingBlock | ToolCallBlock | ToolResultBlock | ImageBlock


@dataclass(slots=True)
class Message:
    """One turn of the conversation.

    ``role`` is ``user``, ``assistant`` or ``tool`` (a message of tool results).
    ``provider`` names the provider that produced an assistant message, and
    ``provider_data`` is the opaque ``Done.provider_data`` it returned.
    """

    role: Role
    content: list[ContentBlock]
    provider: str | None = None
    provider_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=[TextBlock(text)])

    def text(self) -> str:
        """The concatenated text blocks."""
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    def tool_calls(self) -> list[ToolCallBlock]:
        return [block for block in self.content if isinstance(block, ToolCallBlock)]

    def tool_results(self) -> list[ToolResultBlock]:
        return [block for block in self.content if isinstance(block, ToolResultBlock)]

    def thinking(self) -> list[ThinkingBlock]:
        return [block for block in self.content if isinstance(block, ThinkingBlock)]

    def images(self) -> list[ImageBlock]:
        return [block for block in self.content if isinstance(block, ImageBlock)]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: name, description and a JSON schema for arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class Request:
    """Everything a provider needs to produce one response."""

    model: str
    messages: list[Message]
    system: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    thinking: ThinkingLevel | None = None
    max_output_tokens: int | None = None
    allow_tool_calls: bool = True
    """False keeps the tool definitions (history may refer to them) but asks for a plain answer."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    """Sampling parameters; each provider sends them only to models that accept them."""
