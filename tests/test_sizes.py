"""Product code stays small: no module over 400 lines, no function over 80.

Over agent/ portal/ admin/ porchlight/ deploy/, migrations excepted (each is
a record of one schema step). A module that grows past the limit splits by
what its parts do; a function, into the steps it takes.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("agent", "portal", "admin", "porchlight", "deploy")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def product_files(root: Path = ROOT) -> Iterator[Path]:
    """The .py files of the product folders (symlinked folders not followed)."""
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(root / folder):
            dirnames[:] = sorted(d for d in dirnames if d not in ("migrations", "__pycache__"))
            for name in sorted(filenames):
                if name.endswith(".py"):
                    yield Path(dirpath, name)


def oversized(root: Path = ROOT) -> list[str]:
    """One line per module or function over its limit."""
    found = []
    for path in product_files(root):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{rel}: {lines} lines (module limit {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{rel}:{node.lineno} {node.name}(): {length} lines "
                        f"(function limit {MAX_FUNCTION_LINES})"
                    )
    return found


def test_the_check_finds_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (tmp_path / "agent" / "long.py").write_text("def f():\n" + body + "\n" * 330)
    (tmp_path / "agent" / "ok.py").write_text("def g():\n" + body[: -len("    x79 = 79\n")])
    migrations = tmp_path / "admin" / "migrations"
    migrations.mkdir()
    (migrations / "0001_big.py").write_text("x = 1\n" * 500)
    assert oversized(tmp_path) == [
        "agent/long.py: 411 lines (module limit 400)",
        "agent/long.py:1 f(): 81 lines (function limit 80)",
    ]


def test_modules_and_functions_stay_under_the_limits() -> None:
    found = oversized()
    assert not found, "split these by what their parts do:\n" + "\n".join(found)
