"""The repository index: files, tree-sitter parsing, symbols, imports, chunks, SQLite store.

This package calls nothing else of repolens; completion, chat and the language server read
the index through :class:`RepoIndex`.
"""

from .build import IndexSummary, ProgressCallback
from .discovery import DiscoveryOptions
from .index import ChunkHit, FileInfo, RepoIndex, Resolution
from .languages import LanguageSpec, all_languages, language_for_path, language_spec
from .model import Chunk, Definition, FileFacts, Import, Reference, SkippedFile
from .store import db_path_for, default_cache_dir

__all__ = [
    "Chunk",
    "ChunkHit",
    "Definition",
    "DiscoveryOptions",
    "FileFacts",
    "FileInfo",
    "Import",
    "IndexSummary",
    "LanguageSpec",
    "ProgressCallback",
    "Reference",
    "RepoIndex",
    "Resolution",
    "SkippedFile",
    "all_languages",
    "db_path_for",
    "default_cache_dir",
    "language_for_path",
    "language_spec",
]
