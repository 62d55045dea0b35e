"""The configuration schema, validated with pydantic-settings.

Importing pydantic costs a noticeable part of a headless run's start-up, so
this module is imported only when a configuration has to be validated: the
loader (``engine.config_loader``) caches the validated result and reuses it
while the file and the ``IKIGAI_...`` variables are unchanged. The typed
objects the rest of ikigai reads are ``engine.settings``' dataclasses; a test
keeps the two in step, field by field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ikigai.engine.mcp.names import MAX_SERVER_NAME_LENGTH, valid_server_name
from ikigai.engine.settings import DEFAULT_MCP_TIMEOUT, ConfigError
from ikigai.providers.registry import PROVIDERS, UnknownProviderError, split_model
from ikigai.providers.request import ThinkingLevel
from ikigai.providers.sse import DEFAULT_MAX_EVENT_BYTES

ToolPolicy = Literal["allow", "ask", "deny"]
DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"


class ProfileSettings(BaseModel):
    """A named set of choices: model, thinking level and system prompt."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    thinking: ThinkingLevel | None = None
    system_prompt: str | None = None
    max_output_tokens: int | None = Field(default=None, gt=0)
    fallback: list[str] = Field(default_factory=list)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)


class ProviderSettings(BaseModel):
    """How to reach one provider; every field falls back to the provider's default."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=120.0, gt=0, description="idle read timeout, seconds")
    connect_timeout: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    stall_retries: int = Field(default=0, ge=0, le=10)
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=65_536)


class StorageSettings(BaseModel):
    """Where conversations are stored."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    busy_timeout: float = Field(default=10.0, gt=0, le=3600)


class UISettings(BaseModel):
    """Choices of the full-screen app."""

    model_config = ConfigDict(extra="forbid")

    on_start: Literal["new", "resume"] = "new"
    theme: str | None = None
    show_thinking: bool = True


class ToolsSettings(BaseModel):
    """The [tools] table: ``tool = "allow" | "ask" | "deny"`` entries, plus the options of
    tool subprocesses."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ToolPolicy] = Field(init=False)

    env: dict[str, str] = Field(default_factory=dict)
    env_allow: list[str] = Field(default_factory=list)
    secret_patterns: list[str] | None = None
    timeout: float = Field(default=60.0, gt=0)


class McpServerSettings(BaseModel):
    """One MCP server: ``command`` (+ ``args``, ``env``, ``cwd``) or ``url`` (+ ``headers``)."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(default=None, min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    allow: list[str] | None = None
    deny: list[str] = Field(default_factory=list)
    timeout: float = Field(default=DEFAULT_MCP_TIMEOUT, gt=0, le=3600)
    startup: Literal["lazy", "eager"] = "lazy"

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "set either command (a stdio server) or url (a streamable HTTP server)"
            )
        if self.url is not None:
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url {self.url!r} must start with http:// or https://")
            if self.args or self.env or self.cwd:
                raise ValueError("args, env and cwd apply to stdio servers (command), not url")
        elif self.headers:
            raise ValueError("headers apply to HTTP servers (url), not command")
        return self


class McpSettings(BaseModel):
    """The MCP servers, by name."""

    model_config = ConfigDict(extra="forbid")

    servers: dict[str, McpServerSettings] = Field(default_factory=dict)


class ModelSettings(BaseModel):
    """One ``[models."<model id>"]`` table: window, output bound and prices (USD per
    million tokens) that extend or override ikigai's model table."""

    model_config = ConfigDict(extra="forbid")

    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    input_cost: float | None = Field(default=None, ge=0)
    cached_input_cost: float | None = Field(default=None, ge=0)
    output_cost: float | None = Field(default=None, ge=0)


class ContextSettings(BaseModel):
    """The [context] table: compaction, project instructions (AGENTS.md), attachments."""

    model_config = ConfigDict(extra="forbid")

    auto_compact: bool = True
    compact_threshold: float = Field(default=0.85, gt=0, le=1)
    keep_turns: int = Field(default=2, ge=0, le=100)
    project_docs: bool = True
    project_docs_max_bytes: int = Field(default=32_768, ge=0)
    attachment_max_bytes: int = Field(default=5_242_880, gt=0)


