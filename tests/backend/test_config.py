"""Settings from the environment and .env; housekeeping of expired tasks and stray files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.config import Settings


def test_defaults_match_the_documentation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("API_KEY", "MAX_UPLOAD_MB", "TASK_STORE", "ALLOWED_EXTENSIONS", "CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.api_key == "" and settings.max_upload_mb == 10
    documented = [".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsb", ".ods", ".json"]
    assert settings.allowed_extensions == documented
    assert settings.cors_origins == ["http://localhost:8501"]
    assert settings.task_store == "memory" and settings.task_ttl_s == 86400
    assert settings.upload_dir == Path("uploads")


@pytest.mark.parametrize(("max_upload_mb", "uploader_mb"), [(10, 50), (0.5, 5), (200, 300)])
def test_the_browser_uploader_takes_files_over_the_limit(
    max_upload_mb: float, uploader_mb: int
) -> None:
    """Somewhat bigger than the limit, so the upload page (not Streamlit) refuses them."""
    settings = Settings(max_upload_mb=max_upload_mb)
    assert settings.uploader_limit_mb == uploader_mb
    assert settings.uploader_limit_mb * 1_000_000 > settings.max_upload_bytes


def test_every_setting_is_in_env_example() -> None:
    from frontend.utils.config import FrontendSettings

    example = (Path(__file__).parents[2] / ".env.example").read_text(encoding="utf-8")
    for name in [*Settings.model_fields, *FrontendSettings.model_fields]:
        assert f"\n{name.upper()}=" in example, name


def test_dot_env_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAX_UPLOAD_MB", raising=False)
    monkeypatch.delenv("ALLOWED_EXTENSIONS", raising=False)
    (tmp_path / ".env").write_text(
        "MAX_UPLOAD_MB=3\nALLOWED_EXTENSIONS=csv, .JSON\n", encoding="utf-8"
    )
    settings = Settings()
    assert settings.max_upload_bytes == 3 * 1024 * 1024
    assert settings.allowed_extensions == [".csv", ".json"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"task_store": "postgres://x"},
        {"max_upload_mb": 0},
        {"api_key": "有中文"},
        {"api_key": "a b"},
    ],
)
def test_bad_settings_are_refused_at_start(overrides: dict) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **overrides)
