"""Configuration: file, environment, flags, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ikigai.engine.config_loader import load_settings
from ikigai.engine.config_schema import Settings
from ikigai.engine.settings import ConfigError, resolve_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("IKIGAI_") or name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_copying_the_example_config_changes_nothing(tmp_path: Path) -> None:
    """Every active line of config.example.toml is a default: loading it gives the
    settings of no config file at all (the key table lists the default keys)."""
    from dataclasses import replace

    from ikigai.engine.tools.policy import parse_policy
    from ikigai.tui.keys import effective_keys, resolve_keymap

    example, _ = load_settings(ROOT / "config.example.toml")
    defaults, _ = load_settings(write(tmp_path, ""))
    assert replace(example, keys={}, tools=replace(example.tools, permissions={})) == defaults
    assert example.tools.permissions and example.keys  # the tables are really read
    assert parse_policy(example.tools.permissions) == parse_policy(defaults.tools.permissions)
    keymap, warnings = resolve_keymap(example.keys)
    assert warnings == []
    assert effective_keys(keymap) == effective_keys({})


def _documented(text: str) -> set[str]:
    """Keys named on active or ``# example:`` lines of the example config."""
    names: set[str] = set()
    for line in text.splitlines():
        body = line.strip()
        body = body.removeprefix("# example:").strip() if body.startswith("# example:") else body
        if body.startswith("[") and body.endswith("]"):
            names.update(part.strip('"') for part in body.strip("[]").split("."))
            continue
        if body.startswith("#") or "=" not in body:
            continue
        names.add(body.split("=", 1)[0].strip().strip('"'))
    return names


def test_example_config_documents_every_key() -> None:
    from pydantic import BaseModel

    from ikigai.engine import config_schema

    text = (ROOT / "config.example.toml").read_text()
    documented = _documented(text)
    sections = {"profiles", "providers", "storage", "ui", "tools", "keys"}
    for name in Settings.model_fields:
        assert name in documented or name in sections, f"{name} is not documented"
    for model in vars(config_schema).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not Settings:
            for name in model.model_fields:
                assert name in documented, f"{model.__name__}.{name} is not documented"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[profiles.default]\nmodel = "openai-chat/a"\nthinking = "low"\n')
    monkeypatch.setenv("IKIGAI_PROFILES__DEFAULT__THINKING", "high")
    settings, _ = load_settings(path)
    assert settings.profiles["default"].thinking == "high"
    assert settings.profiles["default"].model == "openai-chat/a"


def test_ikigai_config_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'default_profile = "x"\n[profiles.x]\nmodel = "claude-a"\n')
    monkeypatch.setenv("IKIGAI_CONFIG", str(path))
    settings, found = load_settings()
    assert (found, settings.default_profile) == (path, "x")


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_profile = "a"\n[profiles.a\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert "line 2" in str(info.value)


def test_unknown_key_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "[profiles.default]\nmodle = 'x'\n")
    with pytest.raises(ConfigError, match=r"profiles\.default\.modle: unknown key"):
        load_settings(path)


def test_bad_value_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[tools]\nbash = 'sometimes'\n")
    with pytest.raises(ConfigError, match=r"tools\.bash"):
        load_settings(path)


def test_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IKIGAI_MAX_TURNS", "zero")
    with pytest.raises(ConfigError, match="environment variable IKIGAI_MAX_TURNS"):
        load_settings(write(tmp_path, ""))


def test_unknown_provider_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown provider.*openai-chat"):
        load_settings(write(tmp_path, "[providers.mistral]\ntimeout = 3\n"))


