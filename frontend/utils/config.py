"""Frontend settings, read once from the environment and `.env`.

These are the defaults of each user's session; the 設定 page changes them per session.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class FrontendSettings(BaseSettings):
    # The repository's .env first, then one in the working directory, which wins.
    model_config = SettingsConfigDict(
        env_file=(REPO_ROOT / ".env", ".env"), env_file_encoding="utf-8", extra="ignore"
    )

    api_base_url: str = "http://localhost:8000"
    api_key: str = ""
    # Slowest interval between two progress checks; the first seconds are polled faster.
    poll_interval_s: float = Field(default=1.5, ge=0.5, le=30)
    # After this long the user is asked whether to keep waiting or cancel.
    max_wait_s: int = Field(default=600, ge=10, le=24 * 3600)
    connect_timeout_s: float = Field(default=3.05, gt=0)
    read_timeout_s: float = Field(default=10, gt=0)


@lru_cache
def get_settings() -> FrontendSettings:
    return FrontendSettings()
