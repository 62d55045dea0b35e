"""The package rules of the design: providers/ and storage/ never import tui/.

providers/ also never imports storage/ or Textual; storage/ never imports
Textual or a provider's wire module (the event and request types are shared).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_PROVIDER_MODULES = {"providers.events", "providers.request"}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", ["providers", "storage"])
def test_never_imports_the_app(package: str) -> None:
    files = imported_modules(package)
    assert files, f"no Python files found under {package}/"
    for path, names in files.items():
        bad = {n for n in names if n.split(".")[0] in ("tui", "textual", "rich")}
        assert not bad, f"{path} imports {sorted(bad)}"


def test_providers_do_not_import_storage() -> None:
    for path, names in imported_modules("providers").items():
        assert not {n for n in names if n.split(".")[0] == "storage"}, path


def test_storage_imports_only_shared_provider_types() -> None:
    for path, names in imported_modules("storage").items():
        wire = {
            n
            for n in names
            if n.startswith("providers")
            and not any(n == m or n.startswith(m + ".") for m in SHARED_PROVIDER_MODULES)
            and n != "providers"
        }
        assert not wire, f"{path} imports provider wire modules {sorted(wire)}"
