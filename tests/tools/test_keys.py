"""A bash tool call cannot read the provider key of the process that runs it.

The process playing ikigai (``tests/tools/keyholder.py``) is a real child
interpreter started with ``OPENAI_API_KEY`` in its environment; the bash
call it makes runs ``probe_keys.py``, which walks up the process tree and
tries ``/proc/<pid>/environ``, ``cmdline``, ``mem`` (through ``maps``) and
``ptrace`` on every ancestor up to the key holder. Without
``protect_process()`` the probe finds the key (the control: the probe
works); with it, it finds nothing. Both as the user running the tests (root
in CI, where dropping capabilities is what holds) and as an unprivileged
user (where the non-dumpable flag is what holds).
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools.helpers import ROOT, child_env, python_for, shared_directory, unprivileged_user

PROBE = ROOT / "tests" / "tools" / "probe_keys.py"


@pytest.fixture
def key() -> str:
    return f"sk-ikigai-test-{secrets.token_hex(12)}"


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_directory() as path:
        yield path


def _hold_and_probe(mode: str, user: str | None, key: str, workdir: Path) -> dict[str, object]:
    python = python_for(user)
    command = (
        'echo "own env: $(env | grep -c sk-)"; '
        "echo \"supervisor env: $(tr '\\0' '\\n' < /proc/$PPID/environ | grep -c sk-)\"; "
        "tr '\\0' '\\n' < /proc/{pid}/environ; "
        f"{python} -I {PROBE} {{pid}}"
    )
    completed = subprocess.run(
        [python, "-m", "tests.tools.keyholder", mode, str(workdir), command],
        env=child_env(OPENAI_API_KEY=key, HOME=str(workdir), LANG="C.UTF-8"),
        cwd="/",
        user=user,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    outcome: dict[str, object] = json.loads(completed.stdout)
    return outcome


USERS = pytest.mark.parametrize(
    "user", [None, unprivileged_user()], ids=["this-user", "unprivileged-user"]
)


@USERS
def test_without_protection_the_probe_finds_the_key(
    user: str | None, key: str, shared: Path
) -> None:
    outcome = _hold_and_probe("plain", user, key, shared)
    output = str(outcome["output"])
    assert key in output
    assert f"found {key}" in output  # through /proc/<pid>/mem


@USERS
def test_protected_process_keeps_its_key_from_bash(
    user: str | None, key: str, shared: Path
) -> None:
    outcome = _hold_and_probe("protect", user, key, shared)
    output = str(outcome["output"])
    assert outcome["ok"], output
    assert key not in output
    assert "own env: 0" in output
    assert "supervisor env: 0" in output
    lines = output.splitlines()
    holder = [line for line in lines if line.startswith("pid ") and " environ: " in line][-1]
    pid = holder.split()[1]
    assert f"pid {pid} environ: denied (Permission denied)" in lines
    assert f"pid {pid} mem: denied (Permission denied)" in lines
    assert f"pid {pid} ptrace: denied (Operation not permitted)" in lines
    cmdline = next(line for line in lines if line.startswith(f"pid {pid} cmdline: "))
    assert "tests.tools.keyholder protect" in cmdline  # readable, and holds no key
    assert "not dumpable" in str(outcome["protection"])
    assert outcome["alive"] is True  # storage's liveness token still works
