"""Configuration from the editor: ``initializationOptions``, ``workspace/configuration`` (pull)
and ``workspace/didChangeConfiguration`` (push, or a nudge to pull again).

Editor settings are a nested object of overrides on repolens' settings (see lsp/README.md):
``{"model": {...}, "completion": {...}, "chat": {...}, "index": {...}}``, optionally wrapped
in ``{"repolens": ...}``; camelCase keys (``debounceMs``) and dotted keys
(``"completion.debounce_ms"``) are accepted too. They layer over the user's config file,
``.repolens.toml`` and the environment. An invalid value is shown with
``window/showMessage`` and replaced by its default; it never stops the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..settings import deep_merge, load_settings

if TYPE_CHECKING:
    from ..settings import Settings
    from .server import Folder, RepolensServer

__all__ = [
    "SECTION",
    "apply_settings",
    "normalize_keys",
    "pull_configuration",
    "register",
    "settings_for",
    "to_overrides",
    "warn_once",
]

log = logging.getLogger(__name__)

SECTION = "repolens"
#: Keys editors put next to ours that are not repolens settings (``token``: the one
#: ``repolens lsp --tcp`` checks, see tcp.py; a client may send it on stdio too).
_CLIENT_ONLY = frozenset({"trace", "path", "command", "args", "env", "token"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
PULL_TIMEOUT = 5.0


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def normalize_keys(value: Any) -> Any:
    """Nested dict keys in snake_case; dotted keys (``a.b``) become nested objects."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        parts = [_snake(p) for p in str(key).split(".") if p]
        if not parts:
            continue
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        leaf = normalize_keys(item)
        if isinstance(leaf, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = deep_merge(node[parts[-1]], leaf)
        else:
            node[parts[-1]] = leaf
    return out


def to_overrides(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """Client settings -> settings overrides, and complaints about their shape."""
    if raw is None or raw == []:  # Lua's empty table arrives as []
        return {}, []
    if not isinstance(raw, dict):
        return {}, [f"repolens settings must be an object, not {type(raw).__name__}; ignored"]
    data = normalize_keys(raw)
    if SECTION in data:
        section = data[SECTION]
        data = section if isinstance(section, dict) else {}  # [] from an empty Lua table
    data = {k: v for k, v in data.items() if k not in _CLIENT_ONLY and v is not None}
    return data, []


def settings_for(
    ls: RepolensServer, root: Path, folder_overrides: dict[str, Any]
) -> tuple[Settings, list[str]]:
    """Settings of the folder at ``root``: files, environment, then the editor's layers."""
    overrides = deep_merge(ls.init_overrides, folder_overrides)
    return load_settings(root, overrides, lenient=True)


def warn_once(ls: RepolensServer, folder: Folder, warnings: list[str]) -> None:
    fresh = [w for w in warnings if w not in folder.shown_warnings]
    folder.shown_warnings = set(warnings)
    for warning in fresh:
        ls.show(f"repolens ({folder.name}): {warning}", types.MessageType.Warning)


async def apply_settings(ls: RepolensServer, folder: Folder, *, reindex: bool = True) -> list[str]:
    """Recompute ``folder``'s settings from every layer and apply what changed."""
    from .indexing import index_folder, warm_model
    from .sync import reapply_overlays

    settings, warnings = settings_for(ls, folder.root, folder.overrides)
    warn_once(ls, folder, warnings)
    old = folder.workspace.settings
    changed: list[str]
    if settings.index != old.index or settings.cache_dir != old.cache_dir:
        # on the index thread: a running index update finishes before the index is reopened
        changed = await ls.run_index(folder.services.reconfigure, settings)
    else:
        changed = folder.services.reconfigure(settings)
    if not changed:
        return changed
    log.info("%s: settings changed (%s)", folder.name, ", ".join(changed))
    ls.log_to_client(f"repolens: {folder.name}: new settings take effect ({', '.join(changed)})")
    if "index" in changed:
        reapply_overlays(ls, folder)
    if "index" in changed and reindex:
        task = asyncio.ensure_future(index_folder(ls, folder))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
    elif "model" in changed and settings.completion.enabled:
        warm = asyncio.ensure_future(warm_model(ls, folder))
        warm.add_done_callback(lambda t: t.cancelled() or t.exception())
    return changed


async def pull_configuration(ls: RepolensServer, folders: list[Folder]) -> None:
    """Ask the client for the ``repolens`` section of each folder (if it can answer)."""
    if not folders or not ls.client_supports("workspace.configuration"):
        return
    items = [types.ConfigurationItem(scope_uri=f.uri, section=SECTION) for f in folders]
    try:
        answer = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)),
            PULL_TIMEOUT,
        )
    except Exception as exc:  # no answer: keep what we have
        log.info("workspace/configuration failed: %s", exc)
        return
    for folder, raw in zip(folders, answer or [], strict=False):
        overrides, problems = to_overrides(raw)
        folder.overrides = overrides
        warn_once(ls, folder, problems)


def register(server: RepolensServer) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: RepolensServer, params: types.DidChangeConfigurationParams
    ) -> None:
        folders = list(ls.folders)
        raw = params.settings
        if isinstance(raw, dict) and raw.get(SECTION) is not None:
            overrides, problems = to_overrides(raw)
            for folder in folders:
                folder.overrides = overrides
                warn_once(ls, folder, problems)
        else:
            # the pull model: the notification only says "something changed"
            await pull_configuration(ls, folders)
        for folder in folders:
            try:
                await apply_settings(ls, folder)
            except Exception as exc:
                log.exception("applying settings to %s failed", folder.root)
                ls.show(f"repolens: could not apply settings: {exc}", types.MessageType.Error)
