"""Slash commands: parsing, Tab completion and execution.

``execute(host, line)`` runs one command against a ``CommandHost`` (the app);
an unknown command or a bad argument becomes a one-line error in the
scrollback, never an exception. ``complete(line, host)`` completes command
names, model names, thinking levels, profile names, mark labels and the
``@path`` of a file to attach (from the working directory).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from ikigai.providers.request import THINKING_LEVELS

if TYPE_CHECKING:
    from ikigai.engine.conversation import Conversation
    from ikigai.engine.settings import RunConfig
    from ikigai.engine.turns import Turn
    from ikigai.providers.request import ThinkingLevel
    from ikigai.tui.branching import BranchUI


class CommandHost(Protocol):
    """What commands need from the app: the engine's conversation and a few screens."""

    @property
    def conversation(self) -> Conversation: ...
    @property
    def branches(self) -> BranchUI: ...

    def note(self, text: str, *, warning: bool = False) -> None: ...
    def switched(self, run: RunConfig, command: str) -> None: ...
    async def new_conversation(self) -> None: ...
    def start(self, turn: Turn) -> None: ...
    def show_help(self) -> None: ...
    def show_picker(self) -> None: ...
    async def quit_app(self) -> None: ...


class CommandError(Exception):
    """A bad argument; the message is shown as is."""


