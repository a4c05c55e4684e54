"""C and C++ includes: ``#include`` as a wildcard import of the header it names.

``#include "x.h"`` is looked up next to the including file first, then as any repository file
whose path ends with ``x.h`` (an include directory), nearest first; ``#include <x.h>`` only
resolves when the repository itself has such a header (a system header resolves to nothing).
Every name the header defines is then in view, through the index's wildcard handling, and
through the headers it includes in turn. The module is stored as written, without quotes:
``x.h`` or ``<x.h>``.
"""

from __future__ import annotations

import posixpath
import re

from ..model import Import
from . import Matches, RepoFiles, first_text, statement_line

_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")
_CLASS_HEAD = re.compile(r"^\s*(?:class|struct|union)\b")
_BASE_SPECIFIERS = frozenset({"public", "private", "protected", "virtual"})


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    for _, caps in matches:
        written = first_text(caps, "import.module")
        if not written:
            continue
        written = written.strip()
        if written.startswith('"') and written.endswith('"') and len(written) >= 2:
            written = written[1:-1]
        if not written.strip("<>"):
            continue
        out.append(Import(written, None, None, statement_line(caps), wildcard=True))
    return out, ""


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    system = imp.module.startswith("<") and imp.module.endswith(">")
    include = imp.module[1:-1].strip() if system else imp.module
    include = include.replace("\\", "/")
    if not include:
        return None
    if not system:
        local = posixpath.normpath(posixpath.join(posixpath.dirname(importer), include))
        if local in files:
            return local
    # an include directory: the path as written, without leading ./ and ../
    parts = [p for p in include.split("/") if p not in ("", ".", "..")]
    if not parts:
        return None
    return RepoFiles.closest(files.ending_with("/".join(parts)), importer)


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    return None


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    return []


def base_names(signature: str) -> list[str]:
    """C++ base classes: ``class D final : public B, private virtual ns::C<T>`` -> B, ns::C."""
    if not _CLASS_HEAD.match(signature):
        return []
    text = signature
    previous = None
    while previous != text:  # nested template arguments, innermost first
        previous, text = text, _TEMPLATE_ARGS.sub("", text)
    colon = _base_clause_start(text)
    if colon < 0:
        return []
    out: list[str] = []
    for item in text[colon + 1 :].split(","):
        words = [w for w in item.replace("{", " ").split() if w not in _BASE_SPECIFIERS]
        name = words[-1].removesuffix("...").removeprefix("::") if words else ""
        if name and name not in out:
            out.append(name)
    return out


def _base_clause_start(text: str) -> int:
    """Index of the ``:`` that starts the base clause (not part of a ``::``)."""
    i = 0
    while i < len(text):
        if text[i] == ":":
            if i + 1 < len(text) and text[i + 1] == ":":
                i += 2
                continue
            return i
        i += 1
    return -1
