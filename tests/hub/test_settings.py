"""The layered settings tree: precedence, validation messages, and the network-key guard."""

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
    assert len(warnings) == 3 and all("cannot send code" in w for w in warnings)


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
