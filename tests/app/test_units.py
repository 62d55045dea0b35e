"""Pure parts of the app: key overrides, completion, prompt history, error advice."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ikigai.engine.conversation import Conversation
from ikigai.engine.settings import Settings, resolve_run
from ikigai.providers.events import Error
from ikigai.tui.commands import complete, parse, split_model_level
from ikigai.tui.history import PromptHistory
from ikigai.tui.keys import resolve_keymap
from ikigai.tui.widgets.message_views import compact_arguments, error_advice


def test_key_override_applies() -> None:
    keymap, warnings = resolve_keymap({"toggle_thinking": "ctrl+r"})
    assert keymap == {"toggle_thinking": "ctrl+r"}
    assert warnings == []


def test_unknown_action_and_conflict_are_warnings() -> None:
    keymap, warnings = resolve_keymap({"launch_rockets": "ctrl+x", "help": "ctrl+n"})
    assert keymap == {}
    assert "launch_rockets: unknown action" in warnings[0]
    assert "conflicts with new_conversation" in warnings[1]


async def _host(marks: tuple[str, ...] = ()) -> SimpleNamespace:
    """A real conversation (unsaved) with two profiles, and the marks set through its verb."""
    settings = Settings.from_data(
        {"profiles": {"default": {"model": "openai-chat/fake"}, "work": {"model": None}}}
    )
    conversation = Conversation(settings, resolve_run(settings, require_key=False))
    for label in marks:
        await conversation.mark(label)
    return SimpleNamespace(conversation=conversation)


async def test_completion_of_commands_levels_profiles_and_marks() -> None:
    host = await _host(("before-refactor",))
    assert complete("/thi", host)[0] == "/thinking "
    assert complete("/thinking h", host)[0] == "/thinking high "
    assert complete("/profile w", host)[0] == "/profile work "
    assert complete("/rewind b", host)[0] == "/rewind before-refactor "
    line, candidates = complete("/re", host)
    assert line == "/re" and candidates == ["/regen", "/retry", "/rewind"]
    assert complete("/model openai-chat/fake/h", host)[0] == "/model openai-chat/fake/high "


def test_parse_and_model_level() -> None:
    assert parse("/model a/b  ") == ("model", ["a/b"], "a/b")
    assert split_model_level("anthropic/claude-x/high") == ("anthropic/claude-x", "high")
    assert split_model_level("meta-llama/llama-3") == ("meta-llama/llama-3", None)


def test_prompt_history_persists_and_walks(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    history = PromptHistory(path)
    history.add("first")
    history.add("second\nline")
    again = PromptHistory(path)
    assert again.previous("draft") == "second\nline"
    assert again.previous("ignored") == "first"
    assert again.previous("ignored") is None
    assert again.next() == "second\nline"
    assert again.next() == "draft"


def test_error_advice_names_what_to_do() -> None:
    auth = error_advice(
        Error("auth", "bad key", 401),
        keys=("OPENAI_API_KEY",),
        base_url="http://x",
        provider="openai",
    )
    assert "OPENAI_API_KEY" in auth
    limited = error_advice(
        Error("rate_limit", "slow", 429, 3000), keys=(), base_url="http://x", provider="openai"
    )
    assert "Retry after 3 s" in limited
    network = error_advice(
        Error("network", "refused"), keys=(), base_url="http://h:1", provider="openai"
    )
    assert "base_url (http://h:1)" in network


def test_compact_arguments() -> None:
    assert compact_arguments('{"path": "a.txt", "limit": 5}') == "path=a.txt limit=5"
    assert compact_arguments("not json") == "not json"


async def test_model_completion_offers_the_cached_model_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ikigai.engine.model_catalog import cache_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    host = await _host()
    # Nothing cached: ikigai's own list for that provider.
    _, candidates = complete("/model anthropic/claude-opus-4-", host)
    assert "anthropic/claude-opus-4-7" in candidates
    path = cache_path("openai-chat", host.conversation.run.options.base_url)
    path.parent.mkdir(parents=True)
    path.write_text('{"fetched_at": 1, "models": [{"id": "qwen3:8b"}, {"id": "llama3.2:latest"}]}')
    line, candidates = complete("/model openai-chat/qw", host)
    assert line == "/model openai-chat/qwen3:8b " and candidates == ["openai-chat/qwen3:8b"]
