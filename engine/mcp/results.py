"""A ``CallToolResult`` turned into the tool result the model reads.

Text blocks are kept as they are; structured content is added as JSON text
(unless a text block already carries the same JSON, as the specification
recommends servers do); embedded text resources are included with their URI;
images, audio and binary resources are described by type and size, since the
tool-result messages of the four wire formats here carry text. The whole is
capped like every other tool's output, so a server that floods cannot fill the
model's context. ``is_error`` results reach the model as failed calls.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ikigai.engine.tools.base import ToolResult
from ikigai.engine.tools.output import cap_output

if TYPE_CHECKING:
    import mcp_types

_UNSHOWN = " — not shown to the model"


def tool_result(result: mcp_types.CallToolResult, cap: int) -> ToolResult:
    """The ``ToolResult`` for ``result``, its text capped at ``cap`` bytes."""
    import mcp_types

    parts: list[str] = []
    texts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
            texts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent):
            parts.append(
                f"[image: {block.mime_type}, {_size(block.data)} — not shown to the model]"
            )
        elif isinstance(block, mcp_types.AudioContent):
            parts.append(
                f"[audio: {block.mime_type}, {_size(block.data)} — not shown to the model]"
            )
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(
                f"[resource link: {block.uri}" + (f" ({block.name})]" if block.name else "]")
            )
        elif isinstance(block, mcp_types.EmbeddedResource):
            parts.append(_embedded(block))
    structured = result.structured_content
    if structured is not None and not any(_same_json(text, structured) for text in texts):
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2))
    output = "\n".join(parts)
    if result.is_error and not output.strip():
        output = "The tool reported an error without a message."
    return ToolResult(ok=not result.is_error, output=cap_output(output, cap))


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
