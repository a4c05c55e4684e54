"""What a project is: its README, manifests, entry points and a repository map.

``repolens ask`` without a question (or ``--overview``) packs these instead of search results:
the README says what the authors think the project is, manifests name it and its scripts,
entry points show where execution starts, and the map lists every important file's top-level
definitions with their line numbers (files ranked by how many others import them).
"""

from __future__ import annotations

import json
import posixpath
import tomllib
from collections.abc import Iterable
from pathlib import Path

from ..indexer import Definition, RepoIndex, language_for_path
from ..search.units import UnitMap
from .packing import PackItem

__all__ = [
    "ENTRY_FILE_NAMES",
    "MANIFEST_NAMES",
    "entry_point_items",
    "file_item",
    "manifest_items",
    "readme_items",
    "repo_map_items",
]

MANIFEST_NAMES = (
    "pyproject.toml",
    "setup.cfg",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "CMakeLists.txt",
    "Makefile",
)
ENTRY_FILE_NAMES = frozenset(
    {
        "__main__.py",
        "main.py",
        "cli.py",
        "app.py",
        "manage.py",
        "wsgi.py",
        "asgi.py",
        "main.go",
        "main.rs",
        "main.c",
        "main.cpp",
        "main.cc",
        "index.ts",
        "index.js",
        "main.ts",
        "main.js",
        "server.ts",
        "server.js",
        "app.ts",
        "app.js",
        "Main.java",
        "Application.java",
    }
)
_TEST_PARTS = ("test", "tests", "testing", "spec", "__tests__", "examples", "docs", "benchmarks")
_MAP_ENTRIES_PER_FILE = 40


def fence_language(path: str) -> str:
    spec = language_for_path(path)
    if spec is not None:
        return spec.name
    ext = posixpath.splitext(path)[1].lower()
    return {".md": "markdown", ".rst": "rst", ".toml": "toml", ".json": "json"}.get(ext, "")


def file_item(
    path: str, lines: list[str], source: str, score: float, start: int = 1, end: int | None = None
) -> PackItem:
    """A whole file (or a span of it) as a pack item that may be cut after its first lines."""
    end = end if end is not None else len(lines)
    spec = language_for_path(path)
    return PackItem(
        path=path,
        start_line=start,
        end_line=end,
        lines=lines[start - 1 : end],
        score=score,
        source=source,
        language=fence_language(path),
        comment=spec.line_comment if spec else "",
        head_lines=min(end - start + 1, 8),
    )


