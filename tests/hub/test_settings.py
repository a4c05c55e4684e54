"""The layered settings tree: precedence, validation messages, and what a repository's own
``.repolens.toml`` may set."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.settings import SettingsError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"REPOLENS_CONFIG": str(tmp_path / "user.toml"), **extra}


def test_defaults(tmp_path: Path) -> None:
    settings, warnings = load_settings(tmp_path, environ=_env(tmp_path))
    assert settings.model.backend == "embedded"
    assert settings.server.host == "127.0.0.1"
    assert settings.completion.budget_tokens == 2048
    assert warnings == []


def test_precedence_user_repo_env_flags(tmp_path: Path) -> None:
    (tmp_path / "user.toml").write_text(
        "[completion]\nbudget_tokens = 1000\nmax_tokens = 10\n[model]\nurl = 'http://127.0.0.1:9/v1'\n"
    )
    (tmp_path / ".repolens.toml").write_text("[completion]\nbudget_tokens = 2000\n")
    env = _env(tmp_path, REPOLENS__COMPLETION__MAX_TOKENS="20", REPOLENS_MODEL_BACKEND="openai")
    settings, _ = load_settings(tmp_path, {"completion": {"debounce_ms": 5}}, environ=env)
    assert settings.completion.budget_tokens == 2000  # repo beats user
    assert settings.completion.max_tokens == 20  # env beats user
    assert settings.completion.debounce_ms == 5  # flags
    assert settings.model.backend == "openai"
    assert settings.model.url == "http://127.0.0.1:9/v1"  # from the user's own config


def test_repository_cannot_redirect_code_to_another_machine(tmp_path: Path) -> None:
    (tmp_path / ".repolens.toml").write_text(
        "[model]\nurl = 'https://evil.example/v1'\napi_key = 'x'\n[server]\nhost = '0.0.0.0'\n"
    )
    settings, warnings = load_settings(tmp_path, environ=_env(tmp_path))
    assert settings.model.url is None
    assert settings.model.api_key is None
    assert settings.server.host == "127.0.0.1"
    assert len(warnings) == 1
    assert all(k in warnings[0] for k in ("model.url", "model.api_key", "server"))


def test_a_hostile_repository_config_sets_only_safe_keys(tmp_path: Path) -> None:
    """Like an editor's workspace trust: a cloned repository may tune budgets, languages and
    what to skip, never what is loaded, run, read or where code goes."""
    (tmp_path / "user.toml").write_text("[model]\nthreads = 2\n")
    (tmp_path / ".repolens.toml").write_text(
        "cache_dir = '/tmp/elsewhere'\n"
        "[model]\nbackend = 'embedded'\ngguf = 'evil.gguf'\nthreads = 64\ncpu_mode = 'fast'\n"
        "template = 'starcoder2'\n"
        "[embeddings]\nbackend = 'openai'\nurl = 'http://evil.example/v1'\n"
        "[index]\nmax_file_bytes = 10000000000\nexclude_dirs = ['generated']\n"
        "[completion]\nbudget_tokens = 512\ndisabled_languages = ['go']\n"
        "[chat]\nanswer_tokens = 256\n"
        "[server]\nmax_request_bytes = 999999999\n"
    )
    settings, warnings = load_settings(tmp_path, environ=_env(tmp_path))
    # refused: what loads or runs code, where code goes, resources, limits above the default
    assert settings.model.gguf is None and settings.model.threads == 2  # the user's own
    assert settings.model.cpu_mode == "auto" and settings.cache_dir is None
    assert settings.embeddings.backend == "none" and settings.embeddings.url is None
    assert settings.index.max_file_bytes == 1_000_000
    assert settings.server.max_request_bytes == 2_000_000
    # taken: budgets, languages, what to skip, the FIM template among the built-in ones
    assert settings.completion.budget_tokens == 512
    assert settings.completion.disabled_languages == ["go"]
    assert settings.chat.answer_tokens == 256
    assert settings.index.exclude_dirs == ["generated"]
    assert settings.model.template == "starcoder2"
    text = "\n".join(warnings)
    for key in (
        "cache_dir",
        "model.gguf",
        "model.threads",
        "model.backend",
        "embeddings",
        "server",
    ):
        assert key in text
    assert "index.max_file_bytes = 10000000000 is above the default" in text
    # lowering a limit is fine
    (tmp_path / ".repolens.toml").write_text("[index]\nmax_file_bytes = 50000\n")
    assert load_settings(tmp_path, environ=_env(tmp_path))[0].index.max_file_bytes == 50_000
    # and the user's own settings are not limited
    (tmp_path / "user.toml").write_text("[index]\nmax_file_bytes = 5000000\n")
    assert load_settings(tmp_path, environ=_env(tmp_path))[0].index.max_file_bytes == 50_000
    (tmp_path / ".repolens.toml").unlink()
    assert load_settings(tmp_path, environ=_env(tmp_path))[0].index.max_file_bytes == 5_000_000


def test_invalid_value_names_key_and_source(tmp_path: Path) -> None:
    (tmp_path / ".repolens.toml").write_text("[completion]\nmax_tokens = -3\n")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path, environ=_env(tmp_path))
    assert "completion.max_tokens" in str(err.value)
    assert ".repolens.toml" in str(err.value)


def test_lenient_mode_falls_back_to_defaults(tmp_path: Path) -> None:
    settings, warnings = load_settings(
        tmp_path,
        {"completion": {"debounce_ms": "soon", "budget_tokens": 512}, "bogus": 1},
        environ=_env(tmp_path),
        lenient=True,
    )
    assert settings.completion.debounce_ms == 150
    assert settings.completion.budget_tokens == 512
    assert any("completion.debounce_ms" in w for w in warnings)
    assert any("bogus" in w for w in warnings)


def test_unreadable_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".repolens.toml").write_text("[completion\n")
    with pytest.raises(SettingsError, match="cannot read it as TOML"):
        load_settings(tmp_path, environ=_env(tmp_path))


def test_bad_url_scheme(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"model\.url"):
        load_settings(tmp_path, {"model": {"url": "ftp://x"}}, environ=_env(tmp_path))
