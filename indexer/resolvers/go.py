"""Go imports: import paths to package directories, and a package's files seeing each other.

Bindings: ``import "a/b/store"`` binds ``store`` (the last path element, without a ``/vN``
major-version element, a ``.vN`` gopkg suffix or a ``go-`` prefix); ``import s "a/b/store"``
binds ``s``; ``import . "m"`` is a wildcard; ``import _ "m"`` binds nothing (``alias="_"``).
``alias`` always holds the bound package name, written or implied: the whole package is
bound (``name=None``) and ``pkg.Func`` reaches into it.

Targets are repository directories (``internal/store/``), never files: a package is every
``.go`` file of its directory. When the repository root is known (a ``root`` attribute on
:class:`RepoFiles`), the ``module`` lines of the repository's ``go.mod`` files map an import
path exactly, and a path under no module of the repository is external. Without it, the
longest proper suffix of the import path that names a repository directory holding ``.go``
files wins (``example.com/app/internal/store`` -> ``internal/store/``; the nearest one to the
importer when several match); the leading element(s) left over are the module path. Standard
library paths (``fmt``, ``net/http``: no dot in the first element and a standard top-level
name) are never looked up.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from ..model import Import
from . import Matches, RepoFiles, first_text, statement_line

_STDLIB_ROOTS = frozenset(
    {
        "archive",
        "bufio",
        "builtin",
        "bytes",
        "cmp",
        "compress",
        "container",
        "context",
        "crypto",
        "database",
        "debug",
        "embed",
        "encoding",
        "errors",
        "expvar",
        "flag",
        "fmt",
        "go",
        "hash",
        "html",
        "image",
        "index",
        "internal",
        "io",
        "iter",
        "log",
        "maps",
        "math",
        "mime",
        "net",
        "os",
        "path",
        "plugin",
        "reflect",
        "regexp",
        "runtime",
        "slices",
        "sort",
        "strconv",
        "strings",
        "structs",
        "sync",
        "syscall",
        "testing",
        "text",
        "time",
        "unicode",
        "unique",
        "unsafe",
        "weak",
        "C",
    }
)
_MAJOR_VERSION = re.compile(r"^v\d+$")
_GOPKG_VERSION = re.compile(r"\.v\d+$")
_MODULE_LINE = re.compile(r"^\s*module\s+\"?([^\s\"/][^\s\"]*)\"?", re.MULTILINE)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in '"`' and text[-1] == text[0]:
        return text[1:-1]
    return text


def package_name(import_path: str) -> str:
    """The package name an import path implies: ``gopkg.in/yaml.v3`` -> ``yaml``."""
    parts = [p for p in import_path.split("/") if p]
    if not parts:
        return ""
    name = parts[-1]
    if _MAJOR_VERSION.match(name) and len(parts) > 1:
        name = parts[-2]
    name = _GOPKG_VERSION.sub("", name)
    name = name.removeprefix("go-").removesuffix("-go").removesuffix(".go")
    return name.replace("-", "_").replace(".", "_")


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    package = ""
    for _, caps in matches:
        clause = first_text(caps, "package")
        if clause is not None:
            package = clause
            continue
        raw = first_text(caps, "import.module")
        if raw is None:
            continue
        module = _unquote(raw)
        line = statement_line(caps)
        alias = first_text(caps, "import.alias")
        if "import.wildcard" in caps:
            out.append(Import(module, None, None, line, wildcard=True))
        elif alias == "_":
            out.append(Import(module, None, "_", line))
        else:
            local = alias or package_name(module)
            out.append(Import(module, None, local, line, local=local))
    return out, package


def _has_go_files(files: RepoFiles, directory: str) -> bool:
    return any(f.endswith(".go") for f in files.files_in(directory))


def _modules(files: RepoFiles) -> list[tuple[str, str]]:
    """(module path, repository directory) of every go.mod, longest module path first.

    Empty when the repository root is unknown (RepoFiles has only paths).
    """
    cached: list[tuple[str, str]] | None = getattr(files, "_go_modules", None)
    if cached is not None:
        return cached
    modules: list[tuple[str, str]] = []
    root = getattr(files, "root", None)
    if root is not None:
        for directory in sorted({"", *files.dirs}):
            try:
                text = (Path(root) / directory / "go.mod").read_text("utf-8", "replace")
            except OSError:
                continue
            found = _MODULE_LINE.search(text)
            if found:
                modules.append((found.group(1), directory))
        modules.sort(key=lambda m: (-len(m[0]), m[1]))
    setattr(files, "_go_modules", modules)  # noqa: B010 - a per-RepoFiles cache
    return modules


def _as_target(directory: str) -> str:
    return directory + "/"


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    import_path = imp.module.strip("/")
    if not import_path:
        return None
    modules = _modules(files)
    if modules:
        for module, directory in modules:
            if import_path == module or import_path.startswith(module + "/"):
                rest = import_path[len(module) :].strip("/")
                target = posixpath.join(directory, rest) if rest else directory
                return _as_target(target) if _has_go_files(files, target) else None
        return None
    parts = import_path.split("/")
    if "." not in parts[0] and parts[0] in _STDLIB_ROOTS:
        return None
    for keep in range(len(parts) - 1, 0, -1):
        suffix = "/".join(parts[-keep:])
        candidates = [d for d in files.dirs_ending_with(suffix) if _has_go_files(files, d)]
        best = RepoFiles.closest(candidates, importer)
        if best is not None:
            return _as_target(best)
    return None


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    return None


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    """The other ``.go`` files of the importer's directory (its package).

    Test files see the whole package; other files do not see ``_test.go`` files, which are
    not part of the package outside ``go test``.
    """
    if not importer.endswith(".go"):
        return []
    is_test = importer.endswith("_test.go")
    return [
        f
        for f in files.files_in(posixpath.dirname(importer))
        if f != importer and f.endswith(".go") and (is_test or not f.endswith("_test.go"))
    ]


def base_names(signature: str) -> list[str]:
    return []
