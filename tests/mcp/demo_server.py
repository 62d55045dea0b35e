"""A real MCP server for the tests, written with the official ``mcp`` SDK's low-level ``Server``.

Run as ``python tests/mcp/demo_server.py [options]``: it speaks stdio by
default, or streamable HTTP on 127.0.0.1 with ``--http PORT_FILE`` (the port it
bound is written there). The low-level server lets a test choose the exact
schemas and results a server sends, including broken ones.

Options: ``--pid-file PATH`` appends this process's pid (one line per start);
``--mode exit-on-init`` prints to stderr and exits on the first message,
``--mode hang`` reads but never answers, ``--mode noisy`` writes a line that
is not JSON-RPC to stdout first; ``--prefix TEXT`` is put before every
echo (tells two servers apart).

Tools: ``echo``, ``add`` (text and structured content), ``stats`` (structured
content only), ``fail`` (an error result), ``flood`` (much text), ``shout`` (much stderr), ``crash``
(the process exits mid-call), ``slow`` (sleeps), ``env`` (reads a variable),
``header`` (an HTTP request header), ``image`` (a PNG and a TIFF), ``secret`` and
``bad_schema``
(an input schema that is not valid JSON Schema).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG, base64."""

TEXT_ARG = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
NO_ARGS: dict[str, Any] = {"type": "object", "properties": {}}

TOOLS = [
    types.Tool(name="echo", description="Echo the text back.", input_schema=TEXT_ARG),
    types.Tool(
        name="add",
        description="Add two numbers.",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    ),
    types.Tool(name="stats", description="Structured statistics only.", input_schema=NO_ARGS),
    types.Tool(name="fail", description="Always reports an error.", input_schema=TEXT_ARG),
    types.Tool(
        name="flood",
        description="Returns this many bytes of text.",
        input_schema={
            "type": "object",
            "properties": {"size": {"type": "integer", "minimum": 0}},
            "required": ["size"],
        },
    ),
    types.Tool(name="crash", description="The server process exits.", input_schema=NO_ARGS),
    types.Tool(name="shout", description="Writes 4 MB to stderr.", input_schema=NO_ARGS),
    types.Tool(
        name="slow",
        description="Sleeps.",
        input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
    ),
    types.Tool(
        name="env",
        description="The value of an environment variable of the server.",
        input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
    ),
    types.Tool(
        name="header",
        description="An HTTP request header the server received.",
        input_schema={"type": "object", "properties": {"name": {"type": "string"}}},
    ),
    types.Tool(name="image", description="A small image.", input_schema=NO_ARGS),
    types.Tool(name="secret", description="Must never be offered.", input_schema=NO_ARGS),
    types.Tool(
        name="bad_schema",
        description="Its schema is broken.",
        input_schema={"type": "object", "properties": {"x": {"type": "nonsense"}}},
    ),
]


def text(value: str) -> list[types.ContentBlock]:
    return [types.TextContent(text=value)]


def build(prefix: str) -> Server[Any]:
    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        name = params.name
        if name == "echo":
            return types.CallToolResult(content=text(f"{prefix}echo: {args['text']}"))
        if name == "add":
            total = args["a"] + args["b"]
            return types.CallToolResult(
                content=text(f'{{"sum": {total}}}'), structured_content={"sum": total}
            )
        if name == "stats":
            return types.CallToolResult(content=[], structured_content={"count": 3, "ok": True})
        if name == "fail":
            return types.CallToolResult(content=text(f"it failed: {args['text']}"), is_error=True)
        if name == "flood":
            return types.CallToolResult(content=text("x" * int(args["size"])))
        if name == "crash":
            print("crashing on purpose", file=sys.stderr, flush=True)
            os._exit(7)
        if name == "shout":
            for _ in range(4096):
                sys.stderr.write("e" * 1023 + "\n")
            sys.stderr.flush()
            return types.CallToolResult(content=text("shouted"))
        if name == "slow":
            await anyio.sleep(float(args.get("seconds", 60)))
            return types.CallToolResult(content=text("slept"))
        if name == "env":
            return types.CallToolResult(content=text(os.environ.get(args["name"], "<unset>")))
        if name == "header":
            headers = getattr(ctx.request, "headers", None) or {}
            return types.CallToolResult(content=text(headers.get(args["name"], "<none>")))
        if name == "image":
            return types.CallToolResult(
                content=[
                    types.TextContent(text="a picture:"),
                    types.ImageContent(data=PNG, mime_type="image/png"),
                    types.ImageContent(data="SUkqAA==", mime_type="image/tiff"),
                ]
            )
        return types.CallToolResult(content=text(f"unknown tool {name}"), is_error=True)

    return Server("demo", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(server: Server[Any], sock: socket.socket) -> None:
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=Path, metavar="PORT_FILE")
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument(
        "--mode", choices=("normal", "exit-on-init", "hang", "noisy"), default="normal"
    )
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    if args.pid_file is not None:
        with args.pid_file.open("a", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")
    if args.mode == "exit-on-init":
        sys.stdin.readline()
        print("demo: cannot start: DEMO_TOKEN is wrong", file=sys.stderr, flush=True)
        sys.exit(3)
    if args.mode == "hang":
        for _line in sys.stdin:
            pass
        return
    if args.mode == "noisy":  # a line that is not JSON-RPC on stdout, before serving
        print("\x1b]0;pwned\x07 not a JSON-RPC message", flush=True)
    server = build(args.prefix)
    if args.http is not None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        args.http.write_text(str(sock.getsockname()[1]), encoding="utf-8")
        anyio.run(serve_http, server, sock)
    else:
        anyio.run(serve_stdio, server)


if __name__ == "__main__":
    main()
