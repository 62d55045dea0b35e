"""MCP servers: tools from any Model Context Protocol server, through the same approval.

- ``names``: ``mcp__<server>__<tool>`` names (no SDK needed);
- ``launch``: a server's settings made ready to start: ``$VAR`` expanded, provider
  keys refused;
- ``connection``: one running server, through the official ``mcp`` SDK's ``Client``
  (stdio or streamable HTTP) in a task of its own;
- ``catalog``: a server's tool listing turned into specs the model is offered;
- ``results``: a ``CallToolResult`` turned into the text the model reads;
- ``manager``: every configured server of a session: start (lazy or eager, in
  parallel), calls, one restart after a crash, status for ``/mcp``, shutdown.

Only ``connection`` imports the SDK, and only when a server starts: a session
with no MCP server configured never loads it.
"""
