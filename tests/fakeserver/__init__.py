"""A loopback fake of the four LLM streaming APIs, for tests over real sockets.

One provider-agnostic script (``Reply`` of ``Text`` / ``Thinking`` / ``ToolCall``
steps, with an optional ``Fault``) is rendered in whichever wire format the
request path selects: OpenAI Chat Completions, OpenAI Responses, Anthropic
Messages or Gemini ``streamGenerateContent``. ``Raw`` serves recorded bytes.

    server = FakeServer()
    server.start()
    server.enqueue(Reply([Thinking("hmm"), Text("Hello!")]))
    ...  # point a provider at server.base_url("anthropic")
    server.stop()
"""

from tests.fakeserver.script import (
    Fault,
    Raw,
    Reply,
    Text,
    Thinking,
    ToolCall,
    http_error,
    load_script,
    reply_from_dict,
)
from tests.fakeserver.server import (
    NO_REPLY_MESSAGE,
    FakeServer,
    RecordedRequest,
    StreamTiming,
    route_for,
)

__all__ = [
    "NO_REPLY_MESSAGE",
    "FakeServer",
    "Fault",
    "Raw",
    "RecordedRequest",
    "Reply",
    "StreamTiming",
    "Text",
    "Thinking",
    "ToolCall",
    "http_error",
    "load_script",
    "reply_from_dict",
    "route_for",
]
