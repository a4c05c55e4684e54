"""Java imports: classes by their package path, on-demand (``.*``) and static imports.

``import a.b.C;`` binds ``C`` from module ``a.b``; ``import a.b.*;`` is a wildcard over the
package ``a.b``; ``import static a.b.C.m;`` binds ``m`` from module ``a.b.C`` (and ``.*`` every
static member of ``C``). A package is a directory whose path ends with its dotted name turned
into a path, under whichever source root (``src/main/java``, ``src/test/java``, ``src``, ...);
a class ``a.b.C`` is the file ``.../a/b/C.java``.
"""

from __future__ import annotations

import posixpath
import re

from ..model import Import
from . import Matches, RepoFiles, first_text, statement_line

_GENERIC_OR_ARGS = re.compile(r"<[^<>]*>|\([^()]*\)")
_ANNOTATION = re.compile(r"@[\w.]+")
_CLAUSE = re.compile(r"\b(extends|implements|permits)\b")


def normalize(path: str, matches: Matches) -> tuple[list[Import], str]:
    out: list[Import] = []
    package = ""
    for _, caps in matches:
        declared = first_text(caps, "package")
        if declared is not None:
            package = "".join(declared.split())
            continue
        dotted = first_text(caps, "import.module")
        statements = caps.get("import")
        if dotted is None or not statements:
            continue
        dotted = "".join(dotted.split())
        line = statement_line(caps)
        if any(c.type == "asterisk" for c in statements[0].children):
            out.append(Import(dotted, None, None, line, wildcard=True))
            continue
        module, _, name = dotted.rpartition(".")
        out.append(Import(module, name, None, line, local=name))
    return out, package


def _class_file(dotted: str, importer: str, files: RepoFiles) -> str | None:
    candidates = files.ending_with(dotted.replace(".", "/") + ".java")
    return RepoFiles.closest(candidates, importer)


def _package_dir(dotted: str, importer: str, files: RepoFiles) -> str | None:
    directory = RepoFiles.closest(files.dirs_ending_with(dotted.replace(".", "/")), importer)
    return directory + "/" if directory is not None else None


def resolve_target(imp: Import, importer: str, files: RepoFiles) -> str | None:
    if imp.wildcard:
        # `a.b.*` is a package; `static a.b.C.*` (or a nested class's members) a class
        return _package_dir(imp.module, importer, files) or _class_file(imp.module, importer, files)
    if imp.name is None:
        return _class_file(imp.module, importer, files)
    # a class `a.b.C`, else the class holding a static member or nested class `a.b.C.m`
    return _class_file(f"{imp.module}.{imp.name}", importer, files) or _class_file(
        imp.module, importer, files
    )


def member_owner(target: str) -> str | None:
    """The class a static import's member belongs to: the class named by its file."""
    if target.endswith(".java"):
        return posixpath.splitext(posixpath.basename(target))[0]
    return None


def submodule(target: str, name: str, files: RepoFiles) -> str | None:
    """A class of a package directory (``target`` ends in ``/``)."""
    if not target.endswith("/"):
        return None
    candidate = posixpath.join(target.rstrip("/"), name + ".java")
    return candidate if candidate in files else None


def implicit_files(importer: str, package: str, files: RepoFiles) -> list[str]:
    """The other classes of the importer's package, in every source root that has it."""
    directories = {posixpath.dirname(importer)}
    if package:
        package_path = package.replace(".", "/")
        if posixpath.dirname(importer).endswith(package_path):
            directories.update(files.dirs_ending_with(package_path))
    out: list[str] = []
    for directory in sorted(directories):
        out.extend(p for p in files.files_in(directory) if p.endswith(".java") and p != importer)
    return out


def base_names(signature: str) -> list[str]:
    """``class A<T> extends B<T> implements C, D`` -> B, C, D (interfaces: ``extends C, D``)."""
    text = _ANNOTATION.sub(" ", signature)
    previous = None
    while previous != text:  # nested generics and annotation arguments, innermost first
        previous, text = text, _GENERIC_OR_ARGS.sub(" ", text)
    parts = _CLAUSE.split(text)
    out: list[str] = []
    for keyword, clause in zip(parts[1::2], parts[2::2], strict=False):
        if keyword == "permits":
            continue
        for item in clause.split(","):
            name = item.strip().split(" ")[0] if item.strip() else ""
            if name and name not in out:
                out.append(name)
    return out
