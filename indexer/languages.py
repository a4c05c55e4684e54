"""The language table (``languages.toml``) and the tree-sitter objects built from it.

Everything language-specific that is data lives in ``languages.toml`` and ``queries/*.scm``;
this module only loads it. Grammars come from the per-language wheels (``tree-sitter-python``
and friends), never from a run-time download.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePath

from tree_sitter import Language, Parser, Query

__all__ = [
    "LanguageSpec",
    "UnknownLanguageError",
    "all_languages",
    "language_for_path",
    "language_spec",
    "parser_for",
    "query_for",
]


class UnknownLanguageError(LookupError):
    """A language name that is not in the table."""


@dataclass(frozen=True)
class LanguageSpec:
    """One row of the language table."""

    name: str
    grammar: str
    extensions: tuple[str, ...]
    line_comment: str
    doc: str
    resolver: str
    queries: str
    chunk_lines: int
    chunk_max_lines: int
    block_comment: tuple[str, str] | None = None
    container_kinds: frozenset[str] = frozenset()
    stop_words: frozenset[str] = field(default_factory=frozenset)
    test_names: re.Pattern[str] | None = None

    def is_test_name(self, name: str) -> bool:
        """Whether ``name`` is a test entry point by this language's convention."""
        return self.test_names is not None and self.test_names.match(name) is not None

    def comment(self, text: str) -> str:
        """``text`` as a single-line comment in this language."""
        return f"{self.line_comment} {text}"


@functools.cache
def _table() -> dict[str, LanguageSpec]:
    raw = tomllib.loads(resources.files(__package__).joinpath("languages.toml").read_text("utf-8"))
    table: dict[str, LanguageSpec] = {}
    for name, row in raw.items():
        block = row.get("block_comment")
        table[name] = LanguageSpec(
            name=name,
            grammar=row["grammar"],
            extensions=tuple(e.lower() for e in row["extensions"]),
            line_comment=row["line_comment"],
            doc=row["doc"],
            resolver=row["resolver"],
            queries=row["queries"],
            chunk_lines=int(row["chunk_lines"]),
            chunk_max_lines=int(row["chunk_max_lines"]),
            block_comment=(block[0], block[1]) if block else None,
            container_kinds=frozenset(row.get("container_kinds", [])),
            stop_words=frozenset(row.get("stop_words", [])),
            test_names=re.compile(row["test_names"]) if row.get("test_names") else None,
        )
    return table


@functools.cache
def _by_extension() -> dict[str, str]:
    return {ext: spec.name for spec in _table().values() for ext in spec.extensions}


def all_languages() -> list[LanguageSpec]:
    return list(_table().values())


def language_spec(name: str) -> LanguageSpec:
    try:
        return _table()[name]
    except KeyError:
        known = ", ".join(sorted(_table()))
        raise UnknownLanguageError(f"unknown language {name!r} (known: {known})") from None


def language_for_path(path: str | PurePath) -> LanguageSpec | None:
    """The language of a file by its suffix, or None when repolens does not parse it."""
    suffix = os.path.splitext(str(path))[1].lower()
    name = _by_extension().get(suffix)
    return _table()[name] if name else None


@functools.cache
def ts_language(name: str) -> Language:
    spec = language_spec(name)
    module_name, _, func = spec.grammar.partition(":")
    module = importlib.import_module(module_name)
    return Language(getattr(module, func)())


def parser_for(name: str) -> Parser:
    """A new parser for a language (parsers are not thread-safe: one per thread/process)."""
    return Parser(ts_language(name))


@functools.cache
def query_source(queries: str, kind: str) -> str:
    path = resources.files(f"{__package__}.queries").joinpath(f"{queries}-{kind}.scm")
    return path.read_text("utf-8") if path.is_file() else ""


@functools.cache
def combined_query(name: str) -> tuple[Query, int] | None:
    """Tags and imports as one query (one tree walk), and the index of the first import pattern.

    A query costs about one walk of the tree whatever its patterns, so extraction runs this
    single query and tells tag matches from import matches by pattern index.
    """
    spec = language_spec(name)
    tags = query_source(spec.queries, "tags")
    if spec.name != spec.queries:  # a dialect's own additions (tsx: JSX on top of typescript)
        tags += "\n" + query_source(spec.name, "tags")
    imports = query_source(spec.queries, "imports")
    if not tags.strip() and not imports.strip():
        return None
    n_tag_patterns = Query(ts_language(name), tags).pattern_count if tags.strip() else 0
    return Query(ts_language(name), tags + "\n" + imports), n_tag_patterns


@functools.cache
def query_for(name: str, kind: str) -> Query | None:
    """The compiled ``<queries>-<kind>.scm`` query for a language (kind: tags, imports)."""
    spec = language_spec(name)
    source = query_source(spec.queries, kind)
    if spec.name != spec.queries:
        source += "\n" + query_source(spec.name, kind)
    if not source.strip():
        return None
    return Query(ts_language(name), source)