def _is_test_path(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    return (
        any(p in _TEST_PARTS for p in parts[:-1])
        or name.startswith("test_")
        or "_test." in name
        or ".test." in name
        or ".spec." in name
    )


def _text(index: RepoIndex, root: Path, path: str) -> str | None:
    text = index.text(path)
    if text is not None:
        return text
    full = root / path
    try:
        if full.is_file() and full.stat().st_size < 400_000:
            return full.read_text("utf-8", "replace")
    except OSError:
        return None
    return None


def readme_items(index: RepoIndex) -> list[PackItem]:
    root = index.root
    for name in ("README.md", "README.rst", "README.txt", "README", "readme.md", "Readme.md"):
        text = _text(index, root, name)
        if text and text.strip():
            return [file_item(name, text.rstrip("\n").split("\n"), "readme", 1.0)]
    return []


def manifest_items(index: RepoIndex) -> list[PackItem]:
    out = []
    for rank, name in enumerate(MANIFEST_NAMES):
        text = _text(index, index.root, name)
        if text and text.strip():
            out.append(file_item(name, text.rstrip("\n").split("\n"), "manifest", 0.9 - rank / 100))
    return out


def _script_targets(index: RepoIndex) -> list[tuple[str, str]]:
    """(file, function) pairs named by pyproject scripts and package.json bin/main."""
    out: list[tuple[str, str]] = []
    files = set(index.files())
    pyproject = _text(index, index.root, "pyproject.toml")
    if pyproject:
        try:
            data = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError:
            data = {}
        scripts = dict(data.get("project", {}).get("scripts", {}))
        scripts.update(data.get("tool", {}).get("poetry", {}).get("scripts", {}))
        for target in scripts.values():
            if not isinstance(target, str) or ":" not in target:
                continue
            module, _, func = target.partition(":")
            base = module.replace(".", "/")
            for candidate in (f"{base}.py", f"{base}/__init__.py", f"src/{base}.py"):
                if candidate in files:
                    out.append((candidate, func.split(".")[0]))
                    break
    package = _text(index, index.root, "package.json")
    if package:
        try:
            data = json.loads(package)
        except ValueError:
            data = {}
        bins = data.get("bin")
        paths = list(bins.values()) if isinstance(bins, dict) else [bins]
        paths.append(data.get("main"))
        for p in paths:
            if isinstance(p, str):
                p = posixpath.normpath(p.removeprefix("./"))
                if p in files:
                    out.append((p, ""))
    return out


def entry_point_items(index: RepoIndex, units: UnitMap) -> list[PackItem]:
    """Where execution starts: script targets, ``main`` functions, conventional main files."""
    found: list[tuple[str, int, int, str, str]] = []  # path, start, end, symbol, why

    def add_definition(d: Definition) -> None:
        unit = units.unit_for_definition(d)
        if unit is not None:
            found.append((unit.path, unit.start_line, unit.end_line, unit.symbol, "entry_point"))

    def add_file(path: str) -> None:
        file_units = units.units_of(path)
        if not file_units:
            return
        first, last = file_units[0][1], file_units[-1][1]
        if first.kind == "file":
            found.append((path, first.start_line, first.end_line, "", "entry_point"))
            return
        mains = [d for d in index.file_definitions(path) if d.name == "main" and not d.scope]
        for d in mains:
            add_definition(d)
        if not mains:
            found.append((path, 1, min(last.end_line, 80), "", "entry_point"))

    for path, func in _script_targets(index):
        defs = [d for d in index.file_definitions(path) if d.name == func and not d.scope]
        if defs:
            for d in defs:
                add_definition(d)
        else:
            add_file(path)
    mains = [
        d
        for d in index.definitions("main")
        if d.kind in ("function", "method") and not _is_test_path(d.path)
    ]
    mains.sort(key=lambda d: (d.path.count("/"), d.path))
    for d in mains[:12]:
        add_definition(d)
    conventional = [
        p
        for p in index.files()
        if posixpath.basename(p) in ENTRY_FILE_NAMES and p.count("/") <= 3 and not _is_test_path(p)
    ]
    conventional.sort(key=lambda p: (p.count("/"), p))
    for p in conventional[:12]:
        add_file(p)
    out: list[PackItem] = []
    seen: set[tuple[str, int]] = set()
    for rank, (path, start, end, symbol, why) in enumerate(found):
        if (path, start) in seen:
            continue
        seen.add((path, start))
        text = index.text(path)
        if text is None:
            continue
        item = file_item(path, text.split("\n"), why, 0.8 - rank / 1000, start, end)
        item.symbol = symbol
        out.append(item)
    return out


def _rank_files(index: RepoIndex, paths: Iterable[str]) -> list[tuple[float, str]]:
    ranked = []
    for p in paths:
        importers = len(index.importers(p))
        depth = p.count("/")
        penalty = 5.0 if _is_test_path(p) else 0.0
        ranked.append((importers * 2.0 - depth * 0.5 - penalty, p))
    ranked.sort(key=lambda pair: (-pair[0], pair[1]))
    return ranked


def map_lines(index: RepoIndex, path: str) -> list[str]:
    """A file's outline: ``line: signature`` for top-level definitions and their members."""
    defs = index.file_definitions(path)
    tops = {d.qualified_name for d in defs if not d.scope}
    out: list[str] = []
    for d in defs:
        if d.kind in ("variable", "field", "constant") and d.scope:
            continue
        if d.scope and d.scope not in tops:
            continue  # nested deeper than one level
        signature = (d.signature or d.name).strip()
        indent = "    " if d.scope else ""
        out.append(f"{indent}{d.name_line}: {signature}")
        if len(out) >= _MAP_ENTRIES_PER_FILE:
            out.append(f"{indent}...")
            break
    return out


def repo_map_items(index: RepoIndex) -> list[PackItem]:
    """One outline per source file, most imported files first, tests last."""
    paths = [p for p in index.files() if language_for_path(p) is not None]
    out = []
    for rank, (_, path) in enumerate(_rank_files(index, paths)):
        lines = map_lines(index, path)
        if not lines:
            continue
        info = index.file_info(path)
        end = info.line_count if info else 1
        spec = language_for_path(path)
        out.append(
            PackItem(
                path=path,
                start_line=1,
                end_line=end,
                lines=lines,
                score=0.5 - rank / 100_000,
                source="repo_map",
                symbol="outline",
                language="",
                comment=spec.line_comment if spec else "",
                head_lines=0,
            )
        )
    return out
