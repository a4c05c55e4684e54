"""Value objects the indexer produces and serves. Lines are 1-based and inclusive."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Chunk", "Definition", "FileFacts", "Import", "Reference", "SkippedFile"]


@dataclass(slots=True)
class Definition:
    """A named unit a file defines: class, function, method, type, variable, ..."""

    name: str
    kind: str
    start_line: int
    end_line: int
    name_line: int
    name_col: int
    signature: str
    doc: str = ""
    scope: str = ""
    path: str = ""
    id: int = 0

    @property
    def qualified_name(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(slots=True)
class Reference:
    """A name a file uses, with every line it is used on."""

    name: str
    kind: str
    lines: list[int]


@dataclass(slots=True)
class Import:
    """One name an import statement binds in a file.

    ``module`` is the module or path as written (quotes removed); ``name`` the imported name
    (None when the whole module is bound); ``alias`` the local name when renamed; ``local`` the
    name the import binds in the file; ``wildcard`` for star imports; ``reexport`` when the
    statement also exports what it imports (JS/TS ``export ... from``).
    """

    module: str
    name: str | None
    alias: str | None
    line: int
    local: str | None = None  # the name bound in the importing file (None: wildcard, include)
    wildcard: bool = False
    reexport: bool = False
    target: str | None = None  # resolved repository path (a file, or a directory ending in /)


@dataclass(slots=True)
class Chunk:
    """A function/class-sized unit of a file, the grain of lexical search and Q&A packing."""

    start_line: int
    end_line: int
    kind: str
    symbol: str
    terms: str = ""


@dataclass(slots=True)
class FileFacts:
    """Everything extracted from one file in one parse."""

    path: str
    language: str
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    package: str = ""  # Go/Java package clause, when the language has one
    line_count: int = 0
    parse_errors: int = 0


@dataclass(slots=True, frozen=True)
class SkippedFile:
    path: str
    reason: str
