"""The package rules of the design, checked on every source file's imports.

providers/ and storage/ never import the engine or the front ends (nor each
other: storage writes snapshots it is handed, whatever produced them); the
engine never imports Textual or the front ends; nothing imports the top-level
folders by their bare names: every module is reached through the one
``ikigai`` name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("providers", "storage", "engine", "tui", "cli")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "providers": ("ikigai.storage", "ikigai.engine", "ikigai.tui", "ikigai.cli", "textual", "rich"),
    "storage": (
        "ikigai.providers",
        "ikigai.engine",
        "ikigai.tui",
        "ikigai.cli",
        "textual",
        "rich",
    ),
    "engine": ("ikigai.tui", "ikigai.cli", "textual", "rich"),
    "tui": ("ikigai.cli",),
    "cli": ("textual", "rich"),
}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports (absolute names; relative ones
    are recorded as ``.name`` so that a test can refuse them)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_layering(package: str) -> None:
    files = imported_modules(package)
    assert files, f"no Python files found under {package}/"
    for path, names in files.items():
        bad = {n for n in names for prefix in FORBIDDEN[package] if _within(n, prefix)}
        assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize("package", [*PACKAGES, "tests", "bench"])
def test_everything_is_imported_through_the_ikigai_name(package: str) -> None:
    for path, names in imported_modules(package).items():
        bare = {n for n in names if n.split(".")[0] in PACKAGES or n.startswith(".")}
        assert not bare, f"{path} imports {sorted(bare)}: use ikigai.<package>"


def test_the_scan_sees_cross_package_imports() -> None:
    engine = set().union(*imported_modules("engine").values())
    assert any(_within(n, "ikigai.providers") for n in engine)
    assert any(_within(n, "ikigai.storage") for n in engine)


def test_the_ikigai_package_links_every_folder() -> None:
    for package in PACKAGES:
        link = ROOT / "ikigai" / package
        assert link.is_symlink(), f"ikigai/{package} should link to ../{package}"
        assert link.resolve() == (ROOT / package).resolve()