def _default_profiles() -> dict[str, ProfileSettings]:
    return {"default": ProfileSettings(model=DEFAULT_MODEL)}


class Settings(BaseSettings):
    """The whole configuration, validated."""

    model_config = SettingsConfigDict(
        env_prefix="IKIGAI_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    default_profile: str = "default"
    max_turns: int = Field(default=50, ge=1)
    profiles: dict[str, ProfileSettings] = Field(default_factory=_default_profiles)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)
    keys: dict[str, str] = Field(default_factory=dict)
    ui: UISettings = Field(default_factory=UISettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    context: ContextSettings = Field(default_factory=ContextSettings)

    @field_validator("providers", mode="before")
    @classmethod
    def _hyphenated_ids(cls, value: Any) -> Any:
        # IKIGAI_PROVIDERS__OPENAI_CHAT__BASE_URL cannot spell "openai-chat": an
        # underscore stands for the hyphen of a provider id. The variable's keys
        # are merged into the file's table (the variable wins key by key), as
        # the environment is for every other table.
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {}
        spelt_with_underscore: list[tuple[str, Any]] = []
        for key, entry in value.items():
            hyphenated = key.replace("_", "-")
            if hyphenated != key and hyphenated in PROVIDERS:
                spelt_with_underscore.append((hyphenated, entry))
            else:
                merged[key] = entry
        for key, entry in spelt_with_underscore:
            merged[key] = _deep_merge(merged.get(key), entry)
        return merged

    @model_validator(mode="after")
    def _every_provider_has_settings(self) -> Settings:
        # Filled in so the validated data is complete without the schema at hand.
        for name in PROVIDERS:
            self.providers.setdefault(name, ProviderSettings())
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Init kwargs carry the file's data, so the environment must come first to win.
        return env_settings, init_settings


def _deep_merge(base: Any, over: Any) -> Any:
    """``over`` laid over ``base``: tables merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, entry in over.items():
            out[key] = _deep_merge(out.get(key), entry)
        return out
    return over


def validate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate the file's ``data`` merged with the environment; the result as plain JSON data.

    Raises ``ConfigError`` naming the file or variable and the offending key.
    """
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path)) from None
    _check_semantics(settings, path)
    return settings.model_dump(mode="json")


def _describe_validation_error(exc: ValidationError, path: Path) -> str:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"config error in {_where(loc, path)}: {key}: {message}{suffix}"


def _where(loc: list[str], path: Path) -> str:
    """The environment variable that set the value at ``loc``, else the file."""
    env_names = {
        name.upper().replace("-", "_") for name in os.environ if name.upper().startswith("IKIGAI_")
    }
    for depth in range(len(loc), 0, -1):
        candidate = ("IKIGAI_" + "__".join(loc[:depth])).upper().replace("-", "_")
        matches = sorted(
            n
            for n in env_names
            if n == candidate or (depth == len(loc) and n.startswith(candidate + "__"))
        )
        if matches:
            return f"environment variable {matches[0]}"
    return str(path)


def _check_semantics(settings: Settings, path: Path) -> None:
    for name in settings.providers:
        if name not in PROVIDERS:
            raise ConfigError(
                f"config error in {_where(['providers', name], path)}: providers.{name}: "
                f"unknown provider (known: {', '.join(PROVIDERS)})"
            )
    for name in settings.mcp.servers:
        if not valid_server_name(name):
            raise ConfigError(
                f"config error in {_where(['mcp', 'servers', name], path)}: mcp.servers.{name}: "
                "a server name uses letters, digits, '-' and single '_' between them "
                f"(at most {MAX_SERVER_NAME_LENGTH} characters)"
            )
    for profile, chosen in settings.profiles.items():
        for entry in chosen.fallback:
            try:
                split_model(entry)
            except UnknownProviderError as exc:
                loc = ["profiles", profile, "fallback"]
                raise ConfigError(
                    f"config error in {_where(loc, path)}: profiles.{profile}.fallback: "
                    f"{entry!r}: {exc}"
                ) from None
