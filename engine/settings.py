"""Configuration: a TOML file, ``IKIGAI_...`` environment overrides, then CLI flags.

The file is ``$IKIGAI_CONFIG``, else ``<user config dir>/ikigai/config.toml``;
a missing default file simply means defaults. Environment variables use
``__`` for nesting (``IKIGAI_PROFILES__WORK__MODEL``) and win over the file.
CLI flags are applied last by ``resolve_run``. Validation (pydantic-settings,
in ``tui.config_schema``) runs only when the file or the variables changed
since the last run; the validated result is cached as plain data.

Errors are ``ConfigError`` with one line naming the file (or variable) and the
offending key or TOML line, so the CLI can print it and exit with status 2.
API keys are never part of the settings: a provider names the environment
variable that holds its key, and the key is read only when a request is built.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikigai.providers.http import ProviderOptions
from ikigai.providers.registry import UnknownProviderError, provider_info, split_model
from ikigai.providers.request import ThinkingLevel

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
_SCHEMA_FILE = Path(__file__).with_name("config_schema.py")
_CACHE_ENTRIES = 8
_NOT_SETTINGS = frozenset({"IKIGAI_CONFIG", "IKIGAI_DB"})  # read directly, not settings


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


Config = dict[str, Any]
"""Validated configuration as plain data, shaped like ``config_schema.Settings``."""


def default_config_path(env: Mapping[str, str]) -> Path:
    """``$IKIGAI_CONFIG`` or the platform's user config dir."""
    explicit = env.get("IKIGAI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("ikigai", appauthor=False)) / "config.toml"


def load_settings(config_path: str | Path | None = None) -> tuple[Config, Path]:
    """Validated settings from the config file and the environment, and the file's path.

    An explicitly given file (flag or ``IKIGAI_CONFIG``) must exist; the
    default location may be absent.
    """
    explicit = config_path is not None or bool(os.environ.get("IKIGAI_CONFIG"))
    path = (
        Path(config_path).expanduser()
        if config_path is not None
        else default_config_path(os.environ)
    )
    try:
        raw = path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if raw is None and explicit:
        raise ConfigError(f"config file not found: {path}")
    cache_key = _cache_key(path, raw)
    cached = _read_cache(cache_key)
    if cached is not None:
        return cached, path
    data = _parse_toml(raw, path) if raw is not None else {}
    from ikigai.engine.config_schema import validate

    config = validate(data, path)
    _write_cache(cache_key, config)
    return config, path


def _parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    import tomllib  # only on a cache miss

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config error in {path}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error in {path}: invalid TOML: {exc}") from None


# The validated configuration is cached, keyed by everything it depends on: the
# file's bytes, the IKIGAI_ variables and the schema's source. A hit skips
# importing pydantic, which would otherwise dominate a headless run's start-up.


def _cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ikigai", appauthor=False)) / "config-cache.json"


def _cache_key(path: Path, raw: bytes | None) -> str:
    digest = hashlib.sha256()
    digest.update(str(path).encode())
    digest.update(b"\0absent" if raw is None else b"\0" + raw)
    for name in sorted(os.environ):
        if name.upper().startswith("IKIGAI_") and name.upper() not in _NOT_SETTINGS:
            digest.update(f"\0{name}={os.environ[name]}".encode())
    digest.update(_SCHEMA_FILE.read_bytes())
    return digest.hexdigest()


def _read_cache(key: str) -> Config | None:
    entries = _cache_entries()
    config = entries.get(key)
    return config if isinstance(config, dict) else None


def _cache_entries() -> dict[str, Any]:
    try:
        entries = json.loads(_cache_path().read_bytes())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _write_cache(key: str, config: Config) -> None:
    entries = _cache_entries()
    entries.pop(key, None)
    entries[key] = config
    while len(entries) > _CACHE_ENTRIES:  # keep the most recently written
        del entries[next(iter(entries))]
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # A cache that cannot be written only costs speed.


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
    settings: Config,
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
    name = profile or settings["default_profile"]
    profiles = settings["profiles"]
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"unknown profile '{name}' (profiles: {known})")
    chosen = profiles[name]
    try:
        provider_id, model_name = split_model(model or chosen["model"] or DEFAULT_MODEL)
        info = provider_info(provider_id)
    except UnknownProviderError as exc:
        raise ConfigError(str(exc)) from None
    provider_settings = settings["providers"][provider_id]
    url = base_url or provider_settings["base_url"] or info.default_base_url
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
        headers=dict(provider_settings["headers"]),
        read_timeout=provider_settings["timeout"],
        connect_timeout=provider_settings["connect_timeout"],
        max_retries=provider_settings["max_retries"],
    )
    return RunConfig(
        profile=name,
        provider=provider_id,
        model=model_name,
        thinking=thinking or chosen["thinking"],
        system_prompt=chosen["system_prompt"],
        max_output_tokens=chosen["max_output_tokens"],
        options=options,
        key_env_vars=key_vars,
        max_turns=max_turns or settings["max_turns"],
    )


def _key_env_vars(settings: Mapping[str, Any], defaults: tuple[str, ...]) -> tuple[str, ...]:
    """The variables to read the key from; ``api_key_env = ""`` means no key is needed."""
    name = settings["api_key_env"]
    if name is None:
        return defaults
    return (name,) if name else ()
