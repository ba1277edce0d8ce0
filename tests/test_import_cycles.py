"""No import loops among Porchlight's modules.

Every import statement counts, wherever it stands: at the top, inside a
function or under ``if TYPE_CHECKING``. A loop hidden in a function body is
still a loop a reader has to untangle (admin/locations/pages <-> routers,
portal/login <-> oauth and deploy's forwarding <-> journal once were).
Modules are read with `ast`, never imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# source folder -> the package name it installs as
PACKAGES = {
    "porchlight": "porchlight",
    "agent": "porchlight.agent",
    "portal": "porchlight.portal",
    "admin": "porchlight.admin",
    "deploy/porchlight_deploy": "porchlight_deploy",
}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of the packages (symlinks not followed)."""
    found: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base)
            if any((base / part).is_symlink() for part in rel.parts[:1]):
                continue  # porchlight/admin -> ../admin: listed under its own folder
            if "__pycache__" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _known(name: str, known: dict[str, Path]) -> str | None:
    """`name` or its nearest enclosing package among `known`."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules `name` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # `from pkg import sub` imports the module pkg.sub when there is one
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            module = _known(target, known)
            if module is not None and module != name:
                found.add(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """One loop (a -> b -> ... -> a) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(start: str) -> Iterator[set[str]]:
        # Tarjan's algorithm without recursion: (node, its remaining edges)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        yield group

    for node in sorted(graph):
        if node not in index:
            for group in visit(node):
                yield _loop_in(group, graph)


def _loop_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    first = min(group)
    paths = {first: [first]}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & group):
            if nxt == first:
                return [*paths[node], first]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no loop through {first}")  # pragma: no cover


def test_the_graph_sees_the_modules_and_their_imports() -> None:
    graph = import_graph()
    assert "porchlight.admin.app" in graph  # admin/ read as porchlight.admin
    assert "porchlight_deploy.install" in graph  # deploy/porchlight_deploy
    assert "porchlight.admin.scope" in graph["porchlight.admin.locations.pages"]
    assert "porchlight_deploy.journal" in graph["porchlight_deploy.install"]  # relative
    # an import inside a function counts too: `admin migrate` loads alembic only when run
    assert "porchlight.admin.migrate" in graph["porchlight.admin.cli"]


def test_finds_loops_hidden_in_a_function_or_under_type_checking(tmp_path: Path) -> None:
    base = tmp_path / "deploy" / "porchlight_deploy"
    base.mkdir(parents=True)
    (base / "__init__.py").write_text("")
    (base / "a.py").write_text("from . import b\n")
    (base / "b.py").write_text("def f():\n    from .a import x\n")
    (base / "c.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from .d import D\n")
    (base / "d.py").write_text("import porchlight_deploy.c\n")
    (base / "e.py").write_text("from . import a, c  # into loops, not part of one\n")
    for folder in ("porchlight", "agent", "portal", "admin"):
        (tmp_path / folder).mkdir()
    loops = list(cycles(import_graph(tmp_path)))
    assert sorted(loops) == [
        ["porchlight_deploy.a", "porchlight_deploy.b", "porchlight_deploy.a"],
        ["porchlight_deploy.c", "porchlight_deploy.d", "porchlight_deploy.c"],
    ]


def test_no_import_loops() -> None:
    loops = [" -> ".join(loop) for loop in cycles(import_graph())]
    assert not loops, "import loops (move what both need to a module both import):\n" + (
        "\n".join(loops)
    )
