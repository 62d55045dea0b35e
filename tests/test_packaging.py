"""An installed ikigai adds exactly one top-level import name, and works from there.

The install is made from a copy of the files git tracks, as a clean clone has
them: a module left untracked, or a stale build directory, cannot make it pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("providers", "storage", "engine", "tui", "cli")


def tracked_files() -> list[str]:
    """The paths git tracks in the project, relative to its root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    return [path for path in listed.stdout.decode().split("\0") if path]


def clean_copy(files: list[str], into: Path) -> Path:
    """Copy ``files`` (symlinks as symlinks) under ``into``, as a fresh clone has them."""
    for relative in files:
        source, copy = ROOT / relative, into / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        elif source.exists():  # tracked but deleted in the working tree: not in a clone either
            shutil.copy2(source, copy)
    return into


def test_install_adds_only_the_ikigai_name(tmp_path: Path) -> None:
    files = tracked_files()
    source = clean_copy(files, tmp_path / "clone")
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
            str(source),
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
    for package in PACKAGES:
        assert (installed / package / "__init__.py").is_file(), package
        assert not (installed / package).is_symlink()
    # Exactly the tracked modules and data files are installed: none missing, none extra.
    wanted = {
        f"{path}" for path in files if path.split("/", 1)[0] in PACKAGES and (ROOT / path).exists()
    }
    got = {
        str(path.relative_to(installed))
        for path in installed.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    got = {path for path in got if path.split("/", 1)[0] in PACKAGES}
    assert got == wanted, (sorted(got - wanted), sorted(wanted - got))
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
