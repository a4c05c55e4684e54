"""The package's shape: the top-level folders are the ``repolens`` subpackages static tools can
follow, and no module of ours imports one that imports it back (directly or around a circle).

The import graph is read from the source (``ast``), every import counted: at module level, inside
functions (lazy) and under ``if TYPE_CHECKING`` alike, since each is a dependency a reader and a
refactoring must follow. ``python -m tests.test_layout`` prints the circles, if any.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "repolens"
MAPPED = ("indexer", "completion", "chat", "lsp")


def module_files() -> dict[str, Path]:
    """Module name -> source file, walking the package as Python imports it (symlinks too)."""
    out: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(PACKAGE, followlinks=True):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = Path(dirpath).relative_to(PACKAGE)
        parts = ["repolens", *rel.parts]
        for name in filenames:
            if not name.endswith(".py"):
                continue
            mod = parts if name == "__init__.py" else [*parts, name[:-3]]
            out[".".join(mod)] = Path(dirpath) / name
    return out


def _resolve(current: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a name imported from a package that is a
    submodule counts as that submodule)."""
    files = module_files()
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_package, node.module, node.level)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in files else base)
            for target in targets:
                while target and target not in files:  # `import repolens.x.y` -> nearest module
                    target = target.rpartition(".")[0]
                if target and target != mod and target.startswith("repolens"):
                    graph[mod].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_top_level_folders_are_the_subpackages_on_disk() -> None:
    for name in MAPPED:
        link = PACKAGE / name
        assert link.is_symlink(), f"repolens/{name} must be a symlink to ../{name}"
        assert link.resolve() == (REPO_ROOT / name).resolve()
    import repolens.indexer

    assert Path(repolens.indexer.__file__).resolve().parent == (REPO_ROOT / "indexer").resolve()


def test_the_graph_sees_the_mapped_packages() -> None:
    graph = import_graph()
    assert "repolens.indexer.store" in graph
    assert "repolens.lsp.server" in graph
    # a known edge, so an empty graph cannot pass the next test
    assert "repolens.indexer.store" in graph["repolens.indexer.index"]


def test_no_import_circles() -> None:
    found = circles(import_graph())
    assert found == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_indexer_imports_nothing_of_ours() -> None:
    graph = import_graph()
    for mod, targets in graph.items():
        if mod.startswith("repolens.indexer"):
            outside = {t for t in targets if not t.startswith("repolens.indexer")}
            assert not outside, f"{mod} imports {sorted(outside)}"


if __name__ == "__main__":
    for component in circles(import_graph()):
        print(" <-> ".join(component))


def test_every_package_is_in_the_wheel() -> None:
    """pyproject lists packages one by one: a new one left out is missing from a non-editable
    install (and an editable one hides that)."""
    import tomllib

    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(["repolens", *Path(d).relative_to(PACKAGE).parts])
        for d, dirs, files in os.walk(PACKAGE, followlinks=True)
        if "__init__.py" in files and "__pycache__" not in d
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