Handler = Callable[[CommandHost, list[str], str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command: its usage line and what it does."""

    name: str
    usage: str
    summary: str
    handler: Handler


def parse(line: str) -> tuple[str, list[str], str]:
    """``"/model a/b"`` -> ``("model", ["a/b"], "a/b")`` (name, words, the raw rest)."""
    body = line.strip()[1:]
    name, _, rest = body.partition(" ")
    return name.lower(), rest.split(), rest.strip()


async def execute(host: CommandHost, line: str) -> None:
    """Run the slash command in ``line``; problems become a one-line error."""
    name, words, rest = parse(line)
    command = COMMANDS.get(name)
    if command is None:
        host.note(f"unknown command /{name} — /help lists the commands", warning=True)
        return
    from ikigai.engine.conversation import ConversationError
    from ikigai.engine.settings import ConfigError

    try:
        await command.handler(host, words, rest)
    except CommandError as exc:
        host.note(f"/{name}: {exc} (usage: {command.usage})", warning=True)
    except (ConversationError, ConfigError) as exc:
        host.note(f"/{name}: {exc}", warning=True)
    except Exception as exc:
        host.note(f"/{name} failed: {exc}", warning=True)


# -- handlers -------------------------------------------------------------------------


async def _help(host: CommandHost, words: list[str], rest: str) -> None:
    host.show_help()


def split_model_level(spec: str) -> tuple[str, str | None]:
    """``provider/model/level`` -> ``("provider/model", "level")``; no level -> None."""
    head, slash, tail = spec.rpartition("/")
    if slash and tail in THINKING_LEVELS and head:
        return head, tail
    return spec, None


async def _switch(host: CommandHost, command: str, **choices: Any) -> None:
    run = await host.conversation.switch(command, **choices)
    host.switched(run, command)


async def _model(host: CommandHost, words: list[str], rest: str) -> None:
    conversation = host.conversation
    if not words:
        run = conversation.run
        host.note(f"model: {run.provider}/{run.model} (thinking {run.thinking or 'off'})")
        return
    if len(words) != 1:
        raise CommandError("one model expected")
    spec, level = split_model_level(words[0])
    # A model switch keeps the level in force, "off" included (not the profile's).
    keep = level or conversation.run.thinking or "off"
    await _switch(host, f"/model {words[0]}", model=spec, thinking=keep)


THINKING_CHOICES: tuple[str, ...] = ("off", *THINKING_LEVELS)
"""What ``/thinking`` takes: ``off``, or a level."""


async def _thinking(host: CommandHost, words: list[str], rest: str) -> None:
    if len(words) != 1 or words[0] not in THINKING_CHOICES:
        raise CommandError(f"one of {', '.join(THINKING_CHOICES)} expected")
    run = host.conversation.run
    level = cast("ThinkingLevel | Literal['off']", words[0])
    await _switch(host, f"/thinking {words[0]}", model=run.model_spec, thinking=level)


async def _profile(host: CommandHost, words: list[str], rest: str) -> None:
    conversation = host.conversation
    if not words:
        names = ", ".join(sorted(conversation.settings.profiles))
        host.note(f"profile: {conversation.run.profile} (profiles: {names})")
        return
    if len(words) != 1:
        raise CommandError("one profile name expected")
    await _switch(host, f"/profile {words[0]}", profile=words[0])


async def _system(host: CommandHost, words: list[str], rest: str) -> None:
    if not rest:
        host.note(f"system prompt: {host.conversation.run.system_prompt or '(none)'}")
        return
    await _switch(host, f"/system {rest}", system_prompt=rest)


async def _new(host: CommandHost, words: list[str], rest: str) -> None:
    await host.new_conversation()


async def _clear(host: CommandHost, words: list[str], rest: str) -> None:
    await host.conversation.clear()
    host.note("── context cleared: the model starts afresh (history stays in storage) ──")


async def _history(host: CommandHost, words: list[str], rest: str) -> None:
    host.show_picker()


def _export_path(name: str) -> Path:
    return Path(name).expanduser()


async def _export(host: CommandHost, words: list[str], rest: str) -> None:
    conversation = host.conversation
    fmt = "md"
    if words and words[0] in ("md", "json"):
        fmt = words.pop(0)
    all_branches = "--all-branches" in words
    words = [word for word in words if word != "--all-branches"]
    if len(words) > 1:
        raise CommandError("at most one path expected")
    text = await conversation.export(fmt, all_branches=all_branches)
    path = _export_path(words[0] if words else f"ikigai-{conversation.id}.{fmt}")
    try:
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    host.note(f"exported conversation {conversation.id} to {os.fspath(path)}")


async def _mark(host: CommandHost, words: list[str], rest: str) -> None:
    label = await host.conversation.mark(rest or None)
    host.note(f"⚑ mark '{label}' set")


async def _rewind(host: CommandHost, words: list[str], rest: str) -> None:
    label = await host.conversation.rewind(rest or None)
    host.note(f"⟲ context rewound to mark '{label}'")


async def _retry(host: CommandHost, words: list[str], rest: str) -> None:
    if words:
        raise CommandError("no argument expected (/regen [model] takes a model)")
    await host.branches.regenerate()


async def _regen(host: CommandHost, words: list[str], rest: str) -> None:
    if len(words) > 1:
        raise CommandError("at most one model expected")
    model = None
    if words:
        model, level = split_model_level(words[0])
        if level is not None:
            raise CommandError("a model without a thinking level (/thinking sets it)")
    await host.branches.regenerate(host.branches.selected("answer"), model)


def _refuse_while_busy(host: CommandHost, what: str) -> None:
    from ikigai.tui.branching import BUSY_NOTE

    if host.conversation.busy:
        raise CommandError(BUSY_NOTE.format(what=what))


async def _edit(host: CommandHost, words: list[str], rest: str) -> None:
    if len(words) > 1 or (words and not words[0].isdigit()):
        raise CommandError("nothing, or the number of a prompt of this branch (from 1)")
    _refuse_while_busy(host, "editing")
    prompts = await host.conversation.user_messages()
    if not prompts:
        raise CommandError("no prompt on this branch yet")
    number = int(words[0]) if words else len(prompts)
    if not 1 <= number <= len(prompts):
        raise CommandError(f"this branch has prompts 1 to {len(prompts)}")
    prompt = prompts[number - 1]
    host.branches.begin_edit(prompt.id, prompt.content)


async def _branch(host: CommandHost, words: list[str], rest: str) -> None:
    from ikigai.engine.branches import VersionChoice

    if len(words) != 1 or not (words[0] in ("next", "prev") or words[0].isdigit()):
        raise CommandError("next, prev or a version number expected")
    _refuse_while_busy(host, "switching versions")
    word = words[0]
    choice: VersionChoice
    if word == "next":
        choice = "next"
    elif word == "prev":
        choice = "prev"
    else:
        choice = int(word)
    await host.branches.switch(choice, host.branches.selected())


async def _fork(host: CommandHost, words: list[str], rest: str) -> None:
    if words:
        raise CommandError("no argument expected")
    _refuse_while_busy(host, "forking")
    await host.branches.fork()


async def _copy(host: CommandHost, words: list[str], rest: str) -> None:
    from ikigai.tui import clipboard

    app: Any = host
    if not words:
        clipboard.copy_last(app)
    elif words[0] == "code":
        number = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
        clipboard.copy_code(app, number)
    elif words[0].isdigit():
        clipboard.copy_message(app, int(words[0]))
    else:
        raise CommandError("expected nothing, N (the Nth message from the end) or code [N]")


async def _mcp(host: CommandHost, words: list[str], rest: str) -> None:
    from ikigai.tui.mcp_view import describe_servers

    host.note(describe_servers(await host.conversation.mcp_status()))


async def _compact(host: CommandHost, words: list[str], rest: str) -> None:
    host.note("compacting: the model is summarizing the conversation…")
    await host.conversation.compact(rest or None)
    # The divider and the summary come with the engine's compaction notice.


async def _context(host: CommandHost, words: list[str], rest: str) -> None:
    from ikigai.tui.context_view import context_lines

    report = await host.conversation.context_report()
    for line in context_lines(report):
        host.note(line)


async def _quit(host: CommandHost, words: list[str], rest: str) -> None:
    await host.quit_app()


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("help", "/help", "keys and commands", _help),
        Command("model", "/model [provider/]model[/level]", "switch model (and thinking)", _model),
        Command("thinking", "/thinking off|min|low|med|high", "set the thinking level", _thinking),
        Command("profile", "/profile NAME", "switch to a profile of the config", _profile),
        Command("system", "/system [text]", "show or set the system prompt", _system),
        Command("new", "/new", "start a new conversation", _new),
        Command("clear", "/clear", "new context; history stays stored", _clear),
        Command("history", "/history", "browse and search conversations", _history),
        Command(
            "export",
            "/export [md|json] [--all-branches] [path]",
            "write this branch (or every branch) to a file",
            _export,
        ),
        Command("mark", "/mark [label]", "remember this point of the context", _mark),
        Command("rewind", "/rewind [label]", "take the context back to a mark", _rewind),
        Command("retry", "/retry", "answer the last prompt again (a new version)", _retry),
        Command(
            "regen",
            "/regen [model]",
            "a new version of the selected (or last) answer, with another model",
            _regen,
        ),
        Command("edit", "/edit [N]", "edit prompt N of this branch (default the last)", _edit),
        Command(
            "branch",
            "/branch next|prev|N",
            "show another version of the selected (or last branched) message",
            _branch,
        ),
        Command("fork", "/fork", "copy this branch into a new conversation", _fork),
        Command(
            "compact",
            "/compact [instructions]",
            "summarize the conversation so far; the last turns stay verbatim",
            _compact,
        ),
        Command("context", "/context", "what the context holds, and the window", _context),
        Command("copy", "/copy [N | code [N]]", "copy the last answer, a message or code", _copy),
        Command("mcp", "/mcp", "MCP servers: state, tools and their permissions", _mcp),
        Command("quit", "/quit", "quit (a running turn is stored first)", _quit),
    )
}


# -- completion ---------------------------------------------------------------------------


def _common_prefix(words: list[str]) -> str:
    if not words:
        return ""
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _model_candidates(conversation: Conversation, arg: str = "") -> list[str]:
    """The current and the profiles' models, the provider prefixes, and once ``arg``
    names a provider (``anthropic/``) that provider's cached model list (never waits
    on the network: ``engine.model_catalog.cached_models``)."""
    from ikigai.providers.registry import PROVIDERS

    seen: dict[str, None] = {conversation.run.model_spec: None}
    for profile in conversation.settings.profiles.values():
        if profile.model:
            seen[profile.model] = None
    for provider in PROVIDERS:
        seen[f"{provider}/"] = None
    head, slash, _rest = arg.partition("/")
    if slash and head in PROVIDERS:
        from ikigai.engine.model_catalog import cached_models

        run = conversation.run
        settings = conversation.settings.provider(head)
        default = PROVIDERS[head].default_base_url
        base_url = run.options.base_url if head == run.provider else settings.base_url or default
        for spec in cached_models(head, base_url).ids():
            seen[spec] = None
    return list(seen)


def _providers() -> frozenset[str]:
    from ikigai.providers.registry import PROVIDERS

    return frozenset(PROVIDERS)


def complete(
    line: str, host: CommandHost, *, on_provider: Callable[[str], None] | None = None
) -> tuple[str, list[str]]:
    """Complete ``line``: returns the completed line and the candidates considered.

    ``on_provider`` is told when ``/model`` names a provider (``anthropic/``): the app
    fetches that provider's model list in the background for the next Tab.
    """
    from ikigai.tui.mention_complete import complete_mention, mention_at_end

    if mention_at_end(line) is not None:
        return complete_mention(line, host.conversation.tools_cwd)
    if not line.startswith("/"):
        return line, []
    body = line[1:]
    if " " not in body:
        names = sorted(n for n in COMMANDS if n.startswith(body.lower()))
        if len(names) == 1:
            return f"/{names[0]} ", names
        prefix = _common_prefix(names)
        return (f"/{prefix}" if len(prefix) > len(body) else line), [f"/{n}" for n in names]
    name, _, arg = body.partition(" ")
    options: list[str]
    if name == "thinking":
        options = list(THINKING_CHOICES)
    elif name == "branch":
        options = ["next", "prev"]
    elif name == "regen":
        options = _model_candidates(host.conversation)
    elif name == "model":
        spec, _, _level = arg.rpartition("/")
        if spec and "/" in arg and arg.count("/") >= 2:
            options = [f"{spec}/{lvl}" for lvl in THINKING_LEVELS]
        else:
            head = arg.partition("/")[0]
            if on_provider is not None and "/" in arg and head in _providers():
                on_provider(head)
            options = _model_candidates(host.conversation, arg)
    elif name == "profile":
        options = sorted(host.conversation.settings.profiles)
    elif name in ("rewind", "mark"):
        options = list(host.conversation.marks)
    elif name == "export":
        options = ["md", "json", "--all-branches"]
    else:
        return line, []
    matches = [o for o in options if o.startswith(arg)]
    if len(matches) == 1:
        suffix = "" if matches[0].endswith("/") else " "
        return f"/{name} {matches[0]}{suffix}", matches
    prefix = _common_prefix(matches)
    return (f"/{name} {prefix}" if len(prefix) > len(arg) else line), matches
