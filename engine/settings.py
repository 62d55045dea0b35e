"""The typed settings every part of ikigai reads, and the run configuration derived from them.

``Settings`` is built once per process from the validated configuration (see
``engine.config_loader``): the TOML file, ``IKIGAI_...`` environment overrides,
then defaults. It is plain frozen dataclasses, not a dict keyed by strings, so
the engine and the UI read ``settings.ui.theme`` and a typo is a type error.
Validation itself (pydantic-settings, ``engine.config_schema``) runs only when
the file or the variables changed since the last run; ``Settings.from_data``
builds the objects from the validated plain data without importing pydantic.

``resolve_run`` applies a profile and the command-line flags and reads the API
key from the environment by name: keys are never part of the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

from ikigai.providers.http import ProviderOptions
from ikigai.providers.registry import (
    PROVIDERS,
    UnknownProviderError,
    provider_info,
    split_model,
)
from ikigai.providers.sse import DEFAULT_MAX_EVENT_BYTES

if TYPE_CHECKING:  # the app's first frame needs the settings, not the request types
    from ikigai.providers.request import ThinkingLevel

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
DEFAULT_MAX_TURNS = 50

ToolPermission = Literal["allow", "ask", "deny"]
StartMode = Literal["new", "resume"]
McpStartup = Literal["lazy", "eager"]
DEFAULT_MCP_TIMEOUT = 30.0


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    """A named set of choices: model, thinking level, system prompt, output bound.

    ``fallback`` lists ``provider/model`` entries tried in order when the
    model fails before answering (overloaded, rate-limited, timed out);
    ``temperature`` / ``top_p`` / ``top_k`` are sent only to models that take them.
    """

    model: str | None = None
    thinking: ThinkingLevel | None = None
    system_prompt: str | None = None
    max_output_tokens: int | None = None
    fallback: tuple[str, ...] = ()
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ProfileSettings:
        return cls(
            model=data.get("model"),
            thinking=data.get("thinking"),
            system_prompt=data.get("system_prompt"),
            max_output_tokens=data.get("max_output_tokens"),
            fallback=tuple(data.get("fallback") or ()),
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            top_k=data.get("top_k"),
        )


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """How to reach one provider; ``None`` falls back to the provider's default.

    ``api_key_env`` names the variable holding the key: ``None`` means the
    provider's usual variables, ``""`` means the server needs no key.
    """

    base_url: str | None = None
    api_key_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    timeout: float = 120.0
    """Longest wait for the response, then between two complete events (seconds)."""
    connect_timeout: float = 15.0
    max_retries: int = 4
    stall_retries: int = 0
    """How often a request that stalled before any content is retried."""
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    """The largest single stream event accepted (a bigger one ends the stream)."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ProviderSettings:
        defaults = cls()
        return cls(
            base_url=data.get("base_url"),
            api_key_env=data.get("api_key_env"),
            headers=_frozen(data.get("headers")),
            timeout=float(data.get("timeout", defaults.timeout)),
            connect_timeout=float(data.get("connect_timeout", defaults.connect_timeout)),
            max_retries=int(data.get("max_retries", defaults.max_retries)),
            stall_retries=int(data.get("stall_retries", defaults.stall_retries)),
            max_event_bytes=int(data.get("max_event_bytes", defaults.max_event_bytes)),
        )


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where conversations are stored (``path`` ``None``: the platform's user data dir)."""

    path: str | None = None
    busy_timeout: float = 10.0
    """Seconds a headless run waits for a database another process holds locked (or a
    full disk) before it gives up with exit status 2."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> StorageSettings:
        return cls(path=data.get("path"), busy_timeout=float(data.get("busy_timeout", 10.0)))


@dataclass(frozen=True, slots=True)
class UISettings:
    """Choices of the full-screen app."""

    on_start: StartMode = "new"
    theme: str | None = None
    show_thinking: bool = True

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> UISettings:
        return cls(
            on_start=cast(StartMode, data.get("on_start", "new")),
            theme=data.get("theme"),
            show_thinking=bool(data.get("show_thinking", True)),
        )


@dataclass(frozen=True, slots=True)
class ToolsSettings:
    """The ``[tools]`` table: a permission per tool name, and how tool subprocesses run.

    ``permissions`` holds the table's ``tool = "allow" | "ask" | "deny"`` keys;
    ``env`` (the ``[tools.env]`` table) and ``env_allow`` add variables to the
    minimal environment of tool subprocesses; ``secret_patterns`` replaces the
    default list of names never passed on (``None``: the default list).
    """

    permissions: Mapping[str, ToolPermission] = field(default_factory=lambda: _frozen(None))
    env: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    env_allow: tuple[str, ...] = ()
    secret_patterns: tuple[str, ...] | None = None
    timeout: float = 60.0
    """Seconds any tool call but ``bash`` may run (``bash`` has its own, per call)."""

    OPTIONS = ("env", "env_allow", "secret_patterns", "timeout")
    """The table's keys that are not tool names."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ToolsSettings:
        patterns = data.get("secret_patterns")
        return cls(
            permissions=_frozen({k: v for k, v in data.items() if k not in cls.OPTIONS}),
            env=_frozen(data.get("env")),
            env_allow=tuple(data.get("env_allow") or ()),
            secret_patterns=tuple(patterns) if patterns is not None else None,
            timeout=float(data.get("timeout", 60.0)),
        )


@dataclass(frozen=True, slots=True)
class McpServerSettings:
    """One MCP server: a command (stdio) or a URL (streamable HTTP), and what it may offer.

    ``env`` and ``headers`` values may name environment variables (``$NAME`` or
    ``${NAME}``), expanded when the server starts (``engine.mcp.launch``).
    ``allow`` (``None``: every tool) and ``deny`` choose which of its tools are
    offered to the model; ``[tools]`` decides whether an offered one may run.
    ``timeout`` bounds the start and each call, in seconds.
    """

    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    enabled: bool = True
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    timeout: float = DEFAULT_MCP_TIMEOUT
    startup: McpStartup = "lazy"

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> McpServerSettings:
        allow = data.get("allow")
        return cls(
            command=data.get("command"),
            args=tuple(data.get("args") or ()),
            env=_frozen(data.get("env")),
            cwd=data.get("cwd"),
            url=data.get("url"),
            headers=_frozen(data.get("headers")),
            enabled=bool(data.get("enabled", True)),
            allow=tuple(allow) if allow is not None else None,
            deny=tuple(data.get("deny") or ()),
            timeout=float(data.get("timeout", DEFAULT_MCP_TIMEOUT)),
            startup=cast(McpStartup, data.get("startup", "lazy")),
        )


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """One ``[models."<model id>"]`` table: facts that extend or override ikigai's model
    table (``providers.model_facts``). Costs are USD per million tokens; ``None``
    keeps the table's value."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    input_cost: float | None = None
    cached_input_cost: float | None = None
    output_cost: float | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ModelSettings:
        return cls(
            context_window=data.get("context_window"),
            max_output_tokens=data.get("max_output_tokens"),
            input_cost=data.get("input_cost"),
            cached_input_cost=data.get("cached_input_cost"),
            output_cost=data.get("output_cost"),
        )


@dataclass(frozen=True, slots=True)
class McpSettings:
    """The MCP servers by name (``[mcp.servers.<name>]``)."""

    servers: Mapping[str, McpServerSettings] = field(default_factory=lambda: _frozen(None))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> McpSettings:
        servers = data.get("servers") or {}
        return cls(
            servers=_frozen(
                {name: McpServerSettings.from_data(raw) for name, raw in servers.items()}
            )
        )


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """The ``[context]`` table: compaction, project instructions and attachments."""

    auto_compact: bool = True
    """Summarize the conversation by itself when a request would pass the threshold."""
    compact_threshold: float = 0.85
    """The share of the model's context window a request may fill before compaction."""
    keep_turns: int = 2
    """The last turns a compaction keeps verbatim (fewer when they alone do not fit)."""
    project_docs: bool = True
    """Load ``AGENTS.md`` files into the system prompt."""
    project_docs_max_bytes: int = 32_768
    """The most ``AGENTS.md`` text loaded, all files together."""
    attachment_max_bytes: int = 5_242_880
    """The largest file an ``@path`` attaches."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ContextSettings:
        defaults = cls()
        return cls(
            auto_compact=bool(data.get("auto_compact", defaults.auto_compact)),
            compact_threshold=float(data.get("compact_threshold", defaults.compact_threshold)),
            keep_turns=int(data.get("keep_turns", defaults.keep_turns)),
            project_docs=bool(data.get("project_docs", defaults.project_docs)),
            project_docs_max_bytes=int(
                data.get("project_docs_max_bytes", defaults.project_docs_max_bytes)
            ),
            attachment_max_bytes=int(
                data.get("attachment_max_bytes", defaults.attachment_max_bytes)
            ),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration, validated and typed."""

    default_profile: str = "default"
    max_turns: int = DEFAULT_MAX_TURNS
    profiles: Mapping[str, ProfileSettings] = field(
        default_factory=lambda: _frozen({"default": ProfileSettings(model=DEFAULT_MODEL)})
    )
    providers: Mapping[str, ProviderSettings] = field(
        default_factory=lambda: _frozen({name: ProviderSettings() for name in PROVIDERS})
    )
    storage: StorageSettings = field(default_factory=StorageSettings)
    tools: ToolsSettings = field(default_factory=ToolsSettings)
    keys: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    ui: UISettings = field(default_factory=UISettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    models: Mapping[str, ModelSettings] = field(default_factory=lambda: _frozen(None))
    context: ContextSettings = field(default_factory=ContextSettings)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Settings:
        """The settings from validated plain data (``config_schema.validate``'s result)."""
        providers = {name: ProviderSettings() for name in PROVIDERS}
        for name, raw in (data.get("providers") or {}).items():
            providers[name] = ProviderSettings.from_data(raw)
        profiles = data.get("profiles")
        return cls(
            default_profile=data.get("default_profile", "default"),
            max_turns=int(data.get("max_turns", DEFAULT_MAX_TURNS)),
            profiles=_frozen(
                {name: ProfileSettings.from_data(raw) for name, raw in profiles.items()}
                if profiles is not None
                else {"default": ProfileSettings(model=DEFAULT_MODEL)}
            ),
            providers=_frozen(providers),
            storage=StorageSettings.from_data(data.get("storage") or {}),
            tools=ToolsSettings.from_data(data.get("tools") or {}),
            keys=_frozen(data.get("keys")),
            ui=UISettings.from_data(data.get("ui") or {}),
            mcp=McpSettings.from_data(data.get("mcp") or {}),
            models=_frozen(
                {
                    name: ModelSettings.from_data(raw)
                    for name, raw in (data.get("models") or {}).items()
                }
            ),
            context=ContextSettings.from_data(data.get("context") or {}),
        )

    def provider(self, provider_id: str) -> ProviderSettings:
        """The settings of ``provider_id`` (defaults for a provider the file does not name)."""
        return self.providers.get(provider_id) or ProviderSettings()


@dataclass(frozen=True, slots=True)
class FallbackTarget:
    """A model to try when the ones before it failed: where it is and its key."""

    provider: str
    model: str
    options: ProviderOptions
    key_env_vars: tuple[str, ...]

    @property
    def model_spec(self) -> str:
        """``provider/model``."""
        return f"{self.provider}/{self.model}"

    @property
    def missing_key(self) -> bool:
        """Whether the provider needs a key and none is set."""
        return bool(self.key_env_vars) and not self.options.api_key


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What one conversation runs with, resolved from settings, profile and flags."""

    profile: str
    provider: str
    model: str
    thinking: ThinkingLevel | None
    system_prompt: str | None
    max_output_tokens: int | None
    options: ProviderOptions
    key_env_vars: tuple[str, ...]
    max_turns: int
    key_env_var: str | None = None
    """The variable the key was read from (``None`` when no key is set)."""
    fallbacks: tuple[FallbackTarget, ...] = ()
    """The profile's ``fallback`` models, in order (``--base-url`` never applies to them)."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None

    @property
    def model_spec(self) -> str:
        """``provider/model``."""
        return f"{self.provider}/{self.model}"

    @property
    def missing_key_vars(self) -> tuple[str, ...]:
        """The variables to set when this provider needs a key and none is set, else ``()``."""
        if self.key_env_vars and not self.options.api_key:
            return self.key_env_vars
        return ()

    def sending_problems(self) -> list[str]:
        """Why the key or a configured header cannot be sent (names, never values)."""
        from ikigai.providers.headers import check_header_values

        return check_header_values(self.options, self.key_env_var)

    def fallback_warnings(self) -> list[str]:
        """One line per fallback model that cannot be used for want of a key."""
        return [
            f"fallback {target.model_spec} is skipped: set {' or '.join(target.key_env_vars)}"
            for target in self.fallbacks
            if target.missing_key
        ]

    def missing_key_message(self) -> str | None:
        """What to tell the user when no API key is configured, or ``None``."""
        names = self.missing_key_vars
        if not names:
            return None
        return (
            f"No API key for provider '{self.provider}'. Set {' or '.join(names)} in the "
            f"environment (or name another variable with [providers.{self.provider}] "
            "api_key_env in the config), then restart; or switch with /model PROVIDER/MODEL "
            "or /profile NAME."
        )


def resolve_run(
    settings: Settings,
    *,
    profile: str | None = None,
    model: str | None = None,
    thinking: ThinkingLevel | None = None,
    base_url: str | None = None,
    max_turns: int | None = None,
    system_prompt: str | None = None,
    no_key: bool = False,
    env: Mapping[str, str] | None = None,
    require_key: bool = True,
) -> RunConfig:
    """Apply the profile and CLI flags; read the API key from the environment by name.

    ``system_prompt`` replaces the profile's; ``no_key`` says the provider needs no
    key (a local server), as ``api_key_env = ""`` does in the config.

    Raises ``ConfigError`` for an unknown profile or provider, a base URL that
    is not http(s) and, when ``require_key`` is true, a missing key (naming the
    variable to set) or a key or header value that cannot be sent (a stray
    ``\r`` from a file, a non-ASCII character: named, never shown).
    """
    import os

    environment = os.environ if env is None else env
    name = profile or settings.default_profile
    if name not in settings.profiles:
        known = ", ".join(sorted(settings.profiles)) or "none"
        raise ConfigError(f"unknown profile '{name}' (profiles: {known})")
    chosen = settings.profiles[name]
    try:
        provider_id, model_name = split_model(model or chosen.model or DEFAULT_MODEL)
    except UnknownProviderError as exc:
        raise ConfigError(str(exc)) from None
    options, key_vars, key_var = provider_options(
        settings, provider_id, base_url=base_url, no_key=no_key, env=environment
    )
    if require_key and key_vars and not options.api_key:
        hint = " or ".join(key_vars)
        raise ConfigError(
            f"no API key for provider '{provider_id}': set {hint} "
            f"(or [providers.{provider_id}] api_key_env in the config)"
        )
    fallbacks = _fallbacks(settings, name, chosen, environment, require_key=require_key)
    run = RunConfig(
        profile=name,
        provider=provider_id,
        model=model_name,
        thinking=thinking or chosen.thinking,
        system_prompt=system_prompt if system_prompt is not None else chosen.system_prompt,
        max_output_tokens=chosen.max_output_tokens,
        options=options,
        key_env_vars=key_vars,
        max_turns=max_turns or settings.max_turns,
        key_env_var=key_var,
        fallbacks=fallbacks,
        temperature=chosen.temperature,
        top_p=chosen.top_p,
        top_k=chosen.top_k,
    )
    if require_key:
        problems = run.sending_problems()
        if problems:
            raise ConfigError(problems[0])
    return run


def provider_options(
    settings: Settings,
    provider_id: str,
    *,
    base_url: str | None = None,
    no_key: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[ProviderOptions, tuple[str, ...], str | None]:
    """How to reach ``provider_id``: its options (key read from ``env`` by name), the
    variables the key may be in, and the one it was read from (``no_key``: none).

    Raises ``ConfigError`` for an unknown provider or a base URL that is not http(s).
    """
    import os

    environment = os.environ if env is None else env
    try:
        info = provider_info(provider_id)
    except UnknownProviderError as exc:
        raise ConfigError(str(exc)) from None
    provider_settings = settings.provider(provider_id)
    url = base_url or provider_settings.base_url or info.default_base_url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"invalid base URL '{url}': it must start with http:// or https://")
    key_vars = () if no_key else _key_env_vars(provider_settings, info.key_env_vars)
    key_var = next((var for var in key_vars if environment.get(var)), None)
    key = environment[key_var] if key_var is not None else None
    options = ProviderOptions(
        base_url=url,
        api_key=key,
        headers=dict(provider_settings.headers),
        read_timeout=provider_settings.timeout,
        connect_timeout=provider_settings.connect_timeout,
        max_retries=provider_settings.max_retries,
        stall_retries=provider_settings.stall_retries,
        max_event_bytes=provider_settings.max_event_bytes,
    )
    return options, key_vars, key_var


def _fallbacks(
    settings: Settings,
    profile: str,
    chosen: ProfileSettings,
    env: Mapping[str, str],
    *,
    require_key: bool,
) -> tuple[FallbackTarget, ...]:
    """The profile's fallback models; ``ConfigError`` naming the entry that cannot be used."""
    targets: list[FallbackTarget] = []
    for entry in chosen.fallback:
        where = f"profile '{profile}': fallback '{entry}'"
        try:
            provider_id, model_name = split_model(entry)
        except UnknownProviderError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        options, key_vars, _ = provider_options(settings, provider_id, env=env)
        target = FallbackTarget(provider_id, model_name, options, key_vars)
        if require_key and target.missing_key:
            raise ConfigError(
                f"{where}: no API key for provider '{provider_id}': set "
                f"{' or '.join(key_vars)} (or [providers.{provider_id}] api_key_env)"
            )
        targets.append(target)
    return tuple(targets)


def _key_env_vars(settings: ProviderSettings, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """The variables to read the key from; ``api_key_env = ""`` means no key is needed."""
    name = settings.api_key_env
    if name is None:
        return defaults
    return (name,) if name else ()
