"""The admin renders the guest page from core (porchlight.guest_page), never from the portal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ADMIN = Path(__file__).resolve().parents[3] / "admin"


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_no_admin_module_imports_the_portal() -> None:
    offenders = [
        f"{path.relative_to(ADMIN.parent)}: {name}"
        for path in sorted(ADMIN.rglob("*.py"))
        for name in _imports(path)
        if name == "porchlight.portal" or name.startswith("porchlight.portal.")
    ]
    assert offenders == []


def test_admin_app_and_preview_load_without_the_portal() -> None:
    """Importing every admin module (app factory, preview, CLI) pulls in no portal module."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import porchlight.admin as admin\n"
        "for info in pkgutil.walk_packages(admin.__path__, 'porchlight.admin.'):\n"
        "    if '.migrations' not in info.name:\n"
        "        importlib.import_module(info.name)\n"
        "import porchlight.admin.locations.guest_page\n"
        "assert 'porchlight.guest_page.page' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m.startswith('porchlight.portal')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