def test_resolve_profile_flags_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'default_profile = "a"\n[profiles.a]\nmodel = "claude-x"\nsystem_prompt = "sys"\n'
        "[providers.anthropic]\ntimeout = 7\nheaders = { X-A = '1' }\n",
    )
    settings, _ = load_settings(path)
    run = resolve_run(settings, env={"ANTHROPIC_API_KEY": "sk-test"})
    assert (run.provider, run.model, run.system_prompt) == ("anthropic", "claude-x", "sys")
    assert run.options.api_key == "sk-test"
    assert run.options.read_timeout == 7
    assert run.options.headers == {"X-A": "1"}
    assert run.options.base_url == "https://api.anthropic.com"
    flagged = resolve_run(
        settings,
        model="openai-chat/llama3",
        thinking="high",
        base_url="http://127.0.0.1:8080/v1",
        env={"OPENAI_API_KEY": "k"},
    )
    assert (flagged.provider, flagged.model, flagged.thinking) == ("openai-chat", "llama3", "high")
    assert flagged.options.base_url == "http://127.0.0.1:8080/v1"


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    settings, _ = load_settings(write(tmp_path, "[profiles.work]\n[profiles.home]\n"))
    with pytest.raises(ConfigError, match=r"unknown profile 'nope' \(profiles: home, work\)"):
        resolve_run(settings, profile="nope", env={})


def test_missing_key_names_the_variable(tmp_path: Path) -> None:
    settings, _ = load_settings(write(tmp_path, ""))
    with pytest.raises(ConfigError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        resolve_run(settings, model="google/gemini-2.5-pro", env={})
    run = resolve_run(settings, model="google/gemini-2.5-pro", env={"GOOGLE_API_KEY": "g"})
    assert run.options.api_key == "g"


def test_empty_key_variable_means_no_key_needed(tmp_path: Path) -> None:
    path = write(tmp_path, "[providers.openai-chat]\napi_key_env = ''\n")
    settings, _ = load_settings(path)
    run = resolve_run(settings, model="openai-chat/llama3", env={})
    assert run.options.api_key is None


def test_unknown_provider_in_model(tmp_path: Path) -> None:
    settings, _ = load_settings(write(tmp_path, ""))
    with pytest.raises(ConfigError, match="openai, openai-chat, anthropic, google"):
        resolve_run(settings, model="mistral-large", env={})


def test_validated_config_is_cached_until_file_or_environment_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[profiles.default]\nmodel = "openai-chat/a"\n')
    probe = (
        "import sys; from ikigai.engine.config_loader import load_settings; "
        "c, _ = load_settings(sys.argv[1]); "
        "print(c.profiles['default'].model, 'pydantic' in sys.modules)"
    )

    def run() -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        )
        return result.stdout.strip()

    assert run() == "openai-chat/a True"
    assert run() == "openai-chat/a False"
    path.write_text('[profiles.default]\nmodel = "openai-chat/b"\n', encoding="utf-8")
    assert run() == "openai-chat/b True"
    monkeypatch.setenv("IKIGAI_PROFILES__DEFAULT__MODEL", "openai-chat/c")
    assert run() == "openai-chat/c True"
    assert run() == "openai-chat/c False"
    path.write_text("[profiles.default]\nmodel = 3\n", encoding="utf-8")
    monkeypatch.delenv("IKIGAI_PROFILES__DEFAULT__MODEL")
    with pytest.raises(subprocess.CalledProcessError):
        run()


