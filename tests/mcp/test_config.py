"""``[mcp.servers.<name>]`` in the config: what loads, and clear errors for what does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ikigai.engine.config_loader import load_settings
from ikigai.engine.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("IKIGAI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    settings, _ = load_settings(path)
    return settings


def test_a_stdio_and_an_http_server_load_as_typed_settings(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "[mcp.servers.demo]\ncommand = 'python'\nargs = ['server.py']\n"
        "env = { TOKEN = '$MY_TOKEN' }\ncwd = '~/x'\nallow = ['echo']\ndeny = ['rm']\n"
        "timeout = 5\nstartup = 'eager'\n"
        "[mcp.servers.web]\nurl = 'http://127.0.0.1:8000/mcp'\n"
        "headers = { Authorization = 'Bearer $T' }\nenabled = false\n",
    )
    demo = settings.mcp.servers["demo"]
    assert (demo.command, demo.args, dict(demo.env)) == (
        "python",
        ("server.py",),
        {"TOKEN": "$MY_TOKEN"},
    )
    assert (demo.cwd, demo.allow, demo.deny, demo.timeout, demo.startup) == (
        "~/x",
        ("echo",),
        ("rm",),
        5.0,
        "eager",
    )
    web = settings.mcp.servers["web"]
    assert (web.url, dict(web.headers), web.enabled, web.allow) == (
        "http://127.0.0.1:8000/mcp",
        {"Authorization": "Bearer $T"},
        False,
        None,
    )


def test_the_example_config_documents_mcp_servers(tmp_path: Path) -> None:
    """The example's MCP servers are commented examples (copying the file starts none);
    uncommented, they are a valid configuration."""
    text = (ROOT / "config.example.toml").read_text()
    start = text.index("# example: [mcp.servers.files]")
    examples = [
        line.removeprefix("# example: ")
        for line in text[start:].splitlines()
        if line.startswith("# example: ")
    ]
    uncommented = tmp_path / "mcp.toml"
    uncommented.write_text("\n".join(examples) + "\n", encoding="utf-8")
    settings, _ = load_settings(uncommented)
    files = settings.mcp.servers["files"]
    assert files.command == "npx" and files.deny == ("write_file",)
    assert settings.mcp.servers["tracker"].url is not None
    for key in ("command", "args", "env", "cwd", "url", "headers", "enabled", "allow", "deny"):
        assert any(line.startswith(f"{key} = ") for line in examples), key
    assert any(line.startswith("startup = ") for line in examples)
    default, _ = load_settings(ROOT / "config.example.toml")
    assert dict(default.mcp.servers) == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[mcp.servers.x]\nargs = []\n", "set either command (a stdio server) or url"),
        ("[mcp.servers.x]\ncommand = 'a'\nurl = 'http://h/mcp'\n", "set either command"),
        ("[mcp.servers.x]\ncommand = 'a'\nheaders = { A = 'b' }\n", "headers apply to HTTP"),
        ("[mcp.servers.x]\nurl = 'http://h/mcp'\nenv = { A = 'b' }\n", "apply to stdio servers"),
        ("[mcp.servers.x]\nurl = 'ftp://h/mcp'\n", "must start with http:// or https://"),
        ("[mcp.servers.x]\ncommand = 'a'\ntimeout = 0\n", "mcp.servers.x.timeout"),
        ("[mcp.servers.x]\ncommand = 'a'\nstartup = 'soon'\n", "mcp.servers.x.startup"),
        ("[mcp.servers.x]\ncommand = 'a'\nautostart = true\n", "autostart: unknown key"),
        ("[mcp.servers.x]\ncommand = ''\n", "mcp.servers.x.command"),
        ("[mcp.servers.a__b]\ncommand = 'a'\n", "mcp.servers.a__b: a server name uses"),
        ("[mcp.servers.'a.b']\ncommand = 'a'\n", "a server name uses letters"),
        ("[mcp.servers.a_]\ncommand = 'a'\n", "a server name uses"),
    ],
)
def test_bad_server_tables_name_the_problem(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, table)
    assert message in str(info.value)
    assert str(tmp_path / "config.toml") in str(info.value)
