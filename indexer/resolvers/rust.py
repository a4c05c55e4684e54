"""Rust imports: use-trees, ``mod`` declarations and the module files they map to.

A binding is stored with ``module`` = the path of the module it comes from, ``::``-separated as
written (``crate::a::b``, ``super::x``, ``self``, ``std::io``) and ``name`` = the item taken from
it; ``use a::b;`` is ``module="a", name="b"``, since ``b`` may be a module or an item (the index
tries the item first and :func:`submodule` second). ``mod foo;`` binds ``foo`` with
``module="self::foo"`` and no name. ``pub`` makes either a re-export.

Module files follow the compiler's rules: the children of ``lib.rs``, ``main.rs``, ``mod.rs`` (and
other crate roots) live next to it, those of ``a.rs`` in ``a/``; a module ``x`` is ``x.rs`` or
``x/mod.rs``. ``crate`` is the nearest ``src/`` that holds ``lib.rs`` or ``main.rs``.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from ..model import Import
from . import Matches, RepoFiles, first_text, node_text, statement_line

_MOD_RS = frozenset({"mod.rs", "lib.rs", "main.rs"})
_TARGET_DIRS = frozenset({"tests", "examples", "benches"})
_STD_CRATES = frozenset({"std", "core", "alloc", "proc_macro", "test"})
_PATH_KEYWORDS = frozenset({"crate", "self", "super"})
# Strict keywords can never be imported; one in a use-tree is error recovery at work.
_KEYWORD = re.compile(
    r"(?:as|async|await|break|const|continue|dyn|else|enum|extern|false|fn|for|if|impl|in|let"
    r"|loop|match|mod|move|mut|pub|ref|return|static|struct|trait|true|type|unsafe|use|where"
    r"|while)"
)

# -- normalize -------------------------------------------------------------------------------


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    for _, caps in matches:
        statements = caps.get("import")
        if not statements:
            continue
        statement = statements[0]
        line = statement_line(caps)
        public = any(c.type == "visibility_modifier" for c in statement.children)
        if statement.type == "mod_item":
            (name_node,) = caps["import.name"][:1]
            name = node_text(name_node)
            out.append(Import(f"self::{name}", None, None, line, local=name, reexport=public))
        elif statement.type == "extern_crate_declaration":
            crate = first_text(caps, "import.module")
            alias_node = statement.child_by_field_name("alias")
            alias = node_text(alias_node) if alias_node is not None else None
            if crate and crate != "self":
                out.append(Import(crate, None, alias, line, local=alias or crate))
        else:
            trees = caps.get("import.module")
            if trees:
                depth = _inline_mod_depth(statement)
                bindings: list[Import] = []
                _expand(trees[0], [], line, public, bindings)
                for binding in bindings:
                    if depth and _rebase_super(binding, depth).module == "self":
                        continue  # an inline module importing its own file's items
                    out.append(binding)
    return out, ""


def _segments(node: Node | None) -> list[str]:
    """``a::b::c`` (a scoped_identifier, or a lone identifier/crate/self/super) as segments."""
    if node is None:
        return []
    if node.type == "scoped_identifier":
        return _segments(node.child_by_field_name("path")) + _segments(
            node.child_by_field_name("name")
        )
    text = node_text(node)
    return [text] if text else []


def _expand(node: Node, prefix: list[str], line: int, public: bool, out: list[Import]) -> None:
    """One :class:`Import` per name a (possibly nested) use-tree binds."""
    kind = node.type
    if kind == "use_as_clause":
        segments = prefix + _segments(node.child_by_field_name("path"))
        alias_node = node.child_by_field_name("alias")
        _bind(segments, node_text(alias_node) if alias_node else None, line, public, out)
    elif kind == "use_wildcard":
        inner = node.named_children[0] if node.named_children else None
        segments = prefix + _segments(inner)
        if segments:
            module = "::".join(segments)
            out.append(Import(module, None, None, line, wildcard=True, reexport=public))
    elif kind == "scoped_use_list":
        inner_prefix = prefix + _segments(node.child_by_field_name("path"))
        use_list = node.child_by_field_name("list")
        if use_list is not None:
            for child in use_list.named_children:
                _expand(child, inner_prefix, line, public, out)
    elif kind == "use_list":
        for child in node.named_children:
            _expand(child, prefix, line, public, out)
    elif kind in ("identifier", "scoped_identifier", "crate", "self", "super"):
        _bind(prefix + _segments(node), None, line, public, out)


def _bind(
    segments: list[str], alias: str | None, line: int, public: bool, out: list[Import]
) -> None:
    if segments and segments[-1] == "self":  # `use a::b::{self}` binds the module b
        segments = segments[:-1]
    if not segments or segments[-1] in _PATH_KEYWORDS or any(map(_KEYWORD.fullmatch, segments)):
        return
    name = segments[-1]
    local = alias or name
    if len(segments) == 1:  # `use foo;`: a crate or a module, bound whole
        out.append(Import(name, None, alias, line, local=local, reexport=public))
        return
    module = "::".join(segments[:-1])
    out.append(Import(module, name, alias, line, local=local, reexport=public))


def _inline_mod_depth(node: Node) -> int:
    """How many inline ``mod m { ... }`` blocks enclose ``node``."""
    depth = 0
    parent = node.parent
    while parent is not None:
        if parent.type == "mod_item":
            depth += 1
        parent = parent.parent
    return depth


def _rebase_super(imp: Import, depth: int) -> Import:
    """``super`` inside an inline module names a module of the same file: make it ``self``."""
    if not depth or not imp.module.startswith("super"):
        return imp
    segments = imp.module.split("::")
    supers = 0
    while supers < len(segments) and segments[supers] == "super":
        supers += 1
    consumed = min(depth, supers)
    rest = segments[consumed:]
    if not rest or rest[0] != "super":
        rest = ["self", *rest]
    imp.module = "::".join(rest)
    return imp


# -- module files ----------------------------------------------------------------------------


def _is_crate_root(path: str) -> bool:
    """lib.rs, main.rs, build.rs, src/bin/*.rs, and tests/, examples/, benches/ targets."""
    if posixpath.basename(path) in ("lib.rs", "main.rs", "build.rs"):
        return True
    parts = path.split("/")[:-1]
    if len(parts) >= 2 and parts[-1] == "bin" and parts[-2] == "src":
        return True
    return bool(parts) and parts[-1] in _TARGET_DIRS and "src" not in parts


def _children_dir(path: str) -> str:
    """The directory holding the child modules of the module file ``path``."""
    if posixpath.basename(path) in _MOD_RS or _is_crate_root(path):
        return posixpath.dirname(path)
    return posixpath.splitext(path)[0]


def _file_at(directory: str, segments: list[str], files: RepoFiles) -> str | None:
    """The file of module ``directory/segments...``: ``x.rs`` or ``x/mod.rs``."""
    base = posixpath.join(directory, *segments) if segments else directory
    for candidate in (base + ".rs", posixpath.join(base, "mod.rs")):
        if candidate in files:
            return candidate
    return None


def _crate_src(path: str, files: RepoFiles) -> str | None:
    """The nearest ``src/`` above ``path`` holding ``lib.rs`` or ``main.rs``; for a file of a
    package's ``tests/``, ``examples/`` or ``benches/`` (or its build.rs), that package's src/."""

    def is_src(directory: str) -> bool:
        return (
            posixpath.join(directory, "lib.rs") in files
            or posixpath.join(directory, "main.rs") in files
        )

    directory = posixpath.dirname(path)
    below = path[len(directory) + 1 :] if directory else path
    while True:
        if posixpath.basename(directory) == "src" and is_src(directory):
            return directory
        beside = posixpath.join(directory, "src")
        if (below.split("/")[0] in _TARGET_DIRS or below == "build.rs") and is_src(beside):
            return beside
        if not directory:
            return None
        below = posixpath.join(posixpath.basename(directory), below)
        directory = posixpath.dirname(directory)


def _crate_root_file(src: str, importer: str, files: RepoFiles) -> str | None:
    lib, main = posixpath.join(src, "lib.rs"), posixpath.join(src, "main.rs")
    if importer == main or lib not in files:
        return main if main in files else None
    return lib


def _in_module_dir(
    directory: str, segments: list[str], root: str | None, files: RepoFiles
) -> str | None:
    if not segments:
        return root
    return _file_at(directory, segments, files)


def _is_binary_file(importer: str, src: str) -> bool:
    """A binary, test, example or bench crate: it reaches the library by the crate's name."""
    if importer == posixpath.join(src, "main.rs") or importer.startswith(src + "/bin/"):
        return True
    package = posixpath.dirname(src)
    prefix = package + "/" if package else ""
    return any(importer.startswith(prefix + d + "/") for d in ("tests", "examples", "benches"))


def _module_file(module: str, importer: str, files: RepoFiles) -> str | None:
    segments = [s for s in module.split("::") if s]
    if not segments:
        return None
    head = segments[0]
    if head == "crate":
        src = _crate_src(importer, files)
        if src is None:
            return None
        return _in_module_dir(src, segments[1:], _crate_root_file(src, importer, files), files)
    if head in ("self", "super"):
        directory = _children_dir(importer)
        here: str | None = importer
        rest = segments[1:] if head == "self" else segments
        while rest and rest[0] == "super":
            rest = rest[1:]
            directory = posixpath.dirname(directory)
            here = None
        if here is None:  # the parent module's own file
            here = _file_at(directory, [], files) or _crate_file_in(directory, files)
        found = _in_module_dir(directory, rest, here, files)
        if found is None and rest and not _is_crate_root(importer):
            # a crate root we did not recognise keeps its children next to it
            found = _file_at(posixpath.dirname(importer), rest, files)
        return found
    # 2018 paths: a module declared in this module, then (2015) one of the crate root
    found = _file_at(_children_dir(importer), segments, files)
    if found is not None:
        return found
    src = _crate_src(importer, files)
    if src is not None:
        found = _file_at(src, segments, files)
        if found is not None:
            return found
    if head in _STD_CRATES:
        return None
    # another crate of the repository, by its directory name (a Cargo workspace member)
    for name in {head, head.replace("_", "-")}:
        for crate_dir in sorted(files.dirs_ending_with(name)):
            lib = posixpath.join(crate_dir, "src", "lib.rs")
            if lib in files:
                return _in_module_dir(crate_dir + "/src", segments[1:], lib, files)
    # a binary, test or example using its own package's library by the crate name
    if src is not None and _is_binary_file(importer, src):
        lib = posixpath.join(src, "lib.rs")
        if lib in files:
            return _in_module_dir(src, segments[1:], lib, files)
    return None


def _crate_file_in(directory: str, files: RepoFiles) -> str | None:
    for name in ("lib.rs", "main.rs"):
        candidate = posixpath.join(directory, name)
        if candidate in files:
            return candidate
    return None


# -- resolver interface ----------------------------------------------------------------------


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    return _module_file(imp.module, importer, files)


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    """``use a::b;`` where ``b`` is the module ``a/b.rs`` (or ``a/b/mod.rs``)."""
    if target.endswith("/") or not target.endswith(".rs"):
        return None
    return _file_at(_children_dir(target), [name], files)


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    return []


def base_names(signature: str) -> list[str]:
    """Rust types have no bases; a type's traits and methods come through its ``impl`` blocks."""
    return []