def _schema_fields(model: type) -> dict[str, object]:
    """Field names of a pydantic model, nested models expanded."""
    from pydantic import BaseModel

    out: dict[str, object] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        nested = [
            a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        out[name] = _schema_fields(nested[0]) if nested else None
    return out


def _typed_fields(cls: type) -> dict[str, object]:
    """Field names of a settings dataclass, nested settings classes expanded."""
    import dataclasses
    import typing

    from ikigai.engine import settings as typed
    from ikigai.providers import request  # names the settings import for type checking only

    hints = typing.get_type_hints(cls, {**vars(request), **vars(typed)})
    out: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        args = getattr(hint, "__args__", ())
        nested = [a for a in (hint, *args) if dataclasses.is_dataclass(a) and isinstance(a, type)]
        out[field.name] = _typed_fields(nested[0]) if nested else None
    return out


def test_typed_settings_and_the_schema_have_the_same_fields() -> None:
    from ikigai.engine.settings import Settings as TypedSettings

    typed = _typed_fields(TypedSettings)
    # The [tools] table's tool = permission keys are the schema's extra keys.
    tools = typed["tools"]
    assert isinstance(tools, dict) and tools.pop("permissions") is None
    assert typed == _schema_fields(Settings)


def test_settings_are_typed_objects(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[profiles.w]\nmodel = "openai-chat/x"\nmax_output_tokens = 99\n'
        '[providers.openai-chat]\ntimeout = 3.5\nheaders = { A = "b" }\n'
        "[ui]\nshow_thinking = false\n",
    )
    settings, _ = load_settings(path)
    assert settings.profiles["w"].max_output_tokens == 99
    assert settings.providers["openai-chat"].timeout == 3.5
    assert dict(settings.providers["openai-chat"].headers) == {"A": "b"}
    assert settings.providers["anthropic"].timeout == 120.0
    assert settings.ui.show_thinking is False
    with pytest.raises(TypeError):
        settings.profiles["x"] = settings.profiles["w"]  # type: ignore[index]


def test_a_hyphenated_provider_id_may_be_spelt_with_an_underscore_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IKIGAI_PROVIDERS__OPENAI_CHAT__BASE_URL", "http://127.0.0.1:9/v1")
    settings, _ = load_settings(write(tmp_path, ""))
    assert settings.providers["openai-chat"].base_url == "http://127.0.0.1:9/v1"


def test_an_unknown_provider_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IKIGAI_PROVIDERS__MISTRAL__BASE_URL", "http://x")
    with pytest.raises(
        ConfigError, match="environment variable IKIGAI_PROVIDERS__MISTRAL__BASE_URL"
    ):
        load_settings(write(tmp_path, ""))


def test_an_underscore_override_merges_into_the_files_hyphenated_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        '[providers.openai-chat]\nbase_url = "http://127.0.0.1:11434/v1"\napi_key_env = ""\n'
        'headers = { X-A = "1" }\n',
    )
    monkeypatch.setenv("IKIGAI_PROVIDERS__OPENAI_CHAT__TIMEOUT", "30")
    monkeypatch.setenv("IKIGAI_PROVIDERS__OPENAI_CHAT__HEADERS__X_B", "2")
    settings, _ = load_settings(path)
    chat = settings.providers["openai-chat"]
    assert chat.base_url == "http://127.0.0.1:11434/v1"  # the file's value survives
    assert chat.api_key_env == ""
    assert chat.timeout == 30.0  # the variable's value wins
    assert dict(chat.headers) == {"X-A": "1", "x_b": "2"}


def test_nothing_configured_is_the_schemas_defaults(tmp_path: Path) -> None:
    """A blank or missing file skips validation: the typed defaults must be the schema's."""
    from ikigai.engine.config_schema import validate
    from ikigai.engine.settings import Settings as TypedSettings

    validated = TypedSettings.from_data(validate({}, tmp_path / "config.toml"))
    assert validated == TypedSettings()
    for text in ("", "\n", "  \r\n\t\n"):
        settings, _ = load_settings(write(tmp_path, text))
        assert settings == validated
    assert not (tmp_path / "cache").exists()  # nothing was validated, so nothing cached


def test_a_blank_file_with_a_settings_variable_is_still_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "\n")
    monkeypatch.setenv("IKIGAI_PROFILES__DEFAULT__MODEL", "openai-chat/from-env")
    settings, _ = load_settings(path)
    assert settings.profiles["default"].model == "openai-chat/from-env"
    monkeypatch.setenv("IKIGAI_PROFILES__DEFAULT__THINKING", "loud")
    with pytest.raises(ConfigError, match="thinking"):
        load_settings(path)


def test_a_file_that_is_not_blank_is_still_parsed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "\x0c\n"))  # a form feed is not TOML whitespace
