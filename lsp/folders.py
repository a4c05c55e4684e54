"""The workspace folders a language server serves, and the only way a URI becomes a repository
path: files outside every folder are never read on a client's request."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

if TYPE_CHECKING:
    from ..app import Services
    from ..settings import Settings
    from ..workspace import Workspace

__all__ = ["Folder", "Folders", "uri_to_path"]


class Folder:
    """One workspace folder: its repository's services and what the server tracks about it.

    The use cases (completion, Q&A, indexing) and their state (model health, index progress,
    recent files) live in :class:`repolens.app.Services`; a folder adds what only the language
    server knows: URIs, the client's settings, pending saves.
    """

    def __init__(self, uri: str, root: Path, services: Services) -> None:
        self.uri = uri
        self.root = root
        self.services = services
        self.name = root.name
        self.pending_paths: set[str] = set()
        self.update_task: asyncio.Task[None] | None = None
        self.overrides: dict[str, Any] = {}  # from the client, see configuration.py
        # (uri, 1-based line, 1-based column) of the last completion, for warming caches
        self.last_completion: tuple[str, int, int] | None = None
        self.shown_warnings: set[str] = set()

    @property
    def workspace(self) -> Workspace:
        return self.services.workspace

    @property
    def settings(self) -> Settings:
        return self.services.workspace.settings

    def relative(self, path: Path) -> str | None:
        """``path`` as a repository path (``/`` separators), or None when it is outside.

        Symlinks that lead out of the folder count as outside.
        """
        try:
            real = path.resolve()
        except OSError:
            return None
        if not real.is_relative_to(self.root):
            return None
        rel = os.path.relpath(path if not path.is_symlink() else real, self.root)
        if rel in (".", "..") or rel.startswith(".." + os.sep):
            return None
        return rel.replace(os.sep, "/")


class Folders:
    """The workspace folders, and URI -> (folder, repository path) resolution."""

    def __init__(self) -> None:
        self._by_root: dict[Path, Folder] = {}

    def __iter__(self) -> Any:
        return iter(list(self._by_root.values()))

    def __len__(self) -> int:
        return len(self._by_root)

    def add(self, folder: Folder) -> None:
        self._by_root[folder.root] = folder

    def remove(self, root: Path) -> Folder | None:
        return self._by_root.pop(root, None)

    def get(self, root: Path) -> Folder | None:
        return self._by_root.get(root)

    def for_path(self, path: Path) -> tuple[Folder, str] | None:
        """The innermost folder containing ``path`` and the path inside it."""
        best: tuple[Folder, str] | None = None
        for folder in self._by_root.values():
            rel = folder.relative(path)
            if rel is not None and (
                best is None or len(folder.root.parts) > len(best[0].root.parts)
            ):
                best = (folder, rel)
        return best

    def for_uri(self, uri: str) -> tuple[Folder, str] | None:
        path = uri_to_path(uri)
        return self.for_path(path) if path is not None else None

    def for_folder_uri(self, uri: str | None) -> Folder | None:
        """The folder a command names by its URI (or any file in it); the only one if None."""
        if not uri:
            folders = list(self._by_root.values())
            return folders[0] if len(folders) == 1 else None
        path = uri_to_path(uri)
        if path is None:
            return None
        try:
            exact = self._by_root.get(path.resolve())
        except OSError:
            exact = None
        if exact is not None:
            return exact
        found = self.for_path(path)
        return found[0] if found else None


def uri_to_path(uri: str) -> Path | None:
    """The file system path of a ``file:`` URI (None for other schemes)."""
    if not uri.startswith("file:"):
        return None
    try:
        path = to_fs_path(uri)
    except Exception:  # a malformed URI is a client error, not ours
        return None
    return Path(path) if path else None
