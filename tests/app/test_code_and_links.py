"""Code blocks carry a language label and number and are copied one by one; links show URLs."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._footer import FooterKey

from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text

ANSWER = (
    "Two snippets and a [guide](https://example.com/guide).\n\n"
    "```python\nprint('one')\n```\n\n"
    "Then:\n\n"
    "```bash\necho two\n```\n"
)


async def test_code_labels_links_and_the_copy_key(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text(ANSWER, chunk=5)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("show me")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.turn_worker is not None and not app.busy)
        await pilot.pause(0.2)
        answer = app.scrollback.last_answer()
        assert answer is not None
        body = answer.body
        shown = "\n".join(strip.text for strip in body.render_lines(body.region.reset_offset))
        assert "python · code 1" in shown
        assert "bash · code 2" in shown
        assert "guide (https://example.com/guide)" in shown
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.clipboard == "echo two\n"
        assert "ctrl+b" not in {key.key for key in app.query(FooterKey)}  # in F1, not the footer
