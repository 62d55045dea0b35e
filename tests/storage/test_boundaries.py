"""The storage package stays independent of the UI and of provider wire code."""

from __future__ import annotations

import ast
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[2] / "storage"
ALLOWED_PROVIDER_MODULES = {"providers.events"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_storage_imports_no_ui_and_no_provider_wire_modules() -> None:
    files = sorted(STORAGE.glob("*.py"))
    assert files
    for path in files:
        for name in imported_modules(path):
            root = name.split(".")[0]
            assert root not in {"tui", "textual"}, f"{path.name} imports {name}"
            if root == "providers":
                assert name in ALLOWED_PROVIDER_MODULES, f"{path.name} imports {name}"
