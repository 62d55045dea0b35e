"""A ``CallToolResult`` turned into the tool result the model reads.

Text blocks are kept as they are; structured content is added as JSON text
(unless a text block already carries the same JSON, as the specification
recommends servers do); embedded text resources are included with their URI.
Images of a common type (PNG, JPEG, GIF, WebP) up to ``MAX_IMAGE_BYTES``, at
most ``MAX_IMAGES`` of them, go with the result for the providers whose tool
results take images (Anthropic Messages, OpenAI Responses) and are described
in the text for the others; audio, binary resources and other images are only
described. The text is capped like every other tool's output, so a server that
floods cannot fill the model's context. ``is_error`` results reach the model
as failed calls.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ikigai.engine.tools.base import ToolResult
from ikigai.engine.tools.output import cap_output
from ikigai.providers.request import IMAGE_TYPES, ImagePart

if TYPE_CHECKING:
    import mcp_types

_UNSHOWN = " — not shown to the model"
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The largest image sent on (Anthropic's limit per image)."""


def tool_result(result: mcp_types.CallToolResult, cap: int) -> ToolResult:
    """The ``ToolResult`` for ``result``, its text capped at ``cap`` bytes."""
    import mcp_types

    parts: list[str] = []
    texts: list[str] = []
    images: list[ImagePart] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
            texts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent) and _sendable(block, len(images)):
            images.append(ImagePart(block.mime_type, block.data))
            parts.append(f"[image: {block.mime_type}, {_size(block.data)}]")
        elif isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {_size(block.data)}{_UNSHOWN}]")
        elif isinstance(block, mcp_types.ResourceLink):
            name = f" ({block.name})" if block.name else ""
            parts.append(f"[resource link: {block.uri}{name}]")
        elif isinstance(block, mcp_types.EmbeddedResource):
            parts.append(_embedded(block))
    structured = result.structured_content
    if structured is not None and not any(_same_json(text, structured) for text in texts):
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2))
    output = "\n".join(parts)
    if result.is_error and not output.strip():
        output = "The tool reported an error without a message."
    return ToolResult(not result.is_error, cap_output(output, cap), tuple(images))


def _sendable(block: mcp_types.ImageContent, already: int) -> bool:
    return (
        block.mime_type in IMAGE_TYPES
        and already < MAX_IMAGES
        and len(block.data) * 3 // 4 <= MAX_IMAGE_BYTES
    )


def _embedded(block: mcp_types.EmbeddedResource) -> str:
    import mcp_types

    resource = block.resource
    if isinstance(resource, mcp_types.TextResourceContents):
        return f"[resource {resource.uri}]\n{resource.text}"
    mime = resource.mime_type or "binary"
    return f"[resource {resource.uri}: {mime}, {_size(resource.blob)}{_UNSHOWN}]"


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def _size(data: str) -> str:
    """About how many bytes base64 ``data`` holds (counted, not decoded)."""
    return f"{len(data.rstrip('=')) * 3 // 4:,} bytes"
