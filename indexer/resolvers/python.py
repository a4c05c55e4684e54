"""Python imports: absolute and relative modules, packages and their ``__init__`` re-exports."""

from __future__ import annotations

import posixpath

from ..model import Import
from . import Matches, RepoFiles, first_text, statement_line

_SUFFIXES = (".py", ".pyi")


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    for _, caps in matches:
        module = first_text(caps, "import.module")
        if module is None:
            continue
        module = "".join(module.split())
        name = first_text(caps, "import.name")
        alias = first_text(caps, "import.alias")
        line = statement_line(caps)
        if "import.wildcard" in caps:
            out.append(Import(module=module, name=None, alias=None, line=line, wildcard=True))
        elif name is not None:
            out.append(
                Import(module=module, name=name, alias=alias, line=line, local=alias or name)
            )
        else:
            local = alias or module.split(".")[0]
            out.append(Import(module=module, name=None, alias=alias, line=line, local=local))
    return out, ""


def _module_path(module: str, importer: str) -> tuple[str, bool]:
    """(slash path of the module, whether it is relative to the importer)."""
    if not module.startswith("."):
        return module.replace(".", "/"), False
    dots = len(module) - len(module.lstrip("."))
    base = posixpath.dirname(importer)
    for _ in range(dots - 1):
        base = posixpath.dirname(base)
    rest = module[dots:].replace(".", "/")
    return posixpath.join(base, rest) if rest else base, True


def _file_for(module_path: str, relative: bool, importer: str, files: RepoFiles) -> str | None:
    if relative:
        for suffix in _SUFFIXES:
            if module_path + suffix in files:
                return module_path + suffix
            init = posixpath.join(module_path, "__init__" + suffix)
            if init in files:
                return init
        if module_path in files.dirs:  # namespace package
            return module_path + "/"
        return None
    module = module_path.replace("/", ".")
    found = files.python_module(module, importer)
    if found is not None:
        return found
    # Scripts and namespace packages: the path from the repository root or a src/ folder.
    for base in ("", "src/", "lib/", "python/"):
        for suffix in _SUFFIXES:
            if base + module_path + suffix in files:
                return base + module_path + suffix
        if base + module_path in files.dirs:
            return base + module_path + "/"
    return None


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    module_path, relative = _module_path(imp.module, importer)
    if not module_path:
        return None
    return _file_for(module_path, relative, importer, files)


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    """``from pkg import name`` where ``name`` is the module ``pkg/name.py``."""
    if target.endswith("/"):
        package_dir = target.rstrip("/")
    elif posixpath.basename(target).startswith("__init__."):
        package_dir = posixpath.dirname(target)
    else:
        return None
    base = posixpath.join(package_dir, name)
    for suffix in _SUFFIXES:
        if base + suffix in files:
            return base + suffix
        init = posixpath.join(base, "__init__" + suffix)
        if init in files:
            return init
    return None


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    return []


def base_names(signature: str) -> list[str]:
    """Base classes in a class signature: ``class A(B, m.C[T], metaclass=M):`` -> B, m.C."""
    if not signature.startswith("class") or "(" not in signature:
        return []
    inner = signature[
        signature.index("(") + 1 : signature.rindex(")") if ")" in signature else None
    ]
    out: list[str] = []
    depth = 0
    current = ""
    for ch in inner + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            name = current.strip()
            current = ""
            if not name or "=" in name or name.startswith("*"):
                continue
            out.append(name.split("[", 1)[0].strip())
        else:
            current += ch
    return out
