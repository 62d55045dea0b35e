"""An installed ikigai adds exactly one top-level import name, and works from there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_install_adds_only_the_ikigai_name(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    names = {p.name for p in target.iterdir() if p.name != "bin"}
    importable = {n for n in names if not n.endswith((".dist-info", ".egg-info"))}
    assert importable == {"ikigai"}, sorted(names)
    installed = target / "ikigai"
    for package in ("providers", "storage", "engine", "tui", "cli"):
        assert (installed / package / "__init__.py").is_file(), package
        assert not (installed / package).is_symlink()
    assert (installed / "tui" / "app.tcss").is_file()
    # The installed copy runs on its own, away from the source tree.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import ikigai.cli.main as m; "
            "print(m.__file__)",
            str(target),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(str(installed))
