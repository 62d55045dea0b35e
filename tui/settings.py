"""Configuration: a TOML file, ``IKIGAI_...`` environment overrides, then CLI flags.

The file is ``$IKIGAI_CONFIG``, else ``<user config dir>/ikigai/config.toml``;
a missing default file simply means defaults. Environment variables use
``__`` for nesting (``IKIGAI_PROFILES__WORK__MODEL``) and win over the file.
CLI flags are applied last by ``resolve_run``.

Errors are ``ConfigError`` with one line naming the file (or variable) and the
offending key or TOML line, so the CLI can print it and exit with status 2.
API keys are never part of the settings: a provider names the environment
variable that holds its key, and the key is read only when a request is built.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from providers.http import ProviderOptions
from providers.registry import PROVIDERS, UnknownProviderError, provider_info, split_model
from providers.request import ThinkingLevel

ToolPolicy = Literal["allow", "ask", "deny"]
DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


class ProfileSettings(BaseModel):
    """A named set of choices: model, thinking level and system prompt."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    thinking: ThinkingLevel | None = None
    system_prompt: str | None = None
    max_output_tokens: int | None = Field(default=None, gt=0)


class ProviderSettings(BaseModel):
    """How to reach one provider; every field falls back to the provider's default."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=120.0, gt=0, description="idle read timeout, seconds")
    connect_timeout: float = Field(default=15.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)


class StorageSettings(BaseModel):
    """Where conversations are stored."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None


class UISettings(BaseModel):
    """Choices of the full-screen app."""

    model_config = ConfigDict(extra="forbid")

    on_start: Literal["new", "resume"] = "new"
    theme: str | None = None
    show_thinking: bool = True


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
    tools: dict[str, ToolPolicy] = Field(default_factory=dict)
    keys: dict[str, str] = Field(default_factory=dict)
    ui: UISettings = Field(default_factory=UISettings)

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


def default_config_path(env: Mapping[str, str]) -> Path:
    """``$IKIGAI_CONFIG`` or the platform's user config dir."""
    explicit = env.get("IKIGAI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("ikigai", appauthor=False)) / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path``; syntax errors name the file and the line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error in {path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config error in {path}: the file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None


def load_settings(config_path: str | Path | None = None) -> tuple[Settings, Path]:
    """Settings from the config file and the environment; returns them and the file's path.

    An explicitly given file (flag or ``IKIGAI_CONFIG``) must exist; the
    default location may be absent.
    """
    explicit = config_path is not None or bool(os.environ.get("IKIGAI_CONFIG"))
    path = (
        Path(config_path).expanduser()
        if config_path is not None
        else default_config_path(os.environ)
    )
    data: dict[str, Any] = {}
    if path.is_file():
        data = read_toml(path)
    elif explicit:
        raise ConfigError(f"config file not found: {path}")
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path)) from None
    _check_semantics(settings, path)
    return settings, path


def _describe_validation_error(exc: ValidationError, path: Path) -> str:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    where = str(path)
    env_names = {name.upper() for name in os.environ if name.upper().startswith("IKIGAI_")}
    for depth in range(len(loc), 0, -1):
        candidate = "IKIGAI_" + "__".join(loc[:depth]).upper()
        if candidate in env_names:
            where = f"environment variable {candidate}"
            break
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"config error in {where}: {key}: {message}{suffix}"


def _check_semantics(settings: Settings, path: Path) -> None:
    for name in settings.providers:
        if name not in PROVIDERS:
            raise ConfigError(
                f"config error in {path}: providers.{name}: unknown provider "
                f"(known: {', '.join(PROVIDERS)})"
            )


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one session needs, resolved from settings, profile and flags."""

    profile: str
    provider: str
    model: str
    thinking: ThinkingLevel | None
    system_prompt: str | None
    max_output_tokens: int | None
    options: ProviderOptions
    key_env_vars: tuple[str, ...]
    max_turns: int

    @property
    def model_spec(self) -> str:
        return f"{self.provider}/{self.model}"


def resolve_run(
    settings: Settings,
    *,
    profile: str | None = None,
    model: str | None = None,
    thinking: ThinkingLevel | None = None,
    base_url: str | None = None,
    max_turns: int | None = None,
    env: Mapping[str, str] | None = None,
    require_key: bool = True,
) -> RunConfig:
    """Apply the profile and CLI flags; read the API key from the environment by name.

    Raises ``ConfigError`` for an unknown profile or provider and, when
    ``require_key`` is true, for a missing key (naming the variable to set).
    """
    env = os.environ if env is None else env
    name = profile or settings.default_profile
    if name not in settings.profiles:
        known = ", ".join(sorted(settings.profiles)) or "none"
        raise ConfigError(f"unknown profile '{name}' (profiles: {known})")
    chosen = settings.profiles[name]
    try:
        provider_id, model_name = split_model(model or chosen.model or DEFAULT_MODEL)
        info = provider_info(provider_id)
    except UnknownProviderError as exc:
        raise ConfigError(str(exc)) from None
    provider_settings = settings.providers.get(provider_id, ProviderSettings())
    url = base_url or provider_settings.base_url or info.default_base_url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"invalid base URL '{url}': it must start with http:// or https://")
    key_vars = _key_env_vars(provider_settings, info.key_env_vars)
    key = next((env[var] for var in key_vars if env.get(var)), None)
    if require_key and key_vars and not key:
        hint = " or ".join(key_vars)
        raise ConfigError(
            f"no API key for provider '{provider_id}': set {hint} "
            f"(or [providers.{provider_id}] api_key_env in the config)"
        )
    options = ProviderOptions(
        base_url=url,
        api_key=key,
        headers=dict(provider_settings.headers),
        read_timeout=provider_settings.timeout,
        connect_timeout=provider_settings.connect_timeout,
        max_retries=provider_settings.max_retries,
    )
    return RunConfig(
        profile=name,
        provider=provider_id,
        model=model_name,
        thinking=thinking or chosen.thinking,
        system_prompt=chosen.system_prompt,
        max_output_tokens=chosen.max_output_tokens,
        options=options,
        key_env_vars=key_vars,
        max_turns=max_turns or settings.max_turns,
    )


def _key_env_vars(settings: ProviderSettings, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """The variables to read the key from; ``api_key_env = ""`` means no key is needed."""
    if settings.api_key_env is None:
        return defaults
    return (settings.api_key_env,) if settings.api_key_env else ()
