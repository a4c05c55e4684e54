"""JavaScript, TypeScript and TSX imports: ES modules, CommonJS ``require`` and re-exports.

Bindings (what :func:`normalize` makes of the import query's matches):

- ``import D from 'm'`` and ``const D = require('m')``: ``name="default"``, ``local=D``;
- ``import {a, b as c} from 'm'``, ``const {a, b: c} = require('m')``: one per name;
- ``import * as ns from 'm'``: ``name=None``, ``alias=local=ns`` (the whole module);
- ``import 'm'``, ``require('m')``: ``name=None``, ``local=None`` (no binding);
- ``export {a as b} from 'm'`` / ``export * as ns from 'm'``: as the imports, ``reexport=True``;
  ``export * from 'm'``: ``wildcard=True, reexport=True``.

A module's own exports under another name become re-exports *from the module itself*
(``module="./<own file name>"``): ``export default X``, ``export default class X {}``,
``module.exports = X`` and ``export = X`` bind ``default`` to ``X``; ``export {a as b}`` binds
``b`` to ``a``; a CommonJS module that exports an object or assigns ``exports.a`` binds
``default`` to the module itself (``name=None``). Looking a default import up by the name
``default`` therefore reaches the exported definition whatever the importer calls it, and a
required module's members are found through it. Anonymous default exports
(``export default function () {}``) are definitions named ``default`` (see the tag queries).

Targets: relative specifiers resolve to a file with one of the usual extensions (TypeScript
first for TypeScript importers), ``./x.js`` written for ``./x.ts`` included, or to a
directory's ``index`` file; ``@/x`` and ``~/x`` (common ``src/`` aliases) are tried under the
nearest ``src/`` folder. Bare package specifiers (``react``, ``node:fs``) are outside the
repository: None.
"""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from ..model import Import
from . import Matches, RepoFiles, first_text

_TS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".mts", ".cts")
_JS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs")
_TS_FIRST = _TS_EXTENSIONS + _JS_EXTENSIONS
_JS_FIRST = _JS_EXTENSIONS + _TS_EXTENSIONS
_KNOWN_EXTENSIONS = frozenset(_TS_FIRST)
# A TypeScript ESM import names the *output* file: ``./x.js`` means ``./x.ts``.
_SOURCE_FOR_OUTPUT = {
    ".js": (".ts", ".tsx"),
    ".jsx": (".tsx",),
    ".mjs": (".mts",),
    ".cjs": (".cts",),
}
_QUOTES = "'\"`"
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_HERITAGE = re.compile(r"\b(extends|implements)\b")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1]
    return text


def _statement(caps: dict[str, list[Node]]) -> Node | None:
    for key in ("import", "import.commonjs", "import.module"):
        nodes = caps.get(key)
        if nodes:
            return nodes[0]
    return None


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    own = "./" + posixpath.basename(path)
    commonjs_line = 0
    for _, caps in matches:
        statement = _statement(caps)
        if statement is None:
            continue
        line = statement.start_point.row + 1
        if "import.commonjs" in caps:
            commonjs_line = commonjs_line or line
            continue
        name = first_text(caps, "import.name")
        alias = first_text(caps, "import.alias")
        raw_module = first_text(caps, "import.module")
        if raw_module is None:  # the module's own export under another name
            local = alias or "default"
            if name is not None and name != local:
                out.append(Import(own, name, local, line, local=local, reexport=True))
            continue
        module = _unquote(raw_module.strip())
        reexport = statement.type == "export_statement"
        default = first_text(caps, "import.default")
        if "import.wildcard" in caps:
            out.append(Import(module, None, None, line, wildcard=True, reexport=reexport))
        elif default is not None:
            out.append(Import(module, "default", default, line, local=default))
        elif name is not None:
            name = _unquote(name)
            out.append(Import(module, name, alias, line, local=alias or name, reexport=reexport))
        elif alias is not None:  # import * as ns / export * as ns
            out.append(Import(module, None, alias, line, local=alias, reexport=reexport))
        else:  # import 'm' / require('m'): no binding
            out.append(Import(module, None, None, line))
    if commonjs_line and not any(i.module == own and i.local == "default" for i in out):
        # CommonJS exports an object or `exports.a`: the module itself is what a require()
        # or a default import gets (`module.exports = X` replaces it when present).
        out.append(Import(own, None, "default", commonjs_line, local="default", reexport=True))
        out.sort(key=lambda i: i.line)
    return out, ""


def _extensions_for(importer: str) -> tuple[str, ...]:
    ext = posixpath.splitext(importer)[1].lower()
    return _JS_FIRST if ext in _JS_EXTENSIONS else _TS_FIRST


def _file_for(base: str, importer: str, files: RepoFiles) -> str | None:
    """The file ``base`` (a repository path as written, maybe without extension) names."""
    stem, ext = posixpath.splitext(base)
    if ext in _KNOWN_EXTENSIONS and base in files:
        return base
    for source_ext in _SOURCE_FOR_OUTPUT.get(ext, ()):
        if stem + source_ext in files:
            return stem + source_ext
    extensions = _extensions_for(importer)
    if base:
        for candidate_ext in extensions:
            if base + candidate_ext in files:
                return base + candidate_ext
    for candidate_ext in extensions:
        index = posixpath.join(base, "index" + candidate_ext)
        if index in files:
            return index
    return None


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    spec = imp.module.split("?", 1)[0]
    if spec in (".", "..") or spec.startswith(("./", "../")):
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
        if base == ".." or base.startswith("../"):
            return None
        return _file_for("" if base == "." else base, importer, files)
    if spec.startswith(("@/", "~/")):
        rest = spec[2:]
        directory = posixpath.dirname(importer)
        while True:
            src = posixpath.join(directory, "src") if directory else "src"
            if src in files.dirs:
                found = _file_for(posixpath.join(src, rest), importer, files)
                if found is not None:
                    return found
            if not directory:
                break
            directory = posixpath.dirname(directory)
        return _file_for(rest, importer, files)
    return None


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    return None


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    return []


def _strip_type_arguments(text: str) -> str:
    out: list[str] = []
    depth = 0
    previous = ""
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">" and previous != "=" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
        previous = ch
    return "".join(out)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return parts


def base_names(signature: str) -> list[str]:
    """``class A<T> extends B<T> implements C, ns.D`` -> B, C, ns.D (interfaces alike)."""
    text = _strip_type_arguments(signature)
    head = re.search(r"\b(class|interface)\b", text)
    if head is None:
        return []
    text = text[head.end() :].split("{", 1)[0]
    pieces = _HERITAGE.split(text)
    out: list[str] = []
    # pieces: [name part, keyword, names, keyword, names, ...]
    for names in pieces[2::2]:
        for part in _split_top_level(names):
            if _DOTTED_NAME.match(part):
                out.append(part)
    return out
