"""A finished answer with a heading, a list, a code block and a table (for a snapshot test)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from ikigai.tui.widgets.markdown_stream import StreamingMarkdown

MESSAGE = """\
# Release notes

- Faster **streaming** render
- `code_blocks` for copying

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

| Widget | Purpose |
|--------|---------|
| StreamingMarkdown | answers |
| ThinkingView | reasoning |
"""


class FinishedMessageApp(App[None]):
    """One finished ``StreamingMarkdown``, as when a conversation is loaded from history."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown(MESSAGE, finished=True)


if __name__ == "__main__":
    FinishedMessageApp().run()
