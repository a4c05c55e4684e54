"""``initialize``, ``initialized``, ``shutdown`` and workspace folders.

``initialize`` opens a repolens Workspace per workspace folder (settings from every layer,
``initializationOptions`` included) and answers at once; ``initialized`` registers file
watching and configuration changes with the client, pulls ``workspace/configuration`` and
starts indexing every folder in the background (see indexing.py).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from .configuration import (
    SECTION,
    apply_settings,
    pull_configuration,
    settings_for,
    to_overrides,
    warn_once,
)
from .folders import uri_to_path
from .indexing import start_indexing
from .server import Folder, RepolensServer

__all__ = ["register"]

log = logging.getLogger(__name__)

REGISTER_TIMEOUT = 5.0


def _folder_list(params: types.InitializeParams) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    if params.workspace_folders:
        candidates = [f.uri for f in params.workspace_folders]
    elif params.root_uri:
        candidates = [params.root_uri]
    elif params.root_path:
        candidates = [Path(params.root_path).resolve().as_uri()]
    else:
        candidates = []
    for uri in candidates:
        path = uri_to_path(uri)
        if path is None or not path.is_dir():
            log.warning("workspace folder %s is not a local directory; ignored", uri)
            continue
        out.append((uri, path.resolve()))
    return out


def open_folder(ls: RepolensServer, uri: str, root: Path) -> Folder:
    from ..app import Services
    from ..workspace import Workspace

    settings, warnings = settings_for(ls, root, {})
    services = Services(Workspace(root, settings), run_cpu=ls.run_cpu)
    folder = Folder(uri, root, services)
    warn_once(ls, folder, warnings)
    ls.folders.add(folder)
    return folder


def _watch_patterns() -> list[str]:
    from ..indexer import all_languages

    extensions = sorted({e.lstrip(".") for spec in all_languages() for e in spec.extensions})
    return ["**/*.{" + ",".join(extensions) + "}"]


async def _register_dynamic(ls: RepolensServer) -> None:
    registrations: list[types.Registration] = []
    if ls.client_supports("workspace.did_change_watched_files.dynamic_registration"):
        watchers = [types.FileSystemWatcher(glob_pattern=p) for p in _watch_patterns()]
        registrations.append(
            types.Registration(
                id="repolens-watched-files",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
            )
        )
    if ls.client_supports("workspace.did_change_configuration.dynamic_registration"):
        registrations.append(
            types.Registration(
                id="repolens-configuration",
                method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=types.DidChangeConfigurationRegistrationOptions(section=SECTION),
            )
        )
    if not registrations:
        return
    try:
        await asyncio.wait_for(
            ls.client_register_capability_async(
                types.RegistrationParams(registrations=registrations)
            ),
            REGISTER_TIMEOUT,
        )
    except Exception as exc:  # the client can still send saves
        log.info("client/registerCapability failed: %s", exc)


def register(server: RepolensServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: RepolensServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        overrides, problems = to_overrides(params.initialization_options)
        ls.init_overrides = overrides
        for problem in problems:
            ls.show(f"repolens: {problem}", types.MessageType.Warning)
        for uri, root in _folder_list(params):
            if ls.folders.get(root) is None:
                open_folder(ls, uri, root)
        if not len(ls.folders):
            log.warning("no workspace folder: completion and commands need one")
        if ls.client_supports("text_document.inline_completion"):
            # the client shows ghost text: the one-item completion fallback would only
            # duplicate it in the suggestion list
            ls.protocol.fm.features.pop(types.TEXT_DOCUMENT_COMPLETION, None)
            ls.protocol.fm.feature_options.pop(types.TEXT_DOCUMENT_COMPLETION, None)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: RepolensServer, params: types.InitializedParams) -> None:
        folders = list(ls.folders)
        await _register_dynamic(ls)
        await pull_configuration(ls, folders)
        for folder in folders:
            try:
                await apply_settings(ls, folder, reindex=False)
            except Exception:
                log.exception("settings for %s", folder.root)
            start_indexing(ls, folder)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: RepolensServer, params: Any) -> None:
        for folder in ls.folders:
            if folder.update_task is not None:
                folder.update_task.cancel()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(
        ls: RepolensServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        from .sync import relocate_all

        for removed in params.event.removed:
            path = uri_to_path(removed.uri)
            folder = ls.folders.remove(path.resolve()) if path is not None else None
            if folder is not None:
                await ls.run_index(folder.services.close)
        added: list[Folder] = []
        for item in params.event.added:
            path = uri_to_path(item.uri)
            if path is None or not path.is_dir() or ls.folders.get(path.resolve()):
                continue
            added.append(open_folder(ls, item.uri, path.resolve()))
        relocate_all(ls)
        await pull_configuration(ls, added)
        for folder in added:
            await apply_settings(ls, folder, reindex=False)
            start_indexing(ls, folder)
