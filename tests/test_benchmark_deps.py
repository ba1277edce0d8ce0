"""Every benchmark's own dependencies come with the dev extra.

`pip install -e .[dev]` must be enough to run benchmarks/*.py (xlsxwriter and
requests were missing once). Each third-party module a benchmark imports (or a
helper it takes from tests/) must belong to a distribution that porchlight[dev]
requires, directly or through another requirement.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
LOCAL = {p.stem for p in REPO.joinpath("benchmarks").glob("*.py")} | {
    p.stem for p in REPO.joinpath("tests").rglob("*.py")
}
OURS = {"porchlight", "agent", "portal", "admin"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _benchmark_modules() -> dict[str, set[str]]:
    """Third-party top-level module -> the files importing it (benchmarks and the test
    helpers they load)."""
    files = list(REPO.joinpath("benchmarks").glob("*.py"))
    seen: set[Path] = set()
    users: dict[str, set[str]] = {}
    while files:
        path = files.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports(path):
            if module in sys.stdlib_module_names or module in OURS or module == "__future__":
                continue
            if module in LOCAL:
                files += [p for p in REPO.rglob(f"{module}.py") if ".venv" not in p.parts]
                continue
            users.setdefault(module, set()).add(str(path.relative_to(REPO)))
    return users


def _dev_closure() -> set[str]:
    """The distributions porchlight[dev] brings, with their own requirements."""
    project = tomllib.loads(REPO.joinpath("pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pending = [Requirement(r) for r in project.get("dependencies", [])]
    pending += [Requirement(r) for r in extras["dev"]]
    names: set[str] = set()
    while pending:
        req = pending.pop()
        name = canonicalize_name(req.name)
        if name == "porchlight":
            pending += [Requirement(r) for extra in req.extras for r in extras[extra]]
            continue
        if name in names:
            continue
        names.add(name)
        for text in metadata.requires(req.name) or []:
            sub = Requirement(text)
            if sub.marker is None or any(
                sub.marker.evaluate({"extra": extra}) for extra in ("", *req.extras)
            ):
                pending.append(sub)
    return names


def test_every_benchmark_dependency_is_in_the_dev_extra():
    closure = _dev_closure()
    providers = metadata.packages_distributions()
    missing = {}
    for module, users in _benchmark_modules().items():
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(users)
    assert not missing, f"add to the dev extra in pyproject.toml: {missing}"
